# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DACL logic for delegating computer-object creation on an OU (tutorial step 3).

Works on the self-relative security descriptor that AD returns for nTSecurityDescriptor when it is
read with the SD-flags control set to DACL only. ACEs other than the ones this module adds or
removes are carried over as the exact bytes that were read, so nothing else in the DACL can change.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

try:
    from winacl.dtyp.ace import ACE as WinaclAce
    from winacl.dtyp.sid import SID as WinaclSid
except ImportError as import_error:
    HAS_WINACL = False
    WINACL_IMPORT_ERROR: ImportError | None = import_error
else:
    HAS_WINACL = True
    WINACL_IMPORT_ERROR = None

COMPUTER_CLASS_GUID = "bf967a86-0de6-11d0-a285-00aa003049e2"

ACCESS_ALLOWED_ACE_TYPE = 0x00
ACCESS_DENIED_ACE_TYPE = 0x01
ACCESS_ALLOWED_OBJECT_ACE_TYPE = 0x05
ACCESS_DENIED_OBJECT_ACE_TYPE = 0x06
OBJECT_TYPE_PRESENT = 0x1
INHERITED_OBJECT_TYPE_PRESENT = 0x2

OBJECT_INHERIT = 0x01
CONTAINER_INHERIT = 0x02
NO_PROPAGATE_INHERIT = 0x04
INHERIT_ONLY = 0x08
INHERITED = 0x10

RIGHT_CREATE_CHILD = 0x1
RIGHT_DELETE_CHILD = 0x2
GENERIC_ALL = 0x10000000
# AD maps GENERIC_ALL to this mask before storing it (CCDCLCSWRPWPDTLOCRSDRCWDWO).
GENERIC_ALL_AS_STORED = 0x000F01FF

SD_HEADER_LENGTH = 20
ACL_HEADER_LENGTH = 8

# SDDL rights letters in the order Windows prints them.
SDDL_RIGHTS = (
    ("GA", 0x10000000), ("GX", 0x20000000), ("GW", 0x40000000), ("GR", 0x80000000),
    ("CC", 0x1), ("DC", 0x2), ("LC", 0x4), ("SW", 0x8), ("RP", 0x10), ("WP", 0x20), ("DT", 0x40),
    ("LO", 0x80), ("CR", 0x100), ("SD", 0x10000), ("RC", 0x20000), ("WD", 0x40000), ("WO", 0x80000),
)
SDDL_ACE_TYPES = {ACCESS_ALLOWED_ACE_TYPE: "A", ACCESS_DENIED_ACE_TYPE: "D",
                  ACCESS_ALLOWED_OBJECT_ACE_TYPE: "OA", ACCESS_DENIED_OBJECT_ACE_TYPE: "OD"}
SDDL_ACE_FLAGS = (("OI", OBJECT_INHERIT), ("CI", CONTAINER_INHERIT), ("NP", NO_PROPAGATE_INHERIT),
                  ("IO", INHERIT_ONLY), ("ID", INHERITED))


class DescriptorFormatError(ValueError):
    """The security descriptor read from the directory is not one this code can edit safely."""


@dataclass(frozen=True)
class Ace:
    """One ACE as read: its exact bytes plus the fields needed to compare it."""

    raw: bytes
    ace_type: int
    flags: int
    mask: int | None = None
    object_type: str | None = None
    inherited_object_type: str | None = None
    sid: str | None = None

    @property
    def is_inherited(self) -> bool:
        return bool(self.flags & INHERITED)

    @property
    def is_explicit_allow(self) -> bool:
        return not self.is_inherited and self.ace_type in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_ALLOWED_OBJECT_ACE_TYPE)

    @property
    def applies_to_this_object(self) -> bool:
        return not self.flags & INHERIT_ONLY

    @property
    def applies_to_all_descendants(self) -> bool:
        return bool(self.flags & CONTAINER_INHERIT) and not self.flags & NO_PROPAGATE_INHERIT

    def to_sddl(self) -> str:
        if self.mask is None or self.ace_type not in SDDL_ACE_TYPES:
            return f"(0x{self.ace_type:02x};unparsed ACE;{self.raw.hex()})"
        flags = "".join(letters for letters, bit in SDDL_ACE_FLAGS if self.flags & bit)
        return (f"({SDDL_ACE_TYPES[self.ace_type]};{flags};{mask_to_sddl(self.mask)};"
                f"{self.object_type or ''};{self.inherited_object_type or ''};{self.sid})")


