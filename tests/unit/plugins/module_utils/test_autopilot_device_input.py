# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot_device's input: the portal's CSV checked as the portal checks it, and every row's errors by
file and line (or devices[index]) with a fix, before anything is sent."""

from __future__ import annotations

import base64
import codecs
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
    (dict(serial_number="PF\x001"), "holds the control character '\\x00'"),
    (dict(serial_number="PF1\x1b[8m"), "holds the control character '\\x1b'"),
    (dict(serial_number="PF\t1\x7f"), "holds the control characters '\\t' '\\x7f'"),
    (dict(serial_number="PF1", hardware_hash="not base64!"), "not base64"),
    (dict(serial_number="PF1", hardware_hash=""), "not base64"),
    (dict(serial_number="PF1", assigned_user="jane"), "not a user principal name"),
    (dict(serial_number="PF1", assigned_user_display_name="Jane"), "without assigned_user"),
    (dict(serial_number="PF1", assigned_user="", assigned_user_display_name="Jane"), "without assigned_user"),
])
def test_a_bad_entry_is_named_by_its_index(entry, reason):
    (error,) = check_devices(from_list([dict(serial_number="PF0"), entry]))
    assert error.source == "devices[1]" and reason in error.reason and error.fix


def test_a_serial_with_a_control_character_is_refused_by_file_and_line():
    # A UTF-16 file (as Get-WindowsAutopilotInfo writes it) can hold a NUL character; a UTF-8 one an escape.
    utf16 = codecs.BOM_UTF16_LE + ("%s\r\nPF1,,%s,,\r\nPF\x002,,%s,,\r\n" % (HEADER, HASH, OTHER_HASH)).encode("utf-16-le")
    devices, errors = parse_lines(read_lines(io.BytesIO(utf16)), "nul.csv")
    ((source, reason),) = [(error.source, error.reason) for error in check_devices(devices) + errors]
    assert source == "nul.csv:3" and "control character '\\x00'" in reason
    devices, errors = parse_csv("%s\nPF\x1b3,,%s,,\n" % (HEADER, HASH), "esc.csv")
    ((source, reason),) = [(error.source, error.reason) for error in check_devices(devices) + errors]
    assert source == "esc.csv:2" and "control character '\\x1b'" in reason


def test_unassigning_and_clearing_a_tag_are_valid():
    assert check_devices(from_list([dict(serial_number="PF1", assigned_user="", group_tag="")])) == []


def test_a_serial_or_hash_named_twice_is_refused_naming_the_first():
    devices, _errors = parse_csv("%s\nPF1,,%s,,\n" % (HEADER, HASH), "a.csv")
    devices += from_list([dict(serial_number="pf1"), dict(serial_number="PF2", hardware_hash=HASH)])
    first, second = check_devices(devices)
    assert first.source == "devices[0]" and "also named at a.csv:2" in first.reason
    assert second.source == "devices[1]" and "also given for PF1 at a.csv:2" in second.reason


# What Microsoft's procedure writes: Get-WindowsAutopilotInfo -OutputFile, through Windows PowerShell 5.1's
# Out-File: UTF-16LE with a byte order mark, CRLF, no quotes (reference, step 4).
OUT_FILE_HEADER = "Device Serial Number,Windows Product ID,Hardware Hash"


def parse_bytes(data, name="a.csv"):
    return parse_lines(read_lines(io.BytesIO(data)), name)


@pytest.mark.parametrize("encode", [
    lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    lambda text: text.encode("utf-8"),
    lambda text: text.encode("cp1252"),
], ids=["utf-16-le-bom", "utf-16-be-bom", "utf-8-bom", "utf-8", "ansi"])
def test_each_encoding_read_gives_the_same_devices(encode):
    text = "%s,Group Tag\r\nPF1,,%s,Z\u00fcrich-Pilot\r\nPF2,XYZ,%s,\r\n" % (OUT_FILE_HEADER, HASH, OTHER_HASH)
    devices, errors = parse_bytes(encode(text))
    assert errors == []
    assert [(d.serial_number, d.source, d.group_tag, d.product_key, d.hardware_hash) for d in devices] == [
        ("PF1", "a.csv:2", "Z\u00fcrich-Pilot", None, HASH), ("PF2", "a.csv:3", None, "XYZ", OTHER_HASH)]


@pytest.mark.parametrize("data, line, words", [
    (b"ok\n\x81\x8d\n", 2, "neither UTF-8 nor ANSI"),
    # UTF-16 without its byte order mark: never read as a garbled header.
    ((OUT_FILE_HEADER + "\r\n").encode("utf-16-le"), 1, "UTF-16 without a byte order mark"),
    (codecs.BOM_UTF8 + b"ok\n\xe9t\xe9\n", 2, "not UTF-8"),
    (b"Caf\xc3\xa9\nna\xefve\n", 2, "not UTF-8"),          # UTF-8 first, then an ANSI line: one file, one encoding
    (codecs.BOM_UTF16_LE + "ok\r\n".encode("utf-16-le") + b"\x00\xd8x\x00", 2, "not UTF-16 LE"),  # a lone surrogate
    (codecs.BOM_UTF32_LE + "ok".encode("utf-32-le"), 1, "UTF-32 LE"),
])
def test_a_file_in_no_encoding_read_is_refused_naming_the_encoding_problem(data, line, words):
    # The header of such a file is never refused as a bad header: its encoding is named first.
    if line == 1:
        with pytest.raises(EncodingError):
            parse_bytes(data)
    with pytest.raises(EncodingError) as refused:
        list(read_lines(io.BytesIO(data)))
    assert refused.value.line == line and words in refused.value.reason, refused.value.reason
    assert "UTF-16" in refused.value.fix and "Out-File" in refused.value.fix


def test_the_step_9_header_and_any_column_order_are_mapped_by_name():
    # Tutorial step 9: "add the Assigned User column after the Hardware Hash column".
    devices, errors = parse_csv("%s,Assigned User\nPF1,,%s,jane@contoso.com\n" % (OUT_FILE_HEADER, HASH), "a.csv")
    assert errors == [] and (devices[0].assigned_user, devices[0].group_tag, devices[0].hardware_hash) == ("jane@contoso.com", None, HASH)
    devices, errors = parse_csv("Assigned User,Hardware Hash,Group Tag,Device Serial Number,Windows Product ID\n"
                                "jane@contoso.com,%s,Pilot,PF2,XYZ\n" % HASH, "a.csv")
    assert errors == []
    assert [(d.serial_number, d.product_key, d.hardware_hash, d.group_tag, d.assigned_user) for d in devices] == [
        ("PF2", "XYZ", HASH, "Pilot", "jane@contoso.com")]


@pytest.mark.parametrize("header, reason, fix", [
    (OUT_FILE_HEADER + ",Order ID", "unknown column 'Order ID'", "Remove the column"),
    (OUT_FILE_HEADER + ",assigned user", "unknown column 'assigned user'", "Write it exactly 'Assigned User'"),
    (OUT_FILE_HEADER + ",Group Tag,Group Tag", "names the column 'Group Tag' twice", "Keep one"),
    ("Device Serial Number,Hardware Hash,Group Tag", "lacks the column 'Windows Product ID'", "Add it"),
    ("Device Serial Number,Group Tag", "lacks the columns 'Windows Product ID', 'Hardware Hash'", "Add them"),
    (OUT_FILE_HEADER + ",", "unknown column ''", "Remove the column"),
])
def test_an_unknown_repeated_or_missing_column_is_refused_naming_it(header, reason, fix):
    devices, (error,) = parse_csv(header + "\nPF1,,%s,x\n" % HASH, "a.csv")
    assert devices == [] and error.source == "a.csv:1" and reason in error.reason and error.fix.startswith(fix), error


def test_an_unpadded_hash_is_padded_and_one_padding_cannot_mend_is_refused():
    # A device reports its hash without base64 padding; Graph refuses an unpadded Edm.Binary.
    unpadded = base64.b64encode(b"a hardware hash!" * 10 + b"x").decode().rstrip("=")
    assert len(unpadded) % 4 and "=" not in unpadded
    devices, errors = parse_csv("%s\nPF1,,%s,,\nPF2,,%s,,\n" % (HEADER, unpadded, HASH), "a.csv")
    listed = from_list([dict(serial_number="PF3", hardware_hash=unpadded[:-1] + "A")])
    assert errors == [] and check_devices(devices + listed) == []
    assert [(d.hardware_hash, d.hash_padded) for d in devices + listed] == [
        (unpadded + "=" * (-len(unpadded) % 4), True), (HASH, False), (unpadded[:-1] + "A" + "=" * (-len(unpadded) % 4), True)]
    cut = base64.b64encode(b"x" * 300).decode() + "A"
    (error,) = check_devices(from_list([dict(serial_number="PF4", hardware_hash=cut)]))
    assert "one more than a multiple of 4" in error.reason and "Get-WindowsAutopilotInfo" in error.fix
