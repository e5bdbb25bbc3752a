# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot_device's report_file: the CSV a spreadsheet program opens shows every value as text, none runs as
a formula (OWASP "CSV Injection": a cell starting with = + - @ tab or CR is given a leading ')."""

from __future__ import annotations

import csv
import json

from ansible_collections.intune.autopilot.plugins.module_utils._graph.autopilot_device_input import RowError, from_list
from ansible_collections.intune.autopilot.plugins.module_utils._graph.autopilot_device_report import write_report

SERIALS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", "PF-0001", "'quoted"]


def report(tmp_path, name):
    devices = from_list([dict(serial_number=serial) for serial in SERIALS])
    outcomes = {device.key: ("imported", "", "") for device in devices[1:]}
    errors = [RowError(devices[0].source, "=HYPERLINK(\"http://x\") is not a serial", "-fix it", devices[0].serial_number)]
    path = tmp_path / name
    write_report(str(path), devices, outcomes, errors)
    return path


def test_a_csv_cell_a_spreadsheet_would_run_is_text(tmp_path):
    with open(report(tmp_path, "report.csv"), encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["serial_number"] for row in rows] == ["'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd", "'\tTAB", "'\rCR", "PF-0001", "'quoted"]
    assert (rows[0]["reason"], rows[0]["fix"]) == ("'=HYPERLINK(\"http://x\") is not a serial", "'-fix it")
    assert rows[1]["outcome"] == "imported" and rows[1]["source"] == "devices[1]"


def test_json_lines_keep_the_values_as_given(tmp_path):
    with open(report(tmp_path, "report.jsonl"), encoding="utf-8") as handle:
        assert [json.loads(line)["serial_number"] for line in handle] == SERIALS
