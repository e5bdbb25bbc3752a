# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""device_group (step 5) against the Graph lab, run in-process (module_runner)."""

from __future__ import annotations

import pytest

from module_runner import graph_auth, run_module, writes

COLLECTION = "/v1.0/groups"
NAME = "Autopilot-HAADJ-Devices"
TUTORIAL_RULE = '(device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]"))'


def group_args(lab, app="lab-admin", **overrides):
    return dict(graph_auth(lab, app), **dict(dict(display_name=NAME), **overrides))


def groups_named(lab, name=NAME):
    return [group for group in lab.client.state()["groups"] if group["displayName"] == name]


def log(lab):
    return lab.client.requests()


def test_create_sends_the_tutorials_dynamic_security_group_then_rerun_sends_no_write(lab):
    created = run_module("device_group", group_args(lab, description="Autopilot devices"))
    assert created["changed"] is True, created
    (post,) = writes(log(lab))
    assert (post["method"], post["path"]) == ("POST", COLLECTION)
    assert post["body"] == {
        "displayName": NAME, "description": "Autopilot devices", "mailEnabled": False, "mailNickname": "autopilothaadjdevices",
        "securityEnabled": True, "groupTypes": ["DynamicMembership"], "isAssignableToRole": False,
        "membershipRule": TUTORIAL_RULE, "membershipRuleProcessingState": "On",
    }
    assert created["id"] == created["group"]["id"] and created["group"]["membershipRule"] == TUTORIAL_RULE
    assert "@odata.type" not in created["group"]
    # For the action plugin's run cache, so the steps after this one do not look the new group up.
    assert created["resolved_groups"] == {NAME: created["id"]}

    lab.client.clear_log()
    again = run_module("device_group", group_args(lab, description="Autopilot devices", membership={"all_autopilot_devices": True}))
    assert again["changed"] is False and again["id"] == created["id"], again
    assert writes(log(lab)) == []
    assert len(groups_named(lab)) == 1


def test_a_nickname_with_a_period_is_created_and_changed_in_place_and_a_rerun_sends_no_write(lab):
    # Graph takes "." in mailNickname: microsoft-graph-docs PRs #19131/#19132 took it off the refused characters.
    created = run_module("device_group", group_args(lab, mail_nickname="autopilot.haadj"))
    assert created["changed"] and not created.get("failed"), created
    (post,) = writes(log(lab))
    assert post["body"]["mailNickname"] == "autopilot.haadj"

    lab.client.clear_log()
    renamed = run_module("device_group", group_args(lab, mail_nickname="autopilot.haadj.devices"))
    assert renamed["changed"] and not renamed.get("failed"), renamed
    assert [(c["method"], c["path"], c["body"]) for c in writes(log(lab))] == [
        ("PATCH", "%s/%s" % (COLLECTION, created["id"]), {"mailNickname": "autopilot.haadj.devices"})]

    lab.client.clear_log()
    again = run_module("device_group", group_args(lab, mail_nickname="autopilot.haadj.devices"))
    assert not again["changed"] and not again.get("failed"), again
    assert writes(log(lab)) == []
    assert [group["mailNickname"] for group in groups_named(lab)] == ["autopilot.haadj.devices"]


def test_check_mode_sends_no_write_for_create_update_and_delete(lab):
    planned = run_module("device_group", group_args(lab), check=True, diff=True)
    assert planned["changed"] is True and planned["diff"]["before"] == {}
    assert planned["diff"]["after"]["membership_rule"] == TUTORIAL_RULE
    # No id yet: the run's cache learns the group as planned, for later check-mode tasks only.
    assert planned["resolved_groups"] == {"Autopilot-HAADJ-Devices": ""}
    assert writes(log(lab)) == [] and groups_named(lab) == []

    run_module("device_group", group_args(lab))
    lab.client.clear_log()
    assert run_module("device_group", group_args(lab, membership={"group_tag": "Kiosk"}), check=True)["changed"] is True
    assert run_module("device_group", group_args(lab, state="absent"), check=True)["changed"] is True
    assert writes(log(lab)) == [] and groups_named(lab)[0]["membershipRule"] == TUTORIAL_RULE


