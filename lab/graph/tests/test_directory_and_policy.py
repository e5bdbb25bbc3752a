"""Groups (step 5), the MDM user scope policy (step 1, delegated only) and the connectors (step 2)."""

import re

import pytest

from lab.graph.resources.connectors import HEARTBEAT_SECONDS

from .conftest import ADMIN_UPN, MDM_USERS_GROUP, PILOT_GROUP, Graph

POLICIES = "/beta/policies/mobileDeviceManagementPolicies"
INTUNE = "0000000a-0000-0000-c000-000000000000"
DYNAMIC_GROUP = {"displayName": "Autopilot-HAADJ-Devices", "description": "tutorial", "mailEnabled": False,
                 "mailNickname": "autopilothaadjdevices", "securityEnabled": True,
                 "groupTypes": ["DynamicMembership"],
                 "membershipRule": "(device.devicePhysicalIDs -any (_ -startsWith \"[ZTDid]\"))",
                 "membershipRuleProcessingState": "On", "isAssignableToRole": False}


def names(page):
    return sorted(g["displayName"] for g in page["value"])


@pytest.mark.parametrize("version", ["v1.0", "beta"])
def test_group_filters(graph, version):
    groups = f"/{version}/groups"
    duplicates = graph.ok("GET", groups, params={"$filter": "displayName eq 'lab-duplicate'"})
    assert names(duplicates) == ["Lab-Duplicate", "Lab-Duplicate"]
    by_id = graph.ok("GET", groups, params={"$filter": f"id in ('{PILOT_GROUP}', '{MDM_USERS_GROUP}')"})
    assert names(by_id) == ["Lab-MDM-Users", "Lab-Pilot-Devices"]
    dynamic = graph.ok("GET", groups, params={"$filter": "groupTypes/any(c:c eq 'DynamicMembership')"})
    assert names(dynamic) == ["Lab-Kiosk-Devices"]
    both = graph.ok("GET", groups, params={"$filter": "startswith(displayName,'Lab-') and securityEnabled eq true"})
    assert len(both["value"]) == 5
    error = graph.error("GET", groups, 400, params={"$filter": "contains(displayName,'Lab')"})
    assert error["code"] == "Request_BadRequest"
    graph.error("GET", groups, 400, params={"$filter": "displayName eq"})
    graph.error("GET", groups, 400, params={"$orderby": "displayName"})


def test_group_paging_follows_next_links(graph, lab):
    lab.client.config(page_size=2)
    seen, url = [], "/v1.0/groups"
    while url:
        page = graph.ok("GET", url)
        seen += [g["id"] for g in page["value"]]
        url = page.get("@odata.nextLink")
        assert url is None or url.startswith(lab.url + "/v1.0/groups?")
    assert len(seen) == len(set(seen)) == 5
    top = graph.ok("GET", "/v1.0/groups", params={"$top": "4"})
    assert len(top["value"]) == 4
    graph.error("GET", "/v1.0/groups", 400, params={"$top": "1000"})
    graph.error("GET", "/v1.0/groups", 400, params={"$skiptoken": "garbage"})


def test_group_create_patch_delete(graph):
    created = graph.ok("POST", "/v1.0/groups", 201, json=DYNAMIC_GROUP)
    assert created["securityIdentifier"].startswith("S-1-12-1-")
    assert "membershipRuleProcessingStatus" not in created  # beta-only property
    beta = graph.ok("GET", f"/beta/groups/{created['id']}")
    assert beta["membershipRuleProcessingStatus"]["status"] == "Succeeded"
    item = f"/v1.0/groups/{created['id']}"
    assert graph.http.patch(item, json={"membershipRuleProcessingState": "Paused"}).status_code == 204
    assert graph.ok("GET", item, params={"$select": "membershipRuleProcessingState"}) == {
        "id": created["id"], "membershipRuleProcessingState": "Paused"}
    graph.error("PATCH", item, 400, json={"isAssignableToRole": True})
    unpaired = graph.error("PATCH", item, 400, json={"membershipRule": '(device.deviceOSType -eq "Windows"'})
    assert "Dynamic membership rule validation error" in unpaired["message"]
    # A value may hold a quote (escaped with `) or parentheses; the rule is still whole.
    quoted = '(device.devicePhysicalIds -any _ -eq "[OrderID]:say `"hi`" (1)")'
    assert graph.http.patch(item, json={"membershipRule": quoted}).status_code == 204
    assert graph.http.delete(item).status_code == 204
    error = graph.error("GET", item, 404)
    assert error["code"] == "Request_ResourceNotFound"


