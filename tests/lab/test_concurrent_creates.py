# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Never a duplicate (issue 21): two runs creating one object at once, and a run after a create whose answer was lost,
leave one object of the name, the older one, with the assignments. The second run is a real module run, started
at a fixed point of the first (right before or right after the first's POST is sent), so the race is the same
every time; the lab's consistency_delay plays Graph's late lists. Every claim is read from the lab's request log
and state."""

from __future__ import annotations

import contextlib
from unittest import mock

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph import transport
from module_runner import graph_auth, run_module, writes

CONFIGURATIONS = "/beta/deviceManagement/deviceConfigurations"
PROFILES = "/beta/deviceManagement/windowsAutopilotDeploymentProfiles"
GROUPS = "/v1.0/groups"
PILOT = "7e1ab000-0000-4000-8000-00000000b001"  # Lab-Pilot-Devices
DOMAIN_JOIN = dict(display_name="Domain join raced", computer_name_prefix="HAADJ-", domain="lab.example",
                   assignments={"set": [{"group": "Lab-Pilot-Devices"}]})
PROFILE = dict(display_name="Profile raced", assignments={"set": [{"group": "Lab-Pilot-Devices"}]})
GROUP = dict(display_name="Devices raced")
CASES = {  # module: (its options, its collection in the log, its key in the lab's state)
    "domain_join_profile": (DOMAIN_JOIN, CONFIGURATIONS, "deviceConfigurations"),
    "autopilot_profile": (PROFILE, PROFILES, "windowsAutopilotDeploymentProfiles"),
    "device_group": (GROUP, GROUPS, "groups"),
}


def run(lab, module, **args):
    return run_module(module, dict(graph_auth(lab), **args))


def named(lab, key, name):
    return [obj for obj in lab.client.state().get(key, []) if obj["displayName"] == name]


def target_groups(obj):
    return sorted(a["target"].get("groupId") for a in obj.get("assignments", []))


@contextlib.contextmanager
def another_run_at_the_first_post(collection, other, sent):
    """Run `other()` (a whole module run) when the run under test POSTs to `collection` for the first time: before
    that POST is sent (sent=False: the other run creates first) or after its answer (sent=True). Yields the other
    run's result in a dict, under "result"."""
    request = transport.GraphClient.request
    other_run = {}

    def raced_request(self, method, path, *args, **kwargs):
        if method != "POST" or "/" + kwargs.get("api", "") + "/" + path != collection or other_run:
            return request(self, method, path, *args, **kwargs)
        other_run["result"] = None  # once: the other run's own POST goes through
        if not sent:
            other_run["result"] = other()
        answer = request(self, method, path, *args, **kwargs)
        if sent:
            other_run["result"] = other()
        return answer

    with mock.patch.object(transport.GraphClient, "request", raced_request):
        yield other_run


@pytest.mark.parametrize("module", sorted(CASES))
def test_two_runs_creating_at_once_keep_the_object_made_first(lab, module):
    options, collection, key = CASES[module]
    with another_run_at_the_first_post(collection, lambda: run(lab, module, **options), sent=False) as other_run:
        result = run(lab, module, **options)

    first = other_run["result"]
    assert first["changed"] and not first.get("failed") and "duplicates" not in first, first
    assert result["changed"] and not result.get("failed"), result
    (kept,) = named(lab, key, options["display_name"])
    assert kept["id"] == first["id"] == result["id"]
    # Both creates were answered: two objects of the name existed, and the newer one, this run's, was deleted.
    posts = [entry for entry in writes(lab.client.requests()) if entry["method"] == "POST" and entry["path"] == collection]
    assert [entry["status"] for entry in posts] == [201, 201]
    deleted = result["duplicates"]["deleted"]
    assert result["duplicates"] == {"kept": kept["id"], "deleted": deleted, "left": []} and len(deleted) == 1
    assert deleted[0] != kept["id"]
    assert ("DELETE", "%s/%s" % (collection, deleted[0])) in [(e["method"], e["path"]) for e in writes(lab.client.requests())]
    # Nothing of the task went to the newer object before it was deleted, and the older one has what was asked.
    assert [e for e in writes(lab.client.requests()) if deleted[0] in e["path"] and e["method"] != "DELETE"] == []
    if "assignments" in options:
        assert target_groups(kept) == [PILOT]

    lab.client.clear_log()
    again = run(lab, module, **options)
    assert not again["changed"] and writes(lab.client.requests()) == []


def test_a_run_whose_create_graph_lists_late_gives_way_to_the_run_that_created_first(lab):
    # The other run starts right after this run's POST was answered, and Graph does not list that new object yet:
    # the other run finds nothing and creates too. Waiting until Graph lists its own object, it sees this run's,
    # made first, deletes its own, and gives the assignments to the older one; this run then finds its own alone.
    lab.client.config(consistency_delay=20)
    options, collection, key = CASES["domain_join_profile"]
    with another_run_at_the_first_post(collection, lambda: run(lab, "domain_join_profile", **options), sent=True) as other_run:
        result = run(lab, "domain_join_profile", **options)

    second = other_run["result"]
    assert result["changed"] and not result.get("failed") and "duplicates" not in result, result
    assert second["changed"] and not second.get("failed"), second
    assert second["id"] == result["id"] and second["duplicates"]["kept"] == result["id"]
    (newer,) = second["duplicates"]["deleted"]
    (kept,) = named(lab, key, options["display_name"])
    assert kept["id"] == result["id"] and target_groups(kept) == [PILOT]
    log = [(e["method"], e["path"]) for e in writes(lab.client.requests())]
    assert ("DELETE", "%s/%s" % (collection, newer)) in log
    assert [entry for entry in log if newer in entry[1]] == [("DELETE", "%s/%s" % (collection, newer))]

    lab.client.advance_clock(30)
    lab.client.clear_log()
    again = run(lab, "domain_join_profile", **options)
    assert not again["changed"] and writes(lab.client.requests()) == []


def lost_create(lab):
    """A create Graph commits without answering, and lists only after 30 s: longer than the run looks for it."""
    lab.client.config(consistency_delay=30)
    lab.client.fault("drop_after", method="POST", path="^%s$" % CONFIGURATIONS, count=1)
    lost = run(lab, "domain_join_profile", **dict(DOMAIN_JOIN, max_retry_wait=2))
    assert lost.get("failed") and "not sent again" in lost["msg"], lost
    (made,) = named(lab, "deviceConfigurations", DOMAIN_JOIN["display_name"])
    return lost, made["id"]


def test_a_lost_create_names_how_long_to_wait_and_an_early_rerun_keeps_the_lost_object(lab):
    lost, lost_id = lost_create(lab)
    assert "run the task again in 300 s or later, or now with create_settle_time: 300" in lost["msg"], lost["msg"]
    assert lost["create_settle_time"] == 300
    lab.client.clear_log()

    rerun = run(lab, "domain_join_profile", **DOMAIN_JOIN)

    assert rerun["changed"] and not rerun.get("failed"), rerun
    assert rerun["id"] == lost_id and rerun["duplicates"]["kept"] == lost_id
    (own,) = rerun["duplicates"]["deleted"]
    (kept,) = named(lab, "deviceConfigurations", DOMAIN_JOIN["display_name"])
    assert kept["id"] == lost_id and target_groups(kept) == [PILOT]
    assert [(e["method"], e["path"]) for e in writes(lab.client.requests())] == [
        ("POST", CONFIGURATIONS), ("DELETE", "%s/%s" % (CONFIGURATIONS, own)), ("POST", "%s/%s/assign" % (CONFIGURATIONS, lost_id))]

    lab.client.clear_log()
    again = run(lab, "domain_join_profile", **DOMAIN_JOIN)
    assert not again["changed"] and writes(lab.client.requests()) == []


def test_a_rerun_with_create_settle_time_finds_the_lost_object_without_creating(lab):
    _lost, lost_id = lost_create(lab)
    lab.client.clear_log()

    rerun = run(lab, "domain_join_profile", create_settle_time=60, **DOMAIN_JOIN)

    assert rerun["changed"] and not rerun.get("failed") and rerun["id"] == lost_id, rerun
    assert [(e["method"], e["path"]) for e in writes(lab.client.requests())] == [("POST", "%s/%s/assign" % (CONFIGURATIONS, lost_id))]
    assert "duplicates" not in rerun
    (wait,) = [w for w in rerun["waits"] if "before creating" in w["waited_for"]]
    assert wait["done"] and wait["seconds"] >= 25


def test_create_settle_time_out_of_range_fails_before_any_request(lab):
    failed = run(lab, "domain_join_profile", create_settle_time=-1, **DOMAIN_JOIN)
    assert failed.get("failed") and "create_settle_time: give 0 to 1800 seconds" in failed["msg"]
    assert lab.client.requests() == []


def test_a_newer_namesake_another_run_made_is_left_to_it_and_reported(lab):
    # Another run's create lands right after this run's and that run has not looked again yet: this run's object is
    # the older, so it keeps it, gives it the assignments, and leaves the newer one (not its own) to that run.
    options, collection, key = CASES["domain_join_profile"]
    newer = {"@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration", "displayName": options["display_name"],
             "computerNameStaticPrefix": "HAADJ-", "activeDirectoryDomainName": "lab.example"}
    with another_run_at_the_first_post(collection, lambda: lab.client.seed({key: [newer]}), sent=True) as other_run:
        result = run(lab, "domain_join_profile", **options)

    (newer_id,) = other_run["result"]["added"][key]
    assert result["changed"] and not result.get("failed"), result
    assert result["duplicates"] == {"kept": result["id"], "deleted": [], "left": [newer_id]}
    both = {obj["id"]: obj for obj in named(lab, key, options["display_name"])}
    assert set(both) == {result["id"], newer_id}
    assert target_groups(both[result["id"]]) == [PILOT] and target_groups(both[newer_id]) == []
    assert [e for e in writes(lab.client.requests()) if newer_id in e["path"]] == []


def test_two_runs_recreating_at_once_leave_the_replacement_made_first(lab):
    options = dict(display_name="Profile raced", language="de-DE", assignments={"set": [{"group": "Lab-Pilot-Devices"}]})
    old_id = run(lab, "autopilot_profile", **options)["id"]
    lab.client.clear_log()
    replace = dict(options, skip_ad_connectivity_check=True, recreate=True)
    with another_run_at_the_first_post(PROFILES, lambda: run(lab, "autopilot_profile", **replace), sent=False) as other_run:
        stopped = run(lab, "autopilot_profile", **replace)

    finished = other_run["result"]
    assert finished["changed"] and not finished.get("failed"), finished
    assert stopped.get("failed") and "another run replaced it at the same time" in stopped["msg"], stopped
    assert stopped["duplicates"]["kept"] == finished["id"]
    (own,) = stopped["duplicates"]["deleted"]
    (kept,) = named(lab, "windowsAutopilotDeploymentProfiles", options["display_name"])
    assert kept["id"] == finished["id"] != old_id and target_groups(kept) == [PILOT]
    assert [(e["method"], e["path"]) for e in writes(lab.client.requests()) if own in e["path"]] == [("DELETE", "%s/%s" % (PROFILES, own))]

    lab.client.clear_log()
    again = run(lab, "autopilot_profile", **replace)
    assert not again["changed"] and writes(lab.client.requests()) == []
