# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""automatic_enrollment (step 1, the MDM user scope) against the Graph lab, run in-process (module_runner).
The policy takes delegated tokens only: these tests sign in as the lab's seeded admin. The device code sign-in runs
through the controller's token cache (plugin_utils/graph_action) and its display, as a task would."""

from __future__ import annotations

import re

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import AuthError
from ansible_collections.intune.autopilot.plugins.plugin_utils import graph_action
from module_runner import graph_auth, run_module, writes

ADMIN = "admin@lab.example"
INTUNE_ID = "0000000a-0000-0000-c000-000000000000"
ENROLLMENT_ID = "d4ebce55-015a-49b5-a083-c84d1797ae8c"
POLICY = "/beta/policies/mobileDeviceManagementPolicies/" + INTUNE_ID
REF = POLICY + "/includedGroups/$ref"
MDM_USERS = ("Lab-MDM-Users", "7e1ab000-0000-4000-8000-00000000b005")
WAVE2 = ("Lab-Wave2-Users", "7e1ab000-0000-4000-8000-00000000b102")
WAVE3 = ("Lab-Wave3-Users", "7e1ab000-0000-4000-8000-00000000b103")
LEAST_SCOPES = ["Policy.Read.All", "Policy.ReadWrite.MobilityManagement", "Group.Read.All"]
DEFAULT_URLS = {"terms_of_use_url": "https://portal.manage.microsoft.com/TermsofUse.aspx",
                "discovery_url": "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc",
                "compliance_url": "https://portal.manage.microsoft.com/?portalAction=Compliance"}


@pytest.fixture
def lab(lab):
    lab.client.seed({"groups": [
        {"id": group_id, "displayName": name, "mailEnabled": False, "mailNickname": name.replace("-", "").lower(),
         "securityEnabled": True, "groupTypes": []} for name, group_id in (WAVE2, WAVE3)]})
    return lab


def delegated_auth(lab, scopes=None):
    token = lab.client.mint_token(kind="delegated", upn=ADMIN, scopes=scopes or LEAST_SCOPES)
    return dict(access_token=token, graph_endpoint=lab.url, ca_path=lab.ca)


def ref(lab, group):
    return {"@odata.id": "%s/beta/groups/%s" % (lab.url, group[1])}


def enroll(lab, check=False, diff=False, **options):
    """Run the module; return its result and the writes it sent as (method, path, body)."""
    lab.client.clear_log()
    result = run_module("automatic_enrollment", dict(delegated_auth(lab), **options), check=check, diff=diff)
    return result, [(entry["method"], entry["path"], entry["body"]) for entry in writes(lab.client.requests())]


def converge(lab, **options):
    """Run once, then again: the second run must change nothing and send no write. Returns the first run."""
    result, sent = enroll(lab, **options)
    assert result["changed"] is True and not result["failed"], result
    again, resent = enroll(lab, **options)
    assert again["changed"] is False and resent == [] and again["after"] == result["after"], again
    return result, sent


def stored_policy(lab, policy_id=INTUNE_ID):
    (stored,) = [policy for policy in lab.client.state()["mobileDeviceManagementPolicies"] if policy["id"] == policy_id]
    return stored


def policy(lab):
    stored = stored_policy(lab)
    return stored["appliesTo"], sorted(stored["includedGroups"])


def test_every_scope_transition_sends_the_fewest_writes_and_a_rerun_sends_none(lab):
    to_all, sent = converge(lab, scope="all")
    assert sent == [("PATCH", POLICY, {"appliesTo": "all"})]
    assert (to_all["before"]["scope"], to_all["after"]["scope"]) == ("none", "all")

    # From all: adding the groups narrows the scope (the service switches to selected); never through none.
    selected, sent = converge(lab, scope="selected", groups={"set": [MDM_USERS[0], WAVE2[1]]})
    assert sent == [("POST", REF, ref(lab, MDM_USERS)), ("POST", REF, ref(lab, WAVE2))]
    assert selected["after"] == dict(selected["before"], scope="selected", groups=[MDM_USERS[0], WAVE2[0]])
    assert policy(lab) == ("selected", sorted([MDM_USERS[1], WAVE2[1]]))

    added, sent = converge(lab, scope="selected", groups={"add": [WAVE3[0]]})
    assert sent == [("POST", REF, ref(lab, WAVE3))]
    assert added["after"]["groups"] == [MDM_USERS[0], WAVE2[0], WAVE3[0]]

    removed, sent = converge(lab, scope="selected", groups={"remove": [MDM_USERS[0], WAVE3[1]]})
    assert sorted(sent) == [("DELETE", POLICY + "/includedGroups/%s/$ref" % group[1], None) for group in (MDM_USERS, WAVE3)]
    assert removed["after"]["groups"] == [WAVE2[0]] and policy(lab) == ("selected", [WAVE2[1]])

    # One PATCH drops every group at once, instead of a DELETE per group.
    back_to_all, sent = converge(lab, scope="all")
    assert sent == [("PATCH", POLICY, {"appliesTo": "all"})] and policy(lab) == ("all", [])
    assert back_to_all["before"]["groups"] == [WAVE2[0]] and back_to_all["after"]["groups"] == []

    _none, sent = converge(lab, scope="none")
    assert sent == [("PATCH", POLICY, {"appliesTo": "none"})] and policy(lab) == ("none", [])


