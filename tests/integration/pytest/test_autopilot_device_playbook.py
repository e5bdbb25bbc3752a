# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot_device through ansible-playbook: the action plugin finds csv_files as copy finds src (the playbook's
files/ directory), writes report_file next to the playbook, and shows the module's progress lines in the job
log. The module's behaviour is tested in-process under tests/lab."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

from harness import ANSIBLE_PLAYBOOK, REPO, graph_auth

HEADER = "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag"


def test_relative_paths_and_progress_in_the_job_log(lab, tmp_path):
    lab.client.config(delay_scale=0)  # the module waits in real time here
    (tmp_path / "files").mkdir()
    rows = ["PLAY-%04d,,%s,Pilot" % (n, base64.b64encode(b"hash of PLAY-%04d " % n * 8).decode()) for n in range(3)]
    (tmp_path / "files" / "devices.csv").write_text("\n".join([HEADER] + rows) + "\n")
    task = {"name": "register", "register": "registered",
            "intune.autopilot.autopilot_device": dict(graph_auth(lab), csv_files=["devices.csv"], report_file="report.csv",
                                                      batch_size=2)}
    show = {"ansible.builtin.copy": {"content": "{{ registered | to_json }}", "dest": str(tmp_path / "result.json")}}
    (tmp_path / "play.yml").write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task, show]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    completed = subprocess.run([ANSIBLE_PLAYBOOK, "play.yml", "-i", "localhost,", "-c", "local"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=300, check=False)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["counts"]["imported"] == 3 and result["report_file"] == str(tmp_path / "report.csv")
    assert len((tmp_path / "report.csv").read_text().splitlines()) == 4
    log = completed.stdout
    for line in ("Batch 1 of 2: 2 devices sent", "Batch 2 of 2: 1 devices sent", "Autopilot sync completed"):
        assert "register localhost: %s" % line in log, log
