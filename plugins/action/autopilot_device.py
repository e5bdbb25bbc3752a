# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acquires the Graph token on the controller (see plugin_utils/graph_action), resolves the task's relative paths
there (csv_files as copy's src is found; report_file against the playbook directory, or the working directory
for a playbook of the collection started by name), and shows the module's
progress in the job log while it runs (see plugin_utils/progress_action)."""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.plugin_utils.progress_action import DeviceProgressAction


class ActionModule(DeviceProgressAction):

    def run(self, tmp=None, task_vars=None):
        args = dict(self._task.args)
        missing = self.find_csv_files(args)
        if missing:
            return dict(failed=True, msg=missing)
        if isinstance(args.get("report_file"), str):
            args["report_file"] = self.output_path(args["report_file"])
        if args.get("progress_file"):
            self._task.args = args
            return super().run(tmp, task_vars)
        return self.run_following_progress(args, tmp, task_vars)
