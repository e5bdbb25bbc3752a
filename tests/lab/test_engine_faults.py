# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The desired-state engine under faults and odd input, through real modules against the Graph lab:
recreate never loses what it replaces, a lost create is found instead of sent twice, names are
checked in one place. Every claim is read from the lab's request log and state."""

from __future__ import annotations

import pytest

from module_runner import graph_auth, run_module, writes

PROFILES = "/beta/deviceManagement/windowsAutopilotDeploymentProfiles"
PROFILE_KEY = "windowsAutopilotDeploymentProfiles"
CONFIGURATIONS = "/beta/deviceManagement/deviceConfigurations"
PILOT = "7e1ab000-0000-4000-8000-00000000b001"  # Lab-Pilot-Devices
NAME = "Autopilot HAADJ recreate"
DOMAIN_JOIN = dict(display_name="Domain join for faults", computer_name_prefix="HAADJ-", domain="lab.example")
# Short enough for tests, long enough for the lab's few seconds of replication lag.
QUICK = dict(max_retry_wait=8)


def run(lab, module, **args):
    return run_module(module, dict(graph_auth(lab), **args))


def graph_writes(lab):
    return [(entry["method"], entry["path"]) for entry in writes(lab.client.requests())]


def profiles(lab):
    return [p for p in lab.client.state().get(PROFILE_KEY, []) if p["displayName"] == NAME]


def targets(profile):
    return sorted((a["target"]["@odata.type"].rsplit(".", 1)[-1], a["target"].get("groupId")) for a in profile["assignments"])


def make_profile(lab, assignments):
    created = run(lab, "autopilot_profile", display_name=NAME, language="de-DE", assignments={"set": assignments})
    assert created["changed"] and not created.get("failed"), created
    lab.client.clear_log()
    return created["id"]


def test_recreate_whose_create_fails_deletes_nothing(lab):
    old_id = make_profile(lab, [{"group": "Lab-Pilot-Devices"}])
    lab.client.fault("status", method="POST", path="^%s$" % PROFILES, status=400, count=1)

    failed = run(lab, "autopilot_profile", display_name=NAME, skip_ad_connectivity_check=True, recreate=True, **QUICK)

    assert failed.get("failed") and "stopped before anything changed" in failed["msg"] and old_id in failed["msg"]
    assert graph_writes(lab) == [("POST", PROFILES)]
    (old,) = profiles(lab)
    assert old["id"] == old_id and targets(old) == [("groupAssignmentTarget", PILOT)]


def test_recreate_stopped_half_way_keeps_the_old_profile_and_the_next_run_finishes(lab):
    old_id = make_profile(lab, [{"group": "Lab-Pilot-Devices"}])
    # The replacement is created, then giving it the group fails.
    lab.client.fault("status", method="POST", path="/assignments$", status=400, count=1)

    stopped = run(lab, "autopilot_profile", display_name=NAME, skip_ad_connectivity_check=True, recreate=True)

    assert stopped.get("failed") and "stopped half-way" in stopped["msg"] and "Nothing was lost" in stopped["msg"]
    assert stopped["recreate"]["old_id"] == old_id
    new_id = stopped["recreate"]["new_id"]
    both = {p["id"]: p for p in profiles(lab)}
    assert set(both) == {old_id, new_id}
    assert targets(both[old_id]) == [("groupAssignmentTarget", PILOT)]  # nothing taken from the old one
    assert both[new_id]["hybridAzureADJoinSkipConnectivityCheck"] is True and both[new_id]["locale"] == "de-DE"

    # Without recreate the pair is named, and nothing is written.
    lab.client.clear_log()
    ambiguous = run(lab, "autopilot_profile", display_name=NAME, skip_ad_connectivity_check=True)
    assert ambiguous.get("failed") and "stopped half-way" in ambiguous["msg"] and "recreate: true" in ambiguous["msg"]
    assert graph_writes(lab) == []

    finished = run(lab, "autopilot_profile", display_name=NAME, skip_ad_connectivity_check=True, recreate=True)
    assert finished["changed"] and not finished.get("failed"), finished
    assert finished["id"] == new_id
    assert graph_writes(lab) == [
        ("POST", "%s/%s/assignments" % (PROFILES, new_id)),
        ("DELETE", "%s/%s/assignments/%s_%s" % (PROFILES, old_id, old_id, PILOT)),
        ("DELETE", "%s/%s" % (PROFILES, old_id)),
    ]
    (only,) = profiles(lab)
    assert only["id"] == new_id and targets(only) == [("groupAssignmentTarget", PILOT)]

    lab.client.clear_log()
    again = run(lab, "autopilot_profile", display_name=NAME, skip_ad_connectivity_check=True, recreate=True)
    assert not again["changed"] and graph_writes(lab) == []


def test_recreate_hands_all_devices_over_and_takes_it_back_when_the_new_profile_cannot_have_it(lab):
    old_id = make_profile(lab, [{"all_devices": True}])
    lab.client.fault("status", method="POST", path="/assignments$", status=400, count=1)

    stopped = run(lab, "autopilot_profile", display_name=NAME, skip_ad_connectivity_check=True, recreate=True)

    assert stopped.get("failed") and "Nothing was lost" in stopped["msg"]
    new_id = stopped["recreate"]["new_id"]
    both = {p["id"]: p for p in profiles(lab)}
    assert targets(both[old_id]) == [("allDevicesAssignmentTarget", None)]  # given back
    assert targets(both[new_id]) == []

    finished = run(lab, "autopilot_profile", display_name=NAME, skip_ad_connectivity_check=True, recreate=True)
    assert finished["changed"] and not finished.get("failed"), finished
    (only,) = profiles(lab)
    assert only["id"] == new_id and targets(only) == [("allDevicesAssignmentTarget", None)]


