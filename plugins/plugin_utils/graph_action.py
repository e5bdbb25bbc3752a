# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The action plugin behind every Graph module: one token per credential per playbook run.

Each task runs in its own worker process, so a token held in memory would die with the task. The
token is kept instead in the run's private temporary directory (ansible's DEFAULT_LOCAL_TMP: created
mode 0700 by the main ansible-playbook process, shared by its workers and deleted when the run ends),
in a 0600 file named by a digest of the credential. A run stopped with SIGTERM removes it too (see
remove_caches_on_termination); the first token of the next run removes what a killed run left (remove_stale_caches). The module then receives the token as
`access_token` and never sees the client secret or certificate.

Before any token is requested, the task's options are checked as the module will check them: ansible-core's
validator over the module's own argument spec (see module_contract), failing with the module's own message. So a
misspelled option or a bad value costs no sign-in.

A cached token is handed out only while it outlives the task's worst case (see expiry_margin and task_wait):
a task that may wait for an import or for devices gets a fresh token when the cached one would expire first,
and an import a warning when even a fresh one would. When Graph rejects a token anyway (revoked, clock skew, a task that
outlived it), the module fails with `token_rejected`; Graph did not act on a 401, so the cached token is dropped
and the module runs once more with a new one. A token the user passed as `access_token` is theirs: it is never
replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time

from ansible import constants as C
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.executor.task_queue_manager import TaskQueueManager
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import (
    SECRET_OPTIONS,
    AuthError,
    acquire_token,
    credential_fingerprint,
    resolve_auth_source,
    transport_settings,
)

display = Display()
# Time for a module's other requests, beyond its longest one (see expiry_margin).
RUN_ALLOWANCE = 300
CACHE_DIR_NAME = "intune_autopilot_tokens"
SPEC_DIR_NAME = "intune_autopilot_specs"
# Seconds after its acquisition a token counts as fresh: asking again would not get one that lives longer.
FRESH_FOR = 60
# AnsibleModule's keywords that check how options combine, passed to the validator with the spec.
OPTION_CHECKS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")
# How a function in a recorded argument spec (an environment fallback) is written in the run's spec cache.
FUNCTION_KEY = "__function__"


# ansible-core names each run's DEFAULT_LOCAL_TMP with mkdtemp(prefix="ansible-local-<pid of the run>"), which adds 8 characters.
RUN_DIR_PREFIX = "ansible-local-"
MKDTEMP_SUFFIX = 8


def _cache_dir(name=CACHE_DIR_NAME):
    path = os.path.join(C.DEFAULT_LOCAL_TMP, name)
    if name == CACHE_DIR_NAME and not os.path.isdir(path):
        remove_stale_caches(C.DEFAULT_LOCAL_TMP)  # once a run, at its first token
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def remove_run_caches(run_dir):
    """Remove this collection's caches (tokens, group ids, argument specs) from a run's temporary directory."""
    for name in (CACHE_DIR_NAME, SPEC_DIR_NAME):
        shutil.rmtree(os.path.join(run_dir, name), ignore_errors=True)


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_caches(run_dir):
    """Remove the token caches of runs that ended without Ansible removing their temporary directory (killed with
    SIGKILL, or by a SIGTERM the controller did not see): a live token must not outlive its run. A run's directory
    is a sibling of this run's, named after the run's process, which no longer exists."""
    parent = os.path.dirname(run_dir)
    try:
        entries = os.listdir(parent)
    except OSError:
        return
    for entry in entries:
        pid = entry[len(RUN_DIR_PREFIX):-MKDTEMP_SUFFIX]
        other = os.path.join(parent, entry)
        if (entry.startswith(RUN_DIR_PREFIX) and pid.isdigit() and other != run_dir
                and os.path.isdir(os.path.join(other, CACHE_DIR_NAME)) and not _running(int(pid))):
            remove_run_caches(other)


def remove_caches_on_termination():
    """In the main ansible-playbook process, remove the run's caches on SIGTERM before ansible-core's handler (which
    stops the workers, then the process, with no atexit: the run's temporary directory stays). Installed when the
    run's strategy first loads a Graph action plugin, over the task queue manager's handler only: not in a worker
    (the action runs there, under WorkerProcess's handler), nor in any other process importing this module."""
    previous = signal.getsignal(signal.SIGTERM)
    if not isinstance(getattr(previous, "__self__", None), TaskQueueManager):
        return
    run_dir = C.DEFAULT_LOCAL_TMP

    def terminated(signum, frame):
        remove_run_caches(run_dir)
        previous(signum, frame)

    signal.signal(signal.SIGTERM, terminated)


def _read_private(path):
    """The JSON in a cache file, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _write_private(path, data):
    """Replace the JSON file at path in one step, readable by this user only.

    Each writer has its own temporary file (mkstemp: unique, 0600): forks writing the same cache at once would
    otherwise share one, and a writer whose file another had already renamed failed its task.
    """
    descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=os.path.basename(path) + ".")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


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


class OptionsError(Exception):
    """A task's options the module would refuse, with the module's own message."""


class SpecRecorded(Exception):
    """Raised in place of AnsibleModule.__init__ once a module's main() has handed over its argument spec."""


