# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The devices an autopilot_device task names: the portal's CSV files and the `devices` list, checked row
by row before anything is sent (pure: no Graph, no Ansible).

The module parses the file itself and sends JSON, so it reads what Microsoft's own procedure writes, not
only what the portal's upload takes: Get-WindowsAutopilotInfo -OutputFile writes with Windows PowerShell
5.1's Out-File, UTF-16LE with a byte order mark (reference, step 4). The encoding is decided from the byte
order mark before the file is split into lines: UTF-8 (with or without one), UTF-16 LE or BE (with one),
else ANSI (Windows-1252). Columns are mapped by their case-sensitive header names, in any order: the
three of the portal's format are required, Group Tag and Assigned User optional (tutorial step 9 adds
Assigned User right after Hardware Hash). No quotes. The portal's 500 rows per file is an upload limit of
the portal, not of Graph's import (which documents none), so a longer file is accepted and imported in
batches of batch_size like any other input.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import re
import unicodedata

# Header name -> Device field; the first three are required.
CSV_COLUMNS = {"Device Serial Number": "serial_number", "Windows Product ID": "product_key",
               "Hardware Hash": "hardware_hash", "Group Tag": "group_tag", "Assigned User": "assigned_user"}
REQUIRED_COLUMNS = tuple(CSV_COLUMNS)[:3]
CSV_HEADER_HINT = ("The header names the columns, comma-separated, case-sensitive, without quotes: %s required, "
                   "'Group Tag' and 'Assigned User' optional, in any order (e.g. %r)."
                   % (", ".join(repr(name) for name in REQUIRED_COLUMNS), ",".join(REQUIRED_COLUMNS + ("Assigned User",))))
UTF8_BOM = codecs.BOM_UTF8
# Checked in this order: a UTF-32 LE mark begins with the UTF-16 LE one.
UNREAD_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32 LE"), (codecs.BOM_UTF32_BE, "UTF-32 BE"))
UTF16_BOMS = ((codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"), (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"))
SAVE_AS = ("Save the file as UTF-8 or ANSI, or as Unicode (UTF-16) with its byte order mark as Windows PowerShell's "
           "Out-File writes it (Get-WindowsAutopilotInfo -OutputFile does).")
# Only the domain of an assigned user is validated by Intune (reference, step 9): check the shape here.
UPN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class Device:
    """One named device. None means "not given": the module leaves that property as it is;
    assigned_user "" means unassign. held_hash is hardware_hash as given (padded: see padded_hash), held
    compact (compact_hash) when `compact` (a CSV row's); hash_padded says the padding was added."""

    __slots__ = ("serial_number", "key", "held_hash", "hash_padded", "product_key", "group_tag", "assigned_user",
                 "assigned_user_display_name", "source")

    def __init__(self, serial_number, source, hardware_hash=None, product_key=None, group_tag=None,
                 assigned_user=None, assigned_user_display_name=None, compact=False):
        self.serial_number = serial_number
        # Intune matches serial numbers case-insensitively (an import of the same serial in another case
        # is ZtdDeviceAlreadyAssigned). Made once: the run's tables of outcomes share it instead of a copy each.
        self.key = serial_number.lower()
        self.source = source
        hardware_hash, self.hash_padded = padded_hash(hardware_hash)
        self.held_hash = compact_hash(hardware_hash) if compact and hardware_hash else hardware_hash
        self.product_key = product_key
        self.group_tag = group_tag
        self.assigned_user = assigned_user
        self.assigned_user_display_name = assigned_user_display_name

    @property
    def hardware_hash(self):
        """The base64 hardware hash as given (a CSV row's is held compact: see compact_hash)."""
        if isinstance(self.held_hash, bytes):
            return base64.b64encode(self.held_hash).decode("ascii")
        return self.held_hash


class RowError:
    """A bad row: where it is, what is wrong and what to do."""

    __slots__ = ("source", "serial_number", "reason", "fix")

    def __init__(self, source, reason, fix, serial_number=None):
        self.source = source
        self.serial_number = serial_number
        self.reason = reason
        self.fix = fix

    def as_dict(self):
        return dict(serial_number=self.serial_number, source=self.source, reason=self.reason, fix=self.fix)

    def __str__(self):
        return "%s: %s %s" % (self.source, self.reason, self.fix)


class EncodingError(ValueError):
    """A CSV file in none of the encodings read (line: where it was found; reason and fix: what to tell)."""

    def __init__(self, line, reason, fix=SAVE_AS):
        super().__init__("line %d: %s" % (line, reason))
        self.line = line
        self.reason = reason
        self.fix = fix


