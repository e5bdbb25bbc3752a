#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_group
short_description: Manage the Entra dynamic device group of Autopilot devices (tutorial step 5)
version_added: 0.1.0
description:
  - Creates, updates or deletes a Microsoft Entra dynamic security group of devices, the group the Enrollment
    Status Page, the Autopilot profile and the domain join profile are assigned to (step 5 of the Windows
    Autopilot user-driven Microsoft Entra hybrid join tutorial).
  - The group is found by O(display_name) among all groups, or by O(id). A group of another kind under that
    name (assigned, Microsoft 365, mail-enabled) is refused, never converted nor deleted.
  - Only the options you set are compared. On create the group is a security group (not mail-enabled) with
    dynamic membership that cannot be assigned to roles (Graph refuses role-assignable dynamic groups), and unset
    options take the tutorial's values - the rule of all Autopilot devices, membership not paused.
  - Input is checked before any request - the rule's quotes and parentheses, that it names device properties
    only and fits 3072 characters, O(mail_nickname)'s characters, O(display_name) up to 256 characters.
  - Membership is evaluated by Entra in the background, minutes after a rule changes; this module does not wait for it.
author:
  - intune.autopilot developers (!UNKNOWN)
extends_documentation_fragment:
  - intune.autopilot.graph
  - intune.autopilot.graph_resource
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: all
options:
  display_name:
    description:
      - Name of the group, 1 to 256 characters. Required unless O(id) is given.
      - Matched case-insensitively among all groups, as the other modules find O(display_name) in their
        C(assignments); a name that differs only in case renames the group.
      - Several groups with the name fail the task naming their IDs; give O(id) to choose one.
    type: str
  description:
    description:
      - Description of the group.
    type: str
  membership_rule:
    description:
      - The dynamic membership rule, in Entra's rule syntax, for example
        (device.devicePhysicalIds -any _ -eq "[OrderID]:Kiosk").
      - Compared as Graph evaluates it - keywords, operators and property names case-insensitively, spacing
        ignored - but a quoted value exactly, so only a different value or a different structure is written.
      - On create, unset (and O(membership) unset) takes the tutorial's rule of all Autopilot devices,
        (device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]")).
      - Mutually exclusive with O(membership).
    type: str
  membership:
    description:
      - Writes the membership rule for you, in the forms Microsoft documents for Autopilot devices. Give exactly one suboption.
      - In the value, a double quote gets a backtick before it and a single quote is doubled, as Entra's rule syntax documents;
        a backtick, its escape character, is refused, as no documented escape puts one inside a value.
      - Mutually exclusive with O(membership_rule).
    type: dict
    suboptions:
      all_autopilot_devices:
        description:
          - V(true) - every Autopilot device, (device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]")).
        type: bool
      group_tag:
        description:
          - Autopilot devices with this group tag (order ID), (device.devicePhysicalIds -any _ -eq "[OrderID]:TAG").
        type: str
      purchase_order:
        description:
          - Autopilot devices with this purchase order ID, (device.devicePhysicalIds -any _ -eq "[PurchaseOrderId]:ID").
        type: str
  membership_paused:
    description:
      - V(true) stops evaluating the rule (Graph's C(membershipRuleProcessingState) C(Paused)), so the members stay as
        they are; V(false) evaluates it again (C(On)).
      - On create defaults to V(false).
    type: bool
  mail_nickname:
    description:
      - 'The group''s mail alias, required by Graph even for a group without mail: 1 to 64 ASCII characters, without
        spaces or any of @ ( ) \ [ ] " ; : < > ,'
      - A period is allowed (C(autopilot.devices)); Microsoft removed it from the characters Graph refuses.
      - Unset uses, on create only, the letters and digits of O(display_name) in lower case
        (C(autopilothaadjdevices) for C(Autopilot-HAADJ-Devices)). Set, it is compared and changed in place, as Graph allows.
    type: str
notes:
  - "Graph: C(/v1.0/groups). Permission: C(Group.ReadWrite.All) (C(Group.Create) is enough to create;
    an app that creates a group without owners leaves it ownerless)."
  - Dynamic membership needs Microsoft Entra ID P1 licences in the tenant.
  - Use a separate group per Autopilot scenario, as the tutorial recommends.
  - O(recreate) never applies; every setting of a group changes in place.
