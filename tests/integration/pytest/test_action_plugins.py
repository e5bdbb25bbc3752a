# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each Graph module through ansible-playbook, as users run it: its action plugin gets the token on the
controller (one token request for the play), and its options come from module_defaults for
group/intune.autopilot.graph (meta/runtime.yml's action_groups). The modules' behaviour is tested
in-process under tests/lab."""

from __future__ import annotations

import json

import pytest

from harness import graph_auth, run_tasks, writes

OBJECTS = {
    "autopilot_esp": dict(display_name="Playbook ESP", error_timeout_minutes=90),
    "autopilot_profile": dict(display_name="Playbook profile", language="en-US"),
    "domain_join_profile": dict(display_name="Playbook domain join", computer_name_prefix="PLAY-", domain="lab.example",
                                organizational_unit="OU=Autopilot,DC=lab,DC=example"),
}


@pytest.mark.parametrize("module", sorted(OBJECTS))
def test_a_resource_module_takes_its_auth_from_module_defaults_and_the_play_requests_one_token(lab, module):
    auth = graph_auth(lab)
    task = {"intune.autopilot." + module: OBJECTS[module]}
    tasks = [{"name": "defaults", "module_defaults": {"group/intune.autopilot.graph": auth}, "block": [
        dict(task, name="create"), dict(task, name="again")]}]
    created, again = run_tasks(tasks)
    assert created["changed"] is True and not created["failed"], created
    assert again["changed"] is False and not again["failed"], again
    assert lab.client.counts()["token"] == 1
    assert auth["client_secret"] not in json.dumps([created, again])


def test_the_info_module_takes_its_auth_from_module_defaults(lab):
    auth = graph_auth(lab)
    tasks = [{"name": "defaults", "module_defaults": {"group/intune.autopilot.graph": auth}, "block": [
        {"name": "list", "intune.autopilot.autopilot_config_info": {"kinds": ["domain_join_profile"]}}]}]
    (info,) = run_tasks(tasks)
    assert not info["failed"] and info["domain_join_profiles"] == [], info
    assert lab.client.counts()["token"] == 1 and writes(lab.client.requests()) == []
    assert auth["client_secret"] not in json.dumps(info)


def test_a_group_name_is_looked_up_once_per_run(lab):
    auth = graph_auth(lab)
    group = {"assignments": {"add": [{"group": "lab-pilot-devices"}]}}  # any case: Graph matches names so
    tasks = [{"name": "defaults", "module_defaults": {"group/intune.autopilot.graph": auth}, "block": [
        {"name": "esp", "intune.autopilot.autopilot_esp": dict(OBJECTS["autopilot_esp"], **group)},
        {"name": "profile", "intune.autopilot.autopilot_profile": dict(OBJECTS["autopilot_profile"], **group)},
        {"name": "domain join", "intune.autopilot.domain_join_profile": dict(OBJECTS["domain_join_profile"], **group)},
    ]}]
    results = run_tasks(tasks)
    assert [result["changed"] for result in results] == [True] * 3 and not any(result["failed"] for result in results), results
    group_reads = [entry for entry in lab.client.requests() if entry["path"].endswith("/groups")]
    assert len(group_reads) == 1, group_reads
    pilot = "7e1ab000-0000-4000-8000-00000000b001"  # Lab-Pilot-Devices
    stored = lab.client.state()
    targets = [a["target"].get("groupId") for key in ("deviceEnrollmentConfigurations", "windowsAutopilotDeploymentProfiles",
                                                      "deviceConfigurations")
               for obj in stored[key] for a in obj.get("assignments", [])]
    assert targets == [pilot] * 3