@dataclass(frozen=True)
class RequiredAce:
    """A right the connector needs on the OU, in the shape the tutorial's GUI procedure writes it."""

    mask: int
    object_type: str | None
    inherited_object_type: str | None
    flags: int

    def build(self, sid: str) -> Ace:
        sid_bytes = WinaclSid.from_string(sid).to_bytes()
        object_flags = (OBJECT_TYPE_PRESENT if self.object_type else 0) | (
            INHERITED_OBJECT_TYPE_PRESENT if self.inherited_object_type else 0)
        body = struct.pack("<II", self.mask, object_flags)
        for guid in (self.object_type, self.inherited_object_type):
            if guid:
                body += _guid_bytes(guid)
        body += sid_bytes
        raw = struct.pack("<BBH", ACCESS_ALLOWED_OBJECT_ACE_TYPE, self.flags, 4 + len(body)) + body
        return parse_ace(raw)

    def is_granted_by(self, ace: Ace, sid: str) -> bool:
        """True when an explicit allow ACE for sid grants at least these rights with the same scope."""
        if not ace.is_explicit_allow or ace.sid != sid or ace.mask is None:
            return False
        if (ace.object_type, ace.inherited_object_type) != (self.object_type, self.inherited_object_type):
            return False
        if normalise_mask(ace.mask) & self.mask != self.mask:
            return False
        required_this_object = not self.flags & INHERIT_ONLY
        required_descendants = bool(self.flags & CONTAINER_INHERIT)
        return ((ace.applies_to_this_object or not required_this_object)
                and (ace.applies_to_all_descendants or not required_descendants))

    def is_exactly(self, ace: Ace, sid: str) -> bool:
        """True for the ACE this module would have written: what state=absent removes."""
        return (ace.is_explicit_allow and ace.sid == sid and ace.mask is not None
                and normalise_mask(ace.mask) == self.mask
                and ace.flags & ~INHERITED == self.flags
                and (ace.object_type, ace.inherited_object_type) == (self.object_type, self.inherited_object_type))


# The tutorial's step 3: the updated connector's MSA needs only "Create Computer objects" on the OU
# itself; the legacy connector's computer account gets what the Delegation of Control Wizard writes
# for "Computer objects: create and delete, Full Control".
RIGHTS = {
    "msa": (
        RequiredAce(RIGHT_CREATE_CHILD, COMPUTER_CLASS_GUID, None, 0),
    ),
    "legacy": (
        RequiredAce(RIGHT_CREATE_CHILD | RIGHT_DELETE_CHILD, COMPUTER_CLASS_GUID, None, CONTAINER_INHERIT),
        RequiredAce(GENERIC_ALL_AS_STORED, None, COMPUTER_CLASS_GUID, CONTAINER_INHERIT | INHERIT_ONLY),
    ),
}


@dataclass(frozen=True)
class Descriptor:
    """A self-relative security descriptor split into its header, its other parts and its DACL ACEs."""

    control: int
    owner: bytes
    group: bytes
    sacl: bytes
    acl_revision: int
    aces: tuple[Ace, ...]

    @property
    def explicit_aces(self) -> tuple[Ace, ...]:
        return tuple(ace for ace in self.aces if not ace.is_inherited)

    def with_aces(self, aces: list[Ace]) -> "Descriptor":
        return Descriptor(self.control, self.owner, self.group, self.sacl, self.acl_revision, tuple(aces))

    def to_bytes(self) -> bytes:
        aces = b"".join(ace.raw for ace in self.aces)
        dacl = struct.pack("<BBHHH", self.acl_revision, 0, ACL_HEADER_LENGTH + len(aces), len(self.aces), 0) + aces
        offset = SD_HEADER_LENGTH
        offsets = []
        body = b""
        for part in (self.owner, self.group, self.sacl, dacl):
            offsets.append(offset if part else 0)
            body += part
            offset += len(part)
        return struct.pack("<BBHIIII", 1, 0, self.control, *offsets) + body

    def explicit_sddl(self) -> str:
        """The explicit ACEs in SDDL, one per line (inherited ACEs are the parent's business)."""
        return "".join(ace.to_sddl() + "\n" for ace in self.explicit_aces)


