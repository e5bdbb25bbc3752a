# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a Graph module's main() inside the pytest process against the Graph lab.

The module gets its arguments through ansible.module_utils.testing.patch_module_args, as
AnsibleModule would read them from Ansible, and a token the lab minted (no token request, so the
lab's request log holds only the Graph calls the module made). What the module writes to stdout is
its result. The action plugin, the controller's token cache and module_defaults are not involved:
tests/integration/pytest runs the modules through ansible-playbook for those.

The module's waits (retries, the look for a lost create) are not spent: they are recorded, move the
lab's clock on by as much, and count in the module's clock, as in tests/lab/test_graph_transport.py.
So Retry-After, replication delay and the retry bounds behave as they would, in no time.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import time
from unittest import mock

from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.intune.autopilot.plugins.module_utils._graph import transport, waiter
from lab.graph.client import LabClient

WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
_TOKENS = {}  # (lab url, app name) -> minted token; one lab per session (per xdist worker)


def graph_auth(lab, app="lab-admin"):
    """Module options that point a Graph module at the lab with a token minted for one of its seeded apps."""
    key = (lab.url, app)
    if key not in _TOKENS:
        _TOKENS[key] = lab.client.mint_token(kind="app", app=lab.apps[app]["client_id"])
    return dict(access_token=_TOKENS[key], graph_endpoint=lab.url, ca_path=lab.ca)


class LabTime:
    """sleep() records the wait and moves the lab's clock on; clock() is real time plus the waits."""

    def __init__(self, args):
        endpoint = args.get("graph_endpoint") or ""
        self.lab = LabClient(endpoint, args["ca_path"]) if endpoint.startswith("https://") and args.get("ca_path") else None
        self.waits = []

    def sleep(self, seconds):
        self.waits.append(seconds)
        if self.lab is not None:
            self.lab.advance_clock(seconds)

    def clock(self):
        return time.monotonic() + sum(self.waits)


@contextlib.contextmanager
def unspent_waits(lab_time):
    """GraphClient and wait_for get lab_time's sleep and clock unless their caller passes its own."""
    graph_client_init = transport.GraphClient.__init__

    def init(self, *args, **kwargs):
        kwargs.setdefault("sleep", lab_time.sleep)
        kwargs.setdefault("clock", lab_time.clock)
        graph_client_init(self, *args, **kwargs)

    parameters = [parameter.name for parameter in inspect.signature(waiter.wait_for).parameters.values()
                  if parameter.default is not inspect.Parameter.empty]
    replacements = {"sleep": lab_time.sleep, "clock": lab_time.clock}
    defaults = tuple(replacements.get(name, default) for name, default in zip(parameters, waiter.wait_for.__defaults__))
    with mock.patch.object(transport.GraphClient, "__init__", init), mock.patch.object(waiter.wait_for, "__defaults__", defaults):
        yield


def run_module(module, args, check=False, diff=False):
    """Run intune.autopilot.<module> once (failures allowed) and return its result."""
    main = importlib.import_module("ansible_collections.intune.autopilot.plugins.modules." + module).main
    module_args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    stdout = io.StringIO()
    # Once anything of the controller is imported in this process (another test's ansible.constants),
    # module warnings would go to the controller's Display instead of the result; a module is never
    # on the controller. Warnings and deprecations are process-wide: each run starts with none, as a
    # module process does.
    with patch_module_args(module_args), contextlib.redirect_stdout(stdout), \
            mock.patch.object(module_utils_internal, "is_controller", False), \
            mock.patch.object(module_warnings, "_global_warnings", {}), \
            mock.patch.object(module_warnings, "_global_deprecations", {}), unspent_waits(LabTime(args)):
        try:
            main()
        except SystemExit:
            pass
        else:
            raise AssertionError("%s returned without exit_json or fail_json" % module)
    output = stdout.getvalue()
    try:
        result = json.loads(output)
    except ValueError:
        raise AssertionError("%s wrote no JSON result:\n%s" % (module, output)) from None
    # As ansible-playbook reports it (harness.run_module): `failed` and `changed` always present,
    # warnings as their messages.
    if result.get("warnings"):
        result["warnings"] = [_message(warning) for warning in result["warnings"]]
    result.setdefault("failed", False)
    result.setdefault("changed", False)
    return result


def _message(warning):
    """ansible-core >= 2.19 writes a module's warnings as WarningSummary dicts; the controller shows their messages."""
    if isinstance(warning, dict):
        return (warning.get("event") or {}).get("msg", warning.get("msg"))
    return warning


def writes(requests):
    """The write requests among lab log entries: a `$batch` is a carrier, its requests are logged on their own."""
    return [entry for entry in requests if entry["method"] in WRITE_METHODS and not entry["path"].endswith("/$batch")]


def sent(requests):
    """The HTTP requests among lab log entries (a `$batch` once, not the requests inside it)."""
    return [entry for entry in requests if not entry.get("batch")]
