# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A task that may wait on Intune (autopilot_device's import_timeout) gets a token that outlives the wait: the run's
cached token when it does, a fresh one when it would expire first, and a warning when even a fresh one would. The
lab's tokens live 3600 s (lab/graph/auth.py TOKEN_LIFETIME, as Entra's shortest); a playbook task shortens the
cached token's remaining life as a run an hour in would find it. Evidence: the lab's token count."""

from __future__ import annotations

import base64
import sys

import pytest

from harness import graph_auth, run_tasks

from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import CACHE_DIR_NAME

# Leaves the run's cached token in place with argv[2] seconds left, as if acquired an hour before it expires.
SHORTEN = """
import glob, json, sys, time
entries = [p for p in glob.glob(sys.argv[1] + "/*/%s/*") if not p.endswith(".lock")]
for path in entries:
    with open(path) as handle:
        entry = json.load(handle)
    with open(path, "w") as handle:
        expires_on = time.time() + int(sys.argv[2])
        json.dump(dict(entry, expires_on=expires_on, acquired_at=expires_on - 3600), handle)
print(len(entries))
""" % CACHE_DIR_NAME


def hash_of(serial):
    return base64.b64encode(b"hash of %s " % serial.encode() * 8).decode()


def register(auth, serial, import_timeout, **options):
    device = {"serial_number": serial, "hardware_hash": hash_of(serial)}
    return {"name": "register %s" % serial, "intune.autopilot.autopilot_device": dict(
        auth, devices=[device], import_timeout=import_timeout, sync=False, **options)}


@pytest.fixture(name="local_tmp")
def fixture_local_tmp(lab, tmp_path):
    lab.client.config(delay_scale=0)  # imports finish at once: the tasks' waits are planned for, not spent
    (tmp_path / "local").mkdir()
    return tmp_path / "local"


def shorten(local_tmp, seconds):
    return {"name": "%d s left" % seconds, "ansible.builtin.command": {"argv": [sys.executable, "-c", SHORTEN, str(local_tmp), str(seconds)]}}


def test_a_cached_token_serves_an_import_it_outlives_and_a_longer_one_gets_a_fresh_token(lab, local_tmp):
    auth = graph_auth(lab)
    tasks = [
        {"name": "first token", "intune.autopilot.autopilot_config_info": auth},
        # 3000 s left: enough for 300 + 300 + 60 s of requests and an import_timeout of 1800 s (2460 s) ...
        shorten(local_tmp, 3000), register(auth, "LIFE-1", 1800),
        # ... not for one of 2700 s (3360 s): that task gets a fresh token.
        shorten(local_tmp, 3000), register(auth, "LIFE-2", 2700),
    ]
    results = run_tasks(tasks, extra_env={"ANSIBLE_LOCAL_TEMP": str(local_tmp)})
    assert [result["failed"] for result in results] == [False] * 5, results
    assert results[1]["stdout"] == results[3]["stdout"] == "1"
    assert [results[i]["counts"]["imported"] for i in (2, 4)] == [1, 1]
    assert lab.client.counts()["token"] == 2, "one token for the run, one more for the import it would not outlive"
    assert not any("Graph token lives" in str(results[i].get("warnings")) for i in (2, 4)), "a fresh token outlives both"


def test_a_task_longer_than_a_fresh_token_says_so_and_still_runs(lab, local_tmp):
    auth = graph_auth(lab)
    tasks = [register(auth, "LIFE-3", 3600), register(auth, "LIFE-4", 3600), register(auth, "LIFE-3", 3600, state="absent"),
             dict(register(auth, "LIFE-5", 3600), check_mode=True)]
    first, second, removal, planned = run_tasks(tasks, extra_env={"ANSIBLE_LOCAL_TEMP": str(local_tmp)})
    for result in (first, second):
        assert not result["failed"] and result["counts"]["imported"] == 1, result
        warning = [str(entry) for entry in result.get("warnings", []) if "Graph token lives" in str(entry)]
        assert len(warning) == 1 and "import_timeout=3600 s" in warning[0] and "Lower import_timeout" in warning[0], result
        assert auth["client_secret"] not in str(result)
    # A removal and a check-mode run do not wait on an import: no warning.
    assert not any("Graph token lives" in str(result.get("warnings")) for result in (removal, planned)), (removal, planned)
    assert lab.client.counts()["token"] == 1, "the second long import shares the token just acquired: a new one would live no longer"
