# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""connector_check's reading of Graph's connector fields: versions as integers, Graph's timestamps, server names."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph.connector_health import (
    check_connectors,
    parse_graph_datetime,
    parse_version,
    same_server,
)

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("text, parsed", [
    ("6.2501.2000.5", (6, 2501, 2000, 5)),
    ("6.2501.2000.10", (6, 2501, 2000, 10)),
    ("6.2501", (6, 2501, 0, 0)),
    (" 6.2504.2001.8 ", (6, 2504, 2001, 8)),
    ("6.2501.2000.5-beta", None),
    ("1.2.3.4.5", None),
    ("", None),
    (None, None),
])
def test_parse_version(text, parsed):
    assert parse_version(text) == parsed


@pytest.mark.parametrize("later, earlier", [("6.2501.2000.10", "6.2501.2000.5"), ("10.0.0.0", "6.2501.2000.5")])
def test_a_part_with_more_digits_is_later_though_as_text_it_sorts_first(later, earlier):
    assert later < earlier  # the text comparison this replaces
    assert parse_version(later) > parse_version(earlier)


@pytest.mark.parametrize("text", ["2026-11-30T11:00:00Z", "2026-11-30T11:00:00.1234567Z", "2026-11-30T12:00:00+01:00",
                                  "2026-11-30T11:00:00"])
def test_graph_timestamps_with_seven_fraction_digits_offsets_or_no_zone(text):
    assert (NOW - parse_graph_datetime(text)).total_seconds() == pytest.approx(3600, abs=1)


@pytest.mark.parametrize("text", ["", "yesterday", None])
def test_an_unreadable_timestamp_is_none(text):
    assert parse_graph_datetime(text) is None


@pytest.mark.parametrize("expected, display_name, same", [
    ("ODJ01", "odj01.contoso.com", True),
    ("odj01.contoso.com", "ODJ01.CONTOSO.COM", True),
    ("odj01.contoso.com", "odj01.fabrikam.com", False),
    ("ODJ01", "ODJ010.contoso.com", False),
])
def test_same_server(expected, display_name, same):
    assert same_server(expected, display_name) is same


def test_a_connector_without_a_contact_time_or_version_is_named_with_why():
    checks, connectors = check_connectors([{"displayName": "ODJ01", "state": "active", "version": "unknown"}],
                                          "6.2501.2000.5", 2, [], now=NOW)
    assert connectors[0]["problems"] == ["version 'unknown' is not a version number", "no last contact time"]
    assert [check["passed"] for check in checks] == [True, True, False, False]
    assert checks[3]["reason"] == "No connector is left from the checks before this one."


@pytest.mark.parametrize("hours, by_contact", [(0.5, "active"), (1, "error"), (119.9, "error"), (120, "inactive")])
def test_the_contact_state_is_intunes_heartbeat_rule(hours, by_contact):
    last = (NOW - datetime.timedelta(hours=hours)).isoformat()
    _checks, (found,) = check_connectors([{"displayName": "ODJ01", "state": "active", "version": "6.2501.2000.5",
                                           "lastConnectionDateTime": last}], "6.2501.2000.5", 200, [], now=NOW)
    assert found["contact_state"] == by_contact


def test_an_active_state_graph_has_not_re_evaluated_yet_is_named_as_such():
    last = (NOW - datetime.timedelta(hours=3)).isoformat()
    _checks, (found,) = check_connectors([{"displayName": "ODJ01", "state": "active", "version": "6.2501.2000.5",
                                           "lastConnectionDateTime": last}], "6.2501.2000.5", 2, [], now=NOW)
    assert found["healthy"] is False
    assert found["problems"] == ["last contact 3.0 hours ago, more than 2; by Intune's heartbeat rule it is error, "
                                 "though Graph still says active"]
