# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument spec the Graph modules' action plugin checks a task's options against before it signs in: recorded
from each module's own main(), kept once per run as JSON in the run's private directory, and read back the same,
environment fallbacks included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph import auth
from ansible_collections.intune.autopilot.plugins.plugin_utils import graph_action

ACTION_PLUGINS = Path(__file__).resolve().parents[4] / "plugins" / "action"
GRAPH_MODULES = sorted("intune.autopilot." + path.stem for path in ACTION_PLUGINS.glob("*.py") if path.stem != "__init__")


def as_lists(value):
    """value with its tuples as lists, as JSON gives them back (the validator takes either)."""
    if isinstance(value, dict):
        return {key: as_lists(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_lists(item) for item in value]
    return value


@pytest.fixture(name="run_tmp")
def fixture_run_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(graph_action.C, "DEFAULT_LOCAL_TMP", str(tmp_path))
    return tmp_path


def test_every_graph_module_is_covered():
    assert "intune.autopilot.autopilot_device" in GRAPH_MODULES and len(GRAPH_MODULES) == 9, GRAPH_MODULES


@pytest.mark.parametrize("fqcn", GRAPH_MODULES)
def test_the_contract_read_back_from_the_run_is_the_one_recorded(fqcn, run_tmp, monkeypatch):
    recorded = graph_action.module_contract(fqcn)
    stored = run_tmp / graph_action.SPEC_DIR_NAME / ("%s.json" % fqcn)
    fallback = json.loads(stored.read_text())["argument_spec"]["tenant_id"]["fallback"]
    assert fallback[0] == {graph_action.FUNCTION_KEY: [auth.__name__, "_first_set"]}  # a function, stored by name
    monkeypatch.setattr(graph_action, "record_module_contract", lambda name: pytest.fail("recorded again"))
    read_back = graph_action.module_contract(fqcn)
    assert read_back == as_lists(recorded)
    # The environment fallbacks are the module's functions again: AWX's cloud name is mapped as the module maps it.
    monkeypatch.setenv("AZURE_CLOUD_ENVIRONMENT", "AzureUSGovernment")
    monkeypatch.setenv("AZURE_TENANT", "tenant from AWX")
    spec = read_back["argument_spec"]
    params = graph_action.ArgumentSpecValidator(spec).validate({}).validated_parameters
    assert params["cloud"] == "usgov" and params["tenant_id"] == "tenant from AWX"


def test_a_stored_contract_naming_a_function_not_loaded_is_recorded_again(run_tmp):
    fqcn = "intune.autopilot.autopilot_esp"
    directory = run_tmp / graph_action.SPEC_DIR_NAME
    directory.mkdir()
    forged = {"argument_spec": {"x": {"type": "str", "fallback": [{graph_action.FUNCTION_KEY: ["not_loaded_anywhere", "run"]}, []]}}}
    (directory / ("%s.json" % fqcn)).write_text(json.dumps(forged))
    contract = graph_action.module_contract(fqcn)
    assert "x" not in contract["argument_spec"] and "display_name" in contract["argument_spec"]


def test_the_message_is_ansible_modules_and_no_log_values_are_masked(run_tmp):
    fqcn = "intune.autopilot.autopilot_esp"
    contract = graph_action.module_contract(fqcn)
    with pytest.raises(graph_action.OptionsError) as caught:
        graph_action.validated_options("intune.autopilot.autopilot_esp", contract, {"display_name": "E", "stat": "present"})
    assert str(caught.value).startswith("Unsupported parameters for (intune.autopilot.autopilot_esp) module: stat. Supported "
                                        "parameters include: ")
    with pytest.raises(graph_action.OptionsError) as caught:
        graph_action.validated_options(fqcn, contract, {"display_name": "E", "client_secret": "abc-secret", "state": "abc-secret"})
    assert "abc-secret" not in str(caught.value) and "state must be one of: present, absent" in str(caught.value)


def test_writers_of_one_cache_file_at_once_each_finish_and_leave_one_whole_file(run_tmp, monkeypatch):
    # Forks record the same module's contract at once (CI: five tenants, -f 5). A second writer runs to the end
    # while the first is still writing; each must finish, and the file must hold one whole JSON document.
    path = str(run_tmp / "contract.json")
    real_dump = json.dump
    interleaved = []

    def dump_with_a_second_writer(data, handle):
        if not interleaved:
            interleaved.append(True)
            graph_action._write_private(path, {"writer": "second"})
        real_dump(data, handle)

    monkeypatch.setattr(graph_action.json, "dump", dump_with_a_second_writer)
    graph_action._write_private(path, {"writer": "first"})
    assert interleaved and json.loads(Path(path).read_text()) == {"writer": "first"}
    assert [entry.name for entry in run_tmp.iterdir()] == ["contract.json"]  # no temporary file left behind
    assert Path(path).stat().st_mode & 0o777 == 0o600


def test_a_contract_that_cannot_be_kept_is_still_returned(run_tmp, monkeypatch):
    def unwritable(path, data):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(graph_action, "_write_private", unwritable)
    contract = graph_action.module_contract("intune.autopilot.autopilot_esp")
    assert "display_name" in contract["argument_spec"]
