# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every task is a new Python process: a task with nothing to change imports the engine only, not its create,
change-writing, assignment-write or recreate parts (engine.py's docstring), nor group resolution unless it manages
assignments; a task that creates or changes imports what that needs."""

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

GROUP = "7e1ab000-0000-4000-8000-0000000000g1"
STORED = {"id": "a1", "@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration", "displayName": "Join",
          "computerNameStaticPrefix": "HAADJ-", "activeDirectoryDomainName": "lab.example",
          "assignments": [{"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": GROUP}}]}

class Graph:
    def list(self, path, api=None, params=None):
        return [{"id": "a1", "displayName": "Join"}] if %(exists)s else []

    def get_or_none(self, path, api=None, params=None):
        return dict(STORED)

params = {"display_name": "Join", "computer_name_prefix": "%(prefix)s", "domain": "lab.example", "id": None, "recreate": False,
          "state": "present", "assignments": %(assignments)s, "group_ids": {"Pilot": GROUP}}
module = SimpleNamespace(params=params, graph=Graph(), check_mode=True, _diff=False)
result = DesiredStateEngine(module, PROFILE).run()
parts = ("engine_create", "engine_changes", "engine_assignments", "engine_recreate", "engine_groups")
print(result["changed"], sorted(part for part in parts if "ansible_collections.intune.autopilot.plugins.module_utils._graph." + part in sys.modules))
"""


def run(exists, prefix, assignments):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    code = RUN % {"exists": exists, "prefix": prefix, "assignments": assignments}
    completed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


@pytest.mark.parametrize("exists, prefix, assignments, expected", [
    (True, "HAADJ-", None, "False []"),
    (True, "HAADJ-", {"add": [{"group": "Pilot"}]}, "False ['engine_groups']"),
    (True, "NEW-", None, "True ['engine_changes']"),
    (False, "HAADJ-", None, "True ['engine_changes', 'engine_create']"),
], ids=["no-op", "no-op with assignments", "change", "create"])
def test_a_task_imports_only_the_engine_parts_it_uses(exists, prefix, assignments, expected):
    assert run(exists, prefix, assignments) == expected


SIGN_IN = """
import sys
from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import acquire_token
print(acquire_token(%(params)s)[0], "ansible_collections.intune.autopilot.plugins.module_utils._graph.auth_sign_in" in sys.modules)
"""


def test_a_task_handed_its_token_does_not_import_the_sign_in():
    """The action plugin hands every module task an access token: the task never compiles the sign-in part (auth_sign_in.py)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    code = SIGN_IN % {"params": {"access_token": "handed-over"}}
    completed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "handed-over False"
