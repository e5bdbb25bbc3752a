#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ou_account_limit
short_description: Let the Intune Connector create computer objects in OUs (Autopilot hybrid join step 3)
version_added: 0.1.0
description:
  - Grants the Intune Connector for Active Directory's identity the right to create computer objects
    in one or more OUs, so that hybrid-joined Autopilot devices are not stopped by
    C(ms-DS-MachineAccountQuota) (10 by default). This is step 3 of the tutorial
    "Windows Autopilot user-driven Microsoft Entra hybrid join".
  - Reads and writes only the DACL (with the SD-flags control), adds the missing ACEs in canonical
    order and leaves every other ACE byte for byte as it was; inherited ACEs are never touched.
  - An explicit allow ACE for the principal that already grants at least the rights, with the same
    object type, inherited object type and scope, counts as present (GENERIC_ALL as AD stores it,
    V(0xF01FF), included).
  - The DACL is read again right before each write; if it changed since it was read, the change is
    planned again on top of what is there now (a bounded number of times), so another
    administrator's concurrent edit is kept. After the write, the descriptor's version counter must
    have gone up by exactly one; otherwise the module fails and says that someone wrote within the
    same moment.
  - A failure after an OU was written (that version check, or a later OU that fails) reports
    C(changed=true), so that the write is not missed.
  - Everything is checked before the first write. Every OU exists and its permissions are readable
    and changeable by the bind account, and the principal resolves to exactly one account.
  - When the connection to the DC breaks after the bind (or an answer does not come within
    O(operation_timeout)), the task fails with C(reason=connection_lost) and says what was written.
    Before the first write, nothing was. While an OU is being written, the module binds again to the
    same DC, reads that OU's DACL and reports whether the ACEs are there, and which OUs were written
    before it; if it cannot read the OU again it says the outcome is unknown. C(changed) is true when a
    write was found, or may have happened. Running the task again finishes the job, as it is idempotent.
  - The domain's C(ms-DS-MachineAccountQuota) is reported, never changed (the tutorial does not change it).
author:
  - intune.autopilot developers (!UNKNOWN)
extends_documentation_fragment:
  - intune.autopilot.ldap_connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows each OU's explicit ACEs before and after, in SDDL, one per line.
  platform:
    platforms: posix
options:
  ou:
    description:
      - Distinguished names of the OUs to delegate, for example V(OU=Autopilot,DC=contoso,DC=com).
      - Each entry is one full DN, starting with V(OU=) (or V(CN=) for a container) and ending with the
        domain's V(DC=) parts. Write the list as a YAML block list or quote each DN, because YAML reads
        the unquoted flow list C([OU=Autopilot,DC=contoso,DC=com]) as three entries (which are refused).
      - Use the OU set in the Domain Join profile (tutorial step 8); the two must agree or joins fail.
        Both modules read DNs alike, so spaces around V(=) and V(,) and the case of attribute types and
        values do not matter; escapes such as V(\\,) are kept as written.
    type: list
    elements: str
    required: true
  principal:
    description:
      - The connector's identity, by sAMAccountName (V(msaODJ12345$); the trailing V($) may be left
        out), distinguished name or SID.
      - When omitted, the domain is searched for the managed service account the updated connector
        creates (C(msDS-ManagedServiceAccount) named C(msaODJ*)); finding none or several is an error
        that lists what was found.
      - For O(rights=legacy) give the connector server's computer account, for example V(CONNECTOR01$).
    type: str
  rights:
    description:
      - V(msa) is the updated connector (tutorial step 3, "Create Computer objects" on this object only),
        one ACE C((OA;;CC;bf967a86-0de6-11d0-a285-00aa003049e2;;SID)).
      - V(legacy) is the legacy connector (Delegation of Control Wizard, computer objects, Full Control),
        two ACEs C((OA;CI;CCDC;bf967a86-0de6-11d0-a285-00aa003049e2;;SID)) and
        C((OA;CIIO;CCDCLCSWRPWPDTLOCRSDRCWDWO;;bf967a86-0de6-11d0-a285-00aa003049e2;SID)).
    type: str
    choices: [msa, legacy]
    default: msa
  state:
    description:
      - V(present) adds the ACEs that are missing.
      - V(absent) removes only the explicit ACEs for O(principal) that are exactly the ones O(rights)
        describes. ACEs that grant more are kept and reported in RV(ous[].still_granting).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Samba does not accept the atomic delete-old-value plus add-new-value modification of
    C(nTSecurityDescriptor), so concurrent edits are detected by re-reading and by the descriptor's
    version in C(replPropertyMetaData) instead.
seealso:
  - name: "Tutorial: increase the computer account limit in the Organizational Unit"
    description: Step 3 of the user-driven Microsoft Entra hybrid join tutorial.
    link: https://learn.microsoft.com/autopilot/tutorial/user-driven/hybrid-azure-ad-join-computer-account-limit
