# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every task is a new Python process: a task with nothing to change imports the engine only, not its create,
assignment-write or recreate parts (engine.py's docstring), and a task that creates imports what creating needs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

RUN = """
import sys
from types import SimpleNamespace
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import DesiredStateEngine
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_domain_join_profile import PROFILE

STORED = {"id": "a1", "@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration", "displayName": "Join",
          "computerNameStaticPrefix": "HAADJ-", "activeDirectoryDomainName": "lab.example", "assignments": []}

class Graph:
    def list(self, path, api=None, params=None):
        return [{"id": "a1", "displayName": "Join"}] if %(exists)s else []

    def get_or_none(self, path, api=None, params=None):
        return dict(STORED)

params = {"display_name": "Join", "computer_name_prefix": "HAADJ-", "domain": "lab.example", "id": None, "recreate": False,
          "state": "present", "assignments": None}
module = SimpleNamespace(params=params, graph=Graph(), check_mode=True, _diff=False)
result = DesiredStateEngine(module, PROFILE).run()
parts = ("engine_create", "engine_assignments", "engine_recreate")
print(result["changed"], sorted(part for part in parts if "ansible_collections.intune.autopilot.plugins.module_utils._graph." + part in sys.modules))
"""


def run(exists):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    completed = subprocess.run([sys.executable, "-c", RUN % {"exists": exists}], env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


@pytest.mark.parametrize("exists, expected", [
    (True, "False []"),
    (False, "True ['engine_create']"),
])
def test_a_task_imports_only_the_engine_parts_it_uses(exists, expected):
    assert run(exists) == expected
