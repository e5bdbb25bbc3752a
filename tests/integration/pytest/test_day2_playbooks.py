# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The day-2 playbooks against the Graph lab, run as the user runs them: ansible-playbook PLAYBOOK -e @tenant.yml."""

from __future__ import annotations

import json

from harness import REPO, graph_auth, run_playbook, writes
from test_hybrid_join_role import ROLE_VARS, fake_hash, seed_device_group

CSV_HEADER = "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag"


def tenant_file(lab, tmp_path, **variables):
    """tenant.yml as the playbooks' header comments describe it (JSON is YAML)."""
    path = tmp_path / "tenant.yml"
    path.write_text(json.dumps(dict(ROLE_VARS, hybrid_join_graph_auth=graph_auth(lab), **variables)))
    return "@%s" % path


def task_named(results, suffix):
    return [result for result in results if result["_task"].endswith(suffix)]


def test_check_tenant_reports_what_the_role_would_change_without_writing(lab, converged_snapshot, tmp_path):
    seed_device_group(lab)  # a tenant that has the group, without the description step 5 gives it

    results, completed = run_playbook(REPO / "playbooks" / "check_tenant.yml", extra_args=["-e", tenant_file(lab, tmp_path)])

    assert completed.returncode == 0, completed.stdout[-3000:]
    assert not any(result["failed"] for result in results), [result for result in results if result["failed"]]
    would_change = [result["_task"] for result in results if result.get("changed")]
    assert len(would_change) == 4, would_change  # the group's description and steps 6, 7 and 8
    assert "--- before" in completed.stdout and "+++ after" in completed.stdout  # the diffs are shown
    assert writes(lab.client.requests()) == []

    # Once the role has run (the tenant as it leaves one: converged_snapshot), the check finds nothing to change.
    lab.client.reset(converged_snapshot)
    results, completed = run_playbook(REPO / "playbooks" / "check_tenant.yml", extra_args=["-e", tenant_file(lab, tmp_path)])
    assert completed.returncode == 0 and not any(result.get("changed") for result in results), completed.stdout[-3000:]
    assert writes(lab.client.requests()) == []


def test_check_tenant_on_a_new_tenant_plans_every_step_without_writing(lab, tmp_path):
    results, completed = run_playbook(REPO / "playbooks" / "check_tenant.yml", extra_args=["-e", tenant_file(lab, tmp_path)])

    assert completed.returncode == 0, completed.stdout[-3000:]
    would_change = [result["_task"] for result in results if result.get("changed")]
    assert len(would_change) == 4, would_change  # step 5's group, and steps 6, 7 and 8 assigning to it
    assert writes(lab.client.requests()) == []


def test_onboard_devices_imports_a_csv_and_waits_until_each_device_is_ready(converged_lab, tmp_path):
    lab = converged_lab  # steps 5 to 8, as playbooks/hybrid_join.yml leaves the tenant
    lab.client.config(delay_scale=0)  # the lab plays the Autopilot pipeline at once
    serials = ["ONBOARD01", "ONBOARD02"]
    csv_file = tmp_path / "devices.csv"
    csv_file.write_text("\n".join([CSV_HEADER] + ["%s,,%s,HAADJ-Day2" % (serial, fake_hash(serial)) for serial in serials]) + "\n")
    lab.client.clear_log()

    results, completed = run_playbook(REPO / "playbooks" / "onboard_devices.yml",
                                      extra_args=["-e", tenant_file(lab, tmp_path, hybrid_join_device_csv_files=[str(csv_file)])])

    assert completed.returncode == 0, completed.stdout[-3000:]
    (imported,) = task_named(results, "then sync Autopilot")
    assert imported["counts"]["imported"] == 2, imported
    (verdicts,) = [result["msg"] for result in task_named(results, "Readiness of each device")]
    assert verdicts == ["2 of 2 devices ready to deploy", "ONBOARD01: ready to deploy", "ONBOARD02: ready to deploy"], verdicts
    # Only devices were written: step 4's import and sync, nothing of steps 5 to 8.
    assert {entry["path"].split("/")[3] for entry in writes(lab.client.requests())} <= {
        "importedWindowsAutopilotDeviceIdentities", "windowsAutopilotSettings"}, writes(lab.client.requests())


def test_onboard_devices_without_csv_files_says_which_variable_before_any_request(lab, tmp_path):
    results, completed = run_playbook(REPO / "playbooks" / "onboard_devices.yml", extra_args=["-e", tenant_file(lab, tmp_path)])

    assert completed.returncode != 0
    (failure,) = [result for result in results if result["failed"]]
    assert "hybrid_join_device_csv_files" in failure["msg"], failure
    assert lab.client.requests() == []
