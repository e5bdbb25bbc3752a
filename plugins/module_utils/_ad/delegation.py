# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Delegating computer-object creation on OUs: read every OU, plan, write each DACL and verify it.

The steps (tutorial step 3), in order:
  - read: resolve the principal, read every OU's DACL, plan the change and check that the bind account
    may write where a change is planned (read_delegation_state, reusable by checks that never write);
  - write: per OU, read the DACL again right before the write and plan again on top of a concurrent
    change (a bounded number of times), write, and check that the descriptor's version in
    replPropertyMetaData went up by exactly one;
  - when the connection breaks after the bind, say what was written; a break while an OU was being
    written is followed by a read of that OU over a new connection to the same DC.

Every failure is raised as DelegationError, so the module reports it once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.intune.autopilot.plugins.module_utils._ad.connection import (
    CONNECTION_LOST_ERRORS,
    LdapConnectionError,
    connect,
    default_naming_context,
    describe_loss,
    describe_server,
    reconnect,
    release,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dacl import (
    DelegationPlan,
    DescriptorFormatError,
    plan_delegation,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.directory import (
    DaclSnapshot,
    DirectoryError,
    Principal,
    can_write_dacl,
    machine_account_quota,
    read_dacl,
    resolve_principal,
    write_dacl,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dn import dn_key, normalise_dn, split_dn

# Re-plans allowed when the DACL keeps changing under us; more would only hide a fight with another tool.
MAX_WRITE_ATTEMPTS = 5


class DelegationError(Exception):
    """Delegating failed; message says why and what to do.

    reason is None or a machine-readable cause: the LdapConnectionError reasons of a failed bind, or
    "connection_lost" when the connection broke after it. changed says whether anything was (or may
    have been) written before the failure.
    """

    def __init__(self, message: str, reason: str | None = None, changed: bool = False):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.changed = changed


@dataclass(frozen=True)
class DelegationState:
    """What the directory holds for the OUs, and what delegating would change; nothing is written to read it."""

    base_dn: str
    principal: Principal
    snapshots: tuple[DaclSnapshot, ...]
    plans: tuple[DelegationPlan, ...]
    # OUs whose DACL needs a change that the bind account may not make.
    not_writable: tuple[str, ...]
    machine_account_quota: int | None


def unique_ous(ous: list[str]) -> list[str]:
    """The OUs written the one way _ad.dn spells DNs, without repeats (same key, same OU)."""
    seen = set()
    unique = []
    partial = []
    for value in ous:
        rdns = split_dn(value)
        if rdns is None:
            raise DelegationError(f"ou {value!r} is not a distinguished name; write it like OU=Autopilot,DC=contoso,DC=com.")
        if rdns[0][0] not in ("OU", "CN") or rdns[-1][0] != "DC":
            partial.append(value)
        elif dn_key(value) not in seen:
            seen.add(dn_key(value))
            unique.append(normalise_dn(value))
    if partial:
        # The usual cause: ou: [OU=Autopilot,DC=contoso,DC=com] is a YAML flow list of three strings.
        raise DelegationError(
            f"ou {', '.join(repr(value) for value in partial)}: not the full DN of an OU, which starts with OU= "
            "(or CN= for a container) and ends with the domain's DC= parts, like OU=Autopilot,DC=contoso,DC=com. "
            "YAML reads ou: [OU=Autopilot,DC=contoso,DC=com] as three entries; write ou as a block list or quote the DN."
        )
    if not unique:
        raise DelegationError("ou is empty; give at least one OU DN, for example OU=Autopilot,DC=contoso,DC=com.")
    return unique


def read_delegation_state(connection, ous: list[str], principal: str | None, rights: str, state: str) -> DelegationState:
    """Read and plan every OU on a bound connection.

    Raises DirectoryError or DescriptorFormatError for a missing or unusable object, LdapConnectionError
    for a DC that is not an AD DC, and CONNECTION_LOST_ERRORS when the connection breaks.
    """
    base_dn = default_naming_context(connection)
    account = resolve_principal(connection, base_dn, principal)
    snapshots = tuple(read_dacl(connection, dn) for dn in ous)
    plans = tuple(plan_delegation(snapshot.descriptor, account.sid, rights, state) for snapshot in snapshots)
    not_writable = tuple(dn for dn, plan in zip(ous, plans) if plan.changed and not can_write_dacl(connection, dn))
    quota = machine_account_quota(connection, base_dn)
    return DelegationState(base_dn, account, snapshots, plans, not_writable, quota)


def delegate(params: dict, check_mode: bool = False, diff: bool = False) -> tuple[dict, list[str]]:
    """Grant or remove params['rights'] for params['principal'] on params['ou']; the result and warnings.

    params holds the LDAP connection options and ou, principal, rights and state. Raises DelegationError.
    """
    ous = unique_ous(params["ou"])
    try:
        connection = connect(params)
    except LdapConnectionError as error:
        raise DelegationError(error.message, reason=error.reason) from None
    try:
        try:
            current = read_delegation_state(connection, ous, params["principal"], params["rights"], params["state"])
        except CONNECTION_LOST_ERRORS as error:
            raise DelegationError(
                f"The connection to {describe_server(connection)} broke before anything was written ({describe_loss(error)}); "
                "nothing was written. Run the task again.", reason="connection_lost",
            ) from None
        except (DirectoryError, DescriptorFormatError) as error:
            raise DelegationError(str(error)) from None
        except LdapConnectionError as error:
            raise DelegationError(error.message, reason=error.reason) from None
        if current.not_writable:
            raise DelegationError(
                f"The bind account {params.get('username') or '(Kerberos ticket)'} may not change the permissions of "
                f"{', '.join(current.not_writable)}; give it 'Modify permissions' (WRITE_DAC) on those OUs. Nothing was changed."
            )
        plans = current.plans
        if not check_mode:
            plans = _write_all(connection, params, current.snapshots, current.principal.sid)
    finally:
        release(connection)
    return _result(params, current, plans, diff)


def _result(params: dict, current: DelegationState, plans, diff: bool) -> tuple[dict, list[str]]:
    ou_results = [
        dict(
            dn=snapshot.dn,
            changed=plan.changed,
            aces_added=[ace.to_sddl() for ace in plan.added],
            aces_removed=[ace.to_sddl() for ace in plan.removed],
            still_granting=[ace.to_sddl() for ace in plan.still_granting],
        )
        for snapshot, plan in zip(current.snapshots, plans)
    ]
    warnings = [
        f"{current.principal.sam_account_name} keeps these rights on {ou_result['dn']} through ACEs that grant more "
        f"than rights={params['rights']} and were left alone: {' '.join(ou_result['still_granting'])}"
        for ou_result in ou_results if ou_result["still_granting"]
    ]
    principal = current.principal
    result = dict(
        changed=any(plan.changed for plan in plans),
        principal=dict(dn=principal.dn, sid=principal.sid, sam_account_name=principal.sam_account_name),
        ous=ou_results,
        machine_account_quota=current.machine_account_quota,
    )
    if diff:
        result["diff"] = [
            dict(before_header=f"{snapshot.dn} (explicit ACEs)", after_header=f"{snapshot.dn} (explicit ACEs)",
                 before=plan.before.explicit_sddl(), after=plan.after.explicit_sddl())
            for snapshot, plan in zip(current.snapshots, plans)
        ]
    return result, warnings


def _write_all(connection, params: dict, snapshots, sid: str) -> list[DelegationPlan]:
    """Write the OUs in turn; when the connection breaks, find out what the DC holds and say so."""
    plans: list[DelegationPlan] = []
    for snapshot in snapshots:
        try:
            plans.append(_write_with_retry(connection, snapshot, sid, params["rights"], params["state"]))
        except CONNECTION_LOST_ERRORS as error:
            raise _lost_while_writing(connection, params, sid, snapshots, plans, error) from None
        except _WrittenError as error:
            # This OU was written (the version check failed after the write).
            raise DelegationError(str(error), changed=True) from None
        except (DirectoryError, DescriptorFormatError) as error:
            raise DelegationError(str(error), changed=any(plan.changed for plan in plans)) from None
    return plans


class _WrittenError(DirectoryError):
    """The write went through, yet its outcome is wrong (someone else wrote within the same moment)."""


def _write_with_retry(connection, snapshot: DaclSnapshot, sid: str, rights: str, state: str) -> DelegationPlan:
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
            raise _WrittenError(
                f"Someone else wrote the permissions of {snapshot.dn!r} at the same moment as this module "
                f"(descriptor version {current.version} became {written.version}, one write expected); "
                f"their change may have been replaced. Explicit ACEs now:\n{written.descriptor.explicit_sddl()}"
            )
        return plan
    raise DirectoryError(
        f"The permissions of {snapshot.dn!r} changed every time they were read ({MAX_WRITE_ATTEMPTS} attempts); "
        "another tool is editing them. Nothing more was written; run again when it has finished."
    )


def _lost_while_writing(connection, params: dict, sid: str, snapshots, plans, error: Exception) -> DelegationError:
    """The error for a break while snapshots[len(plans)] was being written, after reading it again.

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
        current = _read_again(connection, params, snapshot.dn)
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
    return DelegationError(message, reason="connection_lost", changed=bool(written_before) or written is not False)


def _read_again(connection, params: dict, dn: str) -> DaclSnapshot:
    """dn's DACL over a new bind to the DC that was being written; another DC may not have the write yet."""
    fresh = reconnect(connection, params)
    try:
        return read_dacl(fresh, dn)
    finally:
        release(fresh)
