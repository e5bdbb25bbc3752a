#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domain_join_profile
short_description: Manage the Intune domain join profile of Autopilot hybrid join (tutorial step 8)
version_added: 0.1.0
description:
  - Creates, updates, assigns or deletes a C(windowsDomainJoinConfiguration) device configuration profile
    in Microsoft Intune, the profile that tells the Intune Connector for Active Directory which domain to
    join and in which OU to create the computer account (step 8 of the Windows Autopilot user-driven
    Microsoft Entra hybrid join tutorial).
  - The profile is found by O(display_name) among domain join profiles, or by O(id).
  - Only the options you set are compared. On create, unset options take the tutorial's values.
  - Input is checked before any request - the computer name prefix must fit a NetBIOS name, prefix plus
    random characters at most 15, O(domain) an FQDN, O(organizational_unit) a DN other than C(CN=Computers).
author:
  - intune.autopilot developers (!UNKNOWN)
extends_documentation_fragment:
  - intune.autopilot.graph
  - intune.autopilot.graph_assignments
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
  description:
    description:
      - Description of the profile.
    type: str
  computer_name_prefix:
    description:
      - The fixed start of every computer name; the rest is random, up to 15 characters in all.
      - Letters, digits and hyphens, 1 to 12 characters. C(%SERIAL%) and C(%RAND:x%) are not supported for hybrid join.
      - Required when the profile is created.
    type: str
  random_char_count:
    description:
      - How many random characters follow the prefix, 3 to 14.
      - On create it defaults to filling the name to 15 characters (15 minus the prefix length), as the portal does.
    type: int
  domain:
    description:
      - Fully qualified domain name of the Active Directory domain to join, for example C(contoso.com), not the NetBIOS name.
      - Compared case-insensitively. Required when the profile is created.
    type: str
  organizational_unit:
    description:
      - Distinguished name of the OU where the connector creates computer accounts, for example
        C(OU=Autopilot,DC=contoso,DC=com). It must be the OU delegated in step 3
        (M(intune.autopilot.ou_account_limit)).
      - Its C(DC=) components must spell O(domain). Never C(CN=Computers); leave it unset to use the domain's
        default computers container.
      - Compared case-insensitively.
    type: str
  scope_tags:
    description:
      - Intune role scope tag IDs. On create defaults to C(["0"]) (Default).
    type: list
    elements: str
notes:
  - "Graph: C(/beta/deviceManagement/deviceConfigurations) (the type is beta only). Permission:
    C(DeviceManagementConfiguration.ReadWrite.All) (C(Group.Read.All) too when assignments name groups)."
  - The tutorial assigns the profile to all devices so that it also serves Autopilot for existing devices;
    Microsoft's hybrid article assigns it to the Autopilot device group. Both work.
seealso:
  - module: intune.autopilot.ou_account_limit
  - module: intune.autopilot.autopilot_profile
  - name: Tutorial step 8 - Configure and assign the domain join profile
    description: Microsoft Learn, Windows Autopilot user-driven Microsoft Entra hybrid join.
    link: https://learn.microsoft.com/autopilot/tutorial/user-driven/hybrid-azure-ad-join-domain-join-profile
"""

EXAMPLES = r"""
- name: Domain join profile of the tutorial, assigned to all devices
  intune.autopilot.domain_join_profile:
    display_name: Autopilot hybrid join - domain join
    description: Joins Autopilot devices to contoso.com in the Autopilot OU
    computer_name_prefix: HAADJ-
    domain: contoso.com
    organizational_unit: OU=Autopilot,DC=contoso,DC=com
    assignments:
      set:
        - all_devices: true

- name: Assign it to the Autopilot device group instead, keeping other assignments
  intune.autopilot.domain_join_profile:
    display_name: Autopilot hybrid join - domain join
    assignments:
      add:
        - group: Autopilot-HAADJ-Devices
      remove:
        - all_devices: true

- name: Credentials once for every Graph module
  module_defaults:
    group/intune.autopilot.graph:
      tenant_id: "{{ tenant_id }}"
      client_id: "{{ client_id }}"
      client_certificate_path: /etc/ansible/intune-app.pem
  block:
    - name: Remove the profile
      intune.autopilot.domain_join_profile:
        display_name: Autopilot hybrid join - domain join
        state: absent
"""

RETURN = r"""
id:
  description: Graph ID of the profile (null after deletion or, in check mode, before creation).
  returned: always
  type: str
  sample: 3f2b1c1e-0d4e-4a55-9c1e-5a8f5f0b9e11
profile:
  description: The profile as Graph holds it after the run (annotations other than C(@odata.type) removed).
  returned: always
  type: dict
  sample:
    '@odata.type': '#microsoft.graph.windowsDomainJoinConfiguration'
    displayName: Autopilot hybrid join - domain join
    computerNameStaticPrefix: HAADJ-
    computerNameSuffixRandomCharCount: 9
    activeDirectoryDomainName: contoso.com
    organizationalUnit: OU=Autopilot,DC=contoso,DC=com
assignments:
  description: The profile's assignment targets after the run, in the shape O(assignments) accepts.
  returned: always
  type: list
  elements: dict
  sample: [{all_devices: true}]
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
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_domain_join_profile import PROFILE


def main():
    run_resource_module(PROFILE)


if __name__ == "__main__":
    main()
