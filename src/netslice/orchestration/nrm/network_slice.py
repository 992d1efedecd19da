"""NetworkSlice and NetworkSliceSubnet MOIs (TS 28.541 v18.6.0 Slice NRM; Rel-16 stage 2 clauses 6.3.1, 6.3.2).

Both are modelled in the TS 28.532 ProvMnS ``Resource`` form ``{id, objectClass, attributes}`` that a
``createMOI`` (HTTP PUT) carries, e.g. ``PUT .../NetworkSlice=ns-embb-1``.

A new slice starts LOCKED and DISABLED (TS 28.541 Annex B), so ``administrativeState`` defaults to LOCKED;
``operationalState`` is read-only and set by the producer, so it is absent from create requests.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, model_validator

from netslice.orchestration.nrm.common import (
    AdministrativeState,
    Dn,
    ManagedObject,
    NonNegInt,
    NrmEnum,
    NrmModel,
    OperationalState,
    require_unique,
)
from netslice.orchestration.nrm.service_profile import ServiceProfile
from netslice.orchestration.nrm.slice_profile import SliceProfile


class NetworkSliceAttributes(NrmModel):
    """Attributes of a NetworkSlice (TS 28.541 v18.6.0 ``NetworkSlice-Single.attributes``).

    Rules: ``serviceProfileList`` has at least one profile (stage-2 M) and ``serviceProfileId`` values are
    unique within it (each profile is addressed by its id, e.g. in 28.531 deallocateNsi).
    """

    network_slice_subnet_ref: Dn | None = Field(default=None, alias="networkSliceSubnetRef")
    operational_state: OperationalState | None = Field(default=None, alias="operationalState")
    administrative_state: AdministrativeState = Field(default=AdministrativeState.LOCKED, alias="administrativeState")
    service_profile_list: list[ServiceProfile] = Field(alias="serviceProfileList", min_length=1)
    network_slice_controller_ref: list[Dn] | None = Field(default=None, alias="networkSliceControllerRef")
    isolation_profile_ref: Dn | None = Field(default=None, alias="isolationProfileRef")

    @model_validator(mode="after")
    def _unique_profile_ids(self) -> Self:
        ids = [p.service_profile_id for p in self.service_profile_list]
        require_unique(ids, "serviceProfileList.serviceProfileId", "profile ids")
        return self


class NetworkSlice(ManagedObject):
    """A network slice MOI (TS 28.541 v18.6.0 ``NetworkSlice``), ProvMnS ``Resource`` form."""

    OBJECT_CLASS: ClassVar[str] = "NetworkSlice"

    attributes: NetworkSliceAttributes


class NetworkSliceSubnetType(NrmEnum):
    """Kind of slice subnet (TS 28.541 v18.6.0 ``networkSliceSubnetType``)."""

    TOP_SLICESUBNET = "TOP_SLICESUBNET"
    RAN_SLICESUBNET = "RAN_SLICESUBNET"
    CN_SLICESUBNET = "CN_SLICESUBNET"


#: The SliceProfile sub-profile a subnet of each type must carry (Python field name, 3GPP name).
SUBPROFILE_OF_TYPE: dict[NetworkSliceSubnetType, tuple[str, str]] = {
    NetworkSliceSubnetType.TOP_SLICESUBNET: ("top_slice_subnet_profile", "topSliceSubnetProfile"),
    NetworkSliceSubnetType.RAN_SLICESUBNET: ("ran_slice_subnet_profile", "rANSliceSubnetProfile"),
    NetworkSliceSubnetType.CN_SLICESUBNET: ("cn_slice_subnet_profile", "cNSliceSubnetProfile"),
}


class NsInfo(NrmModel):
    """The ETSI NFV network-service instance realising a slice subnet (TS 28.541 ``NsInfo``)."""

    ns_instance_id: str | None = Field(default=None, alias="nsInstanceId")
    ns_name: str | None = Field(default=None, alias="nsName")
    description: str | None = None


class NetworkSliceSubnetAttributes(NrmModel):
    """Attributes of a NetworkSliceSubnet (TS 28.541 v18.6.0 ``NetworkSliceSubnet-Single.attributes``).

    Rules: ``sliceProfileList`` has at least one profile (stage-2 M) with unique ``sliceProfileId`` values;
    and, when ``networkSliceSubnetType`` is given, every profile carries the matching sub-profile
    (``rANSliceSubnetProfile`` for a RAN subnet, ``cNSliceSubnetProfile`` for a CN subnet,
    ``topSliceSubnetProfile`` for a top subnet) -- a netslice rule, since the NSSMF derives its per-domain
    allocation from that sub-profile.
    """

    managed_function_ref_list: list[Dn] | None = Field(default=None, alias="managedFunctionRefList")
    network_slice_subnet_ref_list: list[Dn] | None = Field(default=None, alias="networkSliceSubnetRefList")
    operational_state: OperationalState | None = Field(default=None, alias="operationalState")
    administrative_state: AdministrativeState = Field(default=AdministrativeState.LOCKED, alias="administrativeState")
    ns_info: NsInfo | None = Field(default=None, alias="nsInfo")
    slice_profile_list: list[SliceProfile] = Field(alias="sliceProfileList", min_length=1)
    ep_transport_ref_list: list[Dn] | None = Field(default=None, alias="epTransportRefList")
    priority_label: NonNegInt | None = Field(default=None, alias="priorityLabel")
    network_slice_subnet_type: NetworkSliceSubnetType | None = Field(default=None, alias="networkSliceSubnetType")
    network_slice_subnet_controller_ref: list[Dn] | None = Field(default=None, alias="networkSliceSubnetControllerRef")
    isolation_profile_ref: Dn | None = Field(default=None, alias="isolationProfileRef")

    @model_validator(mode="after")
    def _profiles_consistent(self) -> Self:
        ids = [p.slice_profile_id for p in self.slice_profile_list]
        require_unique(ids, "sliceProfileList.sliceProfileId", "profile ids")
        if self.network_slice_subnet_type is not None:
            field, name = SUBPROFILE_OF_TYPE[self.network_slice_subnet_type]
            for i, profile in enumerate(self.slice_profile_list):
                if getattr(profile, field) is None:
                    raise ValueError(
                        f"sliceProfileList.{i}.{name}: required when networkSliceSubnetType is "
                        f"{self.network_slice_subnet_type.value}"
                    )
        return self


class NetworkSliceSubnet(ManagedObject):
    """A network slice subnet MOI (TS 28.541 v18.6.0 ``NetworkSliceSubnet``), ProvMnS ``Resource`` form."""

    OBJECT_CLASS: ClassVar[str] = "NetworkSliceSubnet"

    attributes: NetworkSliceSubnetAttributes
