# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole hybrid_join role under faults: throttling storms, 5xx bursts, answers lost after Graph acted,
the LDAP connection cut mid-run, and other admins editing the tenant between runs.

After each fault the next run converges and the one after it is changed=0 with no write in the lab's
request log; no object is duplicated, no assignment (the role's or anyone else's) and no ACE is lost; and
the readiness report says what happened - a step that failed shows failed, the steps after it not run.
Module-level faults of the engine are tests/lab/test_engine_faults.py; these are about the role as a whole.

What a case costs is whole runs of the role, so each runs only what it needs to prove its point: the faulted run
leaves out (--tags, --skip-tags) what the fault cannot touch (step 2's connector check for every Graph fault,
every Graph step for the LDAP ones, the read-only preflight for a fault on writes); the run that repairs it
leaves out step 2 and the report (its steps must converge, and its preflight must accept what the fault left; the
report is asserted on the runs around it); the last run - the one that must change nothing and write nothing - is
every step that writes, with the report, proving nothing else changed (the preflight and step 2 only read: the run
before it passed the one, no fault aims at the other). A case that starts from a tenant the role already configured
restores it from a snapshot (converged_lab) instead of running the role. An LDAP fault's runs are step 3's alone: it
cannot reach a Graph step, and the lab's log shows no Graph write in them.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.request

import pytest

from ad_fixtures import LdapFaultProxy
from harness import graph_auth, run_tasks, writes
from test_hybrid_join_role import DEVICE_GROUP, ROLE_VARS, seed_device_group

# Short enough for a test, long enough for the lab's short storms (the transport honours Retry-After).
QUICK = dict(max_retry_wait=8)
# For a storm that must outlast the retries: the step fails after seconds of waiting, not QUICK's eight.
OUTLASTED = dict(max_retry_wait=3)
ESP = "Autopilot hybrid join - ESP"
PROFILE = "Autopilot hybrid join user driven"
DOMAIN_JOIN = "Autopilot hybrid join - domain join"
KIOSK = "7e1ab000-0000-4000-8000-00000000b002"  # Lab-Kiosk-Devices, seeded by the lab
ESPS = "/beta/deviceManagement/deviceEnrollmentConfigurations"
PROFILES = "/beta/deviceManagement/windowsAutopilotDeploymentProfiles"
CONFIGURATIONS = "/beta/deviceManagement/deviceConfigurations"
CREATES = r"^/(v1\.0/groups|beta/deviceManagement/(deviceEnrollmentConfigurations|windowsAutopilotDeploymentProfiles|deviceConfigurations))$"
ASSIGNMENTS = r"/(assign|assignments)$"
GRAPH = r"^/(v1\.0|beta)/"  # Graph itself, not sign-in
ROW = re.compile(r"^\| (\d+) \| [^|]+ \| ([a-z ]+) \| (.*) \|$")
# Every step but step 2: without devices, a delegated sign-in or a DC, the Graph faults can touch only steps 5
# to 8, and steps 1, 3, 4, 9 and 10 only say why they were skipped (cheap, and the report's rows stay as in a
# whole run); step 2 is a module run of Graph reads the faults below do not aim at.
GRAPH_FAULT_STEPS = ("step1", "step3", "step4", "step5", "step6", "step7", "step8", "step9", "step10")
LEFT_OUT = ("not run", "not part of this run (left out by --tags).")


def role(lab, report_dir, retries=QUICK, **variables):
    """The role as a playbook's roles: section runs it, the Graph tasks with QUICK retries, writing its report."""
    return {"name": "hybrid join", "ansible.builtin.import_role": {"name": "intune.autopilot.hybrid_join"},
            "vars": dict(ROLE_VARS, hybrid_join_graph_auth=dict(graph_auth(lab), **retries),
                         hybrid_join_report_dir=str(report_dir), **variables)}


def run_role(lab, report_dir, steps=None, skip=(), retries=QUICK, **variables):
    """One run of the role, limited to `steps` (tags) when given; the preflight and the report run unless
    named in skip (--skip-tags)."""
    extra_args = (["--tags", ",".join(steps)] if steps else []) + (["--skip-tags", ",".join(skip)] if skip else [])
    return run_tasks([role(lab, report_dir, retries, **variables)], extra_args=extra_args)


def untouched(fault):
    """What a faulted run leaves out besides step 2: the preflight, which only reads, when the fault is on writes."""
    return ["preflight"] if fault.get("method") in ("POST", "PATCH") else []


