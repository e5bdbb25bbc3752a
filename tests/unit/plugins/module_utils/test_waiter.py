# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wait_for: polls at once, backs off, never past its bound, and reports what it did."""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.module_utils._graph.waiter import wait_for


class Clock:
    def __init__(self, poll_cost=0.0):
        self.now = 0.0
        self.sleeps = []
        self.poll_cost = poll_cost

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


def test_found_on_the_third_poll_after_backing_off():
    clock = Clock()
    answers = iter([None, None, "object"])
    wait = wait_for(lambda: next(answers), 60, "the object", sleep=clock.sleep, clock=clock)
    assert wait.done and wait.value == "object" and wait.polls == 3 and clock.sleeps == [1.0, 2.0]
    assert wait.report() == dict(waited_for="the object", seconds=3.0, polls=3, done=True)


def test_the_bound_counts_the_polls_and_cuts_the_last_sleep():
    clock = Clock()

    def slow_miss():
        clock.now += 1.5  # each poll is a request that takes time
        return None

    wait = wait_for(slow_miss, 10, "the object", max_delay=4, sleep=clock.sleep, clock=clock)
    assert not wait.done and wait.value is None
    assert clock.now == 10.0 + 1.5 and max(clock.sleeps) <= 4
    assert sum(clock.sleeps) + 1.5 * wait.polls == clock.now
