# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retry-After parsing of the Graph transport; its use against a server is tested under tests/lab."""

from __future__ import annotations

import email.utils
import time

from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import parse_retry_after


def test_parse_retry_after_rejects_garbage_and_past_dates():
    assert parse_retry_after("soon") is None
    assert parse_retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0


def test_parse_retry_after_takes_whole_and_fractional_seconds():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 2.128 ") == 2.128  # the form Graph's throttling page shows
    assert parse_retry_after("-3") is None and parse_retry_after("1e3") is None and parse_retry_after("2.") is None
