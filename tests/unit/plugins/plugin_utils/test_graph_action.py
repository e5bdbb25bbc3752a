# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's token cache (plugin_utils/graph_action): which token a task is handed, and what
happens when Graph rejects it. In-process against the Graph lab's token endpoint, and end to end through
ansible-playbook; the evidence is the lab's token count and request log."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest
from ansible import constants as C

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import AuthError
from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import CACHE_DIR_NAME, cached_token

_HARNESS = Path(__file__).resolve().parents[3] / "integration" / "pytest" / "harness.py"
_spec = importlib.util.spec_from_file_location("graph_harness", _HARNESS)
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

PROFILE = dict(display_name="Autopilot hybrid join - domain join", computer_name_prefix="HAADJ-", domain="lab.example",
               organizational_unit="OU=Autopilot,DC=lab,DC=example")


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
    args = harness.graph_auth(lab)
    token = cached_token(args)
    # 700 s left: enough for a task allowed 60 s of retries (margin 300 + 60 + 60), not for one
    # allowed 600 s (300 + 600 + 60), whose token could expire while it still retries.
    set_expiry(run_tmp, 700)
    assert cached_token(dict(args, max_retry_wait=60)) == token and tokens_issued(lab) == 1
    fresh = cached_token(dict(args, max_retry_wait="600"))  # as a templated value arrives: a string
    assert fresh != token and tokens_issued(lab) == 2
    assert cached_token(args) == fresh and tokens_issued(lab) == 2


def test_a_rejected_token_is_replaced_once_however_many_tasks_report_it(lab, run_tmp):
    args = harness.graph_auth(lab)
    rejected = cached_token(args)
    replacement = cached_token(args, rejected=rejected)
    assert replacement != rejected and tokens_issued(lab) == 2
    # A task on another host that was handed the same token reports it too: it gets the replacement.
    assert cached_token(args, rejected=rejected) == replacement and tokens_issued(lab) == 2
    assert cached_token(args) == replacement


def test_a_failed_replacement_leaves_no_rejected_token_for_later_tasks(lab, run_tmp):
    args = harness.graph_auth(lab)
    rejected = cached_token(args)
    lab.client.fault("status", method="POST", path="/oauth2/v2.0/token$", status=400, count=1)
    with pytest.raises(AuthError):
        cached_token(args, rejected=rejected)
    assert cached_token(args) != rejected and tokens_issued(lab) == 2


# Stands in for a token revoked after it was cached: the entry still claims an hour to live.
REVOKE = """
import glob, json, sys, time
entries = [p for p in glob.glob(sys.argv[1] + "/*/%s/*") if not p.endswith(".lock")]
for path in entries:
    with open(path, "w") as handle:
        json.dump({"token": open(sys.argv[2]).read(), "expires_on": time.time() + 3600}, handle)
print(len(entries))
""" % CACHE_DIR_NAME


def test_a_cached_token_graph_rejects_is_replaced_and_the_task_runs_again(lab, tmp_path):
    auth = harness.graph_auth(lab)
    revoked = lab.client.mint_token(kind="app", app=lab.apps["lab-admin"]["client_id"], expired=True)
    (tmp_path / "revoked").write_text(revoked)
    (tmp_path / "local").mkdir()
    tasks = [
        {"name": "create", "intune.autopilot.domain_join_profile": dict(auth, **PROFILE)},
        {"name": "revoke", "ansible.builtin.command": {"argv": [sys.executable, "-c", REVOKE, str(tmp_path / "local"), str(tmp_path / "revoked")]}},
        {"name": "update", "intune.autopilot.domain_join_profile": dict(auth, description="after a rejected token", **PROFILE)},
    ]
    created, revoking, updated = harness.run_tasks(tasks, extra_env={"ANSIBLE_LOCAL_TEMP": str(tmp_path / "local")})
    assert created["changed"] and revoking["stdout"] == "1", (created, revoking)
    assert updated["changed"] is True and not updated["failed"], updated
    assert tokens_issued(lab) == 2, "the rejected token was replaced once"
    statuses = [entry["status"] for entry in lab.client.requests()]
    assert statuses.count(401) == 1
    assert [entry["method"] for entry in lab.client.requests()[statuses.index(401):] if entry["method"] != "GET"] == ["PATCH"]
    assert [obj.get("description") for obj in lab.client.state()["deviceConfigurations"] if obj["id"] == created["id"]] == ["after a rejected token"]
    assert revoked not in json.dumps([created, updated])
