"""SliceProfile and its per-domain sub-profiles (TS 28.541 v18.6.0 Slice NRM; Rel-16 stage 2 clause 6.3.4).

A SliceProfile carries the requirements an NSMF hands to an NSSMF for one slice subnet, split into
``rANSliceSubnetProfile``, ``cNSliceSubnetProfile`` and ``topSliceSubnetProfile`` (Rel-17 onwards). 3GPP has
no transport sub-profile: the NSMF derives transport requirements (latency, bandwidth) and sends them to the
TN manager (TS 28.531 clause 5.1.1); netslice models them as
:class:`~netslice.orchestration.nrm.domain_objects.TransportSliceAllocation`.

Units as in the ServiceProfile: latency in ms, throughput in kbit/s, packet sizes in bytes, percentages in %.
Attribute sets and types follow the v18 OpenAPI: the RAN and CN sub-profiles take ``energyEfficiency`` as a
number and the subnet forms of ``synchronicity``/``positioning``; the top sub-profile takes integer latencies
and the full ``EnergyEfficiency``, ``Synchronicity`` and ``Positioning`` types.
"""

from __future__ import annotations

from typing import Self

from pydantic import AliasChoices, Field, model_validator

from netslice.orchestration.nrm.attributes import (
    DeterministicComm,
    EnergyEfficiency,
    FeatureSupport,
    KPIMonitoring,
    MobilityLevel,
    N6Protection,
    Positioning,
    PositioningRANSubnet,
    SharingLevel,
    SliceSimultaneousUse,
    SupportedDataNetworks,
    Synchronicity,
    SynchronicityRANSubnet,
    TermDensity,
    XLThpt,
)
from netslice.orchestration.nrm.common import (
    NonEmptyStr,
    NonNegFloat,
    NonNegInt,
    NrmModel,
    Percent,
    PlmnInfo,
    PosFloat,
    PosInt,
    Tai,
    require_unique,
)


class _SubnetProfileBase(NrmModel):
    """Attributes common to the RAN, CN and top slice-subnet profiles."""

    max_number_of_ues: NonNegInt | None = Field(default=None, alias="maxNumberofUEs")
    dl_latency: PosFloat | None = Field(default=None, alias="dLLatency", description="ms")
    ul_latency: PosFloat | None = Field(default=None, alias="uLLatency", description="ms")
    dl_thpt_per_slice_subnet: XLThpt | None = Field(default=None, alias="dLThptPerSliceSubnet", description="kbit/s")
    ul_thpt_per_slice_subnet: XLThpt | None = Field(default=None, alias="uLThptPerSliceSubnet", description="kbit/s")
    dl_thpt_per_ue: XLThpt | None = Field(default=None, alias="dLThptPerUE", description="kbit/s")
    ul_thpt_per_ue: XLThpt | None = Field(default=None, alias="uLThptPerUE", description="kbit/s")
    coverage_area_ta_list: list[Tai] | None = Field(default=None, alias="coverageAreaTAList")
    resource_sharing_level: SharingLevel | None = Field(default=None, alias="resourceSharingLevel")
    dl_max_pkt_size: PosInt | None = Field(default=None, alias="dLMaxPktSize", description="bytes")
    ul_max_pkt_size: PosInt | None = Field(default=None, alias="uLMaxPktSize", description="bytes")
    delay_tolerance: FeatureSupport | None = Field(default=None, alias="delayTolerance")
    slice_simultaneous_use: SliceSimultaneousUse | None = Field(default=None, alias="sliceSimultaneousUse")
    dl_reliability: Percent | None = Field(default=None, alias="dLReliability", description="%")
    ul_reliability: Percent | None = Field(default=None, alias="uLReliability", description="%")
    dl_deterministic_comm: DeterministicComm | None = Field(default=None, alias="dLDeterministicComm")
    ul_deterministic_comm: DeterministicComm | None = Field(default=None, alias="uLDeterministicComm")
    survival_time: NonNegFloat | None = Field(default=None, alias="survivalTime")
    non_ip_support: FeatureSupport | None = Field(default=None, alias="nonIPSupport")
    availability: Percent | None = Field(default=None, description="%")
    max_dl_data_volume: NonNegFloat | None = Field(default=None, alias="maxDLDataVolume")
    max_ul_data_volume: NonNegFloat | None = Field(default=None, alias="maxULDataVolume")


