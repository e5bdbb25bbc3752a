# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Directory reads and writes for OU delegation: principals, DACLs, the machine account quota and the DC's domain."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ansible_collections.intune.autopilot.plugins.module_utils._ad.dacl import (
    Descriptor,
    parse_descriptor,
    sid_filter_value,
    sid_to_string,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.connection import default_naming_context
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dn import normalise_dn

try:
    from ldap3 import BASE, LEVEL, MODIFY_REPLACE, SUBTREE
    from ldap3.protocol.microsoft import security_descriptor_control
    from ldap3.utils.conv import escape_filter_chars
except ImportError:
    pass  # the module reports the missing library through ldap_connection.HAS_LDAP3

# DACL_SECURITY_INFORMATION: read and write only the DACL, so owner, group and SACL are left alone.
SD_FLAGS_DACL = 0x04
NT_SECURITY_DESCRIPTOR_ATTRIBUTE_ID = 0x00020119
LDAP_NO_SUCH_OBJECT = 32
CONNECTOR_MSA_FILTER = "(&(objectClass=msDS-ManagedServiceAccount)(sAMAccountName=msaODJ*))"
PRINCIPAL_ATTRIBUTES = ["objectSid", "sAMAccountName", "objectClass"]
# objectClass values that tell what kind of account a connector runs as, most specific first.
ACCOUNT_KINDS = (
    ("msds-groupmanagedserviceaccount", "group_managed_service_account"),
    ("msds-managedserviceaccount", "managed_service_account"),
    ("computer", "computer"),
    ("user", "user"),
)


class DirectoryError(Exception):
    """A directory object is missing, ambiguous or unusable; the message names it and the fix."""


@dataclass(frozen=True)
class Principal:
    dn: str
    sid: str
    sam_account_name: str


@dataclass(frozen=True)
class DaclSnapshot:
    """The DACL of one object as read, with the version counter AD keeps for nTSecurityDescriptor."""

    dn: str
    raw: bytes
    descriptor: Descriptor
    version: int


def resolve_principal(connection, base_dn: str, principal: str | None) -> Principal:
    """Find the connector identity by DN, SID or sAMAccountName, or discover the msaODJ* account."""
    if principal is None:
        found = _search(connection, base_dn, CONNECTOR_MSA_FILTER, PRINCIPAL_ATTRIBUTES)
        if len(found) != 1:
            names = ", ".join(sorted(_sam(entry) for entry in found)) or "none"
            raise DirectoryError(
                f"principal was not given and discovery of the connector's managed service account "
                f"(msaODJ* under {base_dn}) found {len(found)}: {names}. Set principal to the account "
                "the Intune Connector uses (its sAMAccountName, DN or SID)."
            )
        return _principal(found[0])
    if principal.upper().startswith("S-1-"):
        try:
            found = _search(connection, base_dn, f"(objectSid={sid_filter_value(principal)})", PRINCIPAL_ATTRIBUTES)
        except Exception as error:
            raise DirectoryError(f"principal {principal!r} looks like a SID but is not a valid one ({error}).") from None
    elif "=" in principal:
        dn = normalise_dn(principal)
        if dn is None:
            raise DirectoryError(
                f"principal {principal!r} is not a valid DN; write it like "
                "CN=msaODJ12345,CN=Managed Service Accounts,DC=contoso,DC=com."
            )
        found = _read_entry(connection, dn, PRINCIPAL_ATTRIBUTES)
        found = [found] if found else []
    else:
        name = principal.split("\\", 1)[-1]
        names = [name] if name.endswith("$") else [name, name + "$"]
        found = []
        for candidate in names:
            found = _search(connection, base_dn, f"(sAMAccountName={escape_filter_chars(candidate)})", PRINCIPAL_ATTRIBUTES)
            if found:
                break
    if not found:
        raise DirectoryError(
            f"principal {principal!r} was not found under {base_dn}; give its sAMAccountName "
            "(for example msaODJ12345$ or CONNECTOR01$), DN or SID."
        )
    if len(found) > 1:
        raise DirectoryError(f"principal {principal!r} matches {len(found)} objects: " + "; ".join(entry["dn"] for entry in found) + ". Give its DN or SID.")
    return _principal(found[0])


def find_connector_msas(connection, base_dn: str) -> list[Principal]:
    """Every msaODJ* managed service account (the updated connector creates one per server), by name."""
    found = _search(connection, base_dn, CONNECTOR_MSA_FILTER, PRINCIPAL_ATTRIBUTES)
    return sorted((_principal(entry) for entry in found), key=lambda principal: principal.sam_account_name.casefold())


def find_computer_account(connection, base_dn: str, host_name: str) -> Principal | None:
    """The computer account of a server named by its DNS name or host name, or None."""
    host_name = host_name.strip()
    short_name = host_name.split(".", 1)[0]
    search_filter = (f"(&(objectClass=computer)(|(dNSHostName={escape_filter_chars(host_name)})"
                     f"(sAMAccountName={escape_filter_chars(short_name)}$)))")
    found = _search(connection, base_dn, search_filter, PRINCIPAL_ATTRIBUTES)
    return _principal(found[0]) if len(found) == 1 else None


def account_kind(connection, dn: str) -> str:
    """managed_service_account, group_managed_service_account, computer, user or other, from objectClass."""
    entry = _read_entry(connection, dn, ["objectClass"]) or {"raw_attributes": {}}
    classes = {value.decode("utf-8").casefold() for value in entry["raw_attributes"].get("objectClass") or []}
    return next((kind for object_class, kind in ACCOUNT_KINDS if object_class in classes), "other")