# Preflight tasks that read with ignore_errors (their failures are listed by its last task); the results file
# shows an ignored failure as failed too.
IGNORED = ("Preflight - read the AD domain", "Preflight - can step 7 keep or create")


def failed(results):
    return [result for result in results if result["failed"] and not any(name in result["_task"] for name in IGNORED)]


def report(report_dir):
    """The Markdown report's step rows: {step number: (state, what it says)}, and the whole text."""
    markdown = (report_dir / "hybrid_join_localhost.md").read_text()
    rows = {int(m.group(1)): (m.group(2), m.group(3)) for m in map(ROW.match, markdown.splitlines()) if m}
    assert sorted(rows) == list(range(1, 11)), markdown
    return rows, markdown


def role_objects(lab):
    """What the role manages, by name, with every assignment's target: a duplicate shows as a second entry."""
    state = lab.client.state()

    def targets(obj):
        return sorted((a["target"]["@odata.type"].rsplit(".", 1)[-1], a["target"].get("groupId", ""))
                      for a in obj.get("assignments", []))

    return dict(
        groups=[g["id"] for g in state["groups"] if g["displayName"] == DEVICE_GROUP],
        esp=[targets(o) for o in state.get("deviceEnrollmentConfigurations", []) if o["displayName"] == ESP],
        profile=[targets(o) for o in state.get("windowsAutopilotDeploymentProfiles", []) if o["displayName"] == PROFILE],
        domain_join=[targets(o) for o in state.get("deviceConfigurations", []) if o["displayName"] == DOMAIN_JOIN],
    )


def assert_role_objects_whole(lab, extra_esp=(), extra_profile=()):
    """One object each, assigned to the role's group (domain join: all devices), plus the others' assignments."""
    objects = role_objects(lab)
    (group,) = objects["groups"]
    assert objects["esp"] == [sorted([("groupAssignmentTarget", group)] + list(extra_esp))], objects
    assert objects["profile"] == [sorted([("groupAssignmentTarget", group)] + list(extra_profile))], objects
    assert objects["domain_join"] == [[("allDevicesAssignmentTarget", "")]], objects
    return group


def converge(lab, report_dir, steps=GRAPH_FAULT_STEPS, steady_steps=None, before_steady=lambda: None, **variables):
    """The run after a fault (of the steps it touched, with the preflight, without the report) ends without
    failure; the run of every writing step (or of steady_steps) after it changes nothing and sends no write.
    before_steady() runs between."""
    lab.client.clear_faults()
    rerun = run_role(lab, report_dir, steps, skip=["report"], **variables)
    assert not failed(rerun), failed(rerun)
    before_steady()
    assert_steady(lab, report_dir, steady_steps, **variables)
    return rerun


def assert_steady(lab, report_dir, steps=None, **variables):
    """Every step that writes (or those of steps) changes nothing and sends no write; the report says each step
    no change or skipped (step 2, a check that only reads, and any step not in steps, left out)."""
    lab.client.clear_log()
    steady = run_role(lab, report_dir, steps, skip=["preflight", "step2"], **variables)
    assert not failed(steady) and not [r for r in steady if r.get("changed")], [r for r in steady if r.get("changed")]
    assert writes(lab.client.requests()) == []
    rows, _ = report(report_dir)
    left_out = [number for number in rows if number == 2 or (steps and "step%d" % number not in steps)]
    assert [rows.pop(number) for number in left_out] == [LEFT_OUT] * len(left_out), left_out
    assert {state for state, _ in rows.values()} <= {"no change", "skipped"}, rows


def graph_call(lab, method, path, body=None):
    """Another admin's Graph request (an app token of the lab), as the portal or a script would send it."""
    token = lab.client.mint_token(app=graph_auth(lab)["client_id"])
    request = urllib.request.Request(lab.url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=str(lab.ca)), timeout=30) as response:
        data = response.read()
    return json.loads(data) if data else None


@pytest.fixture(name="report_dir")
def fixture_report_dir(tmp_path):
    return tmp_path / "reports"


# --- faults the transport rides out: the faulted run itself succeeds -----------------------------------


