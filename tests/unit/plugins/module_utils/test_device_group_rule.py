# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""device_group's rules as Entra reads them: a value the membership helper puts in a rule stays one value
(escaped as groups-dynamic-membership, "Supported values", documents), and a rule whose quoting a value could
have broken is refused before it is sent. The module against the lab: tests/lab/test_device_group.py."""

from __future__ import annotations

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_device_group import (
    QUOTED,
    rule_errors,
    rule_of_membership,
    validate,
)


@pytest.mark.parametrize("tag", ['say "hi"', "Joe's", 'a"b\'c"', "Kiosk (old"])
def test_a_tag_stays_one_closed_value(tag):
    rule = rule_of_membership({"group_tag": tag})
    values = list(QUOTED.finditer(rule))
    assert len(values) == 1 and values[0].group(1) == '"' and rule_errors("membership_rule", rule) == []
    assert values[0].group().replace('`"', '"').replace("''", "'") == '"[OrderID]:%s"' % tag


@pytest.mark.parametrize("helper", ["group_tag", "purchase_order"])
@pytest.mark.parametrize("value", ["x`", 'x`" -or device.deviceOSType -eq `"Windows', "a`b"])
def test_a_backtick_in_a_helper_value_is_refused(helper, value):
    (error,) = validate(dict(membership_rule=None, membership={helper: value}, mail_nickname=None))
    assert error.startswith("membership.%s: " % helper) and "backtick" in error


@pytest.mark.parametrize("rule", [
    # What the tag above made before: each value closes, but ` escapes a ` and the tag added a clause.
    '(device.devicePhysicalIds -any _ -eq "[OrderID]:x``" -or device.deviceOSType -eq ``"Windows")',
    '(device.displayName -eq "a`b")',
])
def test_a_stray_backtick_in_a_value_is_refused(rule):
    (error,) = rule_errors("membership_rule", rule)
    assert "does not escape a double quote" in error


def test_an_escaped_double_quote_is_not_stray():
    assert rule_errors("membership_rule", '(device.displayName -eq "say `"hi`"")') == []