def record_module_contract(fqcn):
    """The argument spec and option checks the module's main() gives AnsibleModule.

    main() runs until it constructs its AnsibleModule, which records them and stops it (as ansible-test's
    validate-modules reads a module's spec, and the intune-args lint rule), so the spec is the module's own,
    auth options merged in, with nothing copied here. Costs the module's imports.
    """
    module = importlib.import_module("ansible_collections.%s.plugins.modules.%s" % tuple(fqcn.rsplit(".", 1)))
    recorded = {}
    original_init = AnsibleModule.__init__

    def record(self, argument_spec, **kwargs):  # pylint: disable=unused-argument
        recorded.update(kwargs, argument_spec=argument_spec)
        raise SpecRecorded()

    AnsibleModule.__init__ = record
    try:
        module.main()
    except SpecRecorded:
        pass
    finally:
        AnsibleModule.__init__ = original_init
    if "argument_spec" not in recorded:
        raise OptionsError("%s: its main() did not construct an AnsibleModule, so its options cannot be checked." % fqcn)
    return {key: value for key, value in recorded.items() if key == "argument_spec" or key in OPTION_CHECKS}


def _encode_functions(value):
    """value as JSON can hold it: a module-level function (an environment fallback) by module and name."""
    if callable(value):
        if "<" in value.__qualname__:  # a lambda or a nested function has no name to find it by
            raise TypeError(value.__qualname__)
        return {FUNCTION_KEY: [value.__module__, value.__qualname__]}
    if isinstance(value, dict):
        return {key: _encode_functions(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode_functions(item) for item in value]
    return value


def _decode_functions(value):
    """The inverse of _encode_functions, finding functions only in modules already loaded (KeyError otherwise)."""
    if isinstance(value, dict):
        if set(value) == {FUNCTION_KEY}:
            module_name, qualname = value[FUNCTION_KEY]
            return getattr(sys.modules[module_name], qualname)
        return {key: _decode_functions(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode_functions(item) for item in value]
    return value


def module_contract(fqcn):
    """record_module_contract(fqcn), recorded once per run: kept as JSON in the run's private directory, as tokens are.

    Each task runs in its own worker process, so without it every task would pay the module's imports (measured:
    about 60 ms CPU, more with ldap3); reading it back and validating costs about 1 ms, 0.6 ms more than checking
    the auth options alone did.
    """
    path = os.path.join(_cache_dir(SPEC_DIR_NAME), "%s.json" % fqcn)
    cached = _read_private(path)
    if cached is not None:
        try:
            return _decode_functions(cached)
        except (KeyError, AttributeError, TypeError, ValueError):
            pass  # not what this code writes, or a function of a module not loaded here: record it again
    contract = record_module_contract(fqcn)
    try:
        _write_private(path, _encode_functions(contract))
    except (TypeError, ValueError, OSError):  # a spec JSON cannot hold, or a cache not writable: recorded per task
        pass
    return contract


def validated_options(name, contract, args):
    """args checked and completed (types, choices, defaults, environment fallbacks, how options combine) by
    ansible-core's validator over the module's contract, as AnsibleModule does; OptionsError with the message
    AnsibleModule would fail with (values of no_log options masked)."""
    checks = {key: contract[key] for key in OPTION_CHECKS if contract.get(key)}
    result = ArgumentSpecValidator(contract["argument_spec"], **checks).validate(args)
    if result.error_messages:
        message = result.errors.msg
        if isinstance(result.errors[0], UnsupportedError):
            message = "Unsupported parameters for (%s) module: %s" % (name, message)
        raise OptionsError(remove_values(message, result._no_log_values))  # pylint: disable=protected-access
    return result.validated_parameters


def task_wait(fqcn, params, check_mode):
    """(seconds, option): how long a task may wait on Intune beyond its requests, which its token must outlive too,
    and the option to lower when even a fresh token would not (None: nothing to warn of). An import waits up to
    import_timeout (per batch, and once more for the sync: the longest single wait is planned for); a readiness check
    with wait_for up to wait_timeout, but it only reads, so after a 401 it simply waits again: no warning. Others
    (0, None)."""
    module = fqcn.rsplit(".", 1)[-1]
    if module == "autopilot_device" and params.get("state") == "present" and not check_mode:
        return max(0, params["import_timeout"]), "import_timeout"
    if module == "autopilot_device_info" and params.get("wait_for"):
        return max(0, params["wait_timeout"]), None
    return 0, None


def expiry_margin(args):
    """Seconds a cached token must still be valid to be handed to a task with these options.

    One request may retry for up to max_retry_wait seconds (requests included) and then spend one more
    request_timeout on its last send; RUN_ALLOWANCE covers the module's other requests. With the
    defaults that is 300 + 300 + 60 = 660 s; with the largest values allowed, 2700 s, still inside the
    shortest token lifetime Entra ID issues (60 minutes).
    """
    settings = transport_settings(args)
    return RUN_ALLOWANCE + settings["max_retry_wait"] + settings["request_timeout"]


def show_device_code(verification_uri, user_code, seconds):
    """The device code sign-in, on the controller's display at once: in the terminal, and in an AWX job's output while
    the task waits. It shows a code for one sign-in, not a secret that grants anything by itself."""
    display.display(
        "intune.autopilot: to sign in to Microsoft Graph for this playbook run, open %s in a browser and enter the code "
        "%s within %d min %02d s. Sign in as a user whose Entra role may make the change (Intune Administrator, or for "
        "the MDM user scope at least Cloud Device Administrator). Tasks wait for this one sign-in; later tasks reuse its token."
        % (verification_uri, user_code, seconds // 60, seconds % 60))


def cached_token(args, rejected=None, wait=0, prompt=show_device_code):
    """(token, expires_on): the run's token for this credential, acquiring (once, under a lock) when none
    outlives the task's worst case, expiry_margin(args) + `wait` seconds (see task_wait).

    `rejected`: a token Graph refused. It is dropped and a new one acquired, unless another task has
    already replaced it, in which case that replacement is returned. `prompt`: shows a device code sign-in
    (auth_source=device_code); tasks of other hosts wait on the lock meanwhile and then share the token.
    """
    path = os.path.join(_cache_dir(), credential_fingerprint(args))
    margin = expiry_margin(args) + wait
    with open(path + ".lock", "a", encoding="utf-8") as lock:
        # Tasks on several hosts run at once; the lock makes them share one token request.
        fcntl.flock(lock, fcntl.LOCK_EX)
        entry = _read_private(path)
        now = time.time()
        try:
            # A token acquired moments ago is handed out even when it would not outlive the task: a new one would
            # not live longer, so several such tasks at once share it (each warns, see lifetime_warning).
            if entry["token"] != rejected and (entry["expires_on"] - margin > now or now - entry.get("acquired_at", 0) < FRESH_FOR):
                return entry["token"], entry["expires_on"]
        except (KeyError, TypeError):  # no cache yet (None), or not what this code writes
            pass
        # Gone before acquiring, so a failed acquisition leaves no stale token for later tasks.
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        token, expires_on = acquire_token(args, prompt=prompt)
        # After the sign-in's own retries (auth.acquire_token), which may have waited up to max_retry_wait.
        now = time.time()
        entry = {"token": token, "expires_on": expires_on or now + 3600, "acquired_at": now}
        _write_private(path, entry)
        return token, entry["expires_on"]


def lifetime_warning(args, wait, wait_option, expires_on):
    """A warning when even the token just acquired may expire before the task ends, else None."""
    worst_case = expiry_margin(args) + wait
    left = expires_on - time.time()
    if left > worst_case:
        return None
    return ("This task may run up to %d minutes (%s=%d s, plus max_retry_wait, request_timeout and %d s for its other "
            "requests), longer than its Graph token lives (%d minutes left on a token just acquired). If the token "
            "expires first, Graph refuses it and the task runs once more with a new one, carrying on from what "
            "Intune already holds; the result then shows only that second run. Lower %s to keep the task within "
            "one token." % (worst_case // 60, wait_option, wait, RUN_ALLOWANCE, left // 60, wait_option))


class GraphTokenAction(ActionBase):
    """Each Graph module's action plugin is this class (plugins/action/<module>.py)."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        module_args = dict(self._task.args)
        fqcn = self._task.resolved_action or self._task.action
        try:
            # Checked as the module will check them, before the token request; the module checks them again.
            args = validated_options(self._task.action, module_contract(fqcn), module_args)
            from_cache = resolve_auth_source(args) != "access_token"
            if from_cache:
                wait, wait_option = task_wait(fqcn, args, self._play_context.check_mode)
                token, expires_on = cached_token(args, wait=wait)
                warning = lifetime_warning(args, wait, wait_option, expires_on) if wait_option else None
                if warning:
                    display.warning(warning)
                for option in SECRET_OPTIONS:
                    module_args.pop(option, None)
                module_args.update(auth_source="access_token", access_token=token)
                # Names earlier tasks of the run resolved are not looked up again. A token the user passes
                # says nothing of its tenant, so only credentials the cache is keyed by get this.
                known = cached_group_ids(args, requested_group_names(module_args))
                if known and "group_ids" not in module_args:
                    module_args["group_ids"] = known
        except (AuthError, OptionsError) as exc:
            result.update(failed=True, msg=str(exc))
            return result
        outcome = self._execute_module(module_name=self._task.action, module_args=module_args, task_vars=task_vars)
        if from_cache and outcome.get("token_rejected"):
            # Graph did not act on the request it refused, and the modules converge on the desired state,
            # so a second run finishes what the first began without repeating it.
            try:
                module_args["access_token"] = cached_token(args, rejected=token, wait=wait)[0]
            except AuthError as exc:
                result.update(failed=True, msg=str(exc))
                return result
            outcome = self._execute_module(module_name=self._task.action, module_args=module_args, task_vars=task_vars)
        if from_cache and outcome.get("resolved_groups"):
            remember_group_ids(args, outcome["resolved_groups"])
        result.update(outcome)
        return result


remove_caches_on_termination()