seealso:
  - module: intune.autopilot.autopilot_esp
  - module: intune.autopilot.autopilot_profile
  - module: intune.autopilot.domain_join_profile
  - name: Tutorial step 5 - Create a device group
    description: Microsoft Learn, Windows Autopilot user-driven Microsoft Entra hybrid join.
    link: https://learn.microsoft.com/autopilot/tutorial/user-driven/hybrid-azure-ad-join-device-group
  - name: Dynamic membership rules for groups
    description: Microsoft Entra rule syntax.
    link: https://learn.microsoft.com/entra/identity/users/groups-dynamic-membership
"""

EXAMPLES = r"""
- name: The tutorial's group of all Autopilot devices
  intune.autopilot.device_group:
    display_name: Autopilot-HAADJ-Devices
    description: Autopilot devices that join the on-premises domain
    membership:
      all_autopilot_devices: true

- name: Devices registered with a group tag
  intune.autopilot.device_group:
    display_name: Autopilot-Kiosk-Devices
    membership:
      group_tag: Kiosk

- name: A rule of your own
  intune.autopilot.device_group:
    display_name: Autopilot-PO-Devices
    membership_rule: (device.devicePhysicalIds -any _ -eq "[PurchaseOrderId]:76222342342")

- name: Pause membership changes while devices are being re-registered
  intune.autopilot.device_group:
    display_name: Autopilot-HAADJ-Devices
    membership_paused: true

- name: Credentials once for every Graph module
  module_defaults:
    group/intune.autopilot.graph:
      tenant_id: "{{ tenant_id }}"
      client_id: "{{ client_id }}"
      client_certificate_path: /etc/ansible/intune-app.pem
  block:
    - name: Remove the group
      intune.autopilot.device_group:
        display_name: Autopilot-Kiosk-Devices
        state: absent
"""

RETURN = r"""
id:
  description: Graph ID of the group (null after deletion or, in check mode, before creation).
  returned: always
  type: str
  sample: 6e1e0c5a-3f8b-4f51-9a8e-2c1d3b4a5f60
group:
  description: The group as Graph holds it after the run (annotations removed).
  returned: always
  type: dict
  sample:
    id: 6e1e0c5a-3f8b-4f51-9a8e-2c1d3b4a5f60
    displayName: Autopilot-HAADJ-Devices
    description: Autopilot devices that join the on-premises domain
    mailEnabled: false
    mailNickname: autopilothaadjdevices
    securityEnabled: true
    groupTypes: [DynamicMembership]
    isAssignableToRole: false
    membershipRule: (device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]"))
    membershipRuleProcessingState: "On"
resolved_groups:
  description:
    - The group's name and ID, which the action plugin keeps for the rest of the run so that later tasks' C(assignments)
      name the group without looking it up again. Not returned after deletion.
    - In check mode, a group that would be created has an empty ID; later check-mode tasks of the run then plan their
      assignments to it instead of failing to find it, and tasks that write look the name up.
  returned: when the group exists after the run, or would in check mode
  type: dict
  sample: {Autopilot-HAADJ-Devices: 6e1e0c5a-3f8b-4f51-9a8e-2c1d3b4a5f60}
duplicates:
  description:
    - Set when the look by name after this run's create found other objects of the name, created by another run at
      the same time (see O(create_settle_time)).
    - C(kept) is the oldest, the one the task made as its options say; C(deleted) lists this run's own object when it
      was the newer (deleted before it was given anything); C(left) lists newer ones another run made, left to that run.
  returned: when a create found others of its name
  type: dict
  sample: {kept: 3f2b1c1e-0d4e-4a55-9c1e-5a8f5f0b9e11, deleted: [9d0c7a52-61b7-4f0e-8d55-0b1f4f3e2a10], left: []}
"""

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import run_resource_module
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_device_group import GROUP, GroupEngine


def main():
    run_resource_module(GROUP, GroupEngine)


if __name__ == "__main__":
    main()
