"""NRM example payloads, as JSON text, and fixtures that decode a fresh copy per test.

The ``REF_*`` texts are example NRM payloads in the shapes of TS 28.541 (ServiceProfile, SliceProfile,
RRMPolicyRatio), TS 28.532 (ProvMnS JSON) and TS 28.552 (measurement names). ``FULL_SERVICE_PROFILE``
sets every ServiceProfile attribute the model knows.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

Data = dict[str, Any]

REF_SERVICE_PROFILE = """
{
  "serviceProfileId": "sp-embb-1",
  "plmnInfoList": [ {"plmnId": {"mcc": "001", "mnc": "01"}, "snssai": {"sst": 1, "sd": "000001"}} ],
  "sst": 1, "maxNumberofUEs": 200,
  "dLLatency": 20, "uLLatency": 20,
  "dLThptPerSlice": {"guaThpt": 100000, "maxThpt": 300000},
  "uLThptPerSlice": {"guaThpt": 20000,  "maxThpt": 50000},
  "dLThptPerUE":    {"maxThpt": 50000},
  "availability": 99.9,
  "uEMobilityLevel": "NOMADIC", "networkSliceSharingIndicator": "SHARED"
}
"""

REF_NETWORK_SLICE = (
    """{ "id": "ns-embb-1", "objectClass": "NetworkSlice",
  "attributes": { "administrativeState": "UNLOCKED",
    "serviceProfileList": [ """
    + REF_SERVICE_PROFILE
    + """ ] } }"""
)

REF_NETWORK_SLICE_SUBNET = """
{ "id": "nss-ran-embb-1", "objectClass": "NetworkSliceSubnet",
  "attributes": { "networkSliceSubnetType": "RAN_SLICESUBNET",
    "sliceProfileList": [ { "sliceProfileId": "slp-ran-embb-1",
      "plmnInfoList": [ {"plmnId": {"mcc":"001","mnc":"01"}, "snssai": {"sst":1,"sd":"000001"}} ],
      "rANSliceSubnetProfile": { "dLLatency": 8, "dLThptPerSliceSubnet": {"guaThpt": 100000, "maxThpt": 300000},
                                 "maxNumberofUEs": 200, "coverageAreaTAList": [{"mcc":"001","mnc":"01","tac":"000001"}],
                                 "resourceSharingLevel": "SHARED" } } ],
    "managedFunctionRefList": ["SubNetwork=RAN,ManagedElement=gNB1,GNBDUFunction=1"] } }
"""

REF_RRM_POLICY = """
{ "id": "rrm-embb", "objectClass": "RRMPolicyRatio",
  "attributes": { "resourceType": "PRB_DL",
    "rRMPolicyMemberList": [ {"plmnId": {"mcc":"001","mnc":"01"}, "snssai": {"sst":1,"sd":"000001"}} ],
    "rRMPolicyMaxRatio": 80, "rRMPolicyMinRatio": 40, "rRMPolicyDedicatedRatio": 10 } }
"""

REF_TRANSPORT = """
{ "snssai": {"sst":1,"sd":"000001"},
  "epTransportRefList": ["SubNetwork=TN,EP_Transport=gnb1-n3", "SubNetwork=TN,EP_Transport=upf1-n3"],
  "sloPolicy": [ {"metricType": "one-way-bandwidth",     "metricUnit": "Mbps", "bound": 200},
                 {"metricType": "one-way-delay-maximum", "metricUnit": "ms",   "bound": 5} ] }
"""

REF_COMPUTE = """
{ "id": "vs-1", "attributes": { "vsDataType": "x-sliceCompute", "vsDataFormatVersion": "1.0",
  "vsData": { "snssai": {"sst":1,"sd":"000001"}, "vCpu": 2.5, "memoryMiB": 4096 } } }
"""

REF_KPI_RECORD = """
{ "snssai": {"sst":1,"sd":"000001"}, "plmnId": {"mcc":"001","mnc":"01"},
  "measObjDn": "SubNetwork=RAN,ManagedElement=gNB1,GNBDUFunction=1,NRCellDU=1",
  "granularityPeriod": 60, "endTime": "2025-01-01T00:01:00Z",
  "measurements": { "RRU.PrbUsedDl": 37, "DRB.UEThpDl": 51234.5, "DRB.UEThpUl": 8123.0,
                    "DRB.RlcSduDelayDl": 42.0, "DRB.PdcpSduDelayDl": 11.0,
                    "DRB.MeanActiveUeDl": 18, "DRB.RlcPacketDropRateDl": 120,
                    "GTP.OutDataOctN3UPF": 4.1e8, "GTP.DelayDlInPsaUpfMean": 350,
                    "DTSNSI": 54666.0, "DelayE2EDlNs": 180.0 } }
