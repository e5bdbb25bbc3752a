"""Autopilot device identities (actions, no PATCH, v1.0 vs beta), their Entra devices' physicalIds,
dynamic group membership, deploymentProfileAssignmentStatus, and the verification endpoints (managed
devices, autopilotEvents, users). Identities are seeded (settled) unless the import path is the point."""

import pytest

from lab.graph.resources.dynamic_membership import parse_rule
from lab.graph.resources.timeline import DELAYS

from .conftest import KIOSK_GROUP, PILOT_GROUP, Graph, app_token
from .test_devices_import_and_sync import device, import_devices, state_of
from .test_profiles_and_domain_join import assignment, hybrid_profile

IDENTITIES = "/beta/deviceManagement/windowsAutopilotDeviceIdentities"
PROFILES = "/beta/deviceManagement/windowsAutopilotDeploymentProfiles"
ZTD_RULE = '(device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]"))'
MEMBERSHIP, DEVICE_SYNC, ASSIGNING = DELAYS["membership"], DELAYS["device_object"], DELAYS["profile_assignment"]


@pytest.fixture
def frozen(lab):
    lab.client.advance_clock(0, freeze=True)


def seed_identities(lab, *serials, **fields):
    added = lab.client.seed({"windowsAutopilotDeviceIdentities": [
        {"serialNumber": serial, **fields} for serial in serials]})
    return added["added"]["windowsAutopilotDeviceIdentities"]


def dynamic_group(graph, rule, name="Autopilot-HAADJ-Devices", state="On"):
    return graph.ok("POST", "/v1.0/groups", 201, json={
        "displayName": name, "mailEnabled": False, "mailNickname": name.replace("-", "").lower(),
        "securityEnabled": True, "groupTypes": ["DynamicMembership"], "membershipRule": rule,
        "membershipRuleProcessingState": state})


def test_a_nickname_may_hold_a_period(graph):
    # microsoft-graph-docs PRs #19131 (v1.0) and #19132 (beta): "." is not an invalid character of mailNickname.
    created = dynamic_group(graph, '(device.deviceOSType -eq "Windows")', name="Autopilot.Devices")
    assert created["mailNickname"] == "autopilot.devices"
    item = "/v1.0/groups/" + created["id"]
    assert graph.http.patch(item, json={"mailNickname": "autopilot.hybrid.devices"}).status_code == 204
    assert graph.ok("GET", item, params={"$select": "mailNickname"})["mailNickname"] == "autopilot.hybrid.devices"
    assert "mailNickname" in graph.error("PATCH", item, 400, json={"mailNickname": "autopilot:devices"})["message"]


def member_ids(graph, group_id):
    return {m["id"] for m in graph.ok("GET", f"/v1.0/groups/{group_id}/members")["value"]}


def entra_device(graph, identity_id):
    (device,) = graph.ok("GET", "/v1.0/devices", params={
        "$filter": f"physicalIds/any(p:p eq '[ZTDId]:{identity_id}')"})["value"]
    return device


def identity(graph, identity_id, version="beta"):
    return graph.ok("GET", f"/{version}/deviceManagement/windowsAutopilotDeviceIdentities/{identity_id}")


# --- identities --------------------------------------------------------------------------------------
def test_v1_lacks_the_beta_only_fields_and_navigation(graph, lab):
    (identity_id,) = seed_identities(lab, "V1-1")
    beta, v1 = identity(graph, identity_id), identity(graph, identity_id, "v1.0")
    beta_only = {"deploymentProfileAssignmentStatus", "deploymentProfileAssignedDateTime", "azureAdDeviceId",
                 "userlessEnrollmentStatus", "remediationState"}
    assert beta_only <= set(beta) and not beta_only & set(v1)
    assert set(v1) < set(beta)
    error = graph.error("GET", f"/v1.0/deviceManagement/windowsAutopilotDeviceIdentities/{identity_id}/"
                               "deploymentProfile", 400)
    assert error["message"] == "Resource not found for the segment 'deploymentProfile'."
    assert graph.error("GET", f"{IDENTITIES}/{identity_id}/deploymentProfile", 404)["code"] == "ResourceNotFound"


