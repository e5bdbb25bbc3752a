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
from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import CACHE_DIR_NAME, cached_token



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
    (entry,) = [path for path in (run_tmp / CACHE_DIR_NAME).iterdir() if not path.name.endswith(".lock")]
    cached = json.loads(entry.read_text())
    entry.write_text(json.dumps(dict(cached, expires_on=time.time() + seconds_left)))


def tokens_issued(lab):
    return lab.client.counts()["token"]


def test_a_cached_token_is_handed_out_only_while_it_outlives_the_tasks_worst_case(lab, run_tmp):
    args = client_secret_auth(lab)
    token = cached_token(args)
    # 700 s left: enough for a task allowed 60 s of retries (margin 300 + 60 + 60), not for one
    # allowed 600 s (300 + 600 + 60), whose token could expire while it still retries.
    set_expiry(run_tmp, 700)
    assert cached_token(dict(args, max_retry_wait=60)) == token and tokens_issued(lab) == 1
    fresh = cached_token(dict(args, max_retry_wait="600"))  # as a templated value arrives: a string
    assert fresh != token and tokens_issued(lab) == 2
    assert cached_token(args) == fresh and tokens_issued(lab) == 2


def test_a_rejected_token_is_replaced_once_however_many_tasks_report_it(lab, run_tmp):
    args = client_secret_auth(lab)
    rejected = cached_token(args)
    replacement = cached_token(args, rejected=rejected)
    assert replacement != rejected and tokens_issued(lab) == 2
    # A task on another host that was handed the same token reports it too: it gets the replacement.
    assert cached_token(args, rejected=rejected) == replacement and tokens_issued(lab) == 2
    assert cached_token(args) == replacement


def test_a_failed_replacement_leaves_no_rejected_token_for_later_tasks(lab, run_tmp):
    args = client_secret_auth(lab)
    rejected = cached_token(args)
    lab.client.fault("status", method="POST", path="/oauth2/v2.0/token$", status=400, count=1)
    with pytest.raises(AuthError):
        cached_token(args, rejected=rejected)
    assert cached_token(args) != rejected and tokens_issued(lab) == 2
