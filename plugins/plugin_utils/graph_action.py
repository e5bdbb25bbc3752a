# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The action plugin behind every Graph module: one token per credential per playbook run.

Each task runs in its own worker process, so a token held in memory would die with the task. The
token is kept instead in the run's private temporary directory (ansible's DEFAULT_LOCAL_TMP: created
mode 0700 by the main ansible-playbook process, shared by its workers and deleted when the run ends),
in a 0600 file named by a digest of the credential. The module then receives the token as
`access_token` and never sees the client secret or certificate.

A cached token is handed out only while it outlives the task's worst case (see expiry_margin). When
Graph rejects it anyway (revoked, clock skew), the module fails with `token_rejected`; Graph did not
act on a 401, so the cached token is dropped and the module runs once more with a new one. A token the
user passed as `access_token` is theirs: it is never replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time

from ansible import constants as C
from ansible.plugins.action import ActionBase

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import (
    SECRET_OPTIONS,
    AuthError,
    acquire_token,
    credential_fingerprint,
    resolve_auth_source,
    transport_settings,
    validated_auth_options,
)

# Time for a module's other requests, beyond its longest one (see expiry_margin).
RUN_ALLOWANCE = 300
CACHE_DIR_NAME = "intune_autopilot_tokens"


def _cache_dir():
    path = os.path.join(C.DEFAULT_LOCAL_TMP, CACHE_DIR_NAME)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _read_private(path):
    """The JSON in a cache file, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _write_private(path, data):
    """Replace the JSON file at path in one step, readable by this user only."""
    descriptor = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(path + ".new", path)


def requested_group_names(args):
    """The groups a task's assignments (or groups) option names (ids among them simply never match the cache's names)."""
    names = set()
    assignments = args.get("assignments")
    for entries in assignments.values() if isinstance(assignments, dict) else ():
        for entry in entries if isinstance(entries, list) else ():
            group = entry.get("group") if isinstance(entry, dict) else None
            if isinstance(group, str):
                names.add(group)
    # automatic_enrollment names its user groups as plain strings under groups.add / remove / set.
    groups = args.get("groups")
    for entries in groups.values() if isinstance(groups, dict) else ():
        names.update(entry for entry in (entries if isinstance(entries, list) else ()) if isinstance(entry, str))
    return names


def _groups_path(args):
    return os.path.join(_cache_dir(), credential_fingerprint(args) + ".groups")


def cached_group_ids(args, names):
    """{name: id} for the names earlier tasks of this run resolved with the same credential."""
    known = _read_private(_groups_path(args)) or {}
    return {name: known[name.casefold()] for name in names if name.casefold() in known}


def remember_group_ids(args, resolved):
    """Add what a task resolved to the run's group cache (0600, in the run's private directory)."""
    path = _groups_path(args)
    with open(path + ".lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        known = _read_private(path) or {}
        known.update((name.casefold(), group_id) for name, group_id in resolved.items())
        _write_private(path, known)


def expiry_margin(args):
    """Seconds a cached token must still be valid to be handed to a task with these options.

    One request may retry for up to max_retry_wait seconds (requests included) and then spend one more
    request_timeout on its last send; RUN_ALLOWANCE covers the module's other requests. With the
    defaults that is 300 + 300 + 60 = 660 s; with the largest values allowed, 2700 s, still inside the
    shortest token lifetime Entra ID issues (60 minutes).
    """
    settings = transport_settings(args)
    return RUN_ALLOWANCE + settings["max_retry_wait"] + settings["request_timeout"]


def cached_token(args, rejected=None):
    """The run's token for this credential, acquiring (once, under a lock) when none is valid.

    `rejected`: a token Graph refused. It is dropped and a new one acquired, unless another task has
    already replaced it, in which case that replacement is returned.
    """
    path = os.path.join(_cache_dir(), credential_fingerprint(args))
    margin = expiry_margin(args)
    with open(path + ".lock", "a", encoding="utf-8") as lock:
        # Tasks on several hosts run at once; the lock makes them share one token request.
        fcntl.flock(lock, fcntl.LOCK_EX)
        entry = _read_private(path)
        try:
            if entry["token"] != rejected and entry["expires_on"] - margin > time.time():
                return entry["token"]
        except (KeyError, TypeError):  # no cache yet (None), or not what this code writes
            pass
        # Gone before acquiring, so a failed acquisition leaves no stale token for later tasks.
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        token, expires_on = acquire_token(args)
        _write_private(path, {"token": token, "expires_on": expires_on or time.time() + 3600})
        return token


class GraphTokenAction(ActionBase):
    """Each Graph module's action plugin is this class (plugins/action/<module>.py)."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        module_args = dict(self._task.args)
        try:
            # The module validates everything again; this catches what would break the token request first.
            args = validated_auth_options(module_args)
            from_cache = resolve_auth_source(args) != "access_token"
            if from_cache:
                token = cached_token(args)
                for option in SECRET_OPTIONS:
                    module_args.pop(option, None)
                module_args.update(auth_source="access_token", access_token=token)
                # Names earlier tasks of the run resolved are not looked up again. A token the user passes
                # says nothing of its tenant, so only credentials the cache is keyed by get this.
                known = cached_group_ids(args, requested_group_names(module_args))
                if known and "group_ids" not in module_args:
                    module_args["group_ids"] = known
        except AuthError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        outcome = self._execute_module(module_name=self._task.action, module_args=module_args, task_vars=task_vars)
        if from_cache and outcome.get("token_rejected"):
            # Graph did not act on the request it refused, and the modules converge on the desired state,
            # so a second run finishes what the first began without repeating it.
            try:
                module_args["access_token"] = cached_token(args, rejected=token)
            except AuthError as exc:
                result.update(failed=True, msg=str(exc))
                return result
            outcome = self._execute_module(module_name=self._task.action, module_args=module_args, task_vars=task_vars)
        if from_cache and outcome.get("resolved_groups"):
            remember_group_ids(args, outcome["resolved_groups"])
        result.update(outcome)
        return result
