"""deviceEnrollmentConfigurations: the ESP collection, its server-managed fields, assign and setPriority."""

import re

import pytest

from .conftest import DEFAULT_ESP, KIOSK_GROUP, PILOT_GROUP

COLLECTION = "/beta/deviceManagement/deviceEnrollmentConfigurations"
ESP_TYPE = "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration"
GUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
APP = "4a1f9a6e-2f55-4b8e-9a53-0c7e7f6e1a01"
BLOCKING_ONLY_ON = {"allowDeviceResetOnInstallFailure": True, "allowDeviceUseOnInstallFailure": True,
                    "selectedMobileAppIds": [APP], "allowNonBlockingAppInstallation": True}
BLOCKING_ONLY_OFF = {"allowDeviceResetOnInstallFailure": False, "allowDeviceUseOnInstallFailure": False,
                     "selectedMobileAppIds": [], "allowNonBlockingAppInstallation": False}


def create_esp(graph, name, **props):
    return graph.ok("POST", COLLECTION, 201, json={"@odata.type": ESP_TYPE, "displayName": name, **props})


def group_target(group_id, kind="groupAssignmentTarget"):
    return {"target": {"@odata.type": f"#microsoft.graph.{kind}", "groupId": group_id}}


def esp_priorities(graph):
    items = graph.ok("GET", COLLECTION)["value"]
    return {i["displayName"]: i["priority"] for i in items if i["@odata.type"] == ESP_TYPE}


def test_seed_has_default_esp_among_other_configuration_types(graph):
    items = graph.ok("GET", COLLECTION)["value"]
    default = next(i for i in items if i["id"] == DEFAULT_ESP)
    assert default["@odata.type"] == ESP_TYPE
    assert default["deviceEnrollmentConfigurationType"] == "defaultWindows10EnrollmentCompletionPageConfiguration"
    assert (default["displayName"], default["priority"]) == ("All users and all devices", 0)
    assert len({i["@odata.type"] for i in items}) >= 3


def test_create_assigns_priority_version_timestamps_and_type(graph):
    first = create_esp(graph, "ESP-A", showInstallationProgress=True, priority=42)
    second = create_esp(graph, "ESP-B")
    assert (first["priority"], second["priority"]) == (1, 2)
    assert first["version"] == 1
    assert first["deviceEnrollmentConfigurationType"] == "windows10EnrollmentCompletionPageConfiguration"
    assert first["createdDateTime"] and first["lastModifiedDateTime"]
    assert first["showInstallationProgress"] is True and second["showInstallationProgress"] is False
    assert graph.ok("GET", f"{COLLECTION}/{first['id']}")["displayName"] == "ESP-A"


def test_patch_bumps_version_and_rejects_priority(graph):
    esp = create_esp(graph, "ESP-A")
    patched = graph.ok("PATCH", f"{COLLECTION}/{esp['id']}", json={"@odata.type": ESP_TYPE,
                                                                   "installProgressTimeoutInMinutes": 90})
    assert (patched["version"], patched["installProgressTimeoutInMinutes"]) == (2, 90)
    error = graph.error("PATCH", f"{COLLECTION}/{esp['id']}", 400, json={"priority": 3})
    assert error["code"] == "BadRequest" and "priority" in error["message"]


@pytest.mark.parametrize("prop,value", [
    ("id", "x"), ("version", 3), ("createdDateTime", "2025-01-01T00:00:00Z"),
    ("lastModifiedDateTime", "2025-01-01T00:00:00Z"),
    ("deviceEnrollmentConfigurationType", "windows10EnrollmentCompletionPageConfiguration"),
])
def test_read_only_properties_are_refused(graph, prop, value):
    error = graph.error("POST", COLLECTION, 400, json={"@odata.type": ESP_TYPE, "displayName": "x", prop: value})
    assert "read-only" in error["message"]
    esp = create_esp(graph, "ESP-A")
    graph.error("PATCH", f"{COLLECTION}/{esp['id']}", 400, json={prop: value})


@pytest.mark.parametrize("body,fragment", [
    ({"@odata.type": ESP_TYPE, "displayName": "x", "showProgress": True}, "does not exist"),
    ({"@odata.type": ESP_TYPE, "displayName": "x", "showInstallationProgress": "yes"}, "Edm.Boolean"),
    ({"@odata.type": ESP_TYPE, "displayName": "x", "installProgressTimeoutInMinutes": "60"}, "Edm.Int32"),
    ({"@odata.type": ESP_TYPE, "displayName": "x", "installProgressTimeoutInMinutes": 0}, "out of range"),
    ({"@odata.type": ESP_TYPE, "displayName": "x", "showInstallationProgress": None}, "null value"),
    ({"@odata.type": ESP_TYPE, "displayName": "x", "selectedMobileAppIds": "abc"}, "JSON array"),
    ({"@odata.type": ESP_TYPE}, "required property 'displayName'"),
    ({"displayName": "x"}, "@odata.type"),
    ({"@odata.type": "#microsoft.graph.deviceEnrollmentConfiguration", "displayName": "x"}, "abstract"),
    ({"@odata.type": "#microsoft.graph.windows10EnrollmentPage", "displayName": "x"}, "could not be resolved"),
    ({"@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration", "displayName": "x"}, "not derived"),
])
def test_invalid_bodies_are_refused_like_graph(graph, body, fragment):
    error = graph.error("POST", COLLECTION, 400, json=body)
    assert fragment in error["message"]
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert not [i for i in graph.ok("GET", COLLECTION)["value"] if i["displayName"] == "x"]