def test_there_is_no_patch(graph, lab):
    (identity_id,) = seed_identities(lab, "NOPATCH-1")
    error = graph.error("PATCH", f"{IDENTITIES}/{identity_id}", 405, json={"groupTag": "x"})
    assert "does not support http method 'PATCH'" in error["message"]
    graph.error("PATCH", f"/v1.0/deviceManagement/windowsAutopilotDeviceIdentities/{identity_id}", 405, json={})
    graph.error("POST", IDENTITIES, 405, json={"serialNumber": "X"})


def test_assign_and_unassign_user(graph, lab):
    (identity_id,) = seed_identities(lab, "USER-1")
    action = f"/v1.0/deviceManagement/windowsAutopilotDeviceIdentities/{identity_id}"
    response = graph.http.post(f"{action}/assignUserToDevice", json={"userPrincipalName": "nobody@LAB.example",
                                                                     "addressableUserName": "No Body"})
    assert response.status_code == 204   # only the domain is validated
    assigned = identity(graph, identity_id)
    assert (assigned["userPrincipalName"], assigned["addressableUserName"]) == ("nobody@LAB.example", "No Body")
    assert graph.http.post(f"{action}/unassignUserFromDevice").status_code == 204
    cleared = identity(graph, identity_id)
    assert (cleared["userPrincipalName"], cleared["addressableUserName"]) == ("", "")


@pytest.mark.parametrize("operation,body,fragment", [
    ("assignUserToDevice", {"userPrincipalName": "alice@contoso.com"}, "verified domain"),
    ("assignUserToDevice", {"userPrincipalName": "alice"}, "verified domain"),
    ("assignUserToDevice", {"addressableUserName": "Alice"}, "userPrincipalName"),
    ("assignUserToDevice", {"userPrincipalName": "alice@lab.example", "upn": "x"}, "not a valid parameter"),
    ("unassignUserFromDevice", {"userPrincipalName": "alice@lab.example"}, "not a valid parameter"),
    ("updateDeviceProperties", {"groupTag": 7}, "Edm.String"),
    ("updateDeviceProperties", {"orderIdentifier": "x"}, "not a valid parameter"),
    ("updateDeviceProperties", {"userPrincipalName": "bob@elsewhere.example"}, "verified domain"),
])
def test_action_parameters_are_checked(graph, lab, operation, body, fragment):
    (identity_id,) = seed_identities(lab, "CHECK-1", groupTag="Before")
    assert fragment in graph.error("POST", f"{IDENTITIES}/{identity_id}/{operation}", 400, json=body)["message"]
    unchanged = identity(graph, identity_id)
    assert (unchanged["groupTag"], unchanged["userPrincipalName"]) == ("Before", "")


def test_update_device_properties_changes_only_what_is_given(graph, lab):
    (identity_id,) = seed_identities(lab, "PROPS-1", groupTag="Before", displayName="PC-1")
    response = graph.http.post(f"{IDENTITIES}/{identity_id}/updateDeviceProperties",
                               json={"groupTag": "After", "addressableUserName": None})
    assert response.status_code == 204
    changed = identity(graph, identity_id)
    assert (changed["groupTag"], changed["displayName"]) == ("After", "PC-1")


def test_paging_and_contains_filter_over_many_devices(graph, lab):
    seed_identities(lab, *[f"PAGE-{i:04d}" for i in range(230)])
    lab.client.config(page_size=100)
    serials, url = [], "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities"
    while url:
        page = graph.ok("GET", url)
        serials += [i["serialNumber"] for i in page["value"]]
        url = page.get("@odata.nextLink")
    assert serials == [f"PAGE-{i:04d}" for i in range(230)]
    found = graph.ok("GET", IDENTITIES, params={"$filter": "contains(serialNumber,'page-012')"})["value"]
    assert [i["serialNumber"] for i in found] == [f"PAGE-012{i}" for i in range(10)]
    graph.error("GET", IDENTITIES, 400, params={"$filter": "serialNumber eq 'PAGE-0001'"})
    graph.error("GET", IDENTITIES, 400, params={"$filter": "contains(groupTag,'x')"})