def test_replacing_every_group_keeps_one_old_group_until_a_new_one_is_in(lab):
    converge(lab, scope="selected", groups={"set": [MDM_USERS[0], WAVE2[0]]})
    _result, sent = converge(lab, scope="selected", groups={"set": [WAVE3[0]]})
    # Never empty (Graph's answer to an empty selected scope is undocumented), never the union of both sets.
    assert sent == [("DELETE", POLICY + "/includedGroups/%s/$ref" % MDM_USERS[1], None), ("POST", REF, ref(lab, WAVE3)),
                    ("DELETE", POLICY + "/includedGroups/%s/$ref" % WAVE2[1], None)]
    assert policy(lab) == ("selected", [WAVE3[1]])


def test_selected_to_none_is_one_patch(lab):
    converge(lab, scope="selected", groups={"set": [MDM_USERS[0], WAVE2[0]]})
    _result, sent = converge(lab, scope="none")
    assert sent == [("PATCH", POLICY, {"appliesTo": "none"})] and policy(lab) == ("none", [])


@pytest.mark.parametrize("wanted, expected", [
    ([MDM_USERS, WAVE2], [("POST", REF, WAVE2)]),
    # Only an addition makes the scope selected: a listed group is removed and added again.
    ([MDM_USERS], [("DELETE", POLICY + "/includedGroups/%s/$ref" % MDM_USERS[1], None), ("POST", REF, MDM_USERS)]),
])
def test_groups_a_none_scope_still_lists_are_reused_not_added_twice(lab, wanted, expected):
    # Graph documents that all drops the groups, not that none does; a policy seeded so shows the module copes.
    stored = stored_policy(lab)
    lab.client.seed({"mobileDeviceManagementPolicies": [dict(stored, appliesTo="none", includedGroups=[MDM_USERS[1]])]})
    _result, sent = converge(lab, scope="selected", groups={"set": [group[0] for group in wanted]})
    assert sent == [(method, path, ref(lab, body) if method == "POST" else body) for method, path, body in expected]
    assert policy(lab) == ("selected", sorted(group[1] for group in wanted))


def test_check_mode_sends_no_write_and_diff_shows_the_plan(lab):
    planned, sent = enroll(lab, check=True, diff=True, scope="selected", groups={"add": [MDM_USERS[0]]})
    assert planned["changed"] is True and sent == [] and policy(lab) == ("none", [])
    assert planned["diff"]["before"] == dict(DEFAULT_URLS, scope="none", groups=[])
    assert planned["diff"]["after"] == dict(DEFAULT_URLS, scope="selected", groups=[MDM_USERS[0]])


def test_urls_are_one_patch_sent_before_the_scope_and_left_alone_when_unset(lab):
    terms = "https://contoso.example/terms"
    result, sent = converge(lab, scope="all", terms_of_use_url=terms)
    assert sent == [("PATCH", POLICY, {"termsOfUseUrl": terms}), ("PATCH", POLICY, {"appliesTo": "all"})]
    assert result["after"] == dict(DEFAULT_URLS, scope="all", groups=[], terms_of_use_url=terms)
    # Unset URLs are not compared: the changed one stays.
    assert enroll(lab, scope="all")[0]["after"]["terms_of_use_url"] == terms


def test_an_app_only_token_is_refused_before_any_request(lab):
    refused = run_module("automatic_enrollment", dict(graph_auth(lab), scope="all"))
    assert refused["failed"] is True and "app-only" in refused["msg"] and "auth_source: device_code" in refused["msg"], refused
    assert lab.client.requests() == []


def test_an_app_credential_is_refused_without_even_a_token_request(lab):
    app = lab.apps["lab-admin"]
    refused = run_module("automatic_enrollment", dict(
        tenant_id=lab.tenant, client_id=app["client_id"], client_secret=app["secret"], graph_endpoint=lab.url,
        authority_host=lab.url, ca_path=lab.ca, scope="all"))
    assert refused["failed"] is True and "auth_source=client_secret gives app-only tokens" in refused["msg"], refused
    assert lab.client.counts()["token"] == 0 and lab.client.requests() == []
    assert app["secret"] not in str(refused)


