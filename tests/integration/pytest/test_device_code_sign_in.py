# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""auth_source: device_code through ansible-playbook: the code must reach the controller's output while the task
still waits for it (a worker process's display, as a terminal or an AWX job shows it), or nobody could sign in.
The test reads the playbook's output as it comes and signs in with the code it finds, as a person would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import ANSIBLE_PLAYBOOK, HERE, REPO

ADMIN = "admin@lab.example"
CODE = re.compile(r"open https://microsoft\.com/devicelogin in a browser and enter the code (\w+)")


def test_the_code_shows_while_the_task_waits_and_one_sign_in_serves_the_run(lab):
    lab.client.config(device_code_interval=1)
    sign_in = dict(auth_source="device_code", tenant_id=lab.tenant, client_id=lab.apps["lab-public"]["client_id"],
                   graph_endpoint=lab.url, authority_host=lab.url, ca_path=lab.ca, device_code_timeout=60)
    tasks = [{"intune.autopilot.automatic_enrollment": dict(sign_in, scope="all")},
             {"intune.autopilot.automatic_enrollment": dict(sign_in, scope="all")}]
    with tempfile.TemporaryDirectory() as workdir:
        playbook = Path(workdir, "play.yml")
        playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                   ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"), ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_NOCOLOR="1", PYTHONUNBUFFERED="1")
        with subprocess.Popen([ANSIBLE_PLAYBOOK, str(playbook), "-i", "localhost,", "-c", "local"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as play:
            output = []
            for line in play.stdout:
                output.append(line)
                found = CODE.search(line)
                if found:
                    lab.client.sign_in_device_code(found.group(1), ADMIN)
            play.wait(timeout=120)
    text = "".join(output)
    assert play.returncode == 0, text
    assert len(CODE.findall(text)) == 1, "one sign-in for both tasks:\n" + text
    assert re.search(r"changed: \[localhost\].*\n(.*\n)*?ok: \[localhost\]", text), text
    (policy,) = [p for p in lab.client.state()["mobileDeviceManagementPolicies"] if p["displayName"] == "Microsoft Intune"]
    assert policy["appliesTo"] == "all"
    assert {(entry["token_kind"], entry["app_id"]) for entry in lab.client.requests()} == {
        ("delegated", lab.apps["lab-public"]["client_id"])}
