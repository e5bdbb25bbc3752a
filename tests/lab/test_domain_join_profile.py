# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""domain_join_profile (step 8) against the Graph lab, run in-process (module_runner); the credentials and
token reuse are tested through ansible-playbook in tests/integration/pytest/test_credentials.py."""

from __future__ import annotations

import pytest

from module_runner import graph_auth, run_module, writes

COLLECTION = "/beta/deviceManagement/deviceConfigurations"
NAME = "Autopilot hybrid join - domain join"
PROFILE = dict(display_name=NAME, computer_name_prefix="HAADJ-", domain="lab.example", organizational_unit="OU=Autopilot,DC=lab,DC=example")


def profile_args(lab, app="lab-admin", **overrides):
    return dict(graph_auth(lab, app), **dict(PROFILE, **overrides))


def domain_join_profiles(lab):
    return [obj for obj in lab.client.state()["deviceConfigurations"] if obj["@odata.type"].endswith("windowsDomainJoinConfiguration")]


def log(lab):
    return lab.client.requests()


def test_create_with_tutorial_values_then_rerun_sends_no_write(lab):
    created = run_module("domain_join_profile", profile_args(lab, assignments={"set": [{"all_devices": True}]}))
    assert created["changed"] is True, created
    post = [entry for entry in log(lab) if entry["method"] == "POST" and entry["path"] == COLLECTION][0]
    assert post["body"] == {
        "@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration",
        "displayName": NAME,
        "computerNameStaticPrefix": "HAADJ-",
        "computerNameSuffixRandomCharCount": 9,
        "activeDirectoryDomainName": "lab.example",
        "organizationalUnit": "OU=Autopilot,DC=lab,DC=example",
        "roleScopeTagIds": ["0"],
    }
    assign = [entry for entry in log(lab) if entry["path"].endswith("/assign")]
    assert [item["target"]["@odata.type"] for item in assign[0]["body"]["assignments"]] == ["#microsoft.graph.allDevicesAssignmentTarget"]
    assert created["assignments"] == [{"all_devices": True}]

    lab.client.clear_log()
    again = run_module("domain_join_profile", profile_args(lab, assignments={"set": [{"all_devices": True}]}))
    assert again["changed"] is False and again["id"] == created["id"]
    assert writes(log(lab)) == []
    assert len(domain_join_profiles(lab)) == 1


def test_a_read_only_app_is_refused_before_anything_changes(lab):
    result = run_module("domain_join_profile", profile_args(lab, app="lab-reader"))
    assert result["failed"] and result["status"] == 403 and result["error_code"] == "Forbidden", result
    assert "POST /beta/deviceManagement/deviceConfigurations" in result["msg"] and result["request_id"]
    assert domain_join_profiles(lab) == []


def test_update_patches_only_what_differs_and_diff_shows_it(lab):
    run_module("domain_join_profile", profile_args(lab))
    lab.client.clear_log()
    updated = run_module("domain_join_profile", profile_args(lab, computer_name_prefix="HYB-", random_char_count=11), diff=True)
    assert updated["changed"] is True, updated
    patches = [entry for entry in log(lab) if entry["method"] == "PATCH"]
    assert len(writes(log(lab))) == 1
    assert patches[0]["body"] == {
        "@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration",
        "computerNameStaticPrefix": "HYB-",
        "computerNameSuffixRandomCharCount": 11,
    }
    assert updated["diff"]["before"]["computer_name_prefix"] == "HAADJ-"
    assert updated["diff"]["after"]["computer_name_prefix"] == "HYB-"
    assert domain_join_profiles(lab)[0]["computerNameStaticPrefix"] == "HYB-"


def test_domain_and_ou_compare_case_insensitively_and_without_spaces(lab):
    run_module("domain_join_profile", profile_args(lab, organizational_unit="OU=Autopilot, DC=lab , DC=example"))
    # Sent in the one form ou_account_limit writes too.
    assert [e["body"]["organizationalUnit"] for e in writes(log(lab))] == ["OU=Autopilot,DC=lab,DC=example"]
    lab.client.clear_log()
    again = run_module("domain_join_profile", profile_args(lab, domain="LAB.Example", organizational_unit="ou=autopilot,  dc=LAB,dc=example"))
    assert again["changed"] is False and writes(log(lab)) == []


def test_check_mode_sends_no_write_for_create_update_and_delete(lab):
    planned = run_module("domain_join_profile", profile_args(lab), check=True, diff=True)
    assert planned["changed"] is True and planned["diff"]["before"] == {}
    assert planned["diff"]["after"]["domain"] == "lab.example"
    assert writes(log(lab)) == [] and domain_join_profiles(lab) == []

    run_module("domain_join_profile", profile_args(lab))
    lab.client.clear_log()
    assert run_module("domain_join_profile", profile_args(lab, description="new"), check=True)["changed"] is True
    assert run_module("domain_join_profile", profile_args(lab, state="absent"), check=True)["changed"] is True
    assert writes(log(lab)) == [] and domain_join_profiles(lab)[0].get("description") in (None, "")


def test_assignments_add_remove_set_send_only_what_differs_and_keep_unnamed_targets(lab):
    run_module("domain_join_profile", profile_args(lab, assignments={"set": [{"all_devices": True}]}))
    lab.client.clear_log()

    pilot_and_kiosk_excluded = [{"group": "Lab-Pilot-Devices"}, {"group": "Lab-Kiosk-Devices", "exclude": True}]
    added = run_module("domain_join_profile", profile_args(lab, assignments={"add": pilot_and_kiosk_excluded}))
    assert added["changed"] is True, added
    assign_calls = [entry for entry in log(lab) if entry["path"].endswith("/assign")]
    assert len(assign_calls) == 1 and len(writes(log(lab))) == 1
    targets = [item["target"]["@odata.type"] for item in assign_calls[0]["body"]["assignments"]]
    assert targets == ["#microsoft.graph.allDevicesAssignmentTarget", "#microsoft.graph.groupAssignmentTarget",
                       "#microsoft.graph.exclusionGroupAssignmentTarget"]

    lab.client.clear_log()
    same = run_module("domain_join_profile", profile_args(lab, assignments={"add": [{"group": "Lab-Pilot-Devices"}]}))
    assert same["changed"] is False and writes(log(lab)) == []

    removed = run_module("domain_join_profile", profile_args(lab, assignments={"remove": [{"all_devices": True}]}))
    assert removed["changed"] is True
    assert {"all_devices": True} not in removed["assignments"] and len(removed["assignments"]) == 2

    lab.client.clear_log()
    cleared = run_module("domain_join_profile", profile_args(lab, assignments={"set": []}))
    assert cleared["changed"] is True and cleared["assignments"] == []
    assert [entry["body"] for entry in writes(log(lab))] == [{"assignments": []}]


@pytest.mark.parametrize("group, message", [
    ("No-Such-Group", "no group named 'No-Such-Group'"),
    ("Lab-Duplicate", "2 groups are named 'Lab-Duplicate'"),
    ("00000000-0000-4000-8000-00000000dead", "no group with id"),
])
def test_unknown_or_ambiguous_groups_fail_before_any_write(lab, group, message):
    result = run_module("domain_join_profile", profile_args(lab, assignments={"set": [{"group": group}]}))
    assert result.get("failed") and message in result["msg"], result
    assert writes(log(lab)) == []


@pytest.mark.parametrize("overrides, message", [
    (dict(computer_name_prefix=""), "computer_name_prefix ''"),
    (dict(computer_name_prefix="HAADJ_"), "letters, digits or hyphens"),
    (dict(computer_name_prefix="ABCDEFGHIJKLM"), "is 13 characters"),
    (dict(computer_name_prefix="HAADJ-", random_char_count=10), "exceeds the 15 characters"),
    (dict(random_char_count=2), "Graph accepts 3 to 14"),
    (dict(domain="LAB"), "looks like a NetBIOS name"),
    (dict(organizational_unit="Autopilot"), "is not a distinguished name"),
    (dict(organizational_unit="CN=Computers,DC=lab,DC=example"), "default Computers container"),
    (dict(organizational_unit="OU=Autopilot,DC=contoso,DC=com"), "is not in domain lab.example"),
])
def test_bad_input_fails_before_any_request(lab, overrides, message):
    result = run_module("domain_join_profile", profile_args(lab, **overrides))
    assert result.get("failed") and message in result["msg"], result
    assert log(lab) == []


def test_missing_required_values_on_create_fail_before_any_write(lab):
    args = graph_auth(lab)
    args.update(display_name=NAME, domain="lab.example")
    result = run_module("domain_join_profile", args)
    assert result.get("failed") and "computer_name_prefix required to create" in result["msg"], result
    assert writes(log(lab)) == []


def test_two_profiles_with_one_name_fail_listing_both_ids(lab):
    first = run_module("domain_join_profile", profile_args(lab))["id"]
    second = run_module("domain_join_profile", profile_args(lab, id=None, display_name="temporary"))["id"]
    run_module("domain_join_profile", profile_args(lab, id=second))  # renames it to NAME by id
    lab.client.clear_log()
    result = run_module("domain_join_profile", profile_args(lab))
    assert result.get("failed") and first in result["msg"] and second in result["msg"], result
    assert writes(log(lab)) == []


def test_absent_deletes_once(lab):
    created = run_module("domain_join_profile", profile_args(lab))
    deleted = run_module("domain_join_profile", profile_args(lab, state="absent"))
    assert deleted["changed"] is True and domain_join_profiles(lab) == []
    assert [entry["path"] for entry in writes(log(lab)) if entry["method"] == "DELETE"] == [COLLECTION + "/" + created["id"]]
    lab.client.clear_log()
    assert run_module("domain_join_profile", profile_args(lab, state="absent"))["changed"] is False
    assert writes(log(lab)) == []


def test_a_create_whose_answer_was_lost_is_not_duplicated(lab):
    lab.client.fault(method="POST", path="deviceConfigurations$", count=1, action="drop_after")
    result = run_module("domain_join_profile", profile_args(lab))
    assert result["changed"] is True and not result.get("failed"), result
    assert len(domain_join_profiles(lab)) == 1
    assert len([entry for entry in log(lab) if entry["method"] == "POST" and entry["path"] == COLLECTION]) == 1


def test_a_429_storm_is_ridden_out_without_duplicates(lab):
    lab.client.fault(method=None, path="deviceConfigurations", count=4, action="status", status=429, retry_after="1")
    result = run_module("domain_join_profile", profile_args(lab, assignments={"set": [{"all_devices": True}]}))
    assert result["changed"] is True and not result.get("failed"), result
    assert len(domain_join_profiles(lab)) == 1
    assert sum(1 for entry in log(lab) if entry["status"] == 429) == 4
