# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a Graph module's main() inside the pytest process against the Graph lab.

The module gets its arguments through ansible.module_utils.testing.patch_module_args, as
AnsibleModule would read them from Ansible, and a token the lab minted (no token request, so the
lab's request log holds only the Graph calls the module made). What the module writes to stdout is
its result. The action plugin, the controller's token cache and module_defaults are not involved:
tests/integration/pytest runs the modules through ansible-playbook for those.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
from unittest import mock

from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args

WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
_TOKENS = {}  # (lab url, app name) -> minted token; one lab per session (per xdist worker)


def graph_auth(lab, app="lab-admin"):
    """Module options that point a Graph module at the lab with a token minted for one of its seeded apps."""
    key = (lab.url, app)
    if key not in _TOKENS:
        _TOKENS[key] = lab.client.mint_token(kind="app", app=lab.apps[app]["client_id"])
    return dict(access_token=_TOKENS[key], graph_endpoint=lab.url, ca_path=lab.ca)


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
            mock.patch.object(module_warnings, "_global_deprecations", {}):
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
    """The write requests among lab log entries."""
    return [entry for entry in requests if entry["method"] in WRITE_METHODS]