@pytest.mark.parametrize("changes,fragment", [
    ({"mailNickname": "has space"}, "mailNickname"),
    ({"mailNickname": "x" * 65}, "longer than"),
    ({"groupTypes": ["Dynamic"]}, "groupTypes"),
    ({"membershipRule": None}, "requires a membershipRule"),
    ({"groupTypes": [], "membershipRule": "(device.x -eq 1)"}, "DynamicMembership"),
    ({"isAssignableToRole": True}, "dynamic membership"),
    ({"mailEnabled": True}, "mail-enabled"),
    ({"membershipRuleProcessingState": "Off"}, "On"),
    ({"membershipRule": '(device.devicePhysicalIds -any _ -eq "[OrderID]:Kiosk)'}, "Unterminated string"),
    ({"membershipRule": '(device.devicePhysicalIds -any (_ -eq "[OrderID]:Kiosk")'}, "Parentheses"),
    ({"membershipRule": '(user.department -eq "IT") -and (device.deviceOSType -eq "Windows")'}, "mix user and device"),
    ({"securityIdentifier": "S-1"}, "read-only"),
    ({"colour": "red"}, "does not exist"),
])
def test_group_create_rules(graph, changes, fragment):
    body = {**DYNAMIC_GROUP, **changes}
    error = graph.error("POST", "/v1.0/groups", 400, json=body)
    assert fragment in error["message"] and error["code"] == "Request_BadRequest"


def test_group_requires_its_four_properties(graph):
    for required in ("displayName", "mailEnabled", "mailNickname", "securityEnabled"):
        body = {k: v for k, v in DYNAMIC_GROUP.items() if k != required}
        assert required in graph.error("POST", "/v1.0/groups", 400, json=body)["message"]


def test_assigned_group_membership(graph):
    nobody = "00000000-0000-4000-8000-00000000dead"
    body = {"displayName": "Pilot users", "mailEnabled": False, "mailNickname": "pilotusers",
            "securityEnabled": True, "members@odata.bind": [f"https://graph.microsoft.com/v1.0/groups/{PILOT_GROUP}"]}
    group = graph.ok("POST", "/v1.0/groups", 201, json=body)
    members = f"/v1.0/groups/{group['id']}/members"
    assert graph.ok("GET", members)["value"] == [{"@odata.type": "#microsoft.graph.group", "id": PILOT_GROUP}]
    graph.error("POST", "/v1.0/groups", 404, json=dict(body, mailNickname="other", **{
        "members@odata.bind": ["https://graph.microsoft.com/v1.0/directoryObjects/" + nobody]}))
    graph.error("POST", f"{members}/$ref", 404, json={"@odata.id": f"https://graph.microsoft.com/v1.0/users/{nobody}"})
    assert graph.http.delete(f"{members}/{PILOT_GROUP}/$ref").status_code == 204
    assert graph.ok("GET", members)["value"] == []


def test_mobility_policy_is_delegated_only(lab, graph, delegated):
    # An app-only token, whatever its roles: 401 "Unsupported app-only call." (mondoohq/mql#6082).
    error = graph.error("GET", POLICIES, 401)
    assert (error["code"], error["message"]) == ("Unauthorized", "Unsupported app-only call.")
    policy = delegated.ok("GET", POLICIES, params={"$filter": "displayName eq 'Microsoft Intune'"})["value"][0]
    assert (policy["id"], policy["appliesTo"]) == (INTUNE, "none")
    reader = Graph(lab, lab.client.mint_token(kind="delegated", upn=ADMIN_UPN, scopes=["Policy.Read.All"]))
    assert reader.ok("GET", f"{POLICIES}/{INTUNE}")["displayName"] == "Microsoft Intune"
    reader.error("PATCH", f"{POLICIES}/{INTUNE}", 403, json={"appliesTo": "all"})
    graph.error("GET", "/v1.0/policies/mobileDeviceManagementPolicies", 400)


