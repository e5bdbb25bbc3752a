# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The action plugin behind every Graph module: one token per credential per playbook run.

Each task runs in its own worker process, so a token held in memory would die with the task. The
token is kept instead in the run's private temporary directory (ansible's DEFAULT_LOCAL_TMP: created
mode 0700 by the main ansible-playbook process, shared by its workers and deleted when the run ends),
in a 0600 file named by a digest of the credential. The module then receives the token as
`access_token` and never sees the client secret or certificate.
"""

from __future__ import annotations

import fcntl
import json
import os
import time

from ansible import constants as C
from ansible.plugins.action import ActionBase

from ansible_collections.intune.autopilot.plugins.module_utils.graph_auth import (
    SECRET_OPTIONS,
    AuthError,
    acquire_token,
    credential_fingerprint,
    resolve_auth_source,
)

# A cached token is used only while it has at least this long to live.
EXPIRY_MARGIN = 300
CACHE_DIR_NAME = "intune_autopilot_tokens"


def _cache_dir():
    path = os.path.join(C.DEFAULT_LOCAL_TMP, CACHE_DIR_NAME)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def cached_token(args):
    """The run's token for this credential, acquiring (once, under a lock) when none is valid."""
    path = os.path.join(_cache_dir(), credential_fingerprint(args))
    with open(path + ".lock", "a", encoding="utf-8") as lock:
        # Tasks on several hosts run at once; the lock makes them share one token request.
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path, encoding="utf-8") as handle:
                entry = json.load(handle)
            if entry["expires_on"] - EXPIRY_MARGIN > time.time():
                return entry["token"]
        except (OSError, ValueError, KeyError):
            pass
        token, expires_on = acquire_token(args)
        descriptor = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"token": token, "expires_on": expires_on or time.time() + 3600}, handle)
        os.replace(path + ".new", path)
        return token


class GraphTokenAction(ActionBase):
    """Each Graph module's action plugin is this class (plugins/action/<module>.py)."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        module_args = dict(self._task.args)
        try:
            if resolve_auth_source(module_args) != "access_token":
                token = cached_token(module_args)
                for option in SECRET_OPTIONS:
                    module_args.pop(option, None)
                module_args.update(auth_source="access_token", access_token=token)
        except AuthError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result.update(self._execute_module(module_name=self._task.action, module_args=module_args, task_vars=task_vars))
        return result
