# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acquires the Graph token on the controller (see plugin_utils/graph_action), finds csv_files on the controller
as autopilot_device's action plugin does, and while the module waits (wait_for) shows its line per poll in the
job log (see plugin_utils/progress_action)."""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.plugin_utils.progress_action import DeviceProgressAction


class ActionModule(DeviceProgressAction):

    def run(self, tmp=None, task_vars=None):
        args = dict(self._task.args)
        missing = self.find_csv_files(args)
        if missing:
            return dict(failed=True, msg=missing)
        if not args.get("wait_for") or args.get("progress_file"):
            self._task.args = args
            return super().run(tmp, task_vars)
        return self.run_following_progress(args, tmp, task_vars)