def test_patch_cannot_change_the_type(graph):
    esp = create_esp(graph, "ESP-A")
    error = graph.error("PATCH", f"{COLLECTION}/{esp['id']}", 400,
                        json={"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "limit": 3})
    assert "not derived" in error["message"]


def test_set_priority_moves_one_and_renumbers_the_others(graph):
    for name in ("A", "B", "C"):
        create_esp(graph, name)
    c = next(i for i in graph.ok("GET", COLLECTION)["value"] if i["displayName"] == "C")
    assert graph.http.post(f"{COLLECTION}/{c['id']}/setPriority", json={"priority": 1}).status_code == 204
    assert {k: v for k, v in esp_priorities(graph).items() if k != "All users and all devices"} == \
        {"C": 1, "A": 2, "B": 3}
    graph.error("POST", f"{COLLECTION}/{c['id']}/setPriority", 400, json={"priority": 0})
    graph.error("POST", f"{COLLECTION}/{c['id']}/setPriority", 400, json={"rank": 1})
    # Graph refuses a priority the configuration already has instead of treating it as a no-op.
    graph.error("POST", f"{COLLECTION}/{c['id']}/setPriority", 400, json={"priority": 1})


def test_set_priority_past_the_last_place_puts_it_last(graph):
    a, b = create_esp(graph, "A"), create_esp(graph, "B")
    assert graph.http.post(f"{COLLECTION}/{a['id']}/setPriority", json={"priority": 9}).status_code == 204
    assert {k: v for k, v in esp_priorities(graph).items() if k != "All users and all devices"} == {"B": 1, "A": 2}
    # What it stores is the last place, not 9: asking for 9 again is not the same priority, so it is accepted.
    assert graph.http.post(f"{COLLECTION}/{a['id']}/setPriority", json={"priority": 9}).status_code == 204
    assert graph.ok("GET", f"{COLLECTION}/{b['id']}")["priority"] == 1


def test_deleting_renumbers_and_the_default_is_protected(graph):
    a, b = create_esp(graph, "A"), create_esp(graph, "B")
    assert graph.http.delete(f"{COLLECTION}/{a['id']}").status_code == 204
    assert graph.ok("GET", f"{COLLECTION}/{b['id']}")["priority"] == 1
    graph.error("GET", f"{COLLECTION}/{a['id']}", 404)
    graph.error("DELETE", f"{COLLECTION}/{DEFAULT_ESP}", 400)
    graph.error("POST", f"{COLLECTION}/{DEFAULT_ESP}/setPriority", 400, json={"priority": 1})
    graph.error("POST", f"{COLLECTION}/{DEFAULT_ESP}/assign", 400,
                json={"enrollmentConfigurationAssignments": [group_target(PILOT_GROUP)]})
    patched = graph.ok("PATCH", f"{COLLECTION}/{DEFAULT_ESP}", json={"showInstallationProgress": True})
    assert patched["priority"] == 0 and patched["version"] == 2


def test_assign_replaces_the_whole_set(graph):
    esp = create_esp(graph, "ESP-A")
    assign = f"{COLLECTION}/{esp['id']}/assign"
    assert graph.http.post(assign, json={"enrollmentConfigurationAssignments": [
        group_target(PILOT_GROUP), group_target(KIOSK_GROUP, "exclusionGroupAssignmentTarget")]}).status_code == 204
    assert graph.http.post(assign, json={"enrollmentConfigurationAssignments": [
        group_target(KIOSK_GROUP)]}).status_code == 204
    assignments = graph.ok("GET", f"{COLLECTION}/{esp['id']}/assignments")["value"]
    assert [(a["target"]["@odata.type"], a["target"]["groupId"]) for a in assignments] == \
        [("#microsoft.graph.groupAssignmentTarget", KIOSK_GROUP)]
    assert graph.ok("GET", f"{COLLECTION}/{esp['id']}/assignments/{assignments[0]['id']}")["source"] == "direct"
    expanded = graph.ok("GET", f"{COLLECTION}/{esp['id']}", params={"$expand": "assignments"})
    assert expanded["assignments"] == assignments
    assert graph.http.post(assign, json={"enrollmentConfigurationAssignments": []}).status_code == 204
    assert graph.ok("GET", f"{COLLECTION}/{esp['id']}/assignments")["value"] == []


def test_assign_checks_targets_and_parameters(graph):
    esp = create_esp(graph, "ESP-A")
    assign = f"{COLLECTION}/{esp['id']}/assign"
    missing = "00000000-0000-4000-8000-00000000dead"
    graph.error("POST", assign, 404, json={"enrollmentConfigurationAssignments": [group_target(missing)]})
    graph.error("POST", assign, 400, json={"assignments": [group_target(PILOT_GROUP)]})
    graph.error("POST", assign, 400, json={"enrollmentConfigurationAssignments": [
        {"target": {"@odata.type": "#microsoft.graph.deviceAndAppManagementAssignmentTarget"}}]})
    graph.error("POST", assign, 400, json={"enrollmentConfigurationAssignments": [
        group_target(PILOT_GROUP), group_target(PILOT_GROUP)]})
    # Nested @odata.type may come without '#', as in Microsoft's examples.
    assert graph.http.post(assign, json={"enrollmentConfigurationAssignments": [
        {"target": {"@odata.type": "microsoft.graph.allDevicesAssignmentTarget"}}]}).status_code == 204


def test_filters_by_name_or_kind_only(graph):
    create_esp(graph, "ESP-Filtered")
    by_name = graph.ok("GET", COLLECTION, params={"$filter": "displayName eq 'esp-filtered'"})["value"]
    assert [obj["displayName"] for obj in by_name] == ["ESP-Filtered"]
    by_kind = graph.ok("GET", COLLECTION, params={
        "$filter": "deviceEnrollmentConfigurationType eq 'windows10EnrollmentCompletionPageConfiguration'"})["value"]
    assert [obj["displayName"] for obj in by_kind] == ["ESP-Filtered"]  # not the default ESP, nor the limits
    for refused in ("startswith(displayName,'ESP')", "priority eq 1", "displayName ne 'x'",
                    "isof('microsoft.graph.windows10EnrollmentCompletionPageConfiguration')"):
        graph.error("GET", COLLECTION, 400, params={"$filter": refused})


def test_select_and_top(graph):
    page = graph.ok("GET", COLLECTION, params={"$select": "displayName", "$top": "2"})
    assert len(page["value"]) == 2 and "@odata.nextLink" in page
    assert set(page["value"][0]) == {"@odata.type", "id", "displayName"}
    graph.error("GET", COLLECTION, 400, params={"$select": "colour"})
    graph.error("GET", COLLECTION, 400, params={"$expand": "owners"})


def test_ids_take_the_form_graph_gives_each_kind_of_configuration(graph, lab):
    created = create_esp(graph, "ESP-A")
    assert re.fullmatch(GUID + "_Windows10EnrollmentCompletionPageConfiguration", created["id"])
    assert re.fullmatch(GUID + "_DefaultWindows10EnrollmentCompletionPageConfiguration", DEFAULT_ESP)
    # A seed without an id gets the suffix too, so tests cannot come to rely on bare GUIDs here.
    added = lab.client.seed({"deviceEnrollmentConfigurations": [
        {"@odata.type": ESP_TYPE, "displayName": "Seeded ESP"},
        {"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "displayName": "Seeded limit", "limit": 3}]})
    seeded_esp, seeded_limit = added["added"]["deviceEnrollmentConfigurations"]
    assert re.fullmatch(GUID + "_Windows10EnrollmentCompletionPageConfiguration", seeded_esp)
    assert re.fullmatch(GUID + "_Limit", seeded_limit)
    assert graph.ok("GET", f"{COLLECTION}/{seeded_esp}")["displayName"] == "Seeded ESP"


def test_settings_under_block_device_use_are_stored_off_when_the_device_is_not_blocked(graph):
    # blockDeviceSetupRetryByUser false is the portal's "Block device use ...: Yes", the only place these exist.
    blocking = create_esp(graph, "Blocking", blockDeviceSetupRetryByUser=False, **BLOCKING_ONLY_ON)
    assert {name: blocking[name] for name in BLOCKING_ONLY_ON} == BLOCKING_ONLY_ON
    not_blocking = create_esp(graph, "Not blocking", blockDeviceSetupRetryByUser=True, **BLOCKING_ONLY_ON)
    assert {name: not_blocking[name] for name in BLOCKING_ONLY_ON} == BLOCKING_ONLY_OFF

    item = f"{COLLECTION}/{blocking['id']}"
    switched = graph.ok("PATCH", item, json={"@odata.type": ESP_TYPE, "blockDeviceSetupRetryByUser": True})
    assert {name: switched[name] for name in BLOCKING_ONLY_ON} == BLOCKING_ONLY_OFF
    ignored = graph.ok("PATCH", item, json={"@odata.type": ESP_TYPE, "allowDeviceResetOnInstallFailure": True})
    assert ignored["allowDeviceResetOnInstallFailure"] is False
    back = graph.ok("PATCH", item, json={"@odata.type": ESP_TYPE, "blockDeviceSetupRetryByUser": False,
                                         "allowDeviceResetOnInstallFailure": True})
    assert back["allowDeviceResetOnInstallFailure"] is True
