# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a real ansible-playbook run does before and after its work, no Graph lab needed (a few seconds each):
playbooks/hybrid_join_tenants.yml refuses two hosts on one tenant before any task of the role runs, and a run
stopped with SIGTERM leaves no token in its cache. The pieces, rendered and in-process:
tests/unit/roles/test_untrusted_names_in_reports.py and tests/unit/plugins/plugin_utils/test_token_cache_cleanup.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from harness import ANSIBLE_PLAYBOOK, HERE, REPO, run_playbook

TENANTS_PLAYBOOK = REPO / "playbooks" / "hybrid_join_tenants.yml"
CACHE_DIR = "intune_autopilot_tokens"


def tenant(tenant_id):
    return {"hybrid_join_graph_auth": {"tenant_id": tenant_id, "client_id": "app", "client_secret": "secret"}}


def test_two_hosts_on_one_tenant_stop_the_run_before_any_task_of_the_role(tmp_path):
    inventory = tmp_path / "tenants.yml"
    hosts = {"contoso": tenant("0000-C0DE"), "contoso-eu": tenant("0000-c0de"), "fabrikam": tenant("fabrikam.onmicrosoft.com")}
    inventory.write_text(json.dumps({"tenants": {"vars": {"ansible_connection": "local"}, "hosts": hosts}}))

    results, completed = run_playbook(TENANTS_PLAYBOOK, extra_args=["-i", str(inventory), "-e", "hybrid_join_tenants_report_dir=%s" % tmp_path])

    assert completed.returncode != 0
    # Only the check ran, for every tenant: fabrikam too stops before the role (any_errors_fatal).
    assert {result["_task"] for result in results} == {"Tenants - each tenant, and each report directory, named by one host only"}
    refused = sorted(" ".join(result["msg"]) for result in results if result["failed"])
    assert len(refused) == 2, results
    assert refused[0].startswith("The hosts contoso and contoso-eu both name the tenant 0000-c0de")
    assert refused[1].startswith("The hosts contoso-eu and contoso both name the tenant 0000-c0de")
    assert not (tmp_path / "summary.html").exists()


SLOW_RUN = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A Graph task, so that the run loads the action plugin (it fails, having no credentials)
      intune.autopilot.autopilot_device_info: {}
      ignore_errors: true
    - name: Say the run is past it
      ansible.builtin.copy: {dest: "%(marker)s", content: "", mode: "0600"}
    - name: Work long enough to be stopped
      ansible.builtin.command: sleep 60
      changed_when: false
"""


def test_a_run_stopped_with_sigterm_leaves_no_token(tmp_path):
    local_tmp, marker = tmp_path / "local", tmp_path / "past-the-graph-task"
    playbook = tmp_path / "slow.yml"
    playbook.write_text(SLOW_RUN % {"marker": marker})
    env = {key: value for key, value in os.environ.items() if not key.startswith("AZURE_")}
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_LOCAL_TEMP=str(local_tmp), ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"))
    with subprocess.Popen([ANSIBLE_PLAYBOOK, str(playbook), "-i", "localhost,", "-c", "local"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as run:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert run.poll() is None and time.monotonic() < deadline, run.stdout.read() if run.poll() is not None else "too slow"
            time.sleep(0.1)
        (run_dir,) = local_tmp.glob("ansible-local-%d*" % run.pid)
        # A live token, as the run's first sign-in leaves it in its cache (cached_token).
        (run_dir / CACHE_DIR).mkdir(mode=0o700)
        (run_dir / CACHE_DIR / "credential-digest").write_text(json.dumps({"token": "live", "expires_on": time.time() + 3600}))

        run.send_signal(signal.SIGTERM)
        output = run.communicate(timeout=30)[0]

    assert run.returncode == -signal.SIGTERM, output
    assert not (run_dir / CACHE_DIR).exists(), output
