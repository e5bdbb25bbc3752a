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
