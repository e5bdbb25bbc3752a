# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting for Graph to catch up, bounded and reported.

Graph is eventually consistent (a new object shows in lists after a delay) and Intune works in the
background (imports, syncs, profile assignment). A module that waits polls with `wait_for`: the
first poll at once, then after 1, 2, 4 ... seconds (at most `max_delay` apart); no poll starts later
than `timeout` seconds after the first, the time spent polling included. The returned `Wait` says what was waited for, how long and how many
polls it took, so results can show it (a job log should not show a silent minute).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class Wait:
    waited_for: str
    seconds: float
    polls: int
    value: Any = None  # what the check returned; None when the time ran out

    @property
    def done(self):
        return self.value is not None

    def report(self):
        """The wait as a result entry."""
        return dict(waited_for=self.waited_for, seconds=round(self.seconds, 1), polls=self.polls, done=self.done)


def wait_for(check: Callable[[], Any], timeout: float, waited_for: str, max_delay: float = 10.0,
             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Wait:
    """Poll `check()` until it returns something other than None, for at most `timeout` seconds."""
    started = clock()
    delay = 1.0
    polls = 0
    while True:
        polls += 1
        value = check()
        elapsed = clock() - started
        if value is not None:
            return Wait(waited_for, elapsed, polls, value)
        remaining = timeout - elapsed
        if remaining <= 0:
            return Wait(waited_for, elapsed, polls)
        sleep(min(delay, remaining))
        delay = min(delay * 2, max_delay)
