# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What --diff shows for every resource module: the module's option names and values as the options take them
(not Graph's camelCase or enum values), no server fields, groups by the name the task gave them, the same way in
before and after. Each case runs the module in check and diff mode against the Graph lab; that nothing was written
is read from the lab's request log."""

from __future__ import annotations

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph import (
    resource_autopilot_esp,
    resource_autopilot_profile,
    resource_device_group,
    resource_domain_join_profile,
)
from module_runner import graph_auth, run_module, writes

PILOT = "7e1ab000-0000-4000-8000-00000000b001"  # Lab-Pilot-Devices
KIOSK = "7e1ab000-0000-4000-8000-00000000b002"  # Lab-Kiosk-Devices
SERVER_FIELDS = {"id", "createdDateTime", "lastModifiedDateTime", "version", "roleScopeTagIds", "@odata.type"}

# module -> (resource, options that create it, options that change it, one option changed with its before and after)
CASES = {
    "autopilot_profile": (
        resource_autopilot_profile.PROFILE,
        dict(display_name="Autopilot diff profile", deployment_mode="user_driven", language="os_default"),
        dict(language="de-DE"),
        ("language", "os_default", "de-DE"),
    ),
    "autopilot_esp": (
        resource_autopilot_esp.ESP,
        dict(display_name="Autopilot diff ESP", error_timeout_minutes=60),
        dict(block_device_until_complete=False),
        ("block_device_until_complete", True, False),
    ),
    "domain_join_profile": (
        resource_domain_join_profile.PROFILE,
        dict(display_name="Autopilot diff domain join", computer_name_prefix="HAADJ-", domain="lab.example"),
        dict(computer_name_prefix="HYB-"),
        ("computer_name_prefix", "HAADJ-", "HYB-"),
    ),
    "device_group": (
        resource_device_group.GROUP,
        dict(display_name="Autopilot diff devices"),
        dict(membership_paused=True),
        ("membership_paused", False, True),
    ),
}
MODULES = sorted(CASES)


def run(lab, module, check=False, diff=False, **args):
    return run_module(module, dict(graph_auth(lab), **args), check=check, diff=diff)


def option_names(resource):
    return {prop.option for prop in resource.props} | ({"assignments"} if resource.assignments else set())


def assert_speaks_options(resource, view):
    """Every key an option of the module, nothing Graph added."""
    assert set(view) <= option_names(resource), sorted(set(view) - option_names(resource))
    assert not set(view) & SERVER_FIELDS, view


def with_assignments(resource, options, assignments):
    return dict(options, assignments=assignments) if resource.assignments else options


@pytest.mark.parametrize("module", MODULES)
def test_create_diff_shows_the_options_and_groups_by_name(lab, module):
    resource, options, _change, _changed = CASES[module]
    args = with_assignments(resource, options, {"set": [{"group": "Lab-Pilot-Devices"}]})
    planned = run(lab, module, check=True, diff=True, **args)

    assert planned["changed"] is True and writes(lab.client.requests()) == [], planned
    assert planned["diff"]["before"] == {}
    after = planned["diff"]["after"]
    assert_speaks_options(resource, after)
    for option, value in options.items():
        assert after[option] == value, (option, after)
    if resource.assignments:
        assert after["assignments"] == [{"group": "Lab-Pilot-Devices", "exclude": False}]
    # The result keeps Graph's names: only the diff changed its language.
    assert resource.key_prop.graph in planned[resource.return_key]


@pytest.mark.parametrize("module", MODULES)
def test_update_diff_shows_the_changed_option_as_the_option_takes_it_and_groups_alike_before_and_after(lab, module):
    resource, options, change, (option, old, new) = CASES[module]
    created = run(lab, module, **with_assignments(resource, options, {"set": [{"group": "Lab-Kiosk-Devices", "exclude": True}]}))
    assert created["changed"] is True, created
    lab.client.clear_log()

    args = with_assignments(resource, dict(options, **change), {"add": [{"group": "Lab-Pilot-Devices"}]})
    planned = run(lab, module, check=True, diff=True, **args)

    assert planned["changed"] is True and writes(lab.client.requests()) == [], planned
    before, after = planned["diff"]["before"], planned["diff"]["after"]
    assert_speaks_options(resource, before)
    assert_speaks_options(resource, after)
    assert (before[option], after[option]) == (old, new)
    assert {key for key in after if before.get(key) != after[key]} == {option} | ({"assignments"} if resource.assignments else set())
    if resource.assignments:
        # This task does not name Kiosk (an earlier run did), so it shows by id, in before and in after alike.
        assert before["assignments"] == [{"group": KIOSK, "exclude": True}]
        assert sorted(after["assignments"], key=str) == sorted(
            [{"group": KIOSK, "exclude": True}, {"group": "Lab-Pilot-Devices", "exclude": False}], key=str)


@pytest.mark.parametrize("module", MODULES)
def test_delete_diff_shows_the_managed_options_only_and_groups_by_the_name_the_run_knows(lab, module):
    resource, options, _change, _changed = CASES[module]
    created = run(lab, module, **with_assignments(resource, options, {"set": [{"group": "Lab-Pilot-Devices"}]}))
    assert created["changed"] is True, created
    lab.client.clear_log()

    # group_ids: what the action plugin passes from the names earlier tasks of the run resolved.
    run_cache = dict(group_ids={"Lab-Pilot-Devices": PILOT}) if resource.assignments else {}
    planned = run(lab, module, check=True, diff=True, display_name=options["display_name"], state="absent", **run_cache)

    assert planned["changed"] is True and writes(lab.client.requests()) == [], planned
    before = planned["diff"]["before"]
    # Every option the object holds a value for, none a helper option writes through another.
    assert set(options) < set(before) <= option_names(resource) - {prop.option for prop in resource.props if shadowed(resource, prop)}
    assert "scope_tags" in before or module == "device_group"
    for option, value in options.items():
        assert before[option] == value, (option, before)
    if resource.assignments:
        assert before["assignments"] == [{"group": "Lab-Pilot-Devices", "exclude": False}]
    assert planned["diff"]["after"] == {}


def shadowed(resource, prop):
    """A helper option writing the same Graph property as an earlier option (membership): shown under that one."""
    return any(other.graph == prop.graph for other in resource.props[:resource.props.index(prop)])


def test_a_delete_diff_shows_a_group_no_name_is_known_for_by_id(lab):
    resource, options, _change, _changed = CASES["autopilot_esp"]
    assert run(lab, "autopilot_esp", **dict(options, assignments={"set": [{"group": "Lab-Kiosk-Devices"}]}))["changed"]
    planned = run(lab, "autopilot_esp", check=True, diff=True, display_name=options["display_name"], state="absent")
    assert planned["diff"]["before"]["assignments"] == [{"group": KIOSK, "exclude": False}]
    assert_speaks_options(resource, planned["diff"]["before"])


def test_a_recreate_diff_shows_every_managed_option_before_and_after_and_no_server_field(lab):
    resource, options, _change, _changed = CASES["autopilot_profile"]
    assert run(lab, "autopilot_profile", **dict(options, assignments={"set": [{"group": "Lab-Pilot-Devices"}]}))["changed"]
    lab.client.clear_log()

    planned = run(lab, "autopilot_profile", check=True, diff=True, skip_ad_connectivity_check=True, recreate=True,
                  **dict(options, assignments={"add": [{"group": "Lab-Pilot-Devices"}]}))

    assert planned["changed"] is True and writes(lab.client.requests()) == [], planned
    before, after = planned["diff"]["before"], planned["diff"]["after"]
    assert set(before) == set(after) and {"assignments", "display_name", "deployment_mode", "language"} < set(after)
    assert_speaks_options(resource, after)
    assert (before["skip_ad_connectivity_check"], after["skip_ad_connectivity_check"]) == (False, True)
    assert before["deployment_mode"] == after["deployment_mode"] == "user_driven"
    assert before["assignments"] == after["assignments"] == [{"group": "Lab-Pilot-Devices", "exclude": False}]
