# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the action plugins of the device modules (autopilot_device, autopilot_device_info) share: csv_files found
on the controller as copy's src is found (files/ of the role or playbook, then the playbook directory; for a playbook
of the collection started by name, then the working directory), and the module's progress shown in the job log while it runs.

A module cannot print while it runs. These append a line per step to progress_file; unless the task sets it, the
action plugin points it at a private file in the run's temporary directory and, while the module runs, a thread
shows each new line through Display (from a worker process Display hands it to the main process, so it appears in
the job log at once). The modules run on the controller, where the file is."""

from __future__ import annotations

import os
import re
import tempfile
import threading

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.utils.display import Display

from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import GraphTokenAction

display = Display()
# Seconds between looks at the progress file: the lines are minutes apart, a second late is fine.
FOLLOW_INTERVAL = 1.0


class ProgressFollower(threading.Thread):
    """Shows the lines appended to a file until stopped, then the rest."""

    def __init__(self, path, prefix):
        super().__init__(daemon=True)
        self.path = path
        self.prefix = prefix
        self.stopped = threading.Event()
        self.offset = 0

    def show_new_lines(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                handle.seek(self.offset)
                text = handle.read()
        except OSError:
            return
        complete = text[:text.rfind("\n") + 1]  # a line still being written waits for the next look
        self.offset += len(complete.encode("utf-8"))
        for line in complete.splitlines():
            display.display("%s: %s" % (self.prefix, line))

    def run(self):
        while not self.stopped.wait(FOLLOW_INTERVAL):
            self.show_new_lines()

    def stop(self):
        self.stopped.set()
        self.join()
        self.show_new_lines()


# The playbooks/ directory of an installed collection: where a playbook started by name lives.
COLLECTION_PLAYBOOKS = re.compile(r"(^|/)ansible_collections/[^/]+/[^/]+/playbooks(/|$)")


class DeviceProgressAction(GraphTokenAction):
    """GraphTokenAction with csv_files found on the controller and the module's progress followed."""

    def started_by_name(self):
        """Whether the playbook is a collection's, started by name (ansible-playbook intune.autopilot.onboard_devices):
        its directory is then inside the installed collection, where no file of the user's is."""
        return COLLECTION_PLAYBOOKS.search(self._loader.get_basedir().replace(os.sep, "/")) is not None

    def find_file(self, path):
        """A relative path found as copy finds src or, for a playbook started by name, also in the working directory."""
        try:
            return self._find_needle("files", path)
        except AnsibleError:
            in_working_directory = os.path.abspath(os.path.expanduser(path))
            if self.started_by_name() and os.path.exists(in_working_directory):
                return in_working_directory
            raise

    def output_path(self, path):
        """Where a relative output path goes: the playbook directory or, for a playbook started by name, the working
        directory."""
        path = os.path.expanduser(path)
        if os.path.isabs(path):
            return path
        return os.path.abspath(path) if self.started_by_name() else os.path.join(self._loader.get_basedir(), path)

    def find_csv_files(self, args):
        """args with csv_files found as copy finds src; an error message instead when one is missing."""
        try:
            if isinstance(args.get("csv_files"), list):
                args["csv_files"] = [self.find_file(path) if isinstance(path, str) else path for path in args["csv_files"]]
        except AnsibleError as exc:
            return "csv_files: %s" % exc.message
        return None

    def run_following_progress(self, args, tmp, task_vars):
        """Run the module with args, showing what it appends to a private progress_file as it comes."""
        descriptor, args["progress_file"] = tempfile.mkstemp(prefix="%s_progress_" % self._task.action.rsplit(".", 1)[-1],
                                                             dir=C.DEFAULT_LOCAL_TMP)
        os.close(descriptor)
        self._task.args = args
        follower = ProgressFollower(args["progress_file"], "%s %s" % (self._task.get_name(), (task_vars or {}).get("inventory_hostname", "")))
        follower.start()
        try:
            return super().run(tmp, task_vars)
        finally:
            follower.stop()
            os.remove(args["progress_file"])