@pytest.mark.parametrize("options, message", [
    (dict(scope="selected", groups={"add": ["No-Such-Users"]}), "groups: no group named 'No-Such-Users'"),
    (dict(scope="selected", groups={"set": ["Lab-Duplicate"]}), "groups: 2 groups are named 'Lab-Duplicate'"),
    (dict(scope="selected"), "scope: selected needs groups"),
    (dict(scope="all", groups={"set": [MDM_USERS[0]]}), "groups: user groups apply only with scope: selected"),
    (dict(scope="all", discovery_url="http://enrollment.example/discovery.svc"), "discovery_url: give an https:// URL"),
])
def test_bad_input_fails_before_any_write_naming_the_option(lab, options, message):
    result, sent = enroll(lab, **options)
    assert result["failed"] is True and message in result["msg"], result
    assert sent == []


def test_removing_the_last_group_is_refused_before_any_write(lab):
    converge(lab, scope="selected", groups={"set": [MDM_USERS[0]]})
    result, sent = enroll(lab, scope="selected", groups={"remove": [MDM_USERS[0]]})
    assert result["failed"] is True and "use scope: none" in result["msg"] and sent == []


def test_an_invalid_policy_is_refused_before_any_write(lab):
    stored = stored_policy(lab)
    lab.client.seed({"mobileDeviceManagementPolicies": [dict(stored, isValid=False)]})
    result, sent = enroll(lab, scope="all")
    assert result["failed"] is True and "isValid: false" in result["msg"] and sent == []
    # Nothing to change is no update, so an invalid policy still reads as converged.
    assert enroll(lab, scope="none")[0]["changed"] is False


def test_a_user_signed_in_with_a_password_gets_the_delegated_token_it_needs(lab):
    sign_in = dict(auth_source="username_password", tenant_id=lab.tenant, client_id=lab.apps["lab-admin"]["client_id"],
                   username=ADMIN, password="lab-admin-password", graph_endpoint=lab.url, authority_host=lab.url, ca_path=lab.ca)
    result = run_module("automatic_enrollment", dict(sign_in, scope="all"))
    assert result["changed"] is True and not result["failed"], result
    assert {entry["token_kind"] for entry in lab.client.requests()} == {"delegated"}
    assert "lab-admin-password" not in str(result)


# --- who can sign in (issue 19, item 1) -----------------------------------------------------------------------------

def test_the_azure_cli_token_is_refused_before_any_request_naming_the_scope_it_lacks(lab):
    cli = dict(access_token=lab.client.mint_token(kind="cli", upn=ADMIN), graph_endpoint=lab.url, ca_path=lab.ca)
    refused = run_module("automatic_enrollment", dict(cli, scope="all"))
    assert refused["failed"] is True, refused
    assert "lacks the delegated scope Policy.Read.All (or Policy.ReadWrite.MobilityManagement)" in refused["msg"]
    assert "Azure CLI" in refused["msg"] and "auth_source: device_code" in refused["msg"]
    assert lab.client.requests() == []


@pytest.mark.parametrize("scopes, options, lacking", [
    (["Policy.Read.All"], dict(scope="all"), "Policy.ReadWrite.MobilityManagement"),
    (["Policy.ReadWrite.MobilityManagement"], dict(scope="selected", groups={"add": [WAVE2[0]]}), "GroupMember.Read.All (or Group.Read.All)"),
])
def test_a_users_token_without_a_scope_the_run_needs_is_refused_before_any_request(lab, scopes, options, lacking):
    token = lab.client.mint_token(kind="delegated", upn=ADMIN, scopes=scopes)
    refused = run_module("automatic_enrollment", dict(access_token=token, graph_endpoint=lab.url, ca_path=lab.ca, **options))
    assert refused["failed"] is True and "lacks the delegated scope %s" % lacking in refused["msg"], refused
    assert lab.client.requests() == []


def test_a_read_only_token_may_check_what_would_change(lab):
    result, sent = enroll_with(lab, ["Policy.Read.All"], check=True, scope="all")
    assert result["changed"] is True and not result["failed"] and sent == [], result


def enroll_with(lab, scopes, check=False, **options):
    token = lab.client.mint_token(kind="delegated", upn=ADMIN, scopes=scopes)
    lab.client.clear_log()
    result = run_module("automatic_enrollment", dict(access_token=token, graph_endpoint=lab.url, ca_path=lab.ca, **options), check=check)
    return result, writes(lab.client.requests())


def device_code_sign_in(lab, **extra):
    return dict(auth_source="device_code", tenant_id=lab.tenant, client_id=lab.apps["lab-public"]["client_id"],
                graph_endpoint=lab.url, authority_host=lab.url, ca_path=lab.ca, **extra)