def test_transient_faults_are_ridden_out_and_the_next_run_writes_nothing(lab, report_dir):
    # Both at once (one faulted run, not one each): a burst of 503s on whatever comes next, reads and writes alike,
    # and the writes throttled, six 429s in a row with a Retry-After, waited out within max_retry_wait.
    lab.client.fault(action="status", path=GRAPH, status=503, count=2)
    lab.client.fault(action="status", method="POST", path=GRAPH, status=429, retry_after=1, count=6)

    first = run_role(lab, report_dir, GRAPH_FAULT_STEPS)

    assert not failed(first), failed(first)
    fired = [(entry["method"], entry["status"]) for entry in lab.client.requests() if entry["fault"]]
    assert fired.count(("POST", 429)) == 6 and len([status for _method, status in fired if status == 503]) == 2, fired
    assert_role_objects_whole(lab)
    rows, _ = report(report_dir)
    assert [rows[n][0] for n in (5, 6, 7, 8)] == ["changed"] * 4 and rows[2] == LEFT_OUT, rows
    assert_steady(lab, report_dir)


# --- writes whose answer is lost: Graph acted, or may have ---------------------------------------------


@pytest.mark.parametrize("fault, seed_drift", [
    # Every create of steps 5 to 8 (group, ESP, profile, domain join profile) goes through, its answer is lost.
    (dict(action="drop_after", method="POST", path=CREATES, count=4), False),
    # Every assignment of steps 6 to 8 is made, its answer is lost.
    (dict(action="drop_after", method="POST", path=ASSIGNMENTS, count=3), False),
    # Step 5's PATCH of a group that drifted is applied, its answer is lost.
    (dict(action="drop_after", method="PATCH", path=GRAPH, count=1), True),
    # The connection of step 5's create closes before Graph read it: to the role as unknown an outcome as the
    # above, so the step stops rather than risk a second group, and the next run creates it.
    (dict(action="drop_before", method="POST", path=CREATES, count=1), False),
], ids=["creates", "assignments", "patch", "create_dropped_before_graph_acted"])
def test_a_write_whose_answer_is_lost_leaves_no_duplicate_and_the_report_tells_what_happened(lab, report_dir, fault, seed_drift):
    if seed_drift:
        seed_device_group(lab)  # without the description step 5 gives it
    lab.client.fault(**fault)

    first = run_role(lab, report_dir, GRAPH_FAULT_STEPS, untouched(fault))

    assert [entry for entry in lab.client.requests() if entry["fault"]], "the fault never fired"
    rows, markdown = report(report_dir)
    if failed(first):
        # The run may stop, but then the report names the step that failed and the rest as not run.
        (step_failure, run_failure) = failed(first)
        number = int(re.match(r"Step (\d+) failed", run_failure["msg"]).group(1))
        assert rows[number][0] == "failed" and step_failure["msg"][:60] in markdown, (rows, step_failure)
        assert all(rows[n][0] == "not run" and "not reached" in rows[n][1] for n in range(number + 1, 11)), rows
    else:
        assert [rows[n][0] for n in (5, 6, 7, 8)] == ["changed"] * 4, rows
    assert len(role_objects(lab)["groups"]) <= 1  # none when Graph never read the create
    converge(lab, report_dir)
    assert_role_objects_whole(lab)


# --- a step that fails: the report says so, the run still fails, the next run finishes ----------------


@pytest.mark.parametrize("fault, number", [
    # Graph keeps throttling step 6's assignment past max_retry_wait.
    (dict(action="status", method="POST", path=ESPS + "/[^/]+/assign$", status=429, retry_after=2, count=50), 6),
    # Graph answers step 7's create with 503 for longer than max_retry_wait.
    (dict(action="status", method="POST", path="^%s$" % PROFILES, status=503, count=50), 7),
], ids=["429_storm_past_max_retry_wait_step6", "5xx_storm_past_max_retry_wait_step7"])
def test_a_failed_step_is_reported_failed_the_rest_not_run_and_the_run_still_fails(lab, report_dir, fault, number):
    lab.client.fault(**fault)

    first = run_role(lab, report_dir, GRAPH_FAULT_STEPS, untouched(fault), OUTLASTED)

    step_failure, run_failure = failed(first)
    # The run ends failed, with the step's own message, after the report was written.
    assert run_failure["_task"].endswith("Fail the run with the failed step's message, now that the report shows it")
    assert run_failure["msg"].startswith("Step %d failed (" % number) and step_failure["msg"] in run_failure["msg"], run_failure
    rows, markdown = report(report_dir)
    assert [rows[n][0] for n in range(5, number)] == ["changed"] * (number - 5), rows
    assert rows[number][0] == "failed" and step_failure["msg"][:80] in rows[number][1], (rows, step_failure)
    for later in range(number + 1, 11):
        assert rows[later] == ("not run", "not reached: the run stopped when step %d failed." % number), rows
    assert rows[1][0] == "skipped" and rows[3][0] == "skipped"  # before the failure, still said as they were
    assert "**The run failed at step %d**" % number in markdown
    html = (report_dir / "hybrid_join_localhost.html").read_text()
    assert "The run failed at step %d" % number in html and 'class="state failed"' in html

    converge(lab, report_dir)
    assert_role_objects_whole(lab)