def test_delete_is_refused_while_enrolled(graph, lab, frozen):
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile())
    graph.ok("POST", f"{PROFILES}/{profile['id']}/assignments", 201, json={
        "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}})
    enrolled_id, spare_id = seed_identities(lab, "ENROLLED-1", "SPARE-1")
    lab.client.advance_clock(ASSIGNING)
    lab.client.enroll_device("ENROLLED-1")
    assert "enrolled" in graph.error("DELETE", f"{IDENTITIES}/{enrolled_id}", 400)["message"]
    spare_device = entra_device(graph, spare_id)["id"]
    assert graph.http.delete(f"{IDENTITIES}/{spare_id}").status_code == 204
    graph.error("GET", f"{IDENTITIES}/{spare_id}", 404)
    lab.client.advance_clock(DEVICE_SYNC)
    assert graph.ok("GET", f"/v1.0/devices/{spare_device}")["physicalIds"] == []   # the device object stays


# --- Entra devices and dynamic membership ------------------------------------------------------------
def test_physical_ids_follow_a_group_tag_change_after_a_delay(graph, lab, frozen):
    (identity_id,) = seed_identities(lab, "TAG-1", groupTag="Kiosk")
    device = entra_device(graph, identity_id)
    assert device["physicalIds"] == [f"[ZTDId]:{identity_id}", "[OrderId]:Kiosk"]
    assert device["displayName"] == "TAG-1" and device["deviceId"] == identity(graph, identity_id)["azureAdDeviceId"]
    assert device["id"] in member_ids(graph, KIOSK_GROUP)   # seeded rule: -eq "[OrderID]:Kiosk"
    graph.http.post(f"{IDENTITIES}/{identity_id}/updateDeviceProperties", json={"groupTag": "Lobby"})
    assert identity(graph, identity_id)["groupTag"] == "Lobby"           # the identity changes at once
    lab.client.advance_clock(DEVICE_SYNC - 1)
    assert "[OrderId]:Kiosk" in entra_device(graph, identity_id)["physicalIds"]
    lab.client.advance_clock(1)
    assert entra_device(graph, identity_id)["physicalIds"][1:] == ["[OrderId]:Lobby"]
    assert device["id"] in member_ids(graph, KIOSK_GROUP)                # until the group re-evaluates
    lab.client.advance_clock(MEMBERSHIP)
    assert device["id"] not in member_ids(graph, KIOSK_GROUP)


@pytest.mark.parametrize("rule,members", [
    (ZTD_RULE, {"A", "B", "C"}),
    ('(device.devicePhysicalIds -any _ -startsWith "[ZTDId]")', {"A", "B", "C"}),
    ('device.DEVICEPHYSICALIDS -ANY (_ -STARTSWITH "[ztdid]")', {"A", "B", "C"}),
    ('(device.devicePhysicalIds -any (_ -contains "[ZTDId]"))', {"A", "B", "C"}),
    ('(device.devicePhysicalIds -any (_ -eq "[OrderID]:Sales"))', {"A", "C"}),
    ('(device.devicePhysicalIds -any _ -eq "[orderid]:sales")', {"A", "C"}),
    ('(device.devicePhysicalIds -any (_ -contains "ales"))', {"A", "C"}),
    ('(device.devicePhysicalIds -any (_ -startsWith "[OrderId]:HR"))', {"B"}),
])
def test_each_supported_rule_form(graph, lab, frozen, rule, members):
    ids = dict(zip("ABC", seed_identities(lab, "RULE-A", "RULE-B", "RULE-C")))
    for name, tag in (("A", "Sales"), ("B", "HR"), ("C", "sales")):
        graph.http.post(f"{IDENTITIES}/{ids[name]}/updateDeviceProperties", json={"groupTag": tag})
    lab.client.advance_clock(DEVICE_SYNC)
    group = dynamic_group(graph, rule)
    assert member_ids(graph, group["id"]) == set()
    lab.client.advance_clock(MEMBERSHIP)
    devices = {name: entra_device(graph, ids[name])["id"] for name in ids}
    assert member_ids(graph, group["id"]) == {devices[name] for name in members}


@pytest.mark.parametrize("rule, physical_id", [
    ('(device.devicePhysicalIds -any _ -eq "[OrderID]:say `"hi`"")', '[OrderID]:say "hi"'),
    ("(device.devicePhysicalIds -any _ -eq \"[OrderID]:Joe''s\")", "[OrderID]:Joe's"),
])
def test_escaped_quotes_in_a_value_are_read_as_entra_documents(rule, physical_id):
    matches = parse_rule(rule)
    assert matches([physical_id]) and not matches([physical_id + "x"])


def test_other_rule_shapes_are_stored_but_not_evaluated(graph, lab, frozen):
    seed_identities(lab, "SHAPE-1")
    rule = '(device.deviceOSType -eq "Windows") -or (device.devicePhysicalIds -any (_ -startsWith "[ZTDId]"))'
    group = dynamic_group(graph, rule)
    lab.client.advance_clock(MEMBERSHIP)
    assert graph.ok("GET", f"/v1.0/groups/{group['id']}")["membershipRule"] == rule
    assert member_ids(graph, group["id"]) == set()


def test_paused_groups_keep_their_members_until_resumed(graph, lab, frozen):
    first, = seed_identities(lab, "PAUSE-1")
    group = dynamic_group(graph, ZTD_RULE)
    lab.client.advance_clock(MEMBERSHIP)
    assert len(member_ids(graph, group["id"])) == 1
    item = f"/v1.0/groups/{group['id']}"
    assert graph.http.patch(item, json={"membershipRuleProcessingState": "Paused"}).status_code == 204
    second, = seed_identities(lab, "PAUSE-2")
    lab.client.advance_clock(MEMBERSHIP * 3)
    assert member_ids(graph, group["id"]) == {entra_device(graph, first)["id"]}
    assert graph.http.patch(item, json={"membershipRuleProcessingState": "On"}).status_code == 204
    lab.client.advance_clock(MEMBERSHIP - 1)
    assert len(member_ids(graph, group["id"])) == 1
    lab.client.advance_clock(1)
    assert member_ids(graph, group["id"]) == {entra_device(graph, first)["id"], entra_device(graph, second)["id"]}
    graph.error("POST", f"{item}/members/$ref", 400, json={
        "@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{entra_device(graph, first)['id']}"})


def test_rule_change_re_evaluates_after_the_delay(graph, lab, frozen):
    (identity_id,) = seed_identities(lab, "RECHECK-1", groupTag="Sales")
    group = dynamic_group(graph, '(device.devicePhysicalIds -any (_ -eq "[OrderID]:Sales"))')
    lab.client.advance_clock(MEMBERSHIP)
    assert len(member_ids(graph, group["id"])) == 1
    graph.http.patch(f"/v1.0/groups/{group['id']}",
                     json={"membershipRule": '(device.devicePhysicalIds -any (_ -eq "[OrderID]:HR"))'})
    lab.client.advance_clock(MEMBERSHIP)
    assert member_ids(graph, group["id"]) == set()
    assert graph.ok("GET", f"/beta/groups/{group['id']}")["membershipRuleProcessingStatus"]["status"] == "Succeeded"


# --- profile assignment ------------------------------------------------------------------------------
def test_assignment_status_follows_a_profile_assigned_to_the_dynamic_group(graph, lab, frozen):
    """The tutorial's chain from step 4 to step 7, end to end on the lab clock."""
    group = dynamic_group(graph, ZTD_RULE)
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile())
    graph.ok("POST", f"{PROFILES}/{profile['id']}/assignments", 201, json=assignment(group["id"]))
    (row,) = import_devices(graph, device("CHAIN-1", 31, groupTag="Pilot"))
    lab.client.advance_clock(DELAYS["import_done"])
    assert graph.http.post("/beta/deviceManagement/windowsAutopilotSettings/sync").status_code == 204
    identity_id = state_of(graph, row)["deviceRegistrationId"]
    lab.client.advance_clock(DELAYS["sync"])
    assert identity(graph, identity_id)["deploymentProfileAssignmentStatus"] == "notAssigned"
    lab.client.advance_clock(DEVICE_SYNC)
    device_id = entra_device(graph, identity_id)["id"]
    assert member_ids(graph, group["id"]) == set()
    lab.client.advance_clock(MEMBERSHIP)
    assert member_ids(graph, group["id"]) == {device_id}
    pending = identity(graph, identity_id)
    assert (pending["deploymentProfileAssignmentStatus"], pending["deploymentProfileAssignedDateTime"]) == \
        ("pending", "0001-01-01T00:00:00Z")
    assert graph.ok("GET", f"{IDENTITIES}/{identity_id}/intendedDeploymentProfile")["id"] == profile["id"]
    graph.error("GET", f"{IDENTITIES}/{identity_id}/deploymentProfile", 404)
    lab.client.advance_clock(ASSIGNING)
    assigned = identity(graph, identity_id)
    assert assigned["deploymentProfileAssignmentStatus"] == "assignedInSync"
    assert not assigned["deploymentProfileAssignedDateTime"].startswith("0001-")
    served = graph.ok("GET", f"{IDENTITIES}/{identity_id}/deploymentProfile")
    assert (served["id"], served["@odata.type"]) == (profile["id"], profile["@odata.type"])


def test_assignment_status_returns_to_not_assigned_when_the_target_goes(graph, lab, frozen):
    (identity_id,) = seed_identities(lab, "UNTARGET-1")
    device_id = entra_device(graph, identity_id)["id"]
    graph.ok("POST", f"/v1.0/groups/{PILOT_GROUP}/members/$ref", 204,
             json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{device_id}"})
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile())
    created = graph.ok("POST", f"{PROFILES}/{profile['id']}/assignments", 201, json=assignment(PILOT_GROUP))
    lab.client.advance_clock(ASSIGNING)
    assert identity(graph, identity_id)["deploymentProfileAssignmentStatus"] == "assignedInSync"
    graph.http.delete(f"{PROFILES}/{profile['id']}/assignments/{created['id']}")
    lab.client.advance_clock(1)
    gone = identity(graph, identity_id)
    assert (gone["deploymentProfileAssignmentStatus"], gone["deploymentProfileAssignedDateTime"]) == \
        ("notAssigned", "0001-01-01T00:00:00Z")


def test_a_profiles_assigned_devices_and_a_groups_device_members_are_listed_in_pages(graph, lab, frozen):
    """What step 10 reads instead of one request per device: the profile's assignedDevices (beta navigation) and
    the group's members cast to devices, both with $select, $top and nextLink."""
    group = dynamic_group(graph, ZTD_RULE)
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile())
    graph.ok("POST", f"{PROFILES}/{profile['id']}/assignments", 201, json=assignment(group["id"]))
    identity_ids = seed_identities(lab, *("PAGED-%d" % number for number in range(5)))
    lab.client.advance_clock(MEMBERSHIP)
    assigned_path = f"{PROFILES}/{profile['id']}/assignedDevices"
    assert graph.ok("GET", assigned_path)["value"] == []  # assigned only once Intune has assigned it
    lab.client.advance_clock(ASSIGNING)

    def listed(path, **params):
        pages = [graph.ok("GET", path, params=params)]
        while "@odata.nextLink" in pages[-1]:
            pages.append(graph.ok("GET", pages[-1]["@odata.nextLink"]))
        return pages

    pages = listed(assigned_path, **{"$select": "id,serialNumber", "$top": "2"})
    assert [len(page["value"]) for page in pages] == [2, 2, 1]
    assert {item["id"] for page in pages for item in page["value"]} == set(identity_ids)
    assert set(pages[0]["value"][0]) == {"id", "serialNumber"}
    devices = listed(f"/v1.0/groups/{group['id']}/members/microsoft.graph.device", **{"$select": "id,deviceId,physicalIds", "$top": "3"})
    assert [len(page["value"]) for page in devices] == [3, 2]
    assert {device["id"] for page in devices for device in page["value"]} == member_ids(graph, group["id"])
    assert all(set(device) == {"id", "deviceId", "physicalIds"} for page in devices for device in page["value"])
    assert len(graph.ok("GET", f"/v1.0/groups/{group['id']}/members", params={"$top": "4"})["value"]) == 4
    assert graph.error("GET", f"/v1.0/groups/{group['id']}/members/microsoft.graph.device", 400, params={"$top": "1000"})


