#!/usr/bin/env python3
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the hybrid_join role's steps 6-8 against the Graph lab (run by hand, not in CI).

Prints, for a first run and a no-op re-run: Graph requests by method, token requests, wall time,
and the per-task time of our modules as a ratio to ansible.builtin.ping timed in the same run, twice:
for the role's tasks (whose fifteen-odd templated options Ansible renders on the controller) and for
the same module called with literal options, which is the module's own overhead.
Targets: the no-op re-run sends only reads, at most two per managed object; per-task
overhead at most 1.5x that of ping.

    .venv/bin/python bench/role_bench.py [--pings 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.graph.testing import running_lab  # noqa: E402  pylint: disable=wrong-import-position

DEVICE_GROUP = "Autopilot-HAADJ-Devices"
MANAGED_OBJECTS = 3  # the ESP, the Autopilot profile, the domain join profile
GRAPH_ACTIONS = ("autopilot_esp", "autopilot_profile", "domain_join_profile")


def playbook(pings, literal_module_args):
    ping_tasks = [{"name": "ping %d" % index, "ansible.builtin.ping": {}, "tags": ["always"]} for index in range(pings)]
    role = {"name": "hybrid join steps 6-8", "ansible.builtin.import_role": {"name": "intune.autopilot.hybrid_join"}}
    # After the role, so each is a no-op against the profile step 8 just made.
    literal = [{"name": "literal %d" % index, "intune.autopilot.domain_join_profile": literal_module_args, "tags": ["always"]}
               for index in range(pings)]
    return [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": ping_tasks + [role] + literal}]


def run(lab, workdir, pings, label):
    times_file = Path(workdir, "times-%s.jsonl" % label)
    admin = lab.apps["lab-admin"]
    auth = {"tenant_id": lab.tenant, "client_id": admin["client_id"], "client_secret": admin["secret"],
            "graph_endpoint": lab.url, "authority_host": lab.url, "ca_path": lab.ca}
    literal_module_args = dict(auth, display_name="Autopilot hybrid join - domain join", computer_name_prefix="HAADJ-",
                               domain="lab.example", organizational_unit="OU=Autopilot,DC=lab,DC=example")
    play = Path(workdir, "bench.yml")
    play.write_text(json.dumps(playbook(pings, literal_module_args)))
    extra_vars = Path(workdir, "vars.json")
    extra_vars.write_text(json.dumps({
        "hybrid_join_graph_auth": auth,
        "hybrid_join_device_group": DEVICE_GROUP,
        "hybrid_join_domain_name": "lab.example",
        "hybrid_join_domain_join_ou": "OU=Autopilot,DC=lab,DC=example",
    }))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_CALLBACK_PLUGINS=str(REPO / "bench" / "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="task_timer", TASK_TIMES_FILE=str(times_file), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    lab.client.clear_log()
    started = time.perf_counter()
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), str(play), "-i", "localhost,", "-e", "@%s" % extra_vars,
         "--tags", "step6,step7,step8"],
        env=env, capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode:
        sys.exit("ansible-playbook failed:\n%s\n%s" % (completed.stdout[-4000:], completed.stderr[-2000:]))
    tasks = [json.loads(line) for line in times_file.read_text().splitlines()]
    return wall, lab.client.counts(), tasks


def requests_by_method(counts):
    return {method: counts.get(method, 0) for method in ("GET", "POST", "PATCH", "DELETE", "PUT")}


def task_ratios(tasks):
    """Median task time of ping, of the role's Graph tasks and of the module with literal options."""
    role = [task["seconds"] for task in tasks
            if task["action"].rsplit(".", 1)[-1] in GRAPH_ACTIONS and not task["task"].startswith("literal")]
    literal = [task["seconds"] for task in tasks if task["task"].startswith("literal")]
    ping = statistics.median(task["seconds"] for task in tasks if task["action"].endswith("ping"))
    return ping, statistics.median(role), statistics.median(literal)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=10, help="ping tasks (and literal module tasks) timed in the timing run")
    args = parser.parse_args()
    with running_lab() as lab, tempfile.TemporaryDirectory() as workdir:
        lab.client.seed({"groups": [{"displayName": DEVICE_GROUP, "mailEnabled": False, "mailNickname": "autopilothaadjdevices",
                                     "securityEnabled": True, "groupTypes": ["DynamicMembership"],
                                     "membershipRule": '(device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]"))',
                                     "membershipRuleProcessingState": "On"}]})
        for label in ("first run", "no-op re-run"):
            wall, counts, _tasks = run(lab, workdir, 0, label.replace(" ", "-"))
            by_method = requests_by_method(counts)
            print("%-13s wall %.2f s | Graph requests %s | token requests %d" % (label, wall, by_method, counts.get("token", 0)))
        writes = sum(count for method, count in by_method.items() if method != "GET")
        print("no-op re-run: %d writes (target 0), %.1f reads per managed object (target <= 2)"
              % (writes, by_method["GET"] / MANAGED_OBJECTS))
        _wall, _counts, tasks = run(lab, workdir, args.pings, "timing")
        ping, role, literal = task_ratios(tasks)
        print("per-task time (no-op): ping %.3f s; module with literal options %.3f s = %.2fx ping (target <= 1.5); "
              "role task %.3f s = %.2fx (adds the controller's rendering of the role's templated options)"
              % (ping, literal, literal / ping, role, role / ping))


if __name__ == "__main__":
    main()
