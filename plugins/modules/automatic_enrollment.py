#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: automatic_enrollment
short_description: Set Windows automatic Intune enrollment, the MDM user scope (tutorial step 1)
version_added: 0.1.0
description:
  - Sets which users' Windows devices enroll in Intune automatically - the MDM user scope of the Intune mobility
    policy (Entra ID, Mobility (MDM and WIP), Microsoft Intune), step 1 of the Windows Autopilot user-driven
    Microsoft Entra hybrid join tutorial - to V(none), V(all) or V(selected) user groups, and optionally its three MDM URLs.
  - The policy is the one named C(Microsoft Intune) under C(/beta/policies/mobileDeviceManagementPolicies); tenants
    also list C(Microsoft Intune Enrollment) (C(d4ebce55-015a-49b5-a083-c84d1797ae8c)), which is never touched. The
    MAM user scope is another policy and is never touched either.
  - "Graph allows this policy to delegated tokens only (an app's token gets 401 C(Unsupported app-only call.)), so the
    module needs a signed-in user: O(auth_source=device_code) with O(tenant_id) and the O(client_id) of a public client
    app registration that has the delegated permission C(Policy.ReadWrite.MobilityManagement) (and C(Group.Read.All)
    to name groups), admin consent granted - in a tenant that allows it, Microsoft Graph Command Line Tools
    (C(14d82eec-204b-4c2f-b7e8-296a70dab67e)) can stand in for your own app; or a delegated O(access_token); or,
    discouraged, O(auth_source=username_password)."
  - "Not O(auth_source=cli): the Azure CLI signs in as its own app (C(04b07795-8ddb-461a-bbee-02f9e1bf7b46)), whose
    Graph token has a fixed set of scopes without any C(Policy) scope, and no more can be asked for."
  - "Checked before any request: an app-only credential, by its O(auth_source) (client secret, certificate, managed
    identity, workload identity) or, for a token, by its claims (an app-only token carries C(roles) and no C(scp));
    and a user's token without a scope the run needs - C(Policy.Read.All) (or C(Policy.ReadWrite.MobilityManagement))
    to read the policy, C(Policy.ReadWrite.MobilityManagement) unless in check mode, C(GroupMember.Read.All) or
    C(Group.Read.All) when O(groups) are named. The task fails naming the scope it lacks. The claims are read without
    verifying the token; Graph verifies it."
  - "Only the calls that change something are sent, in an order that never leaves the scope wider than asked for
    longer than the calls take: the URLs first (one PATCH of their own, as Graph refuses C(appliesTo) and URLs in one
    PATCH; so users the scope brings in get them); V(all) or V(none) is one PATCH of C(appliesTo), which also drops
    the included groups; V(selected) is reached by adding groups
    (from V(all) the first group added narrows the scope to it, the service switching C(appliesTo) to C(selected),
    never through V(none)); another set of groups removes before it adds, keeping one old group until a new one is
    in, so the scope is never empty nor the union of old and new."
  - Groups are checked (names resolved, ids found) before any write; an unknown or ambiguous name fails naming it.
author:
  - intune.autopilot developers (!UNKNOWN)
