"""Autopilot deployment profiles (step 7) and the domain join configuration (step 8)."""

import json
import re

import pytest

from .conftest import KIOSK_GROUP, PILOT_GROUP

PROFILES = "/beta/deviceManagement/windowsAutopilotDeploymentProfiles"
HYBRID = "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile"
CONFIGS = "/beta/deviceManagement/deviceConfigurations"
DOMAIN_JOIN = "#microsoft.graph.windowsDomainJoinConfiguration"
OOBE = {"deviceUsageType": "singleUser", "userType": "standard", "privacySettingsHidden": True, "eulaHidden": True,
        "keyboardSelectionPageSkipped": True, "escapeLinkHidden": True}


def hybrid_profile(**overrides):
    return {"@odata.type": HYBRID, "displayName": "Autopilot HAADJ user driven", "description": "tutorial",
            "locale": "os-default", "deviceNameTemplate": "", "deviceType": "windowsPc",
            "hardwareHashExtractionEnabled": True, "preprovisioningAllowed": False,
            "hybridAzureADJoinSkipConnectivityCheck": False, "roleScopeTagIds": ["0"],
            "outOfBoxExperienceSetting": dict(OOBE), **overrides}


def domain_join(**overrides):
    return {"@odata.type": DOMAIN_JOIN, "displayName": "DomainJoin-HAADJ", "computerNameStaticPrefix": "HAADJ-",
            "computerNameSuffixRandomCharCount": 9, "activeDirectoryDomainName": "lab.example",
            "organizationalUnit": "OU=HAADJ,DC=lab,DC=example", "roleScopeTagIds": ["0"], **overrides}


def assignment(group_id, kind="groupAssignmentTarget"):
    target = {"@odata.type": f"#microsoft.graph.{kind}"}
    if group_id:
        target["groupId"] = group_id
    return {"@odata.type": "#microsoft.graph.windowsAutopilotDeploymentProfileAssignment", "target": target}


ALL_DEVICES = assignment(None, "allDevicesAssignmentTarget")
GUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_profile_response_fills_the_deprecated_twins(graph):
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile())
    assert profile["@odata.type"] == HYBRID
    assert (profile["language"], profile["extractHardwareHash"], profile["enableWhiteGlove"]) == \
        ("os-default", True, False)
    assert profile["outOfBoxExperienceSettings"] == {
        "deviceUsageType": "singleUser", "userType": "standard", "hidePrivacySettings": True, "hideEULA": True,
        "skipKeyboardSelectionPage": True, "hideEscapeLink": True}
    patched = graph.ok("PATCH", f"{PROFILES}/{profile['id']}", json={"@odata.type": HYBRID, "locale": "en-US"})
    assert patched["language"] == "en-US"


@pytest.mark.parametrize("twin,value", [("language", "en-US"), ("extractHardwareHash", True),
                                        ("enableWhiteGlove", False),
                                        ("outOfBoxExperienceSettings", {"hideEULA": True})])
def test_deprecated_twins_are_read_only(graph, twin, value):
    error = graph.error("POST", PROFILES, 400, json=hybrid_profile(**{twin: value}))
    assert "read-only" in error["message"]


@pytest.mark.parametrize("overrides,fragment", [
    ({"deviceType": "toaster"}, "not valid for the enum"),
    ({"outOfBoxExperienceSetting": dict(OOBE, userType="guest")},
     "not valid for the enum"),
    ({"outOfBoxExperienceSetting": dict(OOBE, hideEULA=True)}, "does not exist"),
    ({"hybridAzureADJoinSkipConnectivityCheck": "no"}, "Edm.Boolean"),
    ({"@odata.type": "#microsoft.graph.windowsAutopilotDeploymentProfile"}, "abstract"),
    ({"displayName": "x" * 201}, "longer than"),
])
def test_profile_bodies_are_checked(graph, overrides, fragment):
    assert fragment in graph.error("POST", PROFILES, 400, json=hybrid_profile(**overrides))["message"]


def test_azure_ad_type_has_no_hybrid_property(graph):
    body = hybrid_profile(**{"@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"})
    assert "does not exist" in graph.error("POST", PROFILES, 400, json=body)["message"]
    body.pop("hybridAzureADJoinSkipConnectivityCheck")
    graph.ok("POST", PROFILES, 201, json=body)


def test_deployment_mode_and_type_cannot_change(graph):
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile())
    item = f"{PROFILES}/{profile['id']}"
    graph.error("PATCH", item, 400, json={"outOfBoxExperienceSetting": dict(OOBE, deviceUsageType="shared")})
    graph.error("PATCH", item, 400, json={"@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"})
    kept = graph.ok("PATCH", item, json={"outOfBoxExperienceSetting": dict(OOBE, eulaHidden=False)})
    assert kept["outOfBoxExperienceSetting"]["deviceUsageType"] == "singleUser"
    assert kept["outOfBoxExperienceSettings"]["hideEULA"] is False


