# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks run from a checkout (playbooks/<name>.yml) and from the installed collection by name
(ansible-playbook intune.autopilot.<name>, ansible-core's collection playbooks), as AWX and users start them.
Here the checkout is the installed collection too, through ansible.cfg's collections_path (.collections)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from harness import ANSIBLE_PLAYBOOK, REPO, graph_auth, run_playbook, writes
from test_day2_playbooks import CSV_HEADER
from test_hybrid_join_role import ROLE_VARS, fake_hash, seed_device_group

PLAYBOOKS = sorted(path.stem for path in (REPO / "playbooks").glob("*.yml"))


def list_tasks(playbook):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"))
    listed = subprocess.run([ANSIBLE_PLAYBOOK, playbook, "-i", "localhost,", "--list-tasks"], env=env, cwd=REPO / "tests",
                            capture_output=True, text=True, timeout=300, check=False)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    return [line.strip() for line in listed.stdout.splitlines() if "TAGS:" in line]


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_each_playbook_lists_the_same_tasks_by_path_and_by_name(name):
    # Run from another directory than the checkout's root: nothing may depend on where ansible-playbook starts.
    by_path = list_tasks(str(REPO / "playbooks" / (name + ".yml")))
    assert by_path, "the playbook has tasks"
    assert list_tasks("intune.autopilot." + name) == by_path


def test_hybrid_join_by_name_plans_step_5_in_check_mode_without_writing(lab):
    extra_vars = dict(hybrid_join_domain_name="lab.example", hybrid_join_domain_join_ou="OU=Autopilot,DC=lab,DC=example",
                      hybrid_join_graph_auth=graph_auth(lab))
    results, completed = run_playbook("intune.autopilot.hybrid_join", check=True,
                                      extra_args=["--tags", "step5", "-e", json.dumps(extra_vars)])

    assert completed.returncode == 0, completed.stdout + completed.stderr
    (step5,) = [result for result in results if "Dynamic security group" in result["_task"]]
    assert step5["changed"] is True and not step5["failed"]
    assert lab.client.requests() and writes(lab.client.requests()) == []


def test_onboard_devices_by_name_finds_a_csv_and_writes_the_report_in_the_working_directory(lab, tmp_path):
    # Started by name, the playbook's directory is inside the installed collection: the user's relative paths mean
    # the directory they run ansible-playbook from.
    lab.client.config(delay_scale=0)
    seed_device_group(lab)  # step 10 reports against step 5's group
    (tmp_path / "devices.csv").write_text("%s\nBYNAME01,,%s,HAADJ-ByName\n" % (CSV_HEADER, fake_hash("BYNAME01")))
    extra_vars = dict(ROLE_VARS, hybrid_join_graph_auth=graph_auth(lab), hybrid_join_device_csv_files=["devices.csv"],
                      hybrid_join_device_report_file="import-report.csv", hybrid_join_readiness_wait_for="")

    results, completed = run_playbook("intune.autopilot.onboard_devices", extra_args=["-e", json.dumps(extra_vars)],
                                      cwd=tmp_path)

    assert completed.returncode == 0, completed.stdout[-3000:]
    (imported,) = [result for result in results if result["_task"].endswith("then sync Autopilot")]
    assert imported["counts"]["imported"] == 1, imported
    assert imported["report_file"] == str(tmp_path / "import-report.csv")
    assert "BYNAME01" in (tmp_path / "import-report.csv").read_text()
