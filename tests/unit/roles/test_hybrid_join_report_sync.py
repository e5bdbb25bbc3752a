# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness report's line on step 4's Autopilot sync (roles/hybrid_join/templates/report_sync.j2), as the
fields report.yml picks from autopilot_device's `sync` result make it: what became of the sync request, how it
ended and whether the devices the run registered are listed. Rendered with Jinja2 alone (the macro uses no
Ansible filter), so it runs without the lab; the report as a whole is tests/integration/pytest/test_hybrid_join_report.py."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

TEMPLATES = Path(__file__).resolve().parents[3] / "roles" / "hybrid_join" / "templates"


def summary(**sync):
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined)
    fields = dict(dict.fromkeys(("request", "status", "found", "missing", "msg"), ""), **sync)
    return environment.get_template("report_sync.j2").module.summary(fields).strip()


@pytest.mark.parametrize("sync, expected", [
    (dict(request="accepted", status="completed", found=3, missing=0),
     "Intune accepted the sync; the sync completed; 3 of 3 devices the run registered are listed as Autopilot devices."),
    (dict(request="refused_in_progress", status="completed", found=2, missing=0),
     "Intune refused the sync while another ran (409); the run waited for that one; the sync completed; "
     "2 of 2 devices the run registered are listed as Autopilot devices."),
    (dict(request="refused_throttled", status="throttled", found=0, missing=1, msg="They appear after the next sync."),
     "Intune refused the sync: it allows one per 10 minutes (429); 0 of 1 devices the run registered are listed as "
     "Autopilot devices. They appear after the next sync."),
    (dict(request="not_needed", status="not_needed"), "No sync was needed: the run registered no device."),
])
def test_the_sync_line_says_what_became_of_the_request_and_the_devices(sync, expected):
    assert summary(**sync) == expected


def test_no_line_when_step_4_did_not_run():
    assert summary() == ""