@pytest.fixture(name="run_tmp")
def fixture_run_tmp(tmp_path, monkeypatch):
    """The run's private temporary directory (the controller's token cache), as ansible-playbook would have made it."""
    from ansible import constants as C  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(C, "DEFAULT_LOCAL_TMP", str(tmp_path))
    return tmp_path


@pytest.fixture(name="shown")
def fixture_shown(monkeypatch):
    """What the controller's display showed, at the moment it showed it."""
    lines = []
    monkeypatch.setattr(graph_action.display, "display", lambda message, *args, **kwargs: lines.append(message))
    return lines


def test_a_device_code_sign_in_shows_the_code_at_once_and_its_token_sets_the_scope(lab, run_tmp, shown, monkeypatch):
    lab.client.config(device_code_interval=1)
    signed_in = []

    def show_then_the_user_signs_in(message, *args, **kwargs):
        shown.append(message)
        code = re.search(r"enter the code (\w+)", message).group(1)
        signed_in.append(lab.client.sign_in_device_code(code, ADMIN))

    monkeypatch.setattr(graph_action.display, "display", show_then_the_user_signs_in)
    options = device_code_sign_in(lab)
    token = graph_action.cached_token(options)[0]
    assert len(shown) == 1 and "https://microsoft.com/devicelogin" in shown[0] and "within 5 min 00 s" in shown[0]
    assert graph_action.cached_token(options)[0] == token and len(shown) == 1, "one sign-in per run"
    result = run_module("automatic_enrollment", dict(access_token=token, graph_endpoint=lab.url, ca_path=lab.ca, scope="all"))
    assert result["changed"] is True and not result["failed"], result
    assert {(entry["token_kind"], entry["app_id"]) for entry in lab.client.requests()} == {("delegated", lab.apps["lab-public"]["client_id"])}


def test_nobody_signing_in_fails_with_a_clear_message_once_the_code_expires(lab, run_tmp, shown):
    lab.client.config(device_code_interval=1, device_code_lifetime=2)
    with pytest.raises(AuthError, match="Nobody completed the device code sign-in .* device_code_timeout=300 s"):
        graph_action.cached_token(device_code_sign_in(lab))
    # The wait shown is the shorter of device_code_timeout and the code's life.
    assert len(shown) == 1 and re.search(r"within 0 min 0[0-2] s", shown[0]), shown


def test_the_module_on_its_own_cannot_show_a_device_code(lab):
    refused = run_module("automatic_enrollment", dict(device_code_sign_in(lab), scope="all"))
    assert refused["failed"] is True and "signs the user in on the Ansible controller" in refused["msg"], refused
    assert lab.client.counts()["token"] == 0


@pytest.mark.parametrize("value", [29, 901])
def test_device_code_timeout_out_of_range_fails_before_any_sign_in(lab, value):
    refused = run_module("automatic_enrollment", dict(device_code_sign_in(lab, device_code_timeout=value), scope="all"))
    assert refused["failed"] is True and "device_code_timeout must be a whole number of seconds from 30 to 900" in refused["msg"]
    assert lab.client.counts()["token"] == 0


# --- what real tenants hold (issue 19, item 8) -------------------------------------------------------------------

def test_the_intune_policy_is_the_one_changed_of_the_two_a_tenant_lists(lab):
    enrollment = stored_policy(lab, ENROLLMENT_ID)
    _result, sent = converge(lab, scope="selected", groups={"set": [MDM_USERS[0]]})
    assert {path for _method, path, _body in sent} == {REF}
    assert stored_policy(lab, ENROLLMENT_ID) == enrollment


def test_null_urls_are_set_in_a_patch_of_their_own_before_the_scope_and_a_rerun_sends_nothing(lab):
    lab.client.seed({"mobileDeviceManagementPolicies": [
        dict(stored_policy(lab), complianceUrl=None, discoveryUrl=None, termsOfUseUrl=None)]})
    result, sent = converge(lab, scope="all", **DEFAULT_URLS)
    # Graph refuses appliesTo and URLs in one PATCH ("Simultaneous patch requests ... not supported").
    assert sent == [("PATCH", POLICY, {"termsOfUseUrl": DEFAULT_URLS["terms_of_use_url"],
                                       "discoveryUrl": DEFAULT_URLS["discovery_url"],
                                       "complianceUrl": DEFAULT_URLS["compliance_url"]}),
                    ("PATCH", POLICY, {"appliesTo": "all"})]
    assert result["before"] == dict(scope="none", groups=[], terms_of_use_url=None, discovery_url=None, compliance_url=None)
    assert result["after"] == dict(DEFAULT_URLS, scope="all", groups=[])