def test_a_tenant_lists_intune_and_intune_enrollment_the_latter_with_null_urls(delegated):
    policies = {p["displayName"]: p for p in delegated.ok("GET", POLICIES)["value"]}
    assert sorted(policies) == ["Microsoft Intune", "Microsoft Intune Enrollment"]
    enrollment = policies["Microsoft Intune Enrollment"]
    assert enrollment["id"] == "d4ebce55-015a-49b5-a083-c84d1797ae8c"
    assert (enrollment["termsOfUseUrl"], enrollment["discoveryUrl"], enrollment["complianceUrl"]) == (None, None, None)


def test_applies_to_and_urls_in_one_patch_are_refused_in_the_services_words(delegated):
    error = delegated.error("PATCH", f"{POLICIES}/{INTUNE}", 400, json={"appliesTo": "all", "termsOfUseUrl": "https://x"})
    assert error["message"] == ("Simultaneous patch requests on both the appliesTo and URL properties are currently "
                                "not supported.")
    assert delegated.ok("GET", f"{POLICIES}/{INTUNE}")["appliesTo"] == "none"


def test_a_group_ref_in_the_odata_form_tools_send_is_taken(delegated):
    item = f"{POLICIES}/{INTUNE}"
    ref = {"@odata.id": f"https://graph.microsoft.com/odata/groups('{MDM_USERS_GROUP}')"}
    assert delegated.http.post(f"{item}/includedGroups/$ref", json=ref).status_code == 204
    assert [g["id"] for g in delegated.ok("GET", f"{item}/includedGroups")["value"]] == [MDM_USERS_GROUP]


def test_mobility_scope_changes(delegated):
    item = f"{POLICIES}/{INTUNE}"
    delegated.error("PATCH", item, 400, json={"appliesTo": "all", "termsOfUseUrl": "https://x"})
    delegated.error("PATCH", item, 400, json={"appliesTo": "selected"})
    delegated.error("PATCH", item, 400, json={"displayName": "Other"})
    ref = {"@odata.id": f"https://graph.microsoft.com/beta/groups/{MDM_USERS_GROUP}"}
    assert delegated.http.post(f"{item}/includedGroups/$ref", json=ref).status_code == 204
    delegated.error("POST", f"{item}/includedGroups/$ref", 400, json=ref)
    expanded = delegated.ok("GET", item, params={"$expand": "includedGroups"})
    assert expanded["appliesTo"] == "selected"
    assert [g["id"] for g in expanded["includedGroups"]] == [MDM_USERS_GROUP]
    assert delegated.http.delete(f"{item}/includedGroups/{MDM_USERS_GROUP}/$ref").status_code == 204
    assert delegated.ok("GET", f"{item}/includedGroups")["value"] == []
    delegated.http.post(f"{item}/includedGroups/$ref", json=ref)
    assert delegated.ok("PATCH", item, json={"appliesTo": "all"})["appliesTo"] == "all"
    assert delegated.ok("GET", f"{item}/includedGroups")["value"] == []


def test_an_invalid_mobility_policy_is_not_updated(lab, delegated):
    item = f"{POLICIES}/{INTUNE}"
    policy = dict(delegated.ok("GET", item), isValid=False)
    lab.client.seed({"mobileDeviceManagementPolicies": [policy]})
    delegated.error("PATCH", item, 400, json={"appliesTo": "all"})
    delegated.error("PATCH", item, 400, json={"termsOfUseUrl": "https://contoso.example/terms"})
    delegated.error("POST", f"{item}/includedGroups/$ref", 400,
                    json={"@odata.id": f"https://graph.microsoft.com/beta/groups/{MDM_USERS_GROUP}"})
    assert delegated.ok("GET", item)["appliesTo"] == "none"


