"""ServiceProfile: the service requirements of a network slice (TS 28.541 v18.6.0 Slice NRM).

Stage 2: TS 28.541 clause 6.3.3 (Rel-16 numbering). All attributes are optional except those mandatory in the
stage-2 definition: ``serviceProfileId``, ``plmnInfoList`` (one or more entries) and ``sst``. Units: latency in
ms, throughput in kbit/s, availability, reliability and activity factor in %, jitter in µs, UE speed in km/h.

Rel-16 readers (e.g. ONAP) know some of these under older names: ``latency`` (now ``dLLatency``/``uLLatency``),
``sNSSAIList`` and ``pLMNIdList`` (now ``plmnInfoList``), ``reliability`` (now ``dLReliability``/
``uLReliability``). Only the Rel-18 names are accepted.
"""

from __future__ import annotations

from typing import Self

from pydantic import AliasChoices, Field, model_validator

from netslice.orchestration.nrm.attributes import (
    DeterministicComm,
    EnergyEfficiency,
    FeatureSupport,
    GeoArea,
    KPIMonitoring,
    MaxNumberofPDUSessions,
    MaxPktSize,
    MobilityLevel,
    N6Protection,
    Positioning,
    RadioSpectrum,
    SharingLevel,
    SliceSimultaneousUse,
    SupportedDataNetworks,
    Synchronicity,
    TermDensity,
    V2XCommModels,
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
    Snssai,
    require_unique,
)


class ServiceProfile(NrmModel):
    """Service requirements of a network slice (TS 28.541 v18.6.0 ``ServiceProfile``).

    Rules beyond the per-attribute ranges:

    * ``plmnInfoList`` has at least one entry and no duplicates (stage-2 multiplicity 1..*).
    * every S-NSSAI in ``plmnInfoList`` has SST equal to ``sst`` (netslice consistency rule: the profile's
      slice/service type is the SST of the S-NSSAIs it serves).
    * ``guaThpt <= maxThpt`` inside every throughput attribute (see :class:`XLThpt`).
    """

    service_profile_id: NonEmptyStr = Field(alias="serviceProfileId")
    plmn_info_list: list[PlmnInfo] = Field(alias="plmnInfoList", min_length=1)
    sst: int = Field(
        strict=True,
        ge=0,
        le=255,
        validation_alias=AliasChoices("sst", "sST"),
        serialization_alias="sst",
        description="slice/service type (stage-2 name sST)",
    )
    max_number_of_ues: NonNegInt | None = Field(default=None, alias="maxNumberofUEs")
    dl_latency: PosFloat | None = Field(default=None, alias="dLLatency", description="ms, through RAN, TN and CN")
    ul_latency: PosFloat | None = Field(default=None, alias="uLLatency", description="ms, through RAN, TN and CN")
    ue_mobility_level: MobilityLevel | None = Field(default=None, alias="uEMobilityLevel")
    network_slice_sharing_indicator: SharingLevel | None = Field(default=None, alias="networkSliceSharingIndicator")
    availability: Percent | None = Field(default=None, description="%, communication service availability")
    delay_tolerance: FeatureSupport | None = Field(default=None, alias="delayTolerance")
    dl_deterministic_comm: DeterministicComm | None = Field(default=None, alias="dLDeterministicComm")
    ul_deterministic_comm: DeterministicComm | None = Field(default=None, alias="uLDeterministicComm")
    dl_thpt_per_slice: XLThpt | None = Field(default=None, alias="dLThptPerSlice", description="kbit/s")
    ul_thpt_per_slice: XLThpt | None = Field(default=None, alias="uLThptPerSlice", description="kbit/s")
    dl_thpt_per_ue: XLThpt | None = Field(default=None, alias="dLThptPerUE", description="kbit/s")
    ul_thpt_per_ue: XLThpt | None = Field(default=None, alias="uLThptPerUE", description="kbit/s")
    dl_max_pkt_size: MaxPktSize | None = Field(default=None, alias="dLMaxPktSize")
    ul_max_pkt_size: MaxPktSize | None = Field(default=None, alias="uLMaxPktSize")
    max_number_of_pdu_sessions: MaxNumberofPDUSessions | None = Field(default=None, alias="maxNumberofPDUSessions")
    kpi_monitoring: KPIMonitoring | None = Field(default=None, alias="kPIMonitoring")
    nb_iot: FeatureSupport | None = Field(default=None, alias="nBIoT")
    radio_spectrum: RadioSpectrum | None = Field(default=None, alias="radioSpectrum")
    synchronicity: Synchronicity | None = None
    positioning: Positioning | None = None
    user_mgmt_open: FeatureSupport | None = Field(default=None, alias="userMgmtOpen")
    v2x_comm_models: V2XCommModels | None = Field(default=None, alias="v2XCommModels")
    coverage_area: list[GeoArea] | None = Field(default=None, alias="coverageArea")
    term_density: TermDensity | None = Field(default=None, alias="termDensity")
    activity_factor: Percent | None = Field(default=None, alias="activityFactor", description="% active UEs")
    ue_speed: NonNegInt | None = Field(default=None, alias="uESpeed", description="km/h")
    jitter: NonNegInt | None = Field(default=None, description="µs (TS 22.104 clause C.4.1)")
    survival_time: NonNegFloat | None = Field(default=None, alias="survivalTime", description="TS 22.104")
    dl_reliability: Percent | None = Field(default=None, alias="dLReliability", description="%")
    ul_reliability: Percent | None = Field(default=None, alias="uLReliability", description="%")
    max_dl_data_volume: NonNegFloat | None = Field(default=None, alias="maxDLDataVolume")
    max_ul_data_volume: NonNegFloat | None = Field(default=None, alias="maxULDataVolume")
    slice_simultaneous_use: SliceSimultaneousUse | None = Field(default=None, alias="sliceSimultaneousUse")
    energy_efficiency: EnergyEfficiency | None = Field(default=None, alias="energyEfficiency")
    nssaa_support: FeatureSupport | None = Field(default=None, alias="nssaaSupport")
    non_ip_support: FeatureSupport | None = Field(default=None, alias="nonIPSupport")
    n6_protection: N6Protection | None = Field(default=None, alias="n6Protection")
    supported_data_networks: SupportedDataNetworks | None = Field(default=None, alias="supportedDataNetworks")

    @model_validator(mode="after")
    def _plmn_info_consistent(self) -> Self:
        require_unique(self.plmn_info_list, "plmnInfoList", "entries")
        for i, info in enumerate(self.plmn_info_list):
            if info.snssai.sst != self.sst:
                raise ValueError(
                    f"plmnInfoList.{i}.snssai.sst: must equal the profile's sst={self.sst}, got {info.snssai.sst}"
                )
        return self

    @property
    def snssais(self) -> list[Snssai]:
        """The S-NSSAIs the profile serves, in ``plmnInfoList`` order, without repeats."""
        return list(dict.fromkeys(info.snssai for info in self.plmn_info_list))