def read_lines(handle):
    """The text lines of a CSV file opened in binary (seekable), one at a time (a file of 10,000 hashes is
    never held twice). The encoding is decided from the byte order mark before lines are split (a UTF-16
    line ends in two bytes): UTF-16 LE or BE, UTF-8, or no mark: UTF-8, else ANSI (Windows-1252)."""
    start = handle.read(4)
    for bom, name in UNREAD_BOMS:
        if start.startswith(bom):
            raise EncodingError(1, "The file is %s (its byte order mark says so), which is not read." % name)
    for bom, codec, name in UTF16_BOMS:
        if start.startswith(bom):
            handle.seek(len(bom))
            return _utf16_lines(handle, codec, name)
    handle.seek(len(UTF8_BOM) if start.startswith(UTF8_BOM) else 0)
    return _byte_lines(handle, utf8_only=start.startswith(UTF8_BOM))


def _utf16_lines(handle, codec, name):
    # Decoded in chunks: a bad byte pair is replaced, so that the line holding it is the one named.
    text = io.TextIOWrapper(handle, encoding=codec, errors="replace", newline="")
    try:
        for number, line in enumerate(text, start=1):
            if "\ufffd" in line:
                raise EncodingError(number, "The file starts with a %s byte order mark, but line %d is not %s."
                                    % (name, number, name))
            yield line
    finally:
        text.detach()  # the caller closes its file


def _byte_lines(handle, utf8_only):
    """Lines of a file without a UTF-16 mark. A file is one encoding: once a line is only ANSI, or only UTF-8
    (non-ASCII text valid as UTF-8), the other is no longer tried for later lines."""
    decided = "utf-8" if utf8_only else None
    for number, raw in enumerate(handle, start=1):
        if b"\x00" in raw:
            raise EncodingError(number, "Line %d holds NUL bytes: the file looks like UTF-16 without a byte order mark, "
                                        "which cannot be told apart from other text." % number)
        if decided is None and raw.isascii():
            yield raw.decode("ascii")
            continue
        for codec in (decided,) if decided else ("utf-8", "cp1252"):
            try:
                line = raw.decode(codec)
            except UnicodeDecodeError:
                continue
            decided = codec
            yield line
            break
        else:
            raise EncodingError(number, "Line %d is %s." % (number, {
                None: "neither UTF-8 nor ANSI (Windows-1252)",
                "utf-8": "not UTF-8, as the file's byte order mark or its earlier lines are",
                "cp1252": "not ANSI (Windows-1252), as the file's earlier lines are"}[decided]))


def padded_hash(text):
    """(text, False), or (text with its base64 padding, True) when only the padding is missing: a device reports
    its hash unpadded, and Graph refuses the whole import for one unpadded Edm.Binary ("Cannot convert the
    literal ... to the expected type 'Edm.Binary'"; reference, step 4). Anything else is left to row_errors."""
    if not text or "=" in text or len(text) % 4 not in (2, 3):
        return text, False
    candidate = text + "=" * (-len(text) % 4)
    try:
        base64.b64decode(candidate, validate=True)
    except ValueError:
        return text, False
    return candidate, True


def compact_hash(text):
    """A base64 hash as the bytes it encodes, 3/4 of its text, when encoding them gives the text back; else the
    text. What a Device holds of a CSV row's hash (a file's hashes are most of what a run holds); two compact
    hashes are equal exactly when their texts are."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:  # not base64: row_errors names it
        return text
    return raw if raw and base64.b64encode(raw).decode("ascii") == text else text


def header_columns(header, name):
    """The Device field of each column of a header line, or the RowError that refuses it."""
    def refused(reason, fix=CSV_HEADER_HINT):
        return RowError("%s:1" % name, reason, fix)

    if not header.strip():
        return refused("The first line is empty: the file has no header.")
    fields = []
    for column in header.split(","):
        if column not in CSV_COLUMNS:
            meant = [known for known in CSV_COLUMNS if known.lower() == column.strip().strip('"').strip().lower()]
            return refused("The header has the unknown column %r." % column[:100],
                           "Write it exactly %r. %s" % (meant[0], CSV_HEADER_HINT) if meant else
                           "Remove the column (or rename it). " + CSV_HEADER_HINT)
        if CSV_COLUMNS[column] in fields:
            return refused("The header names the column %r twice." % column, "Keep one of them. " + CSV_HEADER_HINT)
        fields.append(CSV_COLUMNS[column])
    missing = [column for column in REQUIRED_COLUMNS if CSV_COLUMNS[column] not in fields]
    if missing:
        return refused("The header lacks the column%s %s." % ("s" if len(missing) > 1 else "", ", ".join(map(repr, missing))),
                       "Add %s (an empty Windows Product ID is fine). %s" % ("them" if len(missing) > 1 else "it", CSV_HEADER_HINT))
    return fields


def parse_csv(lines, name):
    """Devices and RowErrors of one CSV file's lines; `name` is how the file is named in errors."""
    lines = iter(lines)
    columns = header_columns(next(lines, "").rstrip("\r\n"), name)
    if isinstance(columns, RowError):
        return [], [columns]
    devices, errors = [], []
    for number, line in enumerate(lines, start=2):
        line = line.rstrip("\r\n")
        source = "%s:%d" % (name, number)
        if not line.strip():
            continue  # blank lines (a trailing newline) carry no device
        if '"' in line:
            errors.append(RowError(source, "The row holds a quote character.",
                                   "Remove the quotes: the portal's format has none (values never contain commas)."))
            continue
        fields = line.split(",")
        if len(fields) != len(columns):
            errors.append(RowError(source, "The row has %d fields, the header %d." % (len(fields), len(columns)),
                                   "Give exactly one value per header column, without extra commas."))
            continue
        # An empty optional cell sets nothing: a file cannot clear a tag or unassign a user (use `devices`).
        values = {field: value.strip() or None for field, value in zip(columns, fields)}
        devices.append(Device(values["serial_number"] or "", source, compact=True,
                              **{field: value for field, value in values.items() if field != "serial_number"}))
    if not devices and not errors:
        errors.append(RowError("%s:2" % name, "The file names no device.", "Add one row per device under the header."))
    return devices, errors