def test_connectors(lab, graph, reader):
    connectors = reader.ok("GET", "/beta/deviceManagement/domainJoinConnectors")["value"]
    active = [c for c in connectors if c["state"] == "active"]
    assert [c["version"] for c in active] == ["6.2501.2000.5"]
    assert {c["state"] for c in connectors} == {"active", "inactive"}
    one = graph.ok("GET", f"/beta/deviceManagement/domainJoinConnectors/{active[0]['id']}")
    assert one["lastConnectionDateTime"] == active[0]["lastConnectionDateTime"]
    graph.error("POST", "/beta/deviceManagement/domainJoinConnectors", 405, json={"displayName": "x"})
    only_groups = Graph(lab, lab.client.mint_token(app=lab.apps["lab-admin"]["client_id"], roles=["Group.Read.All"]))
    only_groups.error("GET", "/beta/deviceManagement/domainJoinConnectors", 403)


CONNECTORS = "/beta/deviceManagement/domainJoinConnectors"
HOUR, DAY = 3600, 24 * 3600


def connector_states(reader):
    return {c["displayName"]: (c["state"], c["lastConnectionDateTime"]) for c in reader.ok("GET", CONNECTORS)["value"]}


def test_a_connectors_state_follows_its_last_contact_on_the_lab_clock(lab, reader):
    """beta metadata, deviceManagementDomainJoinConnectorState: error after an hour without a heartbeat,
    inactive after five days; a running connector keeps pinging whatever the clock does."""
    lab.client.advance_clock(0, freeze=True)
    lab.client.seed({"domainJoinConnectors": [
        {"displayName": "STOPPED", "version": "6.2501.2000.5", "lastConnectionSecondsAgo": 600},
        {"displayName": "RUNNING", "version": "6.2501.2000.5", "lastConnectionSecondsAgo": 600, "running": True}]},
        replace=["domainJoinConnectors"])
    stopped_at = connector_states(reader)["STOPPED"][1]
    assert {name: state for name, (state, _) in connector_states(reader).items()} == {"STOPPED": "active", "RUNNING": "active"}
    lab.client.advance_clock(HOUR - 600 - 1)
    assert connector_states(reader)["STOPPED"] == ("active", stopped_at)
    lab.client.advance_clock(1)
    assert connector_states(reader)["STOPPED"] == ("error", stopped_at)
    lab.client.advance_clock(5 * DAY - HOUR)
    states = connector_states(reader)
    assert states["STOPPED"] == ("inactive", stopped_at)
    # The running one called in within the last heartbeat interval, and a single GET says the same.
    running = next(c for c in reader.ok("GET", CONNECTORS)["value"] if c["displayName"] == "RUNNING")
    assert running["state"] == "active" and running["lastConnectionDateTime"] > stopped_at
    now = lab.client.advance_clock(0)["now"]
    assert now[:16] >= running["lastConnectionDateTime"][:16]
    assert reader.ok("GET", f"{CONNECTORS}/{running['id']}")["lastConnectionDateTime"] == running["lastConnectionDateTime"]
    assert "_lastContact" not in running and "_running" not in running
    assert HEARTBEAT_SECONDS < HOUR   # a running connector never looks stale


@pytest.mark.parametrize("seeded, fragment", [
    ({"state": "active", "lastConnectionSecondsAgo": 2 * HOUR}, "state 'active' contradicts its last contact 2.0 h ago (error"),
    ({"state": "inactive", "lastConnectionSecondsAgo": 60}, "(active: error after 1 h"),
    ({"state": "error", "lastConnectionSecondsAgo": 6 * DAY}, "(inactive:"),
])
def test_a_seeded_state_its_last_contact_contradicts_is_refused(lab, seeded, fragment):
    with pytest.raises(Exception, match=re.escape(fragment)):
        lab.client.seed({"domainJoinConnectors": [dict(seeded, displayName="ODJ09", version="6.2501.2000.5")]})
    lab.client.seed({"domainJoinConnectors": [{"displayName": "ODJ09", "state": "error", "version": "6.2501.2000.5",
                                               "lastConnectionSecondsAgo": 2 * HOUR}]})
