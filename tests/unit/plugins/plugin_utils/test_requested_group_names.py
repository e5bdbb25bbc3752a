# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The group names a task asks the action plugin's run cache for."""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import requested_group_names


def test_names_come_from_assignments_targets_and_from_automatic_enrollments_groups():
    assert requested_group_names({"assignments": {"add": [{"group": "Devices"}, {"all_devices": True}]}}) == {"Devices"}
    assert requested_group_names({"groups": {"set": ["Pilot-Users", "Wave2-Users"], "remove": None}}) == {"Pilot-Users", "Wave2-Users"}
