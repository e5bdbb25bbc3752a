# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the integration tests: run modules as a user would, read the Graph lab's evidence.

Modules run through `ansible-playbook` (so the action plugin, the token cache and module_defaults
are part of what is tested); results come back exactly as Ansible reports them.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


def graph_auth(lab, app="lab-admin"):
    """Module options that point a Graph module at the lab with one of its seeded apps."""
    credentials = lab.apps[app]
    auth = dict(
        tenant_id=lab.tenant,
        client_id=credentials["client_id"],
        graph_endpoint=lab.url,
        authority_host=lab.url,
        ca_path=lab.ca,
    )
    if credentials.get("secret"):
        auth["client_secret"] = credentials["secret"]
    else:
        auth["client_certificate_path"] = credentials["cert_path"]
    return auth


def run_tasks(tasks, check=False, diff=False, extra_env=None, extra_args=()):
    """Run tasks on localhost with ansible-playbook; return every task result (dicts) in order."""
    with tempfile.TemporaryDirectory() as workdir:
        playbook = Path(workdir, "play.yml")
        playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        return run_playbook(playbook, check, diff, extra_env, extra_args)[0]


def run_playbook(playbook, check=False, diff=False, extra_env=None, extra_args=(), cwd=None):
    """Run a playbook on localhost (from the working directory cwd); return every task result (dicts) in order, and
    the completed process."""
    with tempfile.TemporaryDirectory() as workdir:
        results = Path(workdir, "results.jsonl")
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
            ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="results_to_file",
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            RESULTS_FILE=str(results),
        )
        env.update(extra_env or {})
        command = [ANSIBLE_PLAYBOOK, str(playbook), "-i", "localhost,", "-c", "local"]
        command += ["--check"] if check else []
        command += ["--diff"] if diff else []
        command += list(extra_args)
        started, cpu = time.monotonic(), _children_cpu()
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False, cwd=cwd)
        _log_run(time.monotonic() - started, _children_cpu() - cpu)
        if not results.exists():
            raise AssertionError("ansible-playbook produced no result:\n%s\n%s" % (completed.stdout, completed.stderr))
        return [json.loads(line) for line in results.read_text().splitlines()], completed


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _log_run(seconds, cpu_seconds):
    """With $PLAYBOOK_RUNS_LOG set (make integration sets it), one JSON line per ansible-playbook run: the test,
    its wall and CPU seconds (the playbook and every process it waited for), so a test's cost is counted in
    runs and CPU, which other work on the machine does not inflate as it does wall time."""
    if os.environ.get("PLAYBOOK_RUNS_LOG"):
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
        with open(os.environ["PLAYBOOK_RUNS_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps(dict(test=test, seconds=round(seconds, 2), cpu_seconds=round(cpu_seconds, 2))) + "\n")


def run_module(module, args, check=False, diff=False, extra_env=None):
    """Run one module task (failures allowed) and return its result."""
    task = {"name": module, "intune.autopilot." + module: args, "ignore_errors": True}
    return run_tasks([task], check=check, diff=diff, extra_env=extra_env)[0]


def writes(requests):
    """The write requests among lab log entries: a `$batch` is a carrier, its requests are logged on their own."""
    return [entry for entry in requests if entry["method"] in WRITE_METHODS and not entry["path"].endswith("/$batch")]
