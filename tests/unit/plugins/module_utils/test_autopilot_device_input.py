# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot_device's input: the portal's CSV checked as the portal checks it, and every row's errors by
file and line (or devices[index]) with a fix, before anything is sent."""

from __future__ import annotations

import base64
import io

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph.autopilot_device_input import (
    EncodingError,
    check_devices,
    from_list,
    parse_csv as parse_lines,
    read_lines,
)


def parse_csv(text, name):
    """What the module makes of a file holding `text` (UTF-8)."""
    return parse_lines(read_lines(io.BytesIO(text.encode())), name)


HEADER = "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User"
HASH = base64.b64encode(b"a hardware hash" * 10).decode()
OTHER_HASH = base64.b64encode(b"another hardware hash" * 10).decode()


def test_a_portal_file_gives_its_devices_with_their_lines():
    devices, errors = parse_csv("%s\r\nPF1,,%s,Pilot,jane@contoso.com\r\nPF2,XYZ,%s,,\r\n" % (HEADER, HASH, OTHER_HASH), "a.csv")
    assert errors == []
    assert [(d.serial_number, d.source, d.group_tag, d.assigned_user, d.product_key) for d in devices] == [
        ("PF1", "a.csv:2", "Pilot", "jane@contoso.com", None), ("PF2", "a.csv:3", None, None, "XYZ")]


@pytest.mark.parametrize("columns", [3, 4])
def test_the_optional_columns_may_be_left_out(columns):
    header = ",".join(HEADER.split(",")[:columns])
    row = ",".join(["PF1", "", HASH, "Pilot"][:columns])
    devices, errors = parse_csv("%s\n%s\n" % (header, row), "a.csv")
    assert errors == [] and devices[0].hardware_hash == HASH


def test_a_file_hash_is_held_as_the_bytes_it_encodes_and_given_back_as_written():
    # A file's hashes are most of what a run holds: as bytes they take 3/4 of their text. A hash whose unused
    # trailing bits are set (base64 that does not encode back to itself) is kept as written.
    odd = base64.b64encode(b"a hardware hash" * 10 + b"A").decode()[:-3] + "R=="
    devices, errors = parse_csv("%s\nPF1,,%s,,\nPF2,,%s,,\n" % (HEADER, HASH, odd), "a.csv")
    assert errors == [] and check_devices(devices) == []
    assert [device.hardware_hash for device in devices] == [HASH, odd]
    assert devices[0].held_hash == base64.b64decode(HASH) and devices[1].held_hash == odd


@pytest.mark.parametrize("header", [HEADER.lower(), HEADER + ",Extra", "Device Serial Number, Windows Product ID, Hardware Hash",
                                    '"Device Serial Number","Windows Product ID","Hardware Hash"', ""])
def test_any_other_header_is_refused_at_line_one(header):
    devices, (error,) = parse_csv(header + "\nPF1,,%s\n" % HASH, "a.csv")
    assert devices == [] and error.source == "a.csv:1" and "Device Serial Number,Windows Product ID,Hardware Hash" in error.fix


def test_quotes_and_wrong_field_counts_are_refused_by_line():
    text = "%s\n\"PF1\",,%s,,\nPF2,,%s,,,extra\nPF3,,%s,,\n" % (HEADER, HASH, HASH, HASH)
    devices, errors = parse_csv(text, "a.csv")
    assert [d.source for d in devices] == ["a.csv:4"]
    assert [(e.source, "quote" in e.reason, "6 fields" in e.reason) for e in errors] == [("a.csv:2", True, False), ("a.csv:3", False, True)]


def test_a_file_with_only_its_header_names_no_device():
    devices, (error,) = parse_csv(HEADER + "\n\n", "a.csv")
    assert devices == [] and "no device" in error.reason


def test_utf8_with_a_bom_and_ansi_are_read_and_other_bytes_named_by_line():
    assert list(read_lines(io.BytesIO(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n"))) == [HEADER + "\r\n"]
    assert list(read_lines(io.BytesIO("Z\u00fcrich\n".encode("cp1252")))) == ["Z\u00fcrich\n"]
    with pytest.raises(EncodingError) as refused:
        list(read_lines(io.BytesIO(b"ok\n\x81\x8d\n")))  # undefined in Windows-1252 too
    assert refused.value.line == 2


@pytest.mark.parametrize("entry, reason", [
    (dict(serial_number=""), "empty or has spaces"),
    (dict(serial_number=" PF1"), "empty or has spaces"),
    (dict(serial_number="PF1", hardware_hash="not base64!"), "not base64"),
    (dict(serial_number="PF1", hardware_hash=""), "not base64"),
    (dict(serial_number="PF1", assigned_user="jane"), "not a user principal name"),
    (dict(serial_number="PF1", assigned_user_display_name="Jane"), "without assigned_user"),
    (dict(serial_number="PF1", assigned_user="", assigned_user_display_name="Jane"), "without assigned_user"),
])
def test_a_bad_entry_is_named_by_its_index(entry, reason):
    (error,) = check_devices(from_list([dict(serial_number="PF0"), entry]))
    assert error.source == "devices[1]" and reason in error.reason and error.fix


def test_unassigning_and_clearing_a_tag_are_valid():
    assert check_devices(from_list([dict(serial_number="PF1", assigned_user="", group_tag="")])) == []


def test_a_serial_or_hash_named_twice_is_refused_naming_the_first():
    devices, _errors = parse_csv("%s\nPF1,,%s,,\n" % (HEADER, HASH), "a.csv")
    devices += from_list([dict(serial_number="pf1"), dict(serial_number="PF2", hardware_hash=HASH)])
    first, second = check_devices(devices)
    assert first.source == "devices[0]" and "also named at a.csv:2" in first.reason
    assert second.source == "devices[1]" and "also given for PF1 at a.csv:2" in second.reason