def test_a_rule_change_is_one_patch_of_the_rule_and_diff_shows_it(lab):
    run_module("device_group", group_args(lab))
    lab.client.clear_log()
    rule = '(device.devicePhysicalIds -any _ -eq "[OrderID]:Kiosk")'
    updated = run_module("device_group", group_args(lab, membership_rule=rule), diff=True)
    assert updated["changed"] is True, updated
    assert [(e["method"], e["body"]) for e in writes(log(lab))] == [("PATCH", {"membershipRule": rule})]
    assert updated["diff"]["before"]["membership_rule"] == TUTORIAL_RULE and updated["diff"]["after"]["membership_rule"] == rule
    assert groups_named(lab)[0]["membershipRule"] == rule


@pytest.mark.parametrize("rule", [
    '( DEVICE.devicephysicalids   -ANY  ( _ -startswith "[ZTDid]" ) )',
    '(device.devicePhysicalIDs\n  -any (_ -startsWith "[ZTDid]"))',
])
def test_a_rule_differing_only_in_case_or_spacing_outside_quotes_is_not_written(lab, rule):
    run_module("device_group", group_args(lab))
    lab.client.clear_log()
    again = run_module("device_group", group_args(lab, membership_rule=rule))
    assert again["changed"] is False and writes(log(lab)) == [], again


def test_a_quoted_value_differing_in_case_is_written(lab):
    run_module("device_group", group_args(lab))
    lab.client.clear_log()
    changed = run_module("device_group", group_args(lab, membership_rule=TUTORIAL_RULE.replace("[ZTDid]", "[ZTDId]")))
    assert changed["changed"] is True and [e["body"] for e in writes(log(lab))] == [{"membershipRule": TUTORIAL_RULE.replace("[ZTDid]", "[ZTDId]")}]


@pytest.mark.parametrize("membership, rule", [
    ({"all_autopilot_devices": True}, TUTORIAL_RULE),
    ({"group_tag": "Kiosk"}, '(device.devicePhysicalIds -any _ -eq "[OrderID]:Kiosk")'),
    ({"purchase_order": "76222342342"}, '(device.devicePhysicalIds -any _ -eq "[PurchaseOrderId]:76222342342")'),
    ({"group_tag": 'say "hi"'}, '(device.devicePhysicalIds -any _ -eq "[OrderID]:say `"hi`"")'),
    # A single quote is doubled (groups-dynamic-membership, "Supported values"; MicrosoftDocs/azure-docs#68441).
    ({"group_tag": "Joe's"}, '(device.devicePhysicalIds -any _ -eq "[OrderID]:Joe\'\'s")'),
    # Parentheses inside a value are the value's, not the rule's.
    ({"group_tag": "Kiosk (old"}, '(device.devicePhysicalIds -any _ -eq "[OrderID]:Kiosk (old")'),
])
def test_membership_helpers_write_microsofts_rules(lab, membership, rule):
    created = run_module("device_group", group_args(lab, membership=membership))
    assert created["changed"] is True, created
    assert writes(log(lab))[0]["body"]["membershipRule"] == rule
    lab.client.clear_log()
    assert run_module("device_group", group_args(lab, membership_rule=rule))["changed"] is False
    assert writes(log(lab)) == []


def test_pause_and_resume_membership_processing(lab):
    run_module("device_group", group_args(lab))
    lab.client.clear_log()
    paused = run_module("device_group", group_args(lab, membership_paused=True))
    assert paused["changed"] is True and [e["body"] for e in writes(log(lab))] == [{"membershipRuleProcessingState": "Paused"}]
    assert groups_named(lab)[0]["membershipRuleProcessingState"] == "Paused"
    lab.client.clear_log()
    assert run_module("device_group", group_args(lab, membership_paused=True))["changed"] is False and writes(log(lab)) == []
    resumed = run_module("device_group", group_args(lab, membership_paused=False))
    assert resumed["changed"] is True and groups_named(lab)[0]["membershipRuleProcessingState"] == "On"


def seed_dynamic_groups(lab, count, name=NAME, **extra):
    lab.client.seed({"groups": [dict(dict(
        displayName=name, mailEnabled=False, mailNickname="seeded%d" % index, securityEnabled=True,
        groupTypes=["DynamicMembership"], membershipRule=TUTORIAL_RULE, membershipRuleProcessingState="On"), **extra)
        for index in range(count)]})
    lab.client.clear_log()
    return [group["id"] for group in groups_named(lab, name)]


