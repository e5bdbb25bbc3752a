# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acquires the Graph token on the controller, once per credential per playbook run (see plugin_utils/graph_action)."""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import GraphTokenAction as ActionModule  # noqa: F401  pylint: disable=unused-import
