# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acquires the Graph token on the controller (see plugin_utils/graph_action) and resolves the task's relative
paths there: csv_files as copy's src is found (files/ of the role or playbook, then the playbook directory),
report_file against the playbook directory. The module runs on the controller and reads and writes them."""

from __future__ import annotations

import os

from ansible.errors import AnsibleError

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
        report = args.get("report_file")
        if isinstance(report, str) and not os.path.isabs(os.path.expanduser(report)):
            args["report_file"] = os.path.join(self._loader.get_basedir(), report)
        self._task.args = args
        return super().run(tmp, task_vars)