def read_dacl(connection, dn: str) -> DaclSnapshot:
    connection.search(
        dn,
        "(objectClass=*)",
        search_scope=BASE,
        attributes=["nTSecurityDescriptor", "replPropertyMetaData"],
        controls=security_descriptor_control(sdflags=SD_FLAGS_DACL),
    )
    entries = _entries(connection)
    if connection.result.get("result") == LDAP_NO_SUCH_OBJECT or not entries:
        raise DirectoryError(f"ou {dn!r} was not found; check the DN (it must be the OU named in the domain join profile).")
    raw_attributes = entries[0]["raw_attributes"]
    descriptor_values = raw_attributes.get("nTSecurityDescriptor") or []
    if not descriptor_values:
        raise DirectoryError(
            f"The bind account cannot read the permissions of {dn!r}; it needs Read permissions on that OU."
        )
    raw = descriptor_values[0]
    metadata = (raw_attributes.get("replPropertyMetaData") or [b""])[0]
    return DaclSnapshot(dn=dn, raw=raw, descriptor=parse_descriptor(raw), version=descriptor_version(metadata))


def can_write_dacl(connection, dn: str) -> bool:
    """sDRightsEffective says which parts of the descriptor the bound account may change (4 = DACL)."""
    entry = _read_entry(connection, dn, ["sDRightsEffective"])
    values = (entry or {}).get("raw_attributes", {}).get("sDRightsEffective") or [b"0"]
    return bool(int(values[0]) & SD_FLAGS_DACL)


def write_dacl(connection, dn: str, descriptor: Descriptor) -> None:
    connection.modify(
        dn,
        {"nTSecurityDescriptor": [(MODIFY_REPLACE, [descriptor.to_bytes()])]},
        controls=security_descriptor_control(sdflags=SD_FLAGS_DACL),
    )
    if connection.result.get("result") != 0:
        raise DirectoryError(
            f"Writing the permissions of {dn!r} failed: {connection.result.get('description')} "
            f"{(connection.result.get('message') or '').strip()}"
        )


def machine_account_quota(connection, base_dn: str) -> int | None:
    entry = _read_entry(connection, base_dn, ["ms-DS-MachineAccountQuota"])
    values = (entry or {}).get("raw_attributes", {}).get("ms-DS-MachineAccountQuota") or []
    return int(values[0]) if values else None


@dataclass(frozen=True)
class Domain:
    """The AD domain of the domain controller bound to."""

    naming_context: str   # the domain's DN, e.g. DC=contoso,DC=com
    dns_name: str         # its DNS name, e.g. contoso.com


def read_domain(connection) -> Domain:
    """The domain of the DC bound to: the root DSE's defaultNamingContext (read at bind), and its DNS name as AD
    records it, the dnsRoot of the domain's crossRef in CN=Partitions of the configuration partition."""
    root_dse = connection.server.info.other if connection.server.info else {}
    naming_context = default_naming_context(connection)
    configuration = (root_dse.get("configurationNamingContext") or [None])[0]
    if configuration:
        connection.search(f"CN=Partitions,{configuration}",
                          f"(&(objectClass=crossRef)(nCName={escape_filter_chars(naming_context)}))",
                          search_scope=LEVEL, attributes=["dnsRoot"])
        for entry in _entries(connection):
            values = entry["raw_attributes"].get("dnsRoot") or []
            if values:
                return Domain(naming_context, values[0].decode("utf-8").lower())
    raise DirectoryError(f"The domain controller does not say the DNS name of its domain {naming_context} "
                         "(no crossRef with its dnsRoot under CN=Partitions); is it an AD domain controller, "
                         "and may the bind account read the configuration partition?")


def descriptor_version(repl_property_metadata: bytes) -> int:
    """The originating version of nTSecurityDescriptor from a replPropertyMetaData blob (0 if absent).

    Every write of the descriptor raises it by one, on any DC, so it shows whether anyone else wrote
    the descriptor between two reads.
    """
    if len(repl_property_metadata) < 16:
        return 0
    count = struct.unpack_from("<I", repl_property_metadata, 8)[0]
    for index in range(count):
        offset = 16 + 48 * index
        if offset + 8 > len(repl_property_metadata):
            break
        attribute_id, version = struct.unpack_from("<II", repl_property_metadata, offset)
        if attribute_id == NT_SECURITY_DESCRIPTOR_ATTRIBUTE_ID:
            return version
    return 0


def _principal(entry: dict) -> Principal:
    return Principal(dn=entry["dn"], sid=sid_to_string(entry["raw_attributes"]["objectSid"][0]), sam_account_name=_sam(entry))


def _sam(entry: dict) -> str:
    values = entry["raw_attributes"].get("sAMAccountName") or [b""]
    return values[0].decode("utf-8")


def _read_entry(connection, dn: str, attributes: list[str]) -> dict | None:
    connection.search(dn, "(objectClass=*)", search_scope=BASE, attributes=attributes)
    entries = _entries(connection)
    return entries[0] if entries else None


def _search(connection, base_dn: str, search_filter: str, attributes: list[str]) -> list[dict]:
    connection.search(base_dn, search_filter, search_scope=SUBTREE, attributes=attributes)
    return [entry for entry in _entries(connection) if entry["raw_attributes"].get("objectSid")]


def _entries(connection) -> list[dict]:
    return [entry for entry in (connection.response or []) if entry.get("type") == "searchResEntry"]