class _UeFields(_SubnetProfileBase):
    """Attributes about UEs and radio, shared by the RAN and top sub-profiles."""

    ue_mobility_level: MobilityLevel | None = Field(default=None, alias="uEMobilityLevel")
    activity_factor: int | None = Field(default=None, alias="activityFactor", ge=0, le=100, description="%")
    ue_speed: NonNegInt | None = Field(default=None, alias="uESpeed", description="km/h")
    nr_operating_bands: list[NonEmptyStr] | None = Field(default=None, alias="nROperatingBands")
    term_density: TermDensity | None = Field(default=None, alias="termDensity")
    kpi_monitoring: KPIMonitoring | None = Field(default=None, alias="kPIMonitoring")


class _CoreFields(_SubnetProfileBase):
    """Attributes about sessions and data networks, shared by the CN and top sub-profiles."""

    max_number_of_pdu_sessions: NonNegInt | None = Field(default=None, alias="maxNumberOfPDUSessions")
    nssaa_support: FeatureSupport | None = Field(default=None, alias="nssaaSupport")
    n6_protection: N6Protection | None = Field(default=None, alias="n6Protection")
    supported_data_networks: SupportedDataNetworks | None = Field(default=None, alias="supportedDataNetworks")


class RANSliceSubnetProfile(_UeFields):
    """Requirements of the RAN part of a slice (TS 28.541 v18.6.0 ``RANSliceSubnetProfile``)."""

    positioning: PositioningRANSubnet | None = None
    synchronicity: SynchronicityRANSubnet | None = None
    energy_efficiency: NonNegFloat | None = Field(default=None, alias="energyEfficiency")


class CNSliceSubnetProfile(_CoreFields):
    """Requirements of the core part of a slice (TS 28.541 v18.6.0 ``CNSliceSubnetProfile``).

    Note the 3GPP spelling ``maxNumberOfPDUSessions`` (capital O) here, unlike ``maxNumberofUEs``.
    """

    synchronicity: SynchronicityRANSubnet | None = None
    energy_efficiency: NonNegFloat | None = Field(default=None, alias="energyEfficiency")


class TopSliceSubnetProfile(_UeFields, _CoreFields):
    """Requirements of a top slice subnet spanning domains (TS 28.541 v18.6.0 ``TopSliceSubnetProfile``)."""

    dl_latency: PosInt | None = Field(default=None, alias="dLLatency", description="ms (integer here)")
    ul_latency: PosInt | None = Field(default=None, alias="uLLatency", description="ms (integer here)")
    positioning: Positioning | None = None
    synchronicity: Synchronicity | None = None
    energy_efficiency: EnergyEfficiency | None = Field(default=None, alias="energyEfficiency")


class SliceProfile(NrmModel):
    """Requirements of one slice subnet (TS 28.541 v18.6.0 ``SliceProfile``).

    ``sliceProfileId`` is also accepted as ``serviceProfileId``, the spelling of the v18.2/v18.3 OpenAPI.
    Rule: ``plmnInfoList`` has at least one entry and no duplicates (stage-2 multiplicity 1..*).
    """

    slice_profile_id: NonEmptyStr = Field(
        validation_alias=AliasChoices("sliceProfileId", "serviceProfileId"),
        serialization_alias="sliceProfileId",
    )
    plmn_info_list: list[PlmnInfo] = Field(alias="plmnInfoList", min_length=1)
    cn_slice_subnet_profile: CNSliceSubnetProfile | None = Field(default=None, alias="cNSliceSubnetProfile")
    ran_slice_subnet_profile: RANSliceSubnetProfile | None = Field(default=None, alias="rANSliceSubnetProfile")
    top_slice_subnet_profile: TopSliceSubnetProfile | None = Field(default=None, alias="topSliceSubnetProfile")

    @model_validator(mode="after")
    def _unique_plmn_info(self) -> Self:
        require_unique(self.plmn_info_list, "plmnInfoList", "entries")
        return self