"""

EXAMPLES = r"""
- name: Let the updated connector's managed service account create computers in the Autopilot OU
  intune.autopilot.ou_account_limit:
    server: [dc01.contoso.com, dc02.contoso.com]
    ca_path: /etc/pki/contoso-root-ca.pem
    username: svc-ou-admin@contoso.com
    password: "{{ ou_admin_password }}"
    ou:
      - OU=Autopilot,OU=Devices,DC=contoso,DC=com
  # principal omitted: the msaODJ* account is discovered

- name: Legacy connector - delegate to the connector server's computer account, over StartTLS
  intune.autopilot.ou_account_limit:
    server: [dc01.contoso.com]
    tls_mode: start_tls
    username: svc-ou-admin@contoso.com
    password: "{{ ou_admin_password }}"
    ou:
      - OU=Autopilot,DC=contoso,DC=com
    principal: INTUNECONN01$
    rights: legacy

- name: Remove the delegation again
  intune.autopilot.ou_account_limit:
    server: [dc01.contoso.com]
    username: svc-ou-admin@contoso.com
    password: "{{ ou_admin_password }}"
    ou:
      - OU=Autopilot,DC=contoso,DC=com
    principal: msaODJ12345$
    state: absent

- name: Use a Kerberos ticket (kinit svc-ou-admin@CONTOSO.COM beforehand; needs the Python package gssapi)
  intune.autopilot.ou_account_limit:
    server: [dc01.contoso.com]
    auth: kerberos
    ou: ["OU=Autopilot,DC=contoso,DC=com"]  # quoted: unquoted, YAML would read three entries

- name: Bind with NTLM (needs MD4; where OpenSSL 3 lacks it, pip install pycryptodome)
  intune.autopilot.ou_account_limit:
    server: [dc01.contoso.com]
    ca_path: /etc/pki/contoso-root-ca.pem
    auth: ntlm
    username: CONTOSO\svc-ou-admin
    password: "{{ ou_admin_password }}"
    ou:
      - OU=Autopilot,DC=contoso,DC=com
"""

RETURN = r"""
principal:
  description: The account the rights were granted to or removed from.
  returned: success
  type: dict
  contains:
    dn:
      description: Its distinguished name.
      type: str
      sample: CN=msaODJ12345,CN=Managed Service Accounts,DC=contoso,DC=com
    sid:
      description: Its objectSid.
      type: str
      sample: S-1-5-21-1004336348-1177238915-682003330-1105
    sam_account_name:
      description: Its sAMAccountName.
      type: str
      sample: msaODJ12345$
ous:
  description: One entry per OU, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    dn:
      description: The OU, with the spaces around V(=) and V(,) removed and attribute types in upper case.
      type: str
      sample: OU=Autopilot,DC=contoso,DC=com
    changed:
      description: Whether its DACL was (or in check mode would be) changed.
      type: bool
    aces_added:
      description: ACEs added, in SDDL.
      type: list
      elements: str
      sample: ["(OA;;CC;bf967a86-0de6-11d0-a285-00aa003049e2;;S-1-5-21-1004336348-1177238915-682003330-1105)"]
    aces_removed:
      description: ACEs removed, in SDDL.
      type: list
      elements: str
      sample: []
    still_granting:
      description:
        - With O(state=absent), explicit ACEs for the principal that were kept because they grant more
          than O(rights) describes, yet still grant those rights.
      type: list
      elements: str
      sample: []
machine_account_quota:
  description:
    - The domain's C(ms-DS-MachineAccountQuota), the number of computers an ordinary account may join
      without delegated rights. Null when the bind account cannot read it.
  returned: success
  type: int
  sample: 10
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.intune.autopilot.plugins.module_utils._ad.connection import (
    HAS_LDAP3,
    LDAP3_IMPORT_ERROR,
    LDAP_CONNECTION_ARGUMENT_SPEC,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dacl import HAS_WINACL, WINACL_IMPORT_ERROR
from ansible_collections.intune.autopilot.plugins.module_utils._ad.delegation import DelegationError, delegate


def main():
    argument_spec = dict(
        LDAP_CONNECTION_ARGUMENT_SPEC,
        ou=dict(type="list", elements="str", required=True),
        principal=dict(type="str"),
        rights=dict(type="str", choices=["msa", "legacy"], default="msa"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_LDAP3:
        module.fail_json(msg=missing_required_lib("ldap3"), exception=str(LDAP3_IMPORT_ERROR))
    if not HAS_WINACL:
        module.fail_json(msg=missing_required_lib("winacl"), exception=str(WINACL_IMPORT_ERROR))
    try:
        result, warnings = delegate(module.params, check_mode=module.check_mode, diff=module._diff)
    except DelegationError as error:
        failure = dict(msg=error.message, changed=error.changed)
        if error.reason:
            failure["reason"] = error.reason
        module.fail_json(**failure)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
