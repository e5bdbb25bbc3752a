# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acquires the Graph token on the controller (see plugin_utils/graph_action) and, while the module waits
(wait_for), shows its line per poll in the job log, as autopilot_device's action plugin shows its progress."""

from __future__ import annotations

import os
import tempfile

from ansible import constants as C

from ansible_collections.intune.autopilot.plugins.action.autopilot_device import ProgressFollower
from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import GraphTokenAction


class ActionModule(GraphTokenAction):

    def run(self, tmp=None, task_vars=None):
        args = dict(self._task.args)
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
