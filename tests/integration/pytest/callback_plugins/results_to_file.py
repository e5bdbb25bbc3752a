# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: append every task result, as ansible-playbook reports it, to $RESULTS_FILE (JSON lines)."""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: results_to_file
type: aggregate
short_description: Test helper writing task results as JSON lines
description: Writes each task result to the file named by the RESULTS_FILE environment variable.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "results_to_file"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result, status):
        # ansible-core 2.21 keeps `failed` out of an ignored failure's result; the status says it.
        record = dict(result._result, failed=status == "failed", _task=result._task.get_name(), _status=status)
        with open(os.environ["RESULTS_FILE"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")