extends_documentation_fragment:
  - intune.autopilot.graph
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: all
options:
  scope:
    description:
      - Whose devices enroll automatically - V(none), V(all) users, or the users of the O(groups) (V(selected), the
        portal's "Some").
      - The tutorial accepts V(all) or V(selected).
      - Omit to leave the scope as it is (to manage only the URLs).
    type: str
    choices: [none, all, selected]
  groups:
    description:
      - The user groups of O(scope=selected), by display name or ID. Only with O(scope=selected).
      - O(scope=selected) without O(groups) keeps the current groups, and fails when the scope is not V(selected) yet.
      - A change that would leave no group fails; use O(scope=none) instead.
    type: dict
    suboptions:
      add:
        description: Groups to add; groups already in the scope and not named here are kept.
        type: list
        elements: str
      remove:
        description: Groups to remove; other groups are kept.
        type: list
        elements: str
      set:
        description:
          - The exact groups; any other group is removed. Cannot be combined with O(groups.add) or O(groups.remove).
        type: list
        elements: str
  group_ids:
    description:
      - Group display names already resolved to IDs in this playbook run, a mapping of name to ID; the module trusts
        them instead of asking Graph.
      - Filled by the collection's action plugin from the names earlier tasks of the same run resolved. Leave it unset.
    type: dict
  terms_of_use_url:
    description:
      - The MDM terms of use URL. Omit to leave it as it is; Microsoft's default, which the tutorial keeps, is
        U(https://portal.manage.microsoft.com/TermsofUse.aspx).
    type: str
  discovery_url:
    description:
      - The MDM discovery URL. Omit to leave it as it is; Microsoft's default, which the tutorial keeps, is
        U(https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc).
    type: str
  compliance_url:
    description:
      - The MDM compliance URL. Omit to leave it as it is; Microsoft's default, which the tutorial keeps, is
        U(https://portal.manage.microsoft.com/?portalAction=Compliance).
    type: str
notes:
  - "Graph: C(/beta/policies/mobileDeviceManagementPolicies) (beta only). Delegated permissions only - C(Policy.Read.All)
    to read, C(Policy.ReadWrite.MobilityManagement) to write, C(Group.Read.All) to find groups by name; the signed-in
    user also needs an Entra role that allows it (Graph names Cloud Device Administrator the least privileged one)."
  - Only Windows devices are affected. The scope applies to users, so name user groups, not device groups.
  - What Graph does when the last group of a V(selected) scope is removed is not documented, so the module never does it.
seealso:
  - module: intune.autopilot.device_group
  - name: Tutorial step 1 - Set up Windows automatic Intune enrollment
    description: Microsoft Learn, Windows Autopilot user-driven Microsoft Entra hybrid join.
    link: https://learn.microsoft.com/autopilot/tutorial/user-driven/hybrid-azure-ad-join-automatic-enrollment
  - name: Update mobilityManagementPolicy
    description: Microsoft Graph beta reference.
    link: https://learn.microsoft.com/graph/api/mobiledevicemanagementpolicies-update?view=graph-rest-beta
"""

EXAMPLES = r"""
# The run shows "open https://microsoft.com/devicelogin ... enter the code ..." on the controller (the terminal, or
# an AWX job's output) and waits for an admin to sign in; public_client_id is an app registration with
# "Allow public client flows" on and the delegated permission Policy.ReadWrite.MobilityManagement, consented.
- name: Enroll every user's Windows devices automatically, as an admin signed in with a device code
  intune.autopilot.automatic_enrollment:
    auth_source: device_code
    tenant_id: "{{ tenant_id }}"
    client_id: "{{ public_client_id }}"
    scope: all

- name: Enroll only the pilot users, giving the admin ten minutes to sign in
  intune.autopilot.automatic_enrollment:
    auth_source: device_code
    tenant_id: "{{ tenant_id }}"
    client_id: "{{ public_client_id }}"
    device_code_timeout: 600
    scope: selected
    groups:
      set: [Autopilot-Pilot-Users]

- name: Add a group to the selected users, with a delegated token obtained elsewhere
  intune.autopilot.automatic_enrollment:
    access_token: "{{ delegated_graph_token }}"
    scope: selected
    groups:
      add: [Autopilot-Wave2-Users]

- name: Keep Microsoft's default MDM URLs, putting them back if someone changed (or never set) them
  intune.autopilot.automatic_enrollment:
    auth_source: device_code
    tenant_id: "{{ tenant_id }}"
    client_id: "{{ public_client_id }}"
    terms_of_use_url: https://portal.manage.microsoft.com/TermsofUse.aspx
    discovery_url: https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc
    compliance_url: https://portal.manage.microsoft.com/?portalAction=Compliance
"""

RETURN = r"""
policy_id:
  description: Graph ID of the Microsoft Intune mobility policy.
  returned: always
  type: str
  sample: 0000000a-0000-0000-c000-000000000000
before:
  description: The MDM user scope, its groups' display names (or IDs) and the URLs before the run.
  returned: always
  type: dict
  sample:
    scope: all
    groups: []
    terms_of_use_url: https://portal.manage.microsoft.com/TermsofUse.aspx
    discovery_url: https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc
    compliance_url: https://portal.manage.microsoft.com/?portalAction=Compliance
after:
  description: The same after the run (in check mode, what the run would make).
  returned: always
  type: dict
  sample:
    scope: selected
    groups: [Autopilot-Pilot-Users]
    terms_of_use_url: https://portal.manage.microsoft.com/TermsofUse.aspx
    discovery_url: https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc
    compliance_url: https://portal.manage.microsoft.com/?portalAction=Compliance
resolved_groups:
  description:
    - The group names this run looked up and their IDs, which the action plugin keeps for the rest of the run.
  returned: when a group name was looked up
  type: dict
  sample: {Autopilot-Pilot-Users: 6e1e0c5a-3f8b-4f51-9a8e-2c1d3b4a5f60}
"""

from ansible_collections.intune.autopilot.plugins.module_utils._graph.mobility_policy import run_module


def main():
    run_module()


if __name__ == "__main__":
    main()