def from_list(entries):
    """Devices from the `devices` option (already type-checked by the argument spec)."""
    return [Device(entry["serial_number"], "devices[%d]" % index, hardware_hash=entry.get("hardware_hash"),
                   product_key=entry.get("product_key"), group_tag=entry.get("group_tag"),
                   assigned_user=entry.get("assigned_user"),
                   assigned_user_display_name=entry.get("assigned_user_display_name"))
            for index, entry in enumerate(entries)]


def control_characters(text):
    """The control characters in text (NUL, tab, escape, DEL, ...), each once, as repr shows them."""
    return sorted({repr(char) for char in text if unicodedata.category(char) == "Cc"})


def serial_number_problem(serial):
    """Why a serial number cannot be sent, or None. Control characters are not in any serial number a device
    reports; Graph would store them (a NUL in a device's name makes it unmatchable anywhere else)."""
    found = control_characters(serial)
    if found:
        return "The serial number %r holds the control character%s %s." % (serial, "s" if len(found) > 1 else "", " ".join(found))
    if not serial or serial != serial.strip():
        return "The serial number %r is empty or has spaces around it." % serial
    return None


def row_errors(device):
    """What is wrong with one device whatever the tenant holds."""
    errors = []

    def bad(reason, fix):
        errors.append(RowError(device.source, reason, fix, device.serial_number))

    problem = serial_number_problem(device.serial_number)
    if problem:
        bad(problem, "Give the device's serial number exactly as Get-WindowsAutopilotInfo reports it.")
    if device.hardware_hash is not None:
        try:
            if not base64.b64decode(device.hardware_hash, validate=True):
                raise ValueError
        except (binascii.Error, ValueError):
            cut = len(device.hardware_hash) % 4 == 1 and "=" not in device.hardware_hash
            bad("The hardware hash is not base64%s." % (
                ": its %d characters are one more than a multiple of 4, so padding cannot complete it (one is missing "
                "or extra)" % len(device.hardware_hash) if cut else ""),
                "Copy the 4K hardware hash whole from Get-WindowsAutopilotInfo's output (one line, no spaces).")
    if device.assigned_user and not UPN.match(device.assigned_user):
        bad("The assigned user %r is not a user principal name." % device.assigned_user,
            "Give the user's UPN, such as user@contoso.com (a verified domain of the tenant), or leave it empty.")
    if device.assigned_user_display_name is not None and not device.assigned_user:
        bad("assigned_user_display_name is set without assigned_user.",
            "Give assigned_user (the UPN) with its display name, or drop the display name.")
    return errors


def check_devices(devices):
    """RowErrors of every device, duplicates (by serial, case-insensitive, or hash) included: Intune would
    fail all but one of them with ZtdDeviceDuplicated."""
    errors = []
    first_by_serial, first_by_hash = {}, {}
    for device in devices:
        errors.extend(row_errors(device))
        earlier = first_by_serial.setdefault(device.key, device)
        if earlier is not device:
            errors.append(RowError(device.source, "The serial number %s is also named at %s." % (device.serial_number, earlier.source),
                                   "Name each device once.", device.serial_number))
            continue
        if device.held_hash:
            # A `devices` entry holds its hash as text, a CSV row compact: compared compact.
            held = device.held_hash
            earlier = first_by_hash.setdefault(compact_hash(held) if isinstance(held, str) else held, device)
            if earlier is not device:
                errors.append(RowError(device.source, "The hardware hash is also given for %s at %s." % (earlier.serial_number, earlier.source),
                                       "One hash belongs to one device: capture this device's hash again.", device.serial_number))
    return errors