def test_a_failed_step_in_a_run_limited_by_tags_still_reports_and_fails(lab, report_dir):
    fault = dict(action="status", method="POST", path="^%s$" % PROFILES, status=503, count=50)
    lab.client.fault(**fault)

    results = run_role(lab, report_dir, ["step7"], untouched(fault), OUTLASTED)

    step_failure, run_failure = failed(results)
    assert run_failure["msg"].startswith("Step 7 failed"), run_failure
    rows, _ = report(report_dir)
    assert rows[7][0] == "failed" and rows[6] == LEFT_OUT and rows[8] == LEFT_OUT, rows
    assert step_failure["_task"].endswith("assigned to the step 5 device group"), step_failure


# --- other admins edit the tenant between runs --------------------------------------------------------


def test_edits_made_by_others_between_runs_are_undone_only_where_the_role_owns_them(converged_lab, report_dir):
    lab = converged_lab
    group = assert_role_objects_whole(lab)
    state = lab.client.state()
    (esp,) = [o for o in state["deviceEnrollmentConfigurations"] if o["displayName"] == ESP]
    (profile,) = [o for o in state["windowsAutopilotDeploymentProfiles"] if o["displayName"] == PROFILE]
    (domain_join,) = [o for o in state["deviceConfigurations"] if o["displayName"] == DOMAIN_JOIN]
    # Someone excludes the kiosk group from the ESP and the profile, takes the role's group off the profile,
    # changes the domain join profile's name prefix and the group's rule.
    both = [{"@odata.type": "#microsoft.graph.enrollmentConfigurationAssignment",
             "target": {"@odata.type": "#microsoft.graph.%s" % kind, "groupId": gid}}
            for kind, gid in (("groupAssignmentTarget", group), ("exclusionGroupAssignmentTarget", KIOSK))]
    graph_call(lab, "POST", "%s/%s/assign" % (ESPS, esp["id"]), {"enrollmentConfigurationAssignments": both})
    graph_call(lab, "POST", "%s/%s/assignments" % (PROFILES, profile["id"]),
               {"@odata.type": "#microsoft.graph.windowsAutopilotDeploymentProfileAssignment",
                "target": {"@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": KIOSK}})
    (role_assignment,) = [a for a in profile["assignments"] if a["target"].get("groupId") == group]
    graph_call(lab, "DELETE", "%s/%s/assignments/%s" % (PROFILES, profile["id"], role_assignment["id"]))
    graph_call(lab, "PATCH", "%s/%s" % (CONFIGURATIONS, domain_join["id"]),
               {"@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration", "computerNameStaticPrefix": "EDIT-"})
    graph_call(lab, "PATCH", "/v1.0/groups/%s" % group, {"membershipRule": '(device.deviceOSType -eq "Windows")'})
    lab.client.clear_log()

    rerun = converge(lab, report_dir)

    # The group's rule, the profile's assignment and the domain join prefix are put back; the ESP, which only
    # gained an exclusion, is left alone.
    changed = [r["_task"].split(" : ")[-1] for r in rerun if r.get("changed")]
    assert [name.split(" ")[0] for name in changed] == ["Dynamic", "Hybrid", "Domain"], changed
    kiosk = ("exclusionGroupAssignmentTarget", KIOSK)
    assert assert_role_objects_whole(lab, extra_esp=[kiosk], extra_profile=[kiosk]) == group
    state = lab.client.state()
    assert [o["computerNameStaticPrefix"] for o in state["deviceConfigurations"] if o["displayName"] == DOMAIN_JOIN] == ["HAADJ-"]
    (group_now,) = [g for g in state["groups"] if g["id"] == group]
    assert group_now["membershipRule"] == '(device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]"))'