def test_several_groups_with_the_name_are_refused_naming_them_and_id_chooses_one(lab):
    first, second = seed_dynamic_groups(lab, 2)
    refused = run_module("device_group", group_args(lab, description="x"))
    assert refused["failed"] and "2 device groups are named '%s'" % NAME in refused["msg"], refused
    assert first in refused["msg"] and second in refused["msg"] and "Set id" in refused["msg"]
    assert writes(log(lab)) == []

    chosen = run_module("device_group", group_args(lab, id=second, description="x"))
    assert chosen["changed"] is True and chosen["id"] == second
    assert [e["path"] for e in writes(log(lab))] == ["%s/%s" % (COLLECTION, second)]


@pytest.mark.parametrize("name, kind", [("Lab-Pilot-Devices", "an assigned group"), ("Lab-MDM-Users", "an assigned group")])
def test_a_group_of_another_kind_under_the_name_is_neither_changed_nor_deleted(lab, name, kind):
    for state in ("present", "absent"):
        refused = run_module("device_group", group_args(lab, display_name=name, state=state))
        assert refused["failed"] and kind in refused["msg"] and "display_name" in refused["msg"], refused
    assert writes(log(lab)) == [] and len(groups_named(lab, name)) == 1


def test_absent_deletes_by_name_or_id_and_then_has_nothing_to_do(lab):
    created = run_module("device_group", group_args(lab))
    lab.client.clear_log()
    deleted = run_module("device_group", group_args(lab, state="absent"))
    assert deleted["changed"] is True and deleted["id"] is None
    assert [(e["method"], e["path"]) for e in writes(log(lab))] == [("DELETE", "%s/%s" % (COLLECTION, created["id"]))]
    assert groups_named(lab) == []
    lab.client.clear_log()
    assert run_module("device_group", group_args(lab, state="absent"))["changed"] is False and writes(log(lab)) == []

    (seeded,) = seed_dynamic_groups(lab, 1)
    by_id = run_module("device_group", dict(graph_auth(lab), id=seeded, state="absent"))
    assert by_id["changed"] is True and groups_named(lab) == []


@pytest.mark.parametrize("overrides, message", [
    (dict(display_name="x" * 257), "display_name: give 1 to 256 characters"),
    (dict(membership_rule=TUTORIAL_RULE, membership={"group_tag": "Kiosk"}), "membership_rule and membership: give one"),
    (dict(membership_rule='(device.devicePhysicalIds -any _ -eq "[OrderID]:Kiosk)'), "a quoted value is not closed"),
    (dict(membership_rule='(device.devicePhysicalIds -any (_ -eq "[OrderID]:Kiosk")'), "parentheses do not pair up"),
    (dict(membership_rule='(user.department -eq "Sales") -or (device.deviceOSType -eq "Windows")'), "device properties (device.*) only"),
    (dict(membership_rule='(department -eq "Sales")'), "name a device property"),
    (dict(membership_rule='(device.displayName -eq "%s")' % ("x" * 3072)), "at most 3072 characters"),
    (dict(membership_rule="  "), "membership_rule: give a rule"),
    (dict(membership={"group_tag": ""}), "membership.group_tag"),
    # A backtick before the closing quote would escape it: the tag would end the value itself and add a clause.
    (dict(membership={"group_tag": 'x`" -or device.deviceOSType -eq `"Windows'}), "membership.group_tag: 'x`\" -or"),
    (dict(membership={"purchase_order": "42`"}), "holds a backtick"),
    # The rule such a tag made: every value closes, but a ` escapes a ` rather than a double quote.
    (dict(membership_rule='(device.devicePhysicalIds -any _ -eq "[OrderID]:x``" -or device.deviceOSType -eq ``"Windows")'),
     "does not escape a double quote"),
    (dict(membership={"all_autopilot_devices": False}), "membership.all_autopilot_devices: false"),
    (dict(mail_nickname="x" * 65), "mail_nickname"),
    (dict(mail_nickname="autopilot devices"), "mail_nickname"),
    (dict(mail_nickname="autopilot:devices"), "it has ':'"),
    (dict(mail_nickname="gerätegruppe"), "it has 'ä'"),
])
def test_bad_input_fails_before_any_request(lab, overrides, message):
    result = run_module("device_group", group_args(lab, **overrides))
    assert result["failed"] and message in result["msg"], result
    assert log(lab) == []


def test_a_read_only_app_is_refused_before_anything_changes(lab):
    result = run_module("device_group", group_args(lab, app="lab-reader"))
    assert result["failed"] and result["status"] == 403, result
    assert groups_named(lab) == []
