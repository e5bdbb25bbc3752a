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