def test_a_lost_create_is_found_through_replication_lag_not_sent_twice(lab):
    lab.client.config(consistency_delay=4)
    lab.client.fault("drop_after", method="POST", path="^%s$" % CONFIGURATIONS, count=1)

    created = run(lab, "domain_join_profile", **dict(DOMAIN_JOIN, **QUICK))

    assert created["changed"] and not created.get("failed"), created
    assert graph_writes(lab) == [("POST", CONFIGURATIONS)]
    stored = [c for c in lab.client.state()["deviceConfigurations"] if c["displayName"] == DOMAIN_JOIN["display_name"]]
    assert [c["id"] for c in stored] == [created["id"]]


def test_an_assignment_to_a_group_intune_does_not_know_yet_is_sent_again_until_it_does(lab):
    # Step 5 then step 7: the group is new, its id comes from the run's cache, and Intune has not seen it yet.
    # (A profile created in the same run is covered by the transport, which waits out 404s on new objects.)
    # The replication lag starts after step 5, whose create waits until Graph lists its group.
    existing = run(lab, "autopilot_profile", display_name=NAME)
    lab.client.advance_clock(10)  # the profile is old news by now; the group will not be
    group = run(lab, "device_group", display_name="Replicating group")
    assert group["changed"] and not group.get("failed"), group
    lab.client.config(consistency_delay=4)
    lab.client.clear_log()

    assigned = run(lab, "autopilot_profile", display_name=NAME, group_ids={"Replicating group": group["id"]},
                   assignments={"add": [{"group": "Replicating group"}]}, **QUICK)

    assert assigned["changed"] and not assigned.get("failed"), assigned
    posts = [(entry["path"], entry["status"]) for entry in writes(lab.client.requests())]
    assignments = "%s/%s/assignments" % (PROFILES, existing["id"])
    assert len(posts) >= 2 and set(posts[:-1]) == {(assignments, 404)} and posts[-1] == (assignments, 201), posts
    assert targets(profiles(lab)[0]) == [("groupAssignmentTarget", group["id"])]
    assert [wait["waited_for"] for wait in assigned["waits"]] == ["Intune to know the assigned groups"]


def test_an_assignment_to_a_group_that_never_shows_fails_after_the_window_and_says_what_to_do(lab):
    missing = "00000000-0000-4000-8000-00000000dead"
    run(lab, "autopilot_profile", display_name=NAME)
    failed = run(lab, "autopilot_profile", display_name=NAME, group_ids={"Gone group": missing},
                 assignments={"add": [{"group": "Gone group"}]}, max_retry_wait=3)

    assert failed.get("failed") and "did not find a group" in failed["msg"] and "run the task again" in failed["msg"], failed
    assert profiles(lab)[0]["assignments"] == []


def test_a_create_that_never_shows_is_not_sent_again_and_a_rerun_creates_it(lab):
    lab.client.fault("drop_before", method="POST", path="^%s$" % CONFIGURATIONS, count=1)

    lost = run(lab, "domain_join_profile", **dict(DOMAIN_JOIN, max_retry_wait=2))

    assert lost.get("failed") and "not sent again" in lost["msg"] and "run the task again in" in lost["msg"]
    assert graph_writes(lab) == [("POST", CONFIGURATIONS)]
    rerun = run(lab, "domain_join_profile", **DOMAIN_JOIN)
    assert rerun["changed"] and not rerun.get("failed")
    stored = [c for c in lab.client.state()["deviceConfigurations"] if c["displayName"] == DOMAIN_JOIN["display_name"]]
    assert len(stored) == 1


@pytest.mark.parametrize("module, args", [
    ("autopilot_esp", {}),
    ("autopilot_profile", {}),
    ("domain_join_profile", {"computer_name_prefix": "HAADJ-", "domain": "lab.example"}),
])
@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_names_that_graph_cannot_hold_fail_before_any_request(lab, module, args, name):
    failed = run(lab, module, display_name=name, **args)
    assert failed.get("failed") and "display_name: give 1 to 200 characters" in failed["msg"]
    assert lab.client.requests() == []


@pytest.mark.parametrize("module", ["autopilot_esp", "autopilot_profile", "domain_join_profile"])
def test_absent_without_a_name_or_id_fails_before_any_request(lab, module):
    failed = run(lab, module, state="absent")
    assert failed.get("failed") and "display_name or id is required" in failed["msg"]
    assert lab.client.requests() == []


def test_names_match_case_insensitively_and_a_case_change_renames(lab):
    created = run(lab, "domain_join_profile", **DOMAIN_JOIN)
    lab.client.clear_log()

    renamed = run(lab, "domain_join_profile", display_name=DOMAIN_JOIN["display_name"].upper())

    assert renamed["changed"] and renamed["id"] == created["id"]
    assert [(e["method"], e["body"]["displayName"]) for e in writes(lab.client.requests())] == [
        ("PATCH", DOMAIN_JOIN["display_name"].upper())]
    lab.client.clear_log()
    assert not run(lab, "domain_join_profile", display_name=DOMAIN_JOIN["display_name"].upper())["changed"]
    assert graph_writes(lab) == []
