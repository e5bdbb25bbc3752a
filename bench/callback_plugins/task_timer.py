# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: each task's wall time, action, tags and changed flag, as JSON lines in $TASK_TIMES_FILE; started_at and
ended_at are epoch seconds, to line tasks up with the Graph lab's request log (its received/answered times)."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: task_timer
type: aggregate
short_description: Benchmark helper timing each task
description: Writes each task's duration to the file named by the TASK_TIMES_FILE environment variable.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = (time.perf_counter(), time.time())

    def _record(self, result, ignore_errors=False):  # pylint: disable=unused-argument
        # ignore_errors: Ansible passes it for a failed task; without it a failure went unrecorded.
        task = result._task
        started, started_at = self._started.get(task._uuid, (time.perf_counter(), time.time()))
        record = {
            "task": task.get_name(),
            "action": task.resolved_action or task.action,
            "seconds": time.perf_counter() - started,
            "started_at": started_at,
            "ended_at": time.time(),
            "tags": sorted(task.tags),
            "changed": bool(result._result.get("changed")),
        }
        with open(os.environ["TASK_TIMES_FILE"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    v2_runner_on_ok = _record
    v2_runner_on_failed = _record