def test_the_oldest_profile_wins_when_several_target_a_device(graph, lab, frozen):
    (identity_id,) = seed_identities(lab, "OLDEST-1")
    group = dynamic_group(graph, ZTD_RULE)
    older = graph.ok("POST", PROFILES, 201, json=hybrid_profile(displayName="Older"))
    lab.client.advance_clock(60)
    newer = graph.ok("POST", PROFILES, 201, json=hybrid_profile(displayName="Newer"))
    # Only one profile in a tenant may target All Devices, so the older one reaches the device through a group.
    everyone = {"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}
    graph.ok("POST", f"{PROFILES}/{newer['id']}/assignments", 201, json=everyone)
    graph.ok("POST", f"{PROFILES}/{older['id']}/assignments", 201, json=assignment(group["id"]))
    lab.client.advance_clock(MEMBERSHIP + ASSIGNING)
    assert graph.ok("GET", f"{IDENTITIES}/{identity_id}/deploymentProfile")["displayName"] == "Older"


# --- verification: managed devices, events, users ----------------------------------------------------
def test_enrol_hook_creates_managed_device_event_and_hybrid_device(graph, lab, frozen, reader):
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile(displayName="HAADJ profile"))
    (identity_id,) = seed_identities(lab, "ENROL-1", userPrincipalName="alice@lab.example")
    with pytest.raises(Exception, match="no deployment profile"):
        lab.client.enroll_device("ENROL-1")
    graph.ok("POST", f"{PROFILES}/{profile['id']}/assignments", 201, json={
        "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}})
    lab.client.advance_clock(ASSIGNING)
    lab.client.config(hybrid_join_window="switched")
    ids = lab.client.enroll_device("enrol-1", device_name="HAADJ-0001")
    enrolled = identity(graph, identity_id)
    assert (enrolled["enrollmentState"], enrolled["managedDeviceId"]) == ("enrolled", ids["managedDeviceId"])
    managed = reader.ok("GET", f"/beta/deviceManagement/managedDevices/{ids['managedDeviceId']}")
    assert {k: managed[k] for k in ("joinType", "autopilotEnrolled", "enrollmentProfileName", "serialNumber",
                                    "azureADDeviceId", "userPrincipalName")} == {
        "joinType": "hybridAzureADJoined", "autopilotEnrolled": True, "enrollmentProfileName": "HAADJ profile",
        "serialNumber": "ENROL-1", "azureADDeviceId": ids["azureADDeviceId"], "userPrincipalName": "alice@lab.example"}
    assert ids["firstSignInPending"] is False
    assert "joinType" not in reader.ok("GET", f"/v1.0/deviceManagement/managedDevices/{ids['managedDeviceId']}")
    (event,) = reader.ok("GET", "/beta/deviceManagement/autopilotEvents")["value"]
    assert (event["deviceSerialNumber"], event["deploymentState"], event["enrollmentType"]) == \
        ("ENROL-1", "success", "offlineDomainJoined")
    graph.error("GET", "/v1.0/deviceManagement/autopilotEvents", 400)
    hybrid = graph.ok("GET", "/v1.0/devices", params={"$filter": "trustType eq 'ServerAd'"})["value"]
    assert [(d["displayName"], d["deviceId"]) for d in hybrid] == [("HAADJ-0001", ids["azureADDeviceId"])]


@pytest.mark.parametrize("window, join_type", [("entra_joined", "azureADJoined"), ("hybrid_join_type", "hybridAzureADJoined")])
def test_until_the_first_sign_in_intune_keeps_a_hybrid_device_on_its_autopilot_object(graph, lab, frozen, reader, window, join_type):
    """memdocs PR #2408: Intune syncs with the hybrid object's device id only once the user signed in; what
    joinType reads meanwhile is unsettled (config hybrid_join_window)."""
    profile = graph.ok("POST", PROFILES, 201, json=hybrid_profile())
    graph.ok("POST", f"{PROFILES}/{profile['id']}/assignments", 201, json={
        "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}})
    (identity_id,) = seed_identities(lab, "WINDOW-1")
    lab.client.advance_clock(ASSIGNING)
    if window != "entra_joined":
        lab.client.config(hybrid_join_window=window)
    autopilot_object = entra_device(graph, identity_id)
    with pytest.raises(Exception, match="not a hybrid joined device waiting for its first sign-in"):
        lab.client.first_sign_in("WINDOW-1")

    ids = lab.client.enroll_device("WINDOW-1", device_name="HAADJ-0002")
    assert ids["firstSignInPending"] is True
    managed_path = f"/beta/deviceManagement/managedDevices/{ids['managedDeviceId']}"
    managed = reader.ok("GET", managed_path)
    assert (managed["joinType"], managed["azureADDeviceId"]) == (join_type, autopilot_object["deviceId"])
    assert not any(key.startswith("_") for key in managed)
    # Two Entra objects: the Autopilot one, now Entra joined, and the hybrid one from AD sync.
    assert graph.ok("GET", f"/v1.0/devices/{autopilot_object['id']}")["trustType"] == "AzureAd"
    (hybrid,) = graph.ok("GET", "/v1.0/devices", params={"$filter": "trustType eq 'ServerAd'"})["value"]
    assert (hybrid["displayName"], hybrid["deviceId"]) == ("HAADJ-0002", ids["azureADDeviceId"])

    assert lab.client.first_sign_in("window-1")["azureADDeviceId"] == hybrid["deviceId"]
    managed = reader.ok("GET", managed_path)
    assert (managed["joinType"], managed["azureADDeviceId"]) == ("hybridAzureADJoined", hybrid["deviceId"])
    with pytest.raises(Exception, match="waiting for its first sign-in"):
        lab.client.first_sign_in("WINDOW-1")


def test_an_entra_join_deployment_stays_on_the_autopilot_object(graph, lab, frozen, reader):
    entra_join = {key: value for key, value in hybrid_profile(displayName="Entra join").items()
                  if key != "hybridAzureADJoinSkipConnectivityCheck"}
    entra_join["@odata.type"] = "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"
    profile = graph.ok("POST", PROFILES, 201, json=entra_join)
    graph.ok("POST", f"{PROFILES}/{profile['id']}/assignments", 201, json={
        "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}})
    (identity_id,) = seed_identities(lab, "ENTRA-1")
    lab.client.advance_clock(ASSIGNING)
    autopilot_object = entra_device(graph, identity_id)
    ids = lab.client.enroll_device("ENTRA-1")
    managed = reader.ok("GET", f"/beta/deviceManagement/managedDevices/{ids['managedDeviceId']}")
    assert (managed["joinType"], managed["azureADDeviceId"]) == ("azureADJoined", autopilot_object["deviceId"])
    assert ids["firstSignInPending"] is False
    assert graph.ok("GET", "/v1.0/devices", params={"$filter": "trustType eq 'ServerAd'"})["value"] == []
    (event,) = reader.ok("GET", "/beta/deviceManagement/autopilotEvents")["value"]
    assert event["enrollmentType"] == "azureADJoinedWithAutopilotProfile"


def test_the_hybrid_join_window_switch_takes_only_its_values(lab):
    with pytest.raises(Exception, match="hybrid_join_window must be one of"):
        lab.client.config(hybrid_join_window="maybe")


def test_verification_endpoints_need_their_permissions(lab):
    config_only = Graph(lab, app_token(lab, roles=["DeviceManagementServiceConfig.ReadWrite.All"]))
    devices_only = Graph(lab, app_token(lab, roles=["Device.Read.All"]))
    try:
        for path in ("/beta/deviceManagement/managedDevices", "/beta/deviceManagement/autopilotEvents",
                     "/v1.0/devices", "/v1.0/users"):
            # Intune's paths answer with Intune's 403, the directory's with its own.
            expected = "Forbidden" if "deviceManagement" in path else "Authorization_RequestDenied"
            assert config_only.error("GET", path, 403)["code"] == expected
        devices_only.error("GET", "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities", 403)
        assert devices_only.ok("GET", "/v1.0/devices")["value"] == []
    finally:
        config_only.http.close()
        devices_only.http.close()


@pytest.mark.parametrize("version", ["v1.0", "beta"])
def test_users_by_filter_id_and_upn(graph, version):
    found = graph.ok("GET", f"/{version}/users", params={"$filter": "userPrincipalName eq 'ALICE@lab.example'"})
    (alice,) = found["value"]
    assert graph.ok("GET", f"/{version}/users/{alice['id']}") == graph.ok("GET", f"/{version}/users/Alice@Lab.Example")
    assert graph.error("GET", f"/{version}/users/nobody@lab.example", 404)["code"] == "Request_ResourceNotFound"
    graph.error("GET", f"/{version}/users", 400, params={"$filter": "contains(userPrincipalName,'a')"})