def test_profiles_refuse_filter_and_page(graph, lab):
    graph.error("GET", PROFILES, 400, params={"$filter": "displayName eq 'Autopilot HAADJ user driven'"})
    for index in range(3):
        graph.ok("POST", PROFILES, 201, json=hybrid_profile(displayName=f"P{index}"))
    lab.client.config(page_size=2)
    first = graph.ok("GET", PROFILES)
    second = graph.ok("GET", first["@odata.nextLink"])
    assert [p["displayName"] for p in first["value"] + second["value"]] == ["P0", "P1", "P2"]
    assert "@odata.nextLink" not in second


def test_profile_assignments_lifecycle(graph):
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile())
    assignments = f"{PROFILES}/{profile['id']}/assignments"
    created = graph.ok("POST", assignments, 201, json=assignment(PILOT_GROUP))
    assert created["target"]["groupId"] == PILOT_GROUP and created["source"] == "direct"
    graph.error("POST", assignments, 400, json=assignment(PILOT_GROUP))
    graph.error("POST", assignments, 404, json=assignment("00000000-0000-4000-8000-00000000dead"))
    graph.ok("POST", assignments, 201, json=assignment(KIOSK_GROUP))
    assert len(graph.ok("GET", assignments)["value"]) == 2
    assert graph.ok("GET", f"{assignments}/{created['id']}")["id"] == created["id"]
    graph.error("DELETE", f"{PROFILES}/{profile['id']}", 400)
    for item in graph.ok("GET", assignments)["value"]:
        assert graph.http.delete(f"{assignments}/{item['id']}").status_code == 204
    graph.error("GET", f"{assignments}/{created['id']}", 404)
    assert graph.http.delete(f"{PROFILES}/{profile['id']}").status_code == 204


@pytest.mark.parametrize("char", list("-!#%^*)(+;'><"))
def test_a_profile_name_intune_cannot_take_gets_a_500_that_says_nothing_useful(graph, char):
    name = f"Autopilot{char}HAADJ"
    response = graph.http.post(PROFILES, json=hybrid_profile(displayName=name))
    assert response.status_code == 500, response.text
    error = response.json()["error"]
    assert error["code"] == "InternalServerError"
    assert re.fullmatch(f"An internal server error has occurred - Operation ID \\(for customer support\\): {GUID} - Activity ID: {GUID}",
                        json.loads(error["message"])["Message"])
    assert not [p for p in graph.ok("GET", PROFILES)["value"] if p["displayName"] == name]

    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile(displayName="Autopilot_HAADJ v2.1 user driven"))
    graph.error("PATCH", f"{PROFILES}/{profile['id']}", 500, json={"@odata.type": HYBRID, "displayName": name})
    assert graph.ok("GET", f"{PROFILES}/{profile['id']}")["displayName"] == "Autopilot_HAADJ v2.1 user driven"


def test_an_empty_locale_is_stored_as_the_os_default(graph):
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile(locale=""))
    assert (profile["locale"], profile["language"]) == ("os-default", "os-default")
    item = f"{PROFILES}/{profile['id']}"
    assert graph.ok("PATCH", item, json={"@odata.type": HYBRID, "locale": "user-select"})["locale"] == "user-select"
    assert graph.ok("PATCH", item, json={"@odata.type": HYBRID, "locale": ""})["locale"] == "os-default"


def test_all_devices_takes_no_exclusions_either_way_round(graph):
    first = graph.ok("POST", PROFILES, 201, json=hybrid_profile(displayName="First"))
    graph.ok("POST", f"{PROFILES}/{first['id']}/assignments", 201, json=ALL_DEVICES)
    error = graph.error("POST", f"{PROFILES}/{first['id']}/assignments", 400,
                        json=assignment(KIOSK_GROUP, "exclusionGroupAssignmentTarget"))
    assert "Exclusions are not supported" in error["message"]
    second = graph.ok("POST", PROFILES, 201, json=hybrid_profile(displayName="Second"))
    graph.ok("POST", f"{PROFILES}/{second['id']}/assignments", 201,
             json=assignment(KIOSK_GROUP, "exclusionGroupAssignmentTarget"))
    graph.error("POST", f"{PROFILES}/{second['id']}/assignments", 400, json=ALL_DEVICES)
    assert len(graph.ok("GET", f"{PROFILES}/{first['id']}/assignments")["value"]) == 1
    assert len(graph.ok("GET", f"{PROFILES}/{second['id']}/assignments")["value"]) == 1


def test_only_one_profile_in_the_tenant_targets_all_devices(graph):
    first = graph.ok("POST", PROFILES, 201, json=hybrid_profile(displayName="First"))
    everyone = graph.ok("POST", f"{PROFILES}/{first['id']}/assignments", 201, json=ALL_DEVICES)
    entra = hybrid_profile(displayName="Entra", **{"@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"})
    del entra["hybridAzureADJoinSkipConnectivityCheck"]
    second = graph.ok("POST", PROFILES, 201, json=entra)
    error = graph.error("POST", f"{PROFILES}/{second['id']}/assignments", 400, json=ALL_DEVICES)
    assert error["code"] == "BadRequest"
    assert json.loads(error["message"])["Message"].startswith(f"Another Profile {first['id']} is already assigned to All Devices.")
    assert graph.ok("GET", f"{PROFILES}/{second['id']}/assignments")["value"] == []

    assert graph.http.delete(f"{PROFILES}/{first['id']}/assignments/{everyone['id']}").status_code == 204
    graph.ok("POST", f"{PROFILES}/{second['id']}/assignments", 201, json=ALL_DEVICES)


