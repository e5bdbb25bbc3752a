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
      - Name of the profile. Required unless O(id) is given.
    type: str
  id:
    description:
      - Graph ID of the profile, to manage one profile among several with the same name, or to rename it.
    type: str
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
  state:
    description:
      - V(present) creates or updates the profile; V(absent) deletes it (with its assignments).
    type: str
    default: present
    choices: [present, absent]
  recreate:
    description:
      - Domain join profiles have no create-only settings; kept for symmetry with the other resource modules.
    type: bool
    default: false
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
"""

import re

from ansible_collections.intune.autopilot.plugins.module_utils.graph_engine import (
    Assignments,
    Prop,
    Resource,
    engine_argument_spec,
    run_resource_module,
)
from ansible_collections.intune.autopilot.plugins.module_utils.graph_module import GraphModule

MAX_NAME = 15
RANDOM_RANGE = (3, 14)
PREFIX_RE = re.compile(r"^[A-Za-z0-9-]+$")
DNS_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# An RDN: attribute type, '=', a value in which ',', '+', '"', '\', '<', '>', ';' appear only escaped.
RDN_RE = re.compile(r'^\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*((?:[^,+"\\<>;]|\\.)+?)\s*$')


def split_dn(dn):
    """RDNs of a distinguished name as (type, value) pairs, or None when it is not a valid DN."""
    parts, current, escaped = [], "", False
    for char in dn:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    rdns = []
    for part in parts:
        match = RDN_RE.match(part)
        if not match:
            return None
        rdns.append((match.group(1).upper(), match.group(2)))
    return rdns


def validate(params):
    errors = []
    prefix, count = params.get("computer_name_prefix"), params.get("random_char_count")
    if prefix is not None:
        if not prefix or not PREFIX_RE.match(prefix):
            errors.append(
                "computer_name_prefix %r: use 1 to %d letters, digits or hyphens (a NetBIOS computer name cannot hold "
                "spaces, dots, underscores or symbols, and %%SERIAL%%/%%RAND:x%% are not supported for hybrid join)."
                % (prefix, MAX_NAME - RANDOM_RANGE[0])
            )
        elif len(prefix) > MAX_NAME - RANDOM_RANGE[0]:
            errors.append(
                "computer_name_prefix %r is %d characters; at most %d leave room for the %d random characters Graph requires "
                "within the %d-character computer name." % (prefix, len(prefix), MAX_NAME - RANDOM_RANGE[0], RANDOM_RANGE[0], MAX_NAME)
            )
    if count is not None and not RANDOM_RANGE[0] <= count <= RANDOM_RANGE[1]:
        errors.append("random_char_count %d: Graph accepts %d to %d." % (count, RANDOM_RANGE[0], RANDOM_RANGE[1]))
    elif count is not None and prefix and len(prefix) + count > MAX_NAME:
        errors.append(
            "computer_name_prefix %r (%d characters) plus random_char_count %d exceeds the %d characters of a computer name; "
            "lower random_char_count to %d or shorten the prefix." % (prefix, len(prefix), count, MAX_NAME, MAX_NAME - len(prefix))
        )
    domain = params.get("domain")
    labels = domain.rstrip(".").split(".") if domain is not None else []
    if domain is not None:
        if len(labels) < 2:
            errors.append("domain %r looks like a NetBIOS name; give the fully qualified domain name, for example contoso.com." % domain)
        elif not all(DNS_LABEL_RE.match(label) for label in labels):
            errors.append("domain %r is not a valid DNS name (letters, digits and hyphens in dot-separated labels)." % domain)
    ou = params.get("organizational_unit")
    if ou is not None:
        rdns = split_dn(ou)
        if not rdns:
            errors.append("organizational_unit %r is not a distinguished name; write it like OU=Autopilot,DC=contoso,DC=com without quotes." % ou)
        elif rdns[0][0] == "CN" and rdns[0][1].lower() == "computers":
            errors.append(
                "organizational_unit %r is the default Computers container, which the domain join profile must not name; "
                "leave organizational_unit unset to use it, or name an OU delegated in step 3." % ou
            )
        elif rdns[0][0] != "OU":
            errors.append("organizational_unit %r must start with OU=; the connector creates computers in an organizational unit." % ou)
        elif len(labels) >= 2:
            dc_labels = [value.lower() for kind, value in rdns if kind == "DC"]
            if dc_labels != [label.lower() for label in labels]:
                errors.append(
                    "organizational_unit %r is not in domain %s (its DC= components spell %s); the connector only joins "
                    "devices to its own domain." % (ou, domain, ".".join(dc_labels) or "nothing")
                )
    return errors


def fill_name(params):
    prefix = params.get("computer_name_prefix")
    return MAX_NAME - len(prefix) if prefix else None


def casefold(value):
    return value.casefold()


PROFILE = Resource(
    noun="domain join profile",
    collection="deviceManagement/deviceConfigurations",
    odata_type="#microsoft.graph.windowsDomainJoinConfiguration",
    return_key="profile",
    props=(
        Prop("display_name", "displayName"),
        Prop("description", "description"),
        Prop("computer_name_prefix", "computerNameStaticPrefix", required_on_create=True),
        Prop("random_char_count", "computerNameSuffixRandomCharCount", spec={"type": "int"}, create_default=fill_name),
        Prop("domain", "activeDirectoryDomainName", normalize=casefold, required_on_create=True),
        Prop("organizational_unit", "organizationalUnit", normalize=casefold),
        Prop("scope_tags", "roleScopeTagIds", spec={"type": "list", "elements": "str"}, normalize=sorted, create_default=["0"]),
    ),
    assignments=Assignments(style="assign_action", body_key="assignments", item_type="#microsoft.graph.deviceConfigurationAssignment"),
    validate=validate,
)


def main():
    module = GraphModule(argument_spec=engine_argument_spec(PROFILE), supports_check_mode=True)
    run_resource_module(module, PROFILE)


if __name__ == "__main__":
    main()
