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
