# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-lint rule intune-args: the options of a task that calls one of this collection's modules
fronted by an action plugin (every Graph module) are checked against that module's argument spec.

Why ansible-lint's own `args` rule does not: it resolves a task's action with the action loader first
(`ansiblelint.utils.load_plugin`), so it loads plugins/action/<module>.py, and it skips any file
without a main() because an action plugin may take other options than its module (args.py: "skip
validation for module options that are implemented as action plugin"). Ours take exactly the
module's options; they only put a Graph token in place of the credentials. So this rule gets the spec
the module really builds (main() runs until it constructs its AnsibleModule, which records the spec
and stops) and validates the task's options with ansible-core's ArgumentSpecValidator, as the module
would. Options given in module_defaults are not seen here, as with the `args` rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.loader import action_loader

from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import OPTION_CHECKS as CHECKS, record_module_contract
from ansiblelint.rules import AnsibleLintRule
from ansiblelint.text import has_jinja

if TYPE_CHECKING:
    from ansiblelint.errors import MatchError
    from ansiblelint.file_utils import Lintable
    from ansiblelint.utils import Task

COLLECTION = "intune.autopilot"
# What describes the contents of a list or dict option, left out when its value is templated.
NESTED_SPEC_KEYS = ("options", "elements", "required_one_of", "required_together", "required_if", "required_by",
                    "mutually_exclusive", "apply_defaults")
# A templated value is known only at run time; a value of the option's type stands in for it.
PLACEHOLDERS = {"str": "placeholder", "path": "/placeholder", "raw": "placeholder", "bool": True, "int": 1,
                "float": 1.0, "jsonarg": "{}", "json": "{}"}


def templated(value) -> bool:
    """Whether a value holds a Jinja template anywhere, so its final shape is known only at run time."""
    if isinstance(value, str):
        return has_jinja(value)
    if isinstance(value, dict):
        return any(templated(item) for item in value.values())
    if isinstance(value, list):
        return any(templated(item) for item in value)
    return False


def checkable(options: dict, spec: dict) -> tuple[dict, dict]:
    """The options and spec to validate: a templated scalar is replaced by a value its option accepts, a
    list or dict holding a template by an empty one whose contents are not checked, as only its run-time
    value can be. The option stays present for the checks of which options go together, and the option
    names are always checked, so a misspelled option is reported whatever its value."""
    values, checked_spec = {}, dict(spec)
    for name, value in options.items():
        option_spec = spec.get(name)
        if option_spec is None or not templated(value):
            values[name] = value
        elif option_spec.get("type") == "dict" and isinstance(value, dict) and option_spec.get("options"):
            # A dict written out with a template inside: its own option names are checked the same way.
            values[name], options_spec = checkable(value, option_spec["options"])
            checked_spec[name] = dict(option_spec, options=options_spec)
        elif option_spec.get("type", "str") in ("list", "dict"):
            values[name] = [] if option_spec["type"] == "list" else {}
            checked_spec[name] = {key: item for key, item in option_spec.items() if key not in NESTED_SPEC_KEYS}
        elif option_spec.get("choices"):
            values[name] = option_spec["choices"][0]
        else:
            values[name] = PLACEHOLDERS.get(option_spec.get("type", "str"), value)
    return values, checked_spec


class IntuneArgsRule(AnsibleLintRule):
    """Options of intune.autopilot modules that have an action plugin must be the module's."""

    id = "intune-args"
    severity = "HIGH"
    description = (
        "ansible-lint's args rule skips modules whose action plugin has no main(); this rule checks the options "
        "of intune.autopilot's Graph modules against their own argument spec instead."
    )
    tags = ["syntax"]
    version_changed = "0.1.0"

    def __init__(self) -> None:
        super().__init__()
        self._contracts: dict[str, dict] = {}

    def matchtask(self, task: Task, file: Lintable | None = None) -> list[MatchError]:
        action = task["action"]
        loaded = action_loader.find_plugin_with_context(action["__ansible_module_original__"], ignore_deprecated=True)
        fqcn = loaded.resolved_fqcn if loaded.resolved else None
        if not fqcn or not fqcn.startswith(COLLECTION + "."):
            return []  # not ours, or no action plugin: ansible-lint's args rule checks it
        raw_args = task.raw_task.get("args")
        if (isinstance(raw_args, str) and has_jinja(raw_args)) or has_jinja(str(action.get("_raw_params", ""))):
            return []  # the whole option set is templated (args: or the module's free-form value)
        if fqcn not in self._contracts:
            self._contracts[fqcn] = record_module_contract(fqcn)  # as the action plugin records it
        contract = self._contracts[fqcn]
        options = {key: value for key, value in action.items() if not key.startswith("__")}
        values, spec = checkable(options, contract["argument_spec"])
        checks = {key: contract[key] for key in CHECKS if key in contract}
        result = ArgumentSpecValidator(spec, **checks).validate(values)
        return [
            self.create_matcherror(
                message="%s: %s%s" % (fqcn, "Unsupported parameters: " if isinstance(error, UnsupportedError) else "", error),
                lineno=task.line,
                filename=file,
            )
            for error in result.errors
        ]
