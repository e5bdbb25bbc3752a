# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The devices an autopilot_device task names: the portal's CSV files and the `devices` list, checked row
by row before anything is sent (pure: no Graph, no Ansible).

The CSV is checked as the Intune portal checks it: ANSI or UTF-8, no quotes, no extra columns and the
case-sensitive header `Device Serial Number,Windows Product ID,Hardware Hash[,Group Tag[,Assigned User]]`.
The portal's 500 rows per file is an upload limit of the portal, not of Graph's import (which documents
none), so a longer file is accepted and imported in batches of batch_size like any other input.
"""

from __future__ import annotations

import base64
import binascii
import re

CSV_COLUMNS = ("Device Serial Number", "Windows Product ID", "Hardware Hash", "Group Tag", "Assigned User")
# The portal takes the first three columns alone, or with Group Tag, or with both optional columns.
CSV_HEADERS = {",".join(CSV_COLUMNS[:count]): count for count in (3, 4, 5)}
CSV_HEADERS_SHORT = ",".join(CSV_COLUMNS[:3])
UTF8_BOM = b"\xef\xbb\xbf"
# Only the domain of an assigned user is validated by Intune (reference, step 9): check the shape here.
UPN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class Device:
    """One named device. None means "not given": the module leaves that property as it is;
    assigned_user "" means unassign. held_hash is hardware_hash as given, or compact (compact_hash) for a CSV row."""

    __slots__ = ("serial_number", "key", "held_hash", "product_key", "group_tag", "assigned_user",
                 "assigned_user_display_name", "source")

    def __init__(self, serial_number, source, hardware_hash=None, product_key=None, group_tag=None,
                 assigned_user=None, assigned_user_display_name=None):
        self.serial_number = serial_number
        # Intune matches serial numbers case-insensitively (an import of the same serial in another case
        # is ZtdDeviceAlreadyAssigned). Made once: the run's tables of outcomes share it instead of a copy each.
        self.key = serial_number.lower()
        self.source = source
        self.held_hash = hardware_hash
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
    """A line of a CSV file is neither UTF-8 nor ANSI."""

    def __init__(self, line):
        super().__init__(line)
        self.line = line


def read_lines(handle):
    """The text lines of a CSV file opened in binary, one at a time (a file of 10,000 hashes is never held
    twice): UTF-8, with or without a byte order mark, else ANSI (Windows-1252), as the portal reads them."""
    for number, raw in enumerate(handle, start=1):
        if number == 1 and raw.startswith(UTF8_BOM):
            raw = raw[len(UTF8_BOM):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            try:
                yield raw.decode("cp1252")
            except UnicodeDecodeError:  # bytes ANSI does not define either
                raise EncodingError(number) from None


def compact_hash(text):
    """A base64 hash as the bytes it encodes, 3/4 of its text, when encoding them gives the text back; else the
    text. What a Device holds of a CSV row's hash (a file's hashes are most of what a run holds); two compact
    hashes are equal exactly when their texts are."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:  # not base64: row_errors names it
        return text
    return raw if raw and base64.b64encode(raw).decode("ascii") == text else text


def parse_csv(lines, name):
    """Devices and RowErrors of one CSV file's lines; `name` is how the file is named in errors."""
    lines = iter(lines)
    header = next(lines, "").rstrip("\r\n")
    columns = CSV_HEADERS.get(header)
    if columns is None:
        return [], [RowError(
            "%s:1" % name, "The header is %r." % header[:200],
            "The first line must be exactly %r, optionally followed by ',Group Tag' or ',Group Tag,Assigned User' "
            "(case-sensitive, no quotes, no spaces around the commas), as the portal's import expects."
            % CSV_HEADERS_SHORT)]
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
        if len(fields) != columns:
            errors.append(RowError(source, "The row has %d fields, the header %d." % (len(fields), columns),
                                   "Give exactly one value per header column, without extra commas."))
            continue
        fields += [""] * (5 - columns)
        serial, product_key, hardware_hash, group_tag, assigned_user = (field.strip() for field in fields)
        # An empty optional cell sets nothing: a file cannot clear a tag or unassign a user (use `devices`).
        devices.append(Device(serial, source, hardware_hash=compact_hash(hardware_hash) if hardware_hash else None,
                              product_key=product_key or None, group_tag=group_tag or None,
                              assigned_user=assigned_user or None))
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


def row_errors(device):
    """What is wrong with one device whatever the tenant holds."""
    errors = []

    def bad(reason, fix):
        errors.append(RowError(device.source, reason, fix, device.serial_number))

    if not device.serial_number or device.serial_number != device.serial_number.strip():
        bad("The serial number %r is empty or has spaces around it." % device.serial_number,
            "Give the device's serial number exactly as Get-WindowsAutopilotInfo reports it.")
    if device.hardware_hash is not None:
        try:
            if not base64.b64decode(device.hardware_hash, validate=True):
                raise ValueError
        except (binascii.Error, ValueError):
            bad("The hardware hash is not base64.",
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
