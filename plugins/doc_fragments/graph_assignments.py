# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The assignments option of the Graph resource modules (add / remove / set, as microsoft.ad lists).
    DOCUMENTATION = r"""
options:
  assignments:
    description:
      - Which groups the object is assigned to. Omit to leave assignments as they are.
      - "A target is C({group: NAME_OR_ID}), C({group: NAME_OR_ID, exclude: true}), C({all_devices: true}) or C({all_users: true})."
      - Groups may be named by display name or ID. An unknown or ambiguous name fails before any change.
      - Only the calls that change something are sent. Targets carrying assignment filters keep them.
    type: dict
    suboptions:
      add:
        description:
          - Targets to add; targets already assigned and not named here are kept.
        type: list
        elements: dict
        suboptions: &target
          group:
            description: A group's display name or ID.
            type: str
          exclude:
            description: Exclude the group instead of including it.
            type: bool
            default: false
          all_devices:
            description: Target all devices.
            type: bool
            default: false
          all_users:
            description: Target all licensed users.
            type: bool
            default: false
      remove:
        description:
          - Targets to remove; other targets are kept.
        type: list
        elements: dict
        suboptions: *target
      set:
        description:
          - "The exact set of targets; any other target is removed. C(set: []) removes all assignments."
          - Cannot be combined with O(assignments.add) or O(assignments.remove).
        type: list
        elements: dict
        suboptions: *target
  group_ids:
    description:
      - Group display names already resolved to IDs in this playbook run, a mapping of name to ID; the module trusts
        them instead of asking Graph.
      - Filled by the collection's action plugin from the names earlier tasks of the same run resolved, so each group
        name is looked up once per run. Leave it unset.
    type: dict
"""
