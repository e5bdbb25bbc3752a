# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's token cache (plugin_utils/graph_action): which token a task is handed, and what
happens when Graph rejects it. In-process against the Graph lab's token endpoint; the evidence is the lab's token count. The
end-to-end case (a cached token Graph rejects, through ansible-playbook) is in
tests/integration/pytest/test_credentials.py."""

from __future__ import annotations

import json
import time

import pytest
from ansible import constants as C

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import AuthError
from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import (
    CACHE_DIR_NAME,
    cached_token,
    lifetime_warning,
    task_wait,
)


def client_secret_auth(lab):
    """The options a task passes with the lab-admin app's client secret (the token endpoint issues its tokens)."""
    admin = lab.apps["lab-admin"]
    return dict(tenant_id=lab.tenant, client_id=admin["client_id"], client_secret=admin["secret"],
                graph_endpoint=lab.url, authority_host=lab.url, ca_path=lab.ca)


@pytest.fixture(name="run_tmp")
def fixture_run_tmp(tmp_path, monkeypatch):
    """The run's private temporary directory, as ansible-playbook would have made it."""
    monkeypatch.setattr(C, "DEFAULT_LOCAL_TMP", str(tmp_path))
    return tmp_path


def set_expiry(run_tmp, seconds_left):
    """The cached token with seconds_left to live, as if acquired an hour before it expires."""
    (entry,) = [path for path in (run_tmp / CACHE_DIR_NAME).iterdir() if not path.name.endswith(".lock")]
    cached = json.loads(entry.read_text())
    expires_on = time.time() + seconds_left
    entry.write_text(json.dumps(dict(cached, expires_on=expires_on, acquired_at=expires_on - 3600)))


def tokens_issued(lab):
    return lab.client.counts()["token"]


def test_a_cached_token_is_handed_out_only_while_it_outlives_the_tasks_worst_case(lab, run_tmp):
    args = client_secret_auth(lab)
    token = cached_token(args)[0]
    # 700 s left: enough for a task allowed 60 s of retries (margin 300 + 60 + 60), not for one
    # allowed 600 s (300 + 600 + 60), whose token could expire while it still retries.
    set_expiry(run_tmp, 700)
    assert cached_token(dict(args, max_retry_wait=60))[0] == token and tokens_issued(lab) == 1
    fresh = cached_token(dict(args, max_retry_wait="600"))[0]  # as a templated value arrives: a string
    assert fresh != token and tokens_issued(lab) == 2
    assert cached_token(args)[0] == fresh and tokens_issued(lab) == 2


def test_a_rejected_token_is_replaced_once_however_many_tasks_report_it(lab, run_tmp):
    args = client_secret_auth(lab)
    rejected = cached_token(args)[0]
    replacement = cached_token(args, rejected=rejected)[0]
    assert replacement != rejected and tokens_issued(lab) == 2
    # A task on another host that was handed the same token reports it too: it gets the replacement.
    assert cached_token(args, rejected=rejected)[0] == replacement and tokens_issued(lab) == 2
    assert cached_token(args)[0] == replacement


def test_a_failed_replacement_leaves_no_rejected_token_for_later_tasks(lab, run_tmp):
    args = client_secret_auth(lab)
    rejected = cached_token(args)[0]
    lab.client.fault("status", method="POST", path="/oauth2/v2.0/token$", status=400, count=1)
    with pytest.raises(AuthError):
        cached_token(args, rejected=rejected)
    assert cached_token(args)[0] != rejected and tokens_issued(lab) == 2


def test_a_task_that_may_wait_needs_a_token_that_outlives_the_wait_too(lab, run_tmp):
    args = client_secret_auth(lab)
    token, _expires_on = cached_token(args)
    set_expiry(run_tmp, 3000)
    # 3000 s left: enough for 660 s of requests and a wait of 1800 s, not for a wait of 2700 s.
    assert cached_token(args, wait=1800)[0] == token and tokens_issued(lab) == 1
    fresh, expires_on = cached_token(args, wait=2700)
    assert fresh != token and tokens_issued(lab) == 2 and expires_on > time.time() + 3300
    # A token just acquired is shared by a task it cannot outlive either: a new one would live no longer.
    assert cached_token(args, wait=7200)[0] == fresh and tokens_issued(lab) == 2


def test_the_warning_when_even_a_fresh_token_would_expire_first(lab):
    args = client_secret_auth(lab)
    assert lifetime_warning(args, 1800, "import_timeout", time.time() + 3600) is None
    warning = lifetime_warning(args, 3600, "import_timeout", time.time() + 3600)
    assert "up to 71 minutes (import_timeout=3600 s" in warning and "59 minutes left" in warning
    assert "Lower import_timeout" in warning and args["client_secret"] not in warning


@pytest.mark.parametrize("module, options, check_mode, expected", [
    ("autopilot_device", dict(state="present", import_timeout=2700), False, (2700, "import_timeout")),
    ("autopilot_device", dict(state="present", import_timeout=2700), True, (0, None)),  # check mode imports nothing
    ("autopilot_device", dict(state="absent", import_timeout=2700), False, (0, None)),
    ("autopilot_device_info", dict(wait_for="ready", wait_timeout=5400), False, (5400, None)),  # reads: no warning
    ("autopilot_device_info", dict(wait_for=None, wait_timeout=5400), False, (0, None)),  # read once, no wait
    ("autopilot_esp", dict(state="present"), False, (0, None)),
])
def test_which_tasks_wait(module, options, check_mode, expected):
    assert task_wait("intune.autopilot." + module, options, check_mode) == expected
