# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acquires the Graph token on the controller (see plugin_utils/graph_action), finds csv_files on the controller
as autopilot_device's action plugin does (files/ of the role or playbook, then the playbook directory), and while
the module waits (wait_for) shows its line per poll in the job log, as autopilot_device's shows its progress."""

from __future__ import annotations

import os
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleError

from ansible_collections.intune.autopilot.plugins.action.autopilot_device import ProgressFollower
from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import GraphTokenAction


class ActionModule(GraphTokenAction):

    def run(self, tmp=None, task_vars=None):
        args = dict(self._task.args)
        try:
            if isinstance(args.get("csv_files"), list):
                args["csv_files"] = [self._find_needle("files", path) if isinstance(path, str) else path
                                     for path in args["csv_files"]]
        except AnsibleError as exc:
            return dict(failed=True, msg="csv_files: %s" % exc.message)
        self._task.args = args
        if not args.get("wait_for") or args.get("progress_file"):
            return super().run(tmp, task_vars)
        descriptor, args["progress_file"] = tempfile.mkstemp(prefix="autopilot_device_info_progress_", dir=C.DEFAULT_LOCAL_TMP)
        os.close(descriptor)
        self._task.args = args
        follower = ProgressFollower(args["progress_file"], "%s %s" % (self._task.get_name(), (task_vars or {}).get("inventory_hostname", "")))
        follower.start()
        try:
            return super().run(tmp, task_vars)
        finally:
            follower.stop()
            os.remove(args["progress_file"])
