# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The device import bench (bench/device_import_bench.py, issue #11) once at 500 devices, so it cannot rot:
it must finish with every target met. A 10 s window keeps the task's fixed cost (startup, token) small
against the budget floor at this size; `make bench-devices` runs the full 10,000."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_device_import_bench_meets_its_targets_at_500_devices():
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / "device_import_bench.py"), "--devices", "500", "--window", "10"],
        capture_output=True, text=True, check=False, cwd=str(REPO), timeout=900)
    output = completed.stdout + completed.stderr
    targets = [line for line in completed.stdout.splitlines() if line.strip().startswith(("PASS", "FAIL"))]
    assert len(targets) == 6, output
    assert completed.returncode == 0 and not [line for line in targets if "FAIL" in line], output