def test_objects_deleted_by_others_between_runs_are_made_again_once(converged_lab, report_dir):
    lab = converged_lab
    state = lab.client.state()
    (profile,) = [o for o in state["windowsAutopilotDeploymentProfiles"] if o["displayName"] == PROFILE]
    (domain_join,) = [o for o in state["deviceConfigurations"] if o["displayName"] == DOMAIN_JOIN]
    for assignment in profile["assignments"]:
        graph_call(lab, "DELETE", "%s/%s/assignments/%s" % (PROFILES, profile["id"], assignment["id"]))
    graph_call(lab, "DELETE", "%s/%s" % (PROFILES, profile["id"]))
    graph_call(lab, "DELETE", "%s/%s" % (CONFIGURATIONS, domain_join["id"]))

    converge(lab, report_dir)

    assert_role_objects_whole(lab)


# --- the LDAP connection of step 3 cut mid-run (a DC restarting) --------------------------------------


class CutOnceProxy(LdapFaultProxy):
    """LdapFaultProxy whose fault fires on whichever connection first sends the operation (step 2 reads over
    its own connection before step 3 writes), once."""

    def _relay(self, client_tcp, faulty, seen):
        return super()._relay(client_tcp, not self.fired.is_set(), seen)


@pytest.mark.parametrize("action", ["drop", "answer"], ids=["modify_never_reached_the_dc", "modify_applied_answer_lost"])
def test_an_ldap_connection_cut_at_step_3s_write_keeps_every_ace_and_the_next_run_converges(
        lab, report_dir, ad, single_connector_msa, action):
    from test_ou_account_limit import AUTHENTICATED_USERS, COMPUTER, explicit_sddl, insert_explicit_aces  # pylint: disable=import-outside-toplevel

    target = ad.make_ou()
    foreign = f"(A;CI;RP;;;{AUTHENTICATED_USERS})"
    insert_explicit_aces(ad, target, allow_sddl=[foreign])
    expected = f"(OA;;CC;{COMPUTER};;{ad.sid_of(single_connector_msa['dn'])})"
    lab.client.clear_log()
    with CutOnceProxy(ad.lab, "modify", action=action, reset=True) as proxy:
        variables = dict(
            hybrid_join_domain_name="autopilot.test", hybrid_join_domain_join_ou=target,
            hybrid_join_ldap_server=ad.lab["host"], hybrid_join_ldap_port=proxy.port, hybrid_join_ldap_ca_path=ad.lab["ca_path"],
            hybrid_join_ldap_username=ad.lab["delegate_user"]["dn"], hybrid_join_ldap_password=ad.lab["delegate_user"]["password"],
            # The Graph lab's connector is not this DC's msaODJ account: step 2's verdict is not what is tested here.
            hybrid_join_connector_check_fatal=False,
        )
        # Step 3 alone: the fault is on LDAP's write. (Not from converged_lab: its domain join profile names
        # another domain and OU, which the preflight of the runs after this one refuses.)
        first = run_role(lab, report_dir, ["step3"], ["preflight"], **variables)
        assert proxy.fired.is_set(), (proxy.operations, failed(first))

        rows, markdown = report(report_dir)
        step3 = [r for r in first if r["_task"].endswith("Delegate computer-object creation on the domain join OU to the Intune Connector")]
        if failed(first):
            assert rows[3][0] == "failed" and failed(first)[-1]["msg"].startswith("Step 3 failed"), (rows, failed(first))
            assert all(rows[n][0] == "not run" for n in range(4, 11)), rows
        else:
            assert step3[0]["changed"] and rows[3][0] == "changed", (step3, rows)
        assert ad.lab["delegate_user"]["password"] not in markdown
        aces = explicit_sddl(ad.raw_descriptor(target))
        assert foreign in aces and aces.count(expected) <= 1, aces

        versions = []

        def converged_aces():
            assert writes(lab.client.requests()) == []  # not one Graph write, by the faulted run or the one after
            aces = explicit_sddl(ad.raw_descriptor(target))
            assert foreign in aces and aces.count(expected) == 1, aces
            versions.append(ad.descriptor_version(target))

        # The runs after it are step 3's too: an LDAP fault cannot reach the Graph steps, which no run of this case
        # has, and the lab's log shows no Graph write at all.
        converge(lab, report_dir, ["step3"], ["step3"], before_steady=converged_aces, **variables)
        assert ad.descriptor_version(target) == versions[0]  # no LDAP write either
    assert writes(lab.client.requests()) == []