def test_profiles_and_device_configurations_have_bare_guid_ids(graph):
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile())
    config = graph.ok("POST", CONFIGS, 201, json=domain_join())
    assert re.fullmatch(GUID, profile["id"]) and re.fullmatch(GUID, config["id"])


def test_profiles_are_beta_only(graph):
    error = graph.error("GET", "/v1.0/deviceManagement/windowsAutopilotDeploymentProfiles", 400)
    assert error["message"] == "Resource not found for the segment 'windowsAutopilotDeploymentProfiles'."


def test_domain_join_configuration_create_patch_and_version(graph):
    config = graph.ok("POST", CONFIGS, 201, json=domain_join())
    assert (config["version"], config["supportsScopeTags"]) == (1, True)
    patched = graph.ok("PATCH", f"{CONFIGS}/{config['id']}", json={"@odata.type": DOMAIN_JOIN,
                                                                   "organizationalUnit": "OU=X,DC=lab,DC=example"})
    assert (patched["version"], patched["organizationalUnit"]) == (2, "OU=X,DC=lab,DC=example")
    types = {c["@odata.type"] for c in graph.ok("GET", CONFIGS)["value"]}
    assert DOMAIN_JOIN in types and len(types) >= 2


@pytest.mark.parametrize("overrides,fragment", [
    ({"computerNameSuffixRandomCharCount": 2}, "out of range"),
    ({"computerNameSuffixRandomCharCount": 15}, "out of range"),
    ({"computerNameSuffixRandomCharCount": 9.5}, "Edm.Int32"),
    ({"supportsScopeTags": True}, "read-only"),
    ({"version": 4}, "read-only"),
    ({"computerNamePrefix": "X"}, "does not exist"),
])
def test_domain_join_bodies_are_checked(graph, overrides, fragment):
    assert fragment in graph.error("POST", CONFIGS, 400, json=domain_join(**overrides))["message"]


def test_domain_join_requires_its_fields(graph):
    body = domain_join()
    del body["activeDirectoryDomainName"]
    assert "activeDirectoryDomainName" in graph.error("POST", CONFIGS, 400, json=body)["message"]
    for edge in (3, 14):
        graph.ok("POST", CONFIGS, 201, json=domain_join(computerNameSuffixRandomCharCount=edge))


def test_device_configuration_assign_replaces_and_returns_the_set(graph):
    config = graph.ok("POST", CONFIGS, 201, json=domain_join())
    assign = f"{CONFIGS}/{config['id']}/assign"
    all_devices = {"@odata.type": "#microsoft.graph.deviceConfigurationAssignment",
                   "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}
    group = {"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": PILOT_GROUP}}
    first = graph.ok("POST", assign, 200, json={"assignments": [all_devices, group]})["value"]
    assert [a["intent"] for a in first] == ["apply", "apply"]
    second = graph.ok("POST", assign, 200, json={"assignments": [group]})["value"]
    assert graph.ok("GET", f"{CONFIGS}/{config['id']}/assignments")["value"] == second
    assert [a["target"]["groupId"] for a in second] == [PILOT_GROUP]
    graph.error("POST", assign, 400, json={"deviceConfigurationGroupAssignments": []})
    graph.error("POST", assign, 400, json={"assignments": [{"target": {"groupId": PILOT_GROUP}}]})


def test_device_configurations_filter_by_display_name_eq_only(graph):
    made = graph.ok("POST", CONFIGS, 201, json=domain_join())
    graph.ok("POST", CONFIGS, 201, json=domain_join(displayName="Other"))
    found = graph.ok("GET", CONFIGS, params={"$filter": "displayName eq 'domainjoin-haadj'", "$select": "id,displayName"})
    assert [(obj["id"], obj["@odata.type"]) for obj in found["value"]] == [(made["id"], DOMAIN_JOIN)]
    for refused in ("startswith(displayName,'Domain')", "displayName ne 'Other'", "description eq 'x'"):
        graph.error("GET", CONFIGS, 400, params={"$filter": refused})


@pytest.mark.parametrize("path", [PROFILES, CONFIGS, "/beta/deviceManagement/deviceEnrollmentConfigurations"])
def test_select_keeps_the_odata_type_of_derived_types_and_top_is_at_most_999(graph, path):
    if path == PROFILES:
        graph.ok("POST", PROFILES, 201, json=hybrid_profile())
    page = graph.ok("GET", path, params={"$select": "id,displayName", "$top": "999"})
    assert page["value"] and all(set(obj) == {"@odata.type", "id", "displayName"} for obj in page["value"]), page
    graph.error("GET", path, 400, params={"$select": "id,displayName", "$top": "1000"})
