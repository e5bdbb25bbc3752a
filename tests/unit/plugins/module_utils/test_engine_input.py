# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource.input_errors: what the engine refuses before any request, for every resource alike."""

from __future__ import annotations

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_autopilot_esp import ESP
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_autopilot_profile import PROFILE
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_domain_join_profile import PROFILE as DOMAIN_JOIN


def params(**options):
    return dict(dict(display_name="Autopilot HAADJ", state="present", id=None, assignments=None), **options)


@pytest.mark.parametrize("resource", [ESP, PROFILE, DOMAIN_JOIN])
def test_a_valid_name_and_assignment_pass(resource):
    assert resource.input_errors(params(assignments={"add": [{"group": "Autopilot-HAADJ-Devices"}]})) == []


def test_the_assignment_kinds_a_resource_declares_are_the_only_ones_it_takes():
    refused = PROFILE.input_errors(params(assignments={"set": [{"all_users": True}]}))
    assert refused == ["assignments.set: a hybrid join Autopilot profile cannot be assigned with all_users: true; use group: NAME, "
                       "group: NAME with exclude: true, all_devices: true."]
    assert ESP.input_errors(params(assignments={"set": [{"all_users": True}]})) == []


@pytest.mark.parametrize("entry, message", [
    ({"group": "G", "all_devices": True}, "exactly one of group"),
    ({}, "exactly one of group"),
    ({"all_devices": True, "exclude": True}, "exclude applies to groups only"),
])
def test_a_target_must_name_one_thing(entry, message):
    (error,) = DOMAIN_JOIN.input_errors(params(assignments={"remove": [entry]}))
    assert error.startswith("assignments.remove: ") and message in error


@pytest.mark.parametrize("name", ["", " ", "x" * 201])
def test_names_graph_cannot_hold(name):
    assert ESP.input_errors(params(display_name=name)) == ["display_name: give 1 to 200 characters, not only spaces (got %d characters)." % len(name)]


def test_absent_needs_a_name_or_an_id():
    assert DOMAIN_JOIN.input_errors(params(display_name=None, state="absent")) == [
        "display_name or id is required, to say which domain join profile to delete."]
    assert DOMAIN_JOIN.input_errors(params(display_name=None, state="absent", id="0b6d2a51-5f0e-4a43-8d1b-2c7f9e3a6d10")) == []
