# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A live token never outlives its run in the run's cache: a SIGTERM to ansible-playbook removes the cache before
ansible-core's handler ends the process without its atexit clean-up, and the next run's first token removes what a
run killed outright (SIGKILL) left. In-process here; a real ansible-playbook stopped with SIGTERM:
tests/integration/pytest/test_tenants_run_safety.py."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from ansible.executor.task_queue_manager import TaskQueueManager

from ansible_collections.intune.autopilot.plugins.plugin_utils import graph_action


def run_dir(parent, pid, suffix="k2x_9abc"):
    """A run's temporary directory as ansible-core names it, holding a token cache."""
    path = parent / ("ansible-local-%d%s" % (pid, suffix))
    (path / graph_action.CACHE_DIR_NAME).mkdir(parents=True)
    (path / graph_action.CACHE_DIR_NAME / "fingerprint").write_text('{"token": "live"}')
    return path


def ended_pid():
    process = subprocess.Popen(["true"])  # pylint: disable=consider-using-with
    process.wait()
    return process.pid


def test_the_first_token_of_a_run_removes_the_caches_of_runs_no_longer_running(monkeypatch, tmp_path):
    killed = run_dir(tmp_path, ended_pid())
    # A pid followed by digits of mkdtemp's suffix still reads as that pid.
    killed_digits = run_dir(tmp_path, ended_pid(), suffix="12345678")
    running = run_dir(tmp_path, os.getppid())
    this_run = tmp_path / ("ansible-local-%dabcdefgh" % os.getpid())
    this_run.mkdir()
    monkeypatch.setattr(graph_action.C, "DEFAULT_LOCAL_TMP", str(this_run))

    graph_action._cache_dir()  # pylint: disable=protected-access

    assert not (killed / graph_action.CACHE_DIR_NAME).exists() and killed.is_dir()  # Ansible's directory stays, ours goes
    assert not (killed_digits / graph_action.CACHE_DIR_NAME).exists()
    assert (running / graph_action.CACHE_DIR_NAME / "fingerprint").is_file()
    assert (this_run / graph_action.CACHE_DIR_NAME).is_dir()


class TaskQueue(TaskQueueManager):
    """The run's task queue manager as far as its SIGTERM handler goes (the real one stops workers, then the process)."""

    def __init__(self):  # pylint: disable=super-init-not-called
        self.signals = []

    def _signal_handler(self, signum, frame):
        self.signals.append(signum)


@pytest.fixture
def sigterm():
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def test_sigterm_removes_the_runs_caches_then_runs_ansibles_handler(monkeypatch, tmp_path, sigterm):  # pylint: disable=unused-argument
    cache = run_dir(tmp_path, os.getpid())
    monkeypatch.setattr(graph_action.C, "DEFAULT_LOCAL_TMP", str(cache))
    queue = TaskQueue()
    signal.signal(signal.SIGTERM, queue._signal_handler)  # pylint: disable=protected-access

    graph_action.remove_caches_on_termination()
    os.kill(os.getpid(), signal.SIGTERM)

    assert queue.signals == [signal.SIGTERM]
    assert not (cache / graph_action.CACHE_DIR_NAME).exists()


def test_outside_a_run_no_handler_is_installed(sigterm):  # pylint: disable=unused-argument
    before = signal.getsignal(signal.SIGTERM)
    graph_action.remove_caches_on_termination()
    assert signal.getsignal(signal.SIGTERM) is before
