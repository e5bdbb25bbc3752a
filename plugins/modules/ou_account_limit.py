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

- name: Use a Kerberos ticket (kinit svc-ou-admin@CONTOSO.COM beforehand)
  intune.autopilot.ou_account_limit:
    server: [dc01.contoso.com]
    auth: kerberos
    ou: ["OU=Autopilot,DC=contoso,DC=com"]  # quoted: unquoted, YAML would read three entries
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

from ansible_collections.intune.autopilot.plugins.module_utils._ad.dacl import (
    HAS_WINACL,
    WINACL_IMPORT_ERROR,
    DescriptorFormatError,
    plan_delegation,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dn import dn_key, normalise_dn, split_dn
from ansible_collections.intune.autopilot.plugins.module_utils._ad.directory import (
    DirectoryError,
    can_write_dacl,
    machine_account_quota,
    read_dacl,
    resolve_principal,
    write_dacl,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.connection import (
    CONNECTION_LOST_ERRORS,
    HAS_LDAP3,
    LDAP3_IMPORT_ERROR,
    LDAP_CONNECTION_ARGUMENT_SPEC,
    LdapConnectionError,
    connect,
    default_naming_context,
    describe_loss,
    describe_server,
    reconnect,
    release,
)

# Re-plans allowed when the DACL keeps changing under us; more would only hide a fight with another tool.
MAX_WRITE_ATTEMPTS = 5


class ConnectionLost(Exception):
    """The connection to the DC broke after the bind; the message says what was written."""

    def __init__(self, message, changed):
        super().__init__(message)
        self.changed = changed


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
        module.exit_json(**delegate(module))
    except LdapConnectionError as error:
        module.fail_json(msg=error.message, reason=error.reason)
    except ConnectionLost as error:
        module.fail_json(msg=str(error), reason="connection_lost", changed=error.changed)
    except (DirectoryError, DescriptorFormatError) as error:
        module.fail_json(msg=str(error))


def delegate(module):
    params = module.params
    ous = unique_ous(params["ou"])
    connection = connect(params)
    try:
        try:
            base_dn = default_naming_context(connection)
            principal = resolve_principal(connection, base_dn, params["principal"])

            # Read and check every OU before the first write, so bad input never leaves a half-done run.
            snapshots = [read_dacl(connection, dn) for dn in ous]
            plans = [plan_delegation(snapshot.descriptor, principal.sid, params["rights"], params["state"])
                     for snapshot in snapshots]
            not_writable = [plan_dn for plan_dn, plan in zip(ous, plans)
                            if plan.changed and not can_write_dacl(connection, plan_dn)]
            quota = machine_account_quota(connection, base_dn)
        except CONNECTION_LOST_ERRORS as error:
            raise ConnectionLost(
                f"The connection to {describe_server(connection)} broke before anything was written ({describe_loss(error)}); "
                "nothing was written. Run the task again.", changed=False,
            ) from None
        if not_writable:
            raise DirectoryError(
                f"The bind account {params.get('username') or '(Kerberos ticket)'} may not change the permissions of "
                f"{', '.join(not_writable)}; give it 'Modify permissions' (WRITE_DAC) on those OUs. Nothing was changed."
            )
        if not module.check_mode:
            plans = write_all(connection, params, snapshots, principal.sid)
    finally:
        release(connection)

    ou_results = [
        dict(
            dn=dn,
            changed=plan.changed,
            aces_added=[ace.to_sddl() for ace in plan.added],
            aces_removed=[ace.to_sddl() for ace in plan.removed],
            still_granting=[ace.to_sddl() for ace in plan.still_granting],
        )
        for dn, plan in zip(ous, plans)
    ]
    for ou_result in ou_results:
        if ou_result["still_granting"]:
            module.warn(
                f"{principal.sam_account_name} keeps these rights on {ou_result['dn']} through ACEs that grant more "
                f"than rights={params['rights']} and were left alone: {' '.join(ou_result['still_granting'])}"
            )
    result = dict(
        changed=any(plan.changed for plan in plans),
        principal=dict(dn=principal.dn, sid=principal.sid, sam_account_name=principal.sam_account_name),
        ous=ou_results,
        machine_account_quota=quota,
    )
    if module._diff:
        result["diff"] = [
            dict(before_header=f"{dn} (explicit ACEs)", after_header=f"{dn} (explicit ACEs)",
                 before=plan.before.explicit_sddl(), after=plan.after.explicit_sddl())
            for dn, plan in zip(ous, plans)
        ]
    return result


def unique_ous(ous):
    """The OUs written the one way ad_dn spells DNs, without repeats (same key, same OU)."""
    seen = set()
    unique = []
    partial = []
    for value in ous:
        rdns = split_dn(value)
        if rdns is None:
            raise DirectoryError(f"ou {value!r} is not a distinguished name; write it like OU=Autopilot,DC=contoso,DC=com.")
        if rdns[0][0] not in ("OU", "CN") or rdns[-1][0] != "DC":
            partial.append(value)
        elif dn_key(value) not in seen:
            seen.add(dn_key(value))
            unique.append(normalise_dn(value))
    if partial:
        # The usual cause: ou: [OU=Autopilot,DC=contoso,DC=com] is a YAML flow list of three strings.
        raise DirectoryError(
            f"ou {', '.join(repr(value) for value in partial)}: not the full DN of an OU, which starts with OU= "
            "(or CN= for a container) and ends with the domain's DC= parts, like OU=Autopilot,DC=contoso,DC=com. "
            "YAML reads ou: [OU=Autopilot,DC=contoso,DC=com] as three entries; write ou as a block list or quote the DN."
        )
    if not unique:
        raise DirectoryError("ou is empty; give at least one OU DN, for example OU=Autopilot,DC=contoso,DC=com.")
    return unique


def write_all(connection, params, snapshots, sid):
    """Write the OUs in turn; when the connection breaks, find out what the DC holds and say so."""
    plans = []
    for snapshot in snapshots:
        try:
            plans.append(write_with_retry(connection, snapshot, sid, params["rights"], params["state"]))
        except CONNECTION_LOST_ERRORS as error:
            raise lost_while_writing(connection, params, sid, snapshots, plans, error) from None
    return plans


def lost_while_writing(connection, params, sid, snapshots, plans, error):
    """The ConnectionLost for a break while snapshots[len(plans)] was being written, after reading it again.

    Whether the DC carried out a modify whose answer never came cannot be known from this side, so
    the OU's DACL is read again over a new connection to the same DC.
    """
    snapshot = snapshots[len(plans)]
    intended = plan_delegation(snapshot.descriptor, sid, params["rights"], params["state"])
    aces = intended.added or intended.removed
    label = f"ACE{'' if len(aces) == 1 else 's'} {' '.join(ace.to_sddl() for ace in aces)}"
    it, its, is_, was = ("it", "its", "is", "was") if len(aces) == 1 else ("they", "their", "are", "were")
    message = (f"The connection to {describe_server(connection)} broke while writing the permissions of {snapshot.dn!r} "
               f"({describe_loss(error)}). ")
    try:
        current = read_again(connection, params, snapshot.dn)
    except (LdapConnectionError, DirectoryError, DescriptorFormatError, *CONNECTION_LOST_ERRORS) as reread_error:
        written = None
        what = f"the {label} {was}" if params["state"] == "present" else f"the removal of the {label} was"
        message += (f"Reading it again failed ({reread_error}), so it is unknown whether {what} written to {snapshot.dn!r}; "
                    "re-run the task, it is idempotent.")
    else:
        written = not plan_delegation(current.descriptor, sid, params["rights"], params["state"]).changed
        outcome = {
            ("present", True): f"{is_} present: {it} {was} written",
            ("present", False): f"{is_} not present: {it} {was} not written",
            ("absent", True): f"{is_} gone: {its} removal was written",
            ("absent", False): f"{is_} still there: {its} removal was not written",
        }[params["state"], written]
        message += f"Read again over a new connection, the {label} {outcome}."
    written_before = [done.dn for done, plan in zip(snapshots, plans) if plan.changed]
    not_attempted = [later.dn for later in snapshots[len(plans) + 1:]]
    if written_before:
        message += f" Written before it: {', '.join(written_before)}."
    if not_attempted:
        message += f" Not attempted: {', '.join(not_attempted)}."
    if written is not None:
        message += " Run the task again to finish; it is idempotent."
    # A write that may have happened counts as a change, so that nothing relying on changed misses one.
    return ConnectionLost(message, changed=bool(written_before) or written is not False)


def read_again(connection, params, dn):
    """dn's DACL over a new bind to the DC that was being written; another DC may not have the write yet."""
    fresh = reconnect(connection, params)
    try:
        return read_dacl(fresh, dn)
    finally:
        release(fresh)


def write_with_retry(connection, snapshot, sid, rights, state):
    """Write the planned DACL unless someone changed it since it was read; then plan again.

    Returns the plan that was written (or found already satisfied).
    """
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        plan = plan_delegation(snapshot.descriptor, sid, rights, state)
        if not plan.changed:
            return plan
        current = read_dacl(connection, snapshot.dn)
        if (current.raw, current.version) != (snapshot.raw, snapshot.version):
            snapshot = current
            continue
        write_dacl(connection, snapshot.dn, plan.after)
        written = read_dacl(connection, snapshot.dn)
        if current.version and written.version != current.version + 1:
            raise DirectoryError(
                f"Someone else wrote the permissions of {snapshot.dn!r} at the same moment as this module "
                f"(descriptor version {current.version} became {written.version}, one write expected); "
                f"their change may have been replaced. Explicit ACEs now:\n{written.descriptor.explicit_sddl()}"
            )
        return plan
    raise DirectoryError(
        f"The permissions of {snapshot.dn!r} changed every time they were read ({MAX_WRITE_ATTEMPTS} attempts); "
        "another tool is editing them. Nothing more was written; run again when it has finished."
    )


if __name__ == "__main__":
    main()