"""

_SAC = {"category": "CHARACTER", "tagging": ["PERFORMANCE"], "exposure": "KPI"}

FULL_SERVICE_PROFILE: Data = {
    "serviceProfileId": "sp-urllc-1",
    "plmnInfoList": [
        {"plmnId": {"mcc": "001", "mnc": "01"}, "snssai": {"sst": 2, "sd": "0000A1"}},
        {"plmnId": {"mcc": "001", "mnc": "001"}, "snssai": {"sst": 2}},
    ],
    "sst": 2,
    "maxNumberofUEs": 50,
    "dLLatency": 5,
    "uLLatency": 7.5,
    "uEMobilityLevel": "STATIONARY",
    "networkSliceSharingIndicator": "NON_SHARED",
    "availability": 99.999,
    "delayTolerance": {"servAttrCom": _SAC, "support": "NOT_SUPPORTED"},
    "dLDeterministicComm": {"servAttrCom": _SAC, "availability": "SUPPORTED", "periodicityList": [1, 10]},
    "uLDeterministicComm": {"availability": "NOT_SUPPORTED"},
    "dLThptPerSlice": {"servAttrCom": _SAC, "guaThpt": 10000, "maxThpt": 20000},
    "uLThptPerSlice": {"guaThpt": 5000, "maxThpt": 5000},
    "dLThptPerUE": {"guaThpt": 1000, "maxThpt": 2000},
    "uLThptPerUE": {"maxThpt": 1000},
    "dLMaxPktSize": {"servAttrCom": _SAC, "maxsize": 1500},
    "uLMaxPktSize": {"maxsize": 1500},
    "maxNumberofPDUSessions": {"servAttrCom": _SAC, "nOofPDUSessions": 100},
    "kPIMonitoring": {"servAttrCom": _SAC, "kPIList": ["DRB.UEThpDl", "DelayE2EDlNs"]},
    "nBIoT": {"support": "NOT_SUPPORTED"},
    "radioSpectrum": {"servAttrCom": _SAC, "nROperatingBands": ["n78", "n1"]},
    "synchronicity": {"servAttrCom": _SAC, "availability": "BETWEEN_BS_AND_UE", "accuracy": 1.0},
    "positioning": {
        "servAttrCom": _SAC,
        "availability": ["OTDOA", "NET_RTK"],
        "predictionFrequency": "PERSEC",
        "accuracy": 0.5,
    },
    "userMgmtOpen": {"support": "SUPPORTED"},
    "v2XCommModels": {"v2XMode": "NOT_SUPPORTED"},
    "coverageArea": [
        {
            "convexGeoPolygon": [
                {"latitude": 48.1, "longitude": 11.5},
                {"latitude": 48.2, "longitude": 11.5, "altitude": 520.0},
                {"latitude": 48.2, "longitude": 11.6},
            ]
        }
    ],
    "termDensity": {"servAttrCom": _SAC, "density": 1000},
    "activityFactor": 30,
    "uESpeed": 0,
    "jitter": 100,
    "survivalTime": 10,
    "dLReliability": 99.999,
    "uLReliability": 99.99,
    "maxDLDataVolume": 1000,
    "maxULDataVolume": 500,
    "sliceSimultaneousUse": 1,
    "energyEfficiency": {"servAttrCom": _SAC, "performance": {"kpiType": "INVOFLATENCY", "req": 0.2}},
    "nssaaSupport": {"support": "NOT_SUPPORTED"},
    "nonIPSupport": {"support": "SUPPORTED"},
    "n6Protection": {"secFuncList": [{"secFunId": "fw-1", "secFunType": "FIREWALL", "secRules": ["deny all"]}]},
    "supportedDataNetworks": {"dnnList": ["internet", "factory.local"]},
}


@pytest.fixture
def service_profile() -> Data:
    """The reference ServiceProfile (section 7.1), decoded."""
    return json.loads(REF_SERVICE_PROFILE)


@pytest.fixture
def full_service_profile() -> Data:
    """A ServiceProfile with every attribute set."""
    return json.loads(json.dumps(FULL_SERVICE_PROFILE))


@pytest.fixture
def network_slice() -> Data:
    """The reference NetworkSlice createMOI body (section 7.1), decoded."""
    return json.loads(REF_NETWORK_SLICE)


@pytest.fixture
def network_slice_subnet() -> Data:
    """The reference RAN NetworkSliceSubnet (section 7.2), decoded."""
    return json.loads(REF_NETWORK_SLICE_SUBNET)


@pytest.fixture
def rrm_policy() -> Data:
    """The reference RRMPolicyRatio (section 7.3), decoded."""
    return json.loads(REF_RRM_POLICY)


@pytest.fixture
def transport() -> Data:
    """The reference transport allocation (section 7.3), decoded."""
    return json.loads(REF_TRANSPORT)


@pytest.fixture
def compute() -> Data:
    """The reference compute VsDataContainer (section 7.3), decoded."""
    return json.loads(REF_COMPUTE)


@pytest.fixture
def kpi_record() -> Data:
    """The reference per-slice KPI record (section 7.4), decoded."""
    return json.loads(REF_KPI_RECORD)
