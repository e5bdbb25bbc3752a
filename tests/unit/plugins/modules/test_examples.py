# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every EXAMPLES task of every module passes the module's own argument spec and its input checks.

Users copy examples; one that fails (a profile name Intune refuses, an OU that YAML splits into
three) teaches the wrong thing. The spec is the one the module really builds: main() runs until it
constructs its AnsibleModule, which records the spec and stops.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import yaml

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.intune.autopilot.plugins import modules as collection_modules
from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine as graph_engine

PREFIX = "intune.autopilot."
# A templated value is unknown until run time; it stands in with a value of the option's type.
PLACEHOLDERS = {"str": "placeholder", "path": "/placeholder", "raw": "placeholder", "bool": True, "int": 1, "list": [], "dict": {}}
MODULE_NAMES = sorted(info.name for info in pkgutil.iter_modules(collection_modules.__path__))


class SpecRecorded(Exception):
    """Raised instead of running the module once its argument spec is known."""


def module_contract(name, monkeypatch):
    """The argument spec and constructor keywords the module's main() gives AnsibleModule, and the
    engine Resource it runs, if any (its input checks run before any request)."""
    module = importlib.import_module("%s.%s" % (collection_modules.__name__, name))
    recorded = {}

    def record(self, argument_spec, **kwargs):
        recorded.update(kwargs, argument_spec=argument_spec)
        raise SpecRecorded()

    def record_resource(resource, engine=None):
        recorded["resource"] = resource
        graph_engine.run_resource_module(resource, engine)

    monkeypatch.setattr(AnsibleModule, "__init__", record)
    if hasattr(module, "run_resource_module"):
        monkeypatch.setattr(module, "run_resource_module", record_resource)
    with pytest.raises(SpecRecorded):
        module.main()
    return module, recorded


def example_tasks(module):
    for task in yaml.safe_load(module.EXAMPLES):
        for key, args in task.items():
            if key.startswith(PREFIX):
                yield task.get("name", key), key[len(PREFIX):], args or {}


def untemplated(args, spec):
    return {
        option: PLACEHOLDERS[spec.get(option, {}).get("type", "str")] if isinstance(value, str) and "{{" in value else value
        for option, value in args.items()
    }


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_every_example_is_valid_for_its_module(name, monkeypatch):
    module = module_contract(name, monkeypatch)[0]
    tasks = list(example_tasks(module))
    assert tasks, "%s has no example that uses a module of this collection" % name
    for title, used, args in tasks:
        monkeypatch.undo()
        contract = module_contract(used, monkeypatch)[1]
        spec, resource = contract.pop("argument_spec"), contract.pop("resource", None)
        checks = {key: contract[key] for key in ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by") if key in contract}
        validated = ArgumentSpecValidator(spec, **checks).validate(untemplated(args, spec))
        assert not validated.error_messages, "%s example %r: %s" % (name, title, validated.error_messages)
        if resource is not None:
            # A templated value is checked at run time; the name stays, as something must say which object.
            params = dict(validated.validated_parameters, **{
                option: None for option, value in args.items()
                if isinstance(value, str) and "{{" in value and option not in (resource.key_option, "id")})
            errors = resource.input_errors(params)
            assert not errors, "%s example %r: %s" % (name, title, errors)
