# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""autopilot_device's report_file: every named device's outcome, as CSV or JSON lines."""

from __future__ import annotations

import csv
import json

REPORT_FIELDS = ("serial_number", "source", "outcome", "reason", "fix")


# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (a serial such as =1+1, or
# =HYPERLINK(...) in a reason quoting it); a leading ' makes it text (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_report(path, devices, outcomes, errors=()):
    """Every named device's outcome, one line each: CSV when the path ends in .csv (cells a spreadsheet would run as a
    formula made text), else JSON lines (as given)."""
    bad = {error.source: error for error in errors}

    def lines():
        for device in devices:
            error = bad.get(device.source)
            if error is not None:
                yield dict(serial_number=device.serial_number, source=device.source, outcome="failed",
                           reason=error.reason, fix=error.fix)
                continue
            outcome, reason, fix = outcomes.get(device.key, ("not_processed", "", ""))
            yield dict(serial_number=device.serial_number, source=device.source, outcome=outcome, reason=reason, fix=fix)
        for error in errors:
            if error.serial_number is None:  # a file-level error (header) names no device
                yield dict(serial_number="", source=error.source, outcome="failed", reason=error.reason, fix=error.fix)

    with open(path, "w", encoding="utf-8", newline="") as handle:
        if path.lower().endswith(".csv"):
            writer = csv.DictWriter(handle, REPORT_FIELDS)
            writer.writeheader()
            writer.writerows({field: spreadsheet_cell(value) for field, value in line.items()} for line in lines())
        else:
            for line in lines():
                handle.write(json.dumps(line) + "\n")
