# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tutorial step 2 in AD: does the connector's account exist and hold the step 3 right on the domain join OU?
And is the domain the caller names the DC's own, with the OU in it?

Read-only. The right is judged by the same plan ou_account_limit writes from (dacl.plan_delegation):
an account holds it when delegating to it would add nothing.
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
    release,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dacl import DescriptorFormatError, plan_delegation
from ansible_collections.intune.autopilot.plugins.module_utils._ad.directory import (
    DirectoryError,
    account_kind,
    find_computer_account,
    find_connector_msas,
    read_dacl,
    read_domain,
    resolve_principal,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dn import split_dn

KIND_LABELS = {
    "managed_service_account": "managed service account",
    "group_managed_service_account": "group managed service account",
    "computer": "computer account",
    "user": "user account",
    "other": "account",
}


class ConnectorRightsError(Exception):
    """The directory could not be read (bind refused, connection lost); reason as in LdapConnectionError."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class ConnectorAccount:
    sam_account_name: str
    dn: str
    sid: str
    kind: str
    # The connector server (as Graph names it) whose computer account this is; None for a service account.
    server: str | None
    holds_right: bool | None

    def label(self) -> str:
        server = f" of connector server {self.server}" if self.server else ""
        return f"{self.sam_account_name} ({KIND_LABELS[self.kind]}{server})"

    def as_result(self) -> dict:
        return dict(sam_account_name=self.sam_account_name, dn=self.dn, sid=self.sid, kind=self.kind,
                    server=self.server, holds_right=self.holds_right)


def check_connector_rights(params: dict, ou: str, principal: str | None, rights: str, server_names: list[str],
                           domain_name: str | None = None, domain_only: bool = False) -> tuple[list[dict], list[dict], list[str], dict]:
    """(checks, accounts, warnings, domain) for the connector's accounts and their right on ou, in one bind.

    params: the LDAP connection options. principal: the account to check, or None to look for the
    msaODJ* accounts and the computer accounts of server_names (the connector servers Graph lists).
    domain_name: the domain's DNS name the caller expects; adds the check `domain`, and domain is then the DC's
    {naming_context, dns_name} (else None). domain_only: only that check.
    Raises ConnectorRightsError when the directory cannot be read at all.
    """
    try:
        connection = connect(params)
    except LdapConnectionError as error:
        raise ConnectorRightsError(error.message, reason=error.reason) from None
    try:
        checks, domain = [], None
        if domain_name is not None:
            try:
                found = read_domain(connection)
            except DirectoryError as error:
                raise ConnectorRightsError(str(error), reason="no_domain") from None
            checks.append(_domain_check(found, domain_name, ou))
            domain = dict(naming_context=found.naming_context, dns_name=found.dns_name)
        if domain_only:
            return checks, [], [], domain
        more_checks, accounts, warnings = _check(connection, ou, principal, rights, server_names)
        return checks + more_checks, accounts, warnings, domain
    except CONNECTION_LOST_ERRORS as error:
        raise ConnectorRightsError(
            f"The connection to {describe_server(connection)} broke ({describe_loss(error)}); run the check again.",
            reason="connection_lost") from None
    except LdapConnectionError as error:
        raise ConnectorRightsError(error.message, reason=error.reason) from None
    finally:
        release(connection)


def _check(connection, ou, principal, rights, server_names):
    base_dn = default_naming_context(connection)
    checks = []
    try:
        accounts = _find_accounts(connection, base_dn, principal, server_names)
    except DirectoryError as error:  # a named principal that is missing or ambiguous
        checks.append(dict(name="connector_account", passed=False, reason=str(error)))
        accounts = []
    else:
        checks.append(_account_check(accounts, base_dn, principal, server_names))
    try:
        descriptor = read_dacl(connection, ou).descriptor
    except (DirectoryError, DescriptorFormatError) as error:
        checks.append(dict(name="domain_join_ou_right", passed=False, reason=str(error)))
        return checks, [account.as_result() for account in accounts], []
    accounts = [
        ConnectorAccount(account.sam_account_name, account.dn, account.sid, account.kind, account.server,
                         holds_right=not plan_delegation(descriptor, account.sid, rights, "present").changed)
        for account in accounts
    ]
    holders = [account for account in accounts if account.holds_right]
    if holders:
        checks.append(dict(name="domain_join_ou_right", passed=True, reason=(
            f"May create computer objects in {ou} (rights={rights}): {', '.join(account.label() for account in holders)}.")))
    elif accounts:
        grant_to = next((account for account in accounts if account.kind != "computer"), accounts[0])
        checks.append(dict(name="domain_join_ou_right", passed=False, reason=(
            f"None of {', '.join(account.label() for account in accounts)} may create computer objects in {ou} "
            f"(rights={rights}); grant it with intune.autopilot.ou_account_limit (tutorial step 3): "
            f"ou={ou} principal={grant_to.sam_account_name} rights={rights}.")))
    else:
        checks.append(dict(name="domain_join_ou_right", passed=False,
                           reason=f"No connector account to check on {ou}; see the connector_account check."))
    warnings = []
    if holders and all(account.kind == "computer" for account in holders):
        warnings.append(
            f"Only computer accounts hold the right on {ou} ({', '.join(account.sam_account_name for account in holders)}): "
            "that serves a legacy connector, which runs as its server's computer account. Connectors from version "
            "6.2501 on run as a managed service account (msaODJ*), which then needs the right instead.")
    return checks, [account.as_result() for account in accounts], warnings


def _domain_check(domain, domain_name: str, ou: str) -> dict:
    """The expected domain is the DC's (by DNS name, case and a final dot aside), and ou lies in it."""
    expected = domain_name.strip().rstrip(".").lower()
    problems = []
    if expected != domain.dns_name:
        problems.append(f"The domain controller's domain is {domain.dns_name} ({domain.naming_context}), not {domain_name}: "
                        f"name {domain.dns_name} as the domain, or connect to a domain controller of {domain_name}.")
    # The OU's DC= parts name the domain it is in: all of them must be the naming context's, so an OU of a child
    # domain (DC=child,DC=contoso,DC=com) is not taken for one of contoso.com.
    rdns = split_dn(ou) or []
    ou_domain = [(kind, value.lower()) for kind, value in rdns if kind == "DC"]
    in_domain = len(rdns) > len(ou_domain) and ou_domain == [(kind, value.lower()) for kind, value in split_dn(domain.naming_context) or []]
    if not in_domain:
        problems.append(f"The OU {ou} is not in the domain controller's domain {domain.dns_name} ({domain.naming_context}): "
                        f"give an OU under {domain.naming_context}.")
    if problems:
        return dict(name="domain", passed=False, reason=" ".join(problems))
    return dict(name="domain", passed=True, reason=f"The domain controller's domain is {domain.dns_name} ({domain.naming_context}), "
                                                   f"and {ou} is in it.")


def _find_accounts(connection, base_dn, principal, server_names):
    if principal is not None:
        found = resolve_principal(connection, base_dn, principal)
        kind = account_kind(connection, found.dn)
        return [ConnectorAccount(found.sam_account_name, found.dn, found.sid, kind, None, None)]
    accounts = [ConnectorAccount(msa.sam_account_name, msa.dn, msa.sid, "managed_service_account", None, None)
                for msa in find_connector_msas(connection, base_dn)]
    for server in server_names:
        computer = find_computer_account(connection, base_dn, server)
        if computer is not None and computer.sid not in {account.sid for account in accounts}:
            accounts.append(ConnectorAccount(computer.sam_account_name, computer.dn, computer.sid, "computer", server, None))
    return accounts


def _account_check(accounts, base_dn, principal, server_names):
    if accounts:
        found = "; ".join(account.label() for account in accounts)
        return dict(name="connector_account", passed=True, reason=f"Found {found}.")
    servers = f" and no computer account of the connector servers {', '.join(server_names)}" if server_names else ""
    return dict(name="connector_account", passed=False, reason=(
        f"No msaODJ* managed service account under {base_dn}{servers}. The updated connector creates its msaODJ* "
        "account when it is signed in (the installing account needs the right to create msDS-ManagedServiceAccount "
        "objects in the Managed Service Accounts container); with a custom sMSA/gMSA or a legacy connector, set principal."))