def parse_descriptor(data: bytes) -> Descriptor:
    if len(data) < SD_HEADER_LENGTH:
        raise DescriptorFormatError("security descriptor shorter than its header")
    revision, _sbz1, control, owner_at, group_at, sacl_at, dacl_at = struct.unpack_from("<BBHIIII", data)
    if revision != 1 or not control & 0x8000:
        raise DescriptorFormatError("not a self-relative security descriptor of revision 1")
    if not dacl_at:
        raise DescriptorFormatError("the security descriptor has no DACL (was it read with the SD-flags control?)")
    acl_revision, _sbz1, acl_size, ace_count, _sbz2 = struct.unpack_from("<BBHHH", data, dacl_at)
    aces = []
    position = dacl_at + ACL_HEADER_LENGTH
    for _index in range(ace_count):
        ace_size = struct.unpack_from("<H", data, position + 2)[0]
        if ace_size < 4 or position + ace_size > dacl_at + acl_size:
            raise DescriptorFormatError("an ACE runs past the end of the DACL")
        aces.append(parse_ace(data[position:position + ace_size]))
        position += ace_size
    return Descriptor(
        control=control,
        owner=_sid_at(data, owner_at),
        group=_sid_at(data, group_at),
        sacl=data[sacl_at:sacl_at + struct.unpack_from("<H", data, sacl_at + 2)[0]] if sacl_at else b"",
        acl_revision=acl_revision,
        aces=tuple(aces),
    )


def parse_ace(raw: bytes) -> Ace:
    ace_type, flags = raw[0], raw[1]
    if ace_type not in SDDL_ACE_TYPES:
        # Callback, audit and other ACE types are kept as bytes; they are never ours.
        return Ace(raw=raw, ace_type=ace_type, flags=flags)
    parsed = WinaclAce.from_bytes(raw)
    object_flags = getattr(parsed, "Flags", 0) or 0
    return Ace(
        raw=raw,
        ace_type=ace_type,
        flags=flags,
        mask=parsed.Mask,
        object_type=str(parsed.ObjectType).lower() if object_flags & OBJECT_TYPE_PRESENT else None,
        inherited_object_type=(str(parsed.InheritedObjectType).lower()
                               if object_flags & INHERITED_OBJECT_TYPE_PRESENT else None),
        sid=str(parsed.Sid),
    )


def normalise_mask(mask: int) -> int:
    return (mask & ~GENERIC_ALL) | GENERIC_ALL_AS_STORED if mask & GENERIC_ALL else mask


def mask_to_sddl(mask: int) -> str:
    letters = ""
    remaining = mask
    for name, bit in SDDL_RIGHTS:
        if mask & bit:
            letters += name
            remaining &= ~bit
    return f"0x{mask:x}" if remaining or not letters else letters


def sid_to_string(sid_bytes: bytes) -> str:
    return str(WinaclSid.from_bytes(sid_bytes))


def sid_filter_value(sid: str) -> str:
    """objectSid as an escaped binary LDAP filter value (Samba does not accept the S-1-... form)."""
    return "".join(f"\\{byte:02x}" for byte in WinaclSid.from_string(sid).to_bytes())


@dataclass(frozen=True)
class DelegationPlan:
    before: Descriptor
    after: Descriptor
    added: tuple[Ace, ...]
    removed: tuple[Ace, ...]
    # Explicit ACEs that still grant some of these rights after state=absent, because they grant more
    # than this module writes; they are reported, not removed.
    still_granting: tuple[Ace, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def plan_delegation(descriptor: Descriptor, sid: str, rights: str, state: str) -> DelegationPlan:
    required = RIGHTS[rights]
    aces = list(descriptor.aces)
    if state == "present":
        missing = [need.build(sid) for need in required
                   if not any(need.is_granted_by(ace, sid) for ace in aces)]
        insert_at = canonical_allow_position(aces)
        new_aces = aces[:insert_at] + missing + aces[insert_at:]
        return DelegationPlan(descriptor, descriptor.with_aces(new_aces), tuple(missing), ())
    removed = [ace for ace in aces if any(need.is_exactly(ace, sid) for need in required)]
    kept = [ace for ace in aces if ace not in removed]
    still_granting = tuple(ace for ace in kept if any(need.is_granted_by(ace, sid) for need in required))
    return DelegationPlan(descriptor, descriptor.with_aces(kept), (), tuple(removed), still_granting)


def canonical_allow_position(aces: list[Ace]) -> int:
    """Where a new explicit allow ACE goes: after every explicit ACE, before the first inherited one.

    That keeps explicit deny before explicit allow and explicit before inherited, the canonical order.
    """
    for index, ace in enumerate(aces):
        if ace.is_inherited:
            return index
    return len(aces)


def _sid_at(data: bytes, offset: int) -> bytes:
    if not offset:
        return b""
    sub_authority_count = data[offset + 1]
    return data[offset:offset + 8 + 4 * sub_authority_count]


def _guid_bytes(guid: str) -> bytes:
    return uuid.UUID(guid).bytes_le
