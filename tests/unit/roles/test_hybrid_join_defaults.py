# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tutorial's recommendations are stated once, by the modules (Prop.create_default); the role's
defaults/main.yml must say the same for every variable it passes straight to such an option, and its
argument_specs.yml (which ansible-doc shows, and which ansible-core never applies) must match defaults/main.yml."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_autopilot_esp import ESP
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_autopilot_profile import PROFILE
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_device_group import GROUP
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_domain_join_profile import PROFILE as DOMAIN_JOIN

ROLE = Path(__file__).resolve().parents[3] / "roles" / "hybrid_join"
RESOURCES = {"intune.autopilot.autopilot_esp": ESP, "intune.autopilot.autopilot_profile": PROFILE,
             "intune.autopilot.domain_join_profile": DOMAIN_JOIN, "intune.autopilot.device_group": GROUP}
# "{{ variable }}" and nothing else: the variable is the option's value.
PLAIN_VARIABLE = re.compile(r"^\{\{\s*(\w+)\s*\}\}$")


def role_defaults():
    return yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def variables_passed_to_options():
    """(variable, resource, option) for every option a role task sets to exactly one variable."""
    found = []
    for tasks in sorted((ROLE / "tasks").glob("*.yml")):
        for task in yaml.safe_load(tasks.read_text()) or []:
            for module, resource in RESOURCES.items():
                for option, value in (task.get(module) or {}).items():
                    match = PLAIN_VARIABLE.match(value) if isinstance(value, str) else None
                    if match:
                        found.append((match.group(1), resource, option))
    return found


def test_the_role_passes_module_options_straight_from_its_variables():
    assert len(variables_passed_to_options()) > 20  # the mapping below is not vacuous


def test_role_defaults_are_the_modules_tutorial_defaults():
    defaults = role_defaults()
    differing = []
    for variable, resource, option in variables_passed_to_options():
        prop = next((prop for prop in resource.props if prop.option == option), None)
        if prop is None or prop.create_default is None or callable(prop.create_default):
            continue
        if defaults.get(variable) != prop.create_default:
            differing.append("%s is %r, %s's %s defaults to %r" % (variable, defaults.get(variable), resource.noun, option, prop.create_default))
    assert not differing


def test_argument_specs_document_the_defaults_the_role_has():
    options = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    # A variable that defaults to nothing has no default to document.
    defaults = {name: value for name, value in role_defaults().items() if value is not None}
    assert {name: spec["default"] for name, spec in options.items() if "default" in spec} == defaults
