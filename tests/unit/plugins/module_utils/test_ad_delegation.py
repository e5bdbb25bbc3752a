# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DACL planning for ou_account_limit on security descriptors built byte by byte.

The lab tests prove the same against Samba; these pin the rules (what counts as present, what
absent removes, where a new ACE goes, what bytes come out) without a directory.
"""

from __future__ import annotations

import io
import struct

import pytest

from winacl.dtyp.ace import ACE as WinaclAce

from ansible_collections.intune.autopilot.plugins.module_utils._ad import dacl as ad_delegation
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dacl import (
    DescriptorFormatError,
    mask_to_sddl,
    parse_descriptor,
    plan_delegation,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.directory import descriptor_version

COMPUTER = "bf967a86-0de6-11d0-a285-00aa003049e2"
CONNECTOR = "S-1-5-21-1000-2000-3000-1104"
OTHER = "S-1-5-21-1000-2000-3000-1105"
MSA_ACE = f"(OA;;CC;{COMPUTER};;{CONNECTOR})"


def ace_bytes(sddl):
    buffer = io.BytesIO()
    WinaclAce.from_sddl(sddl).to_buffer(buffer)
    return buffer.getvalue()


def descriptor(*sddl_aces, control=0x8C14):
    """A self-relative DACL-only descriptor, as AD returns it with SD flags = DACL."""
    aces = b"".join(ace_bytes(sddl) for sddl in sddl_aces)
    dacl = struct.pack("<BBHHH", 4, 0, 8 + len(aces), len(sddl_aces), 0) + aces
    return struct.pack("<BBHIIII", 1, 0, control, 0, 0, 0, 20) + dacl


INHERITED = "(A;CIID;0xf01ff;;;S-1-5-32-544)"
DENY = f"(OD;;0x20;bf967aba-0de6-11d0-a285-00aa003049e2;;{OTHER})"


def test_descriptor_round_trips_byte_for_byte():
    raw = descriptor(DENY, "(A;;0x20094;;;S-1-5-11)", INHERITED)
    assert parse_descriptor(raw).to_bytes() == raw


def test_present_inserts_after_explicit_aces_and_before_inherited_ones():
    raw = descriptor(DENY, "(A;;0x20094;;;S-1-5-11)", INHERITED)
    plan = plan_delegation(parse_descriptor(raw), CONNECTOR, "msa", "present")
    assert [ace.to_sddl() for ace in plan.added] == [MSA_ACE]
    assert [ace.to_sddl() for ace in plan.after.aces] == [
        DENY.replace("0x20", "WP"), "(A;;LCRPLORC;;;S-1-5-11)", MSA_ACE, "(A;CIID;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-32-544)"]
    before = parse_descriptor(raw).aces
    assert [ace.raw for ace in plan.after.aces if ace not in plan.added] == [ace.raw for ace in before]


def test_new_ace_bytes_are_what_the_tutorial_describes():
    plan = plan_delegation(parse_descriptor(descriptor(INHERITED)), CONNECTOR, "msa", "present")
    raw = plan.added[0].raw
    # ACCESS_ALLOWED_OBJECT_ACE, no inheritance flags, CreateChild, ObjectType present, computer class
    assert raw[:2] == b"\x05\x00" and struct.unpack_from("<II", raw, 4) == (0x1, 0x1)
    assert raw[12:28].hex() == "867a96bfe60dd011a28500aa003049e2"


@pytest.mark.parametrize("existing", [
    MSA_ACE,
    f"(OA;;0x3;{COMPUTER};;{CONNECTOR})",          # wider mask
    f"(OA;CI;CC;{COMPUTER};;{CONNECTOR})",         # also inherited by children: covers this object
    f"(OA;;0x10000000;{COMPUTER};;{CONNECTOR})",   # GENERIC_ALL as a client may send it
])
def test_an_ace_granting_at_least_the_rights_counts_as_present(existing):
    plan = plan_delegation(parse_descriptor(descriptor(existing, INHERITED)), CONNECTOR, "msa", "present")
    assert not plan.changed


@pytest.mark.parametrize("existing", [
    f"(OA;CIIO;CC;{COMPUTER};;{CONNECTOR})",       # inherit-only: not on the OU itself
    f"(OA;;CC;{COMPUTER};;{OTHER})",               # another principal
    f"(OA;;CC;bf967aba-0de6-11d0-a285-00aa003049e2;;{CONNECTOR})",  # user class, not computer
    f"(OD;;CC;{COMPUTER};;{CONNECTOR})",           # a deny grants nothing
    f"(OA;ID;CC;{COMPUTER};;{CONNECTOR})",         # inherited: the parent's, may vanish
    f"(OA;;0x2;{COMPUTER};;{CONNECTOR})",          # DeleteChild only
])
def test_aces_that_do_not_grant_the_rights_do_not_count(existing):
    plan = plan_delegation(parse_descriptor(descriptor(existing, INHERITED)), CONNECTOR, "msa", "present")
    assert [ace.to_sddl() for ace in plan.added] == [MSA_ACE]


def test_legacy_adds_both_wizard_aces_and_accepts_generic_all_as_stored():
    plan = plan_delegation(parse_descriptor(descriptor(INHERITED)), CONNECTOR, "legacy", "present")
    assert [ace.to_sddl() for ace in plan.added] == [
        f"(OA;CI;CCDC;{COMPUTER};;{CONNECTOR})",
        f"(OA;CIIO;CCDCLCSWRPWPDTLOCRSDRCWDWO;;{COMPUTER};{CONNECTOR})",
    ]
    assert not plan_delegation(parse_descriptor(plan.after.to_bytes()), CONNECTOR, "legacy", "present").changed


def test_absent_removes_exactly_our_aces_and_reports_wider_ones():
    wider = f"(OA;;0xf01ff;{COMPUTER};;{CONNECTOR})"
    raw = descriptor(MSA_ACE, wider, f"(OA;;CC;{COMPUTER};;{OTHER})", INHERITED)
    plan = plan_delegation(parse_descriptor(raw), CONNECTOR, "msa", "absent")
    assert [ace.to_sddl() for ace in plan.removed] == [MSA_ACE]
    assert [ace.to_sddl() for ace in plan.still_granting] == [f"(OA;;CCDCLCSWRPWPDTLOCRSDRCWDWO;{COMPUTER};;{CONNECTOR})"]
    assert plan.after.to_bytes() == descriptor(wider, f"(OA;;CC;{COMPUTER};;{OTHER})", INHERITED)


def test_absent_when_nothing_is_ours_changes_nothing():
    raw = descriptor(f"(OA;;CC;{COMPUTER};;{OTHER})", INHERITED)
    plan = plan_delegation(parse_descriptor(raw), CONNECTOR, "msa", "absent")
    assert not plan.changed and plan.after.to_bytes() == raw


def test_unknown_ace_types_are_kept_as_bytes():
    callback_ace = bytes([0x09, 0x00, 0x10, 0x00]) + struct.pack("<I", 0x1) + bytes(8)
    raw = descriptor(INHERITED)
    dacl_size, count = struct.unpack_from("<HH", raw, 22)
    raw = raw[:22] + struct.pack("<HH", dacl_size + len(callback_ace), count + 1) + raw[26:28] + callback_ace + raw[28:]
    plan = plan_delegation(parse_descriptor(raw), CONNECTOR, "msa", "present")
    assert plan.after.aces[0].raw == callback_ace
    assert plan.after.aces[1].to_sddl() == MSA_ACE


def test_descriptor_without_dacl_is_refused():
    with pytest.raises(DescriptorFormatError, match="no DACL"):
        parse_descriptor(struct.pack("<BBHIIII", 1, 0, 0x8000, 0, 0, 0, 0))


@pytest.mark.parametrize("mask, sddl", [(0x1, "CC"), (0xF01FF, "CCDCLCSWRPWPDTLOCRSDRCWDWO"),
                                        (0x10000000, "GA"), (0x01000000, "0x1000000"), (0, "0x0")])
def test_mask_to_sddl(mask, sddl):
    assert mask_to_sddl(mask) == sddl


def test_sid_filter_value_is_the_escaped_binary_sid():
    assert ad_delegation.sid_filter_value("S-1-5-11") == "\\01\\01\\00\\00\\00\\00\\00\\05\\0b\\00\\00\\00"


def test_descriptor_version_is_read_from_repl_property_metadata():
    entries = [(0x00000000, 1), (0x00020119, 7), (0x0002000D, 3)]
    blob = struct.pack("<IIII", 1, 0, len(entries), 0) + b"".join(
        struct.pack("<II", attribute_id, version) + bytes(40) for attribute_id, version in entries)
    assert descriptor_version(blob) == 7
    assert descriptor_version(b"") == 0
