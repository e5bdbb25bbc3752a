# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sign-in under faults: a token request that is throttled, meets a 5xx or loses its connection is sent again
with the transport's retry policy (Retry-After honoured, bounded by max_retry_wait); a refusal is sent once.

The lab counts only the token requests it answered with a token, so the number sent is read from the faults: a
fault answers as many requests as its count, in order, and a request can only succeed once every fault before it
is used up. A request the lab refuses is counted with a fault left behind (see unsent_fault_left)."""

from __future__ import annotations

import json
import re
import ssl
import time
import urllib.error
import urllib.request

import pytest

from harness import graph_auth, run_tasks

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import AuthError, acquire_token

TOKEN = r"/oauth2/v2.0/token$"


def sign_in(lab, **overrides):
    return acquire_token(dict(graph_auth(lab), auth_source="auto", **overrides))


def unsent_fault_left(lab, method, path):
    """Whether the lab still holds a 503 for the next such sign-in request: sent once more, it would have been used."""
    request = urllib.request.Request(lab.url + path, method=method, data=b"grant_type=client_credentials" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=str(lab.ca)), timeout=30):
            return False
    except urllib.error.HTTPError as exc:
        return exc.code == 503


@pytest.mark.parametrize("fault", [
    dict(action="status", status=429, retry_after=1, count=2),
    dict(action="status", status=503, count=2),
    dict(action="drop_before", count=2),
    # Longer than azure-core's own retries of a token request would ride out (3 resends after a status).
    dict(action="status", status=429, retry_after=1, count=5),
], ids=["429_storm_with_retry_after", "5xx_burst", "dropped_connections", "429_storm_of_5"])
def test_a_transient_sign_in_failure_is_sent_again_until_it_succeeds(lab, fault):
    lab.client.fault(method="POST", path=TOKEN, **fault)
    started = time.monotonic()

    token, _expires_on = sign_in(lab)

    # The faulted requests (two: three requests in all), then the one the lab answered with a token.
    assert token and lab.client.counts()["token"] == 1
    if fault.get("retry_after"):
        assert time.monotonic() - started >= fault["count"]  # Retry-After: 1, each time


UNKNOWN_TENANT = "00000000-0000-4000-8000-0000000000ff"


def test_a_sign_in_that_outlasts_request_timeout_is_sent_again(lab):
    lab.client.fault("latency", method="POST", path=TOKEN, latency_ms=4000, count=1)
    started = time.monotonic()

    token, _expires_on = sign_in(lab, request_timeout=1)

    # Given up on after 1 s and sent again, not waited for (azure-core alone would wait 300 s).
    assert token and time.monotonic() - started < 4
    # The lab still issues the slow request's token, to a client no longer waiting: let it, before the next test.
    while lab.client.counts()["token"] < 2 and time.monotonic() - started < 15:
        time.sleep(0.2)
    assert lab.client.counts()["token"] == 2


@pytest.mark.parametrize("overrides, refused, refusal", [
    (dict(client_secret="not-the-secret"), ("POST", "/%(tenant)s/oauth2/v2.0/token"), "AADSTS7000215"),
    (dict(client_id="00000000-0000-4000-8000-000000000bad"), ("POST", "/%(tenant)s/oauth2/v2.0/token"), "AADSTS700016"),
    # MSAL reads the unknown tenant's OpenID configuration first: the lab's 400 AADSTS90002 ends it there.
    (dict(tenant_id=UNKNOWN_TENANT), ("GET", "/%s/v2.0/.well-known/openid-configuration" % UNKNOWN_TENANT),
     "double check your tenant name or GUID"),
], ids=["bad_secret", "unknown_app", "unknown_tenant"])
def test_a_refused_sign_in_is_sent_once(lab, overrides, refused, refusal):
    method, path = refused[0], refused[1] % dict(tenant=lab.tenant)
    # The first request is slowed (and so counted) by the latency fault; a second would use up the 503.
    lab.client.fault("latency", method=method, path=path + "$", latency_ms=1, count=1)
    lab.client.fault("status", method=method, path=path + "$", status=503, count=1)

    with pytest.raises(AuthError) as failure:
        sign_in(lab, **overrides)

    assert refusal in str(failure.value) and "waiting" not in str(failure.value)
    assert unsent_fault_left(lab, method, path)
    assert lab.apps["lab-admin"]["secret"] not in str(failure.value)


def test_a_storm_longer_than_max_retry_wait_fails_naming_the_wait_and_the_fix(lab):
    lab.client.fault("status", method="POST", path=TOKEN, status=429, retry_after=2, count=50)
    auth = graph_auth(lab)
    started = time.monotonic()

    with pytest.raises(AuthError) as failure:
        sign_in(lab, max_retry_wait=5)

    message = str(failure.value)
    assert time.monotonic() - started < 5 + 30  # bounded by max_retry_wait (plus a request's own time)
    assert "kept throttling the token request" in message and "max_retry_wait=5 s" in message, message
    # Waits of 2 s each (the Retry-After), as many as fit in 5 s with the requests' own time.
    attempts, waited = re.search(r"gave up after (\d+) attempts in \d+ s, ([0-9.]+) s of it waiting", message).groups()
    assert int(attempts) in (2, 3) and float(waited) == 2.0 * (int(attempts) - 1), message
    assert "raise max_retry_wait" in message, message
    assert auth["client_secret"] not in message
    assert lab.client.counts()["token"] == 0


def test_a_task_rides_out_a_throttled_sign_in(lab):
    """Through the action plugin, as a playbook runs it: the task succeeds, with one token for the run."""
    auth = dict(graph_auth(lab), max_retry_wait=20)
    lab.client.fault("status", method="POST", path=TOKEN, status=429, retry_after=1, count=2)

    (result,) = run_tasks([{"name": "read", "intune.autopilot.autopilot_device_info": auth}])

    assert not result["failed"], result
    assert lab.client.counts()["token"] == 1
    assert auth["client_secret"] not in json.dumps(result)


def test_a_task_whose_sign_in_stays_throttled_fails_saying_so(lab):
    auth = dict(graph_auth(lab), max_retry_wait=3)
    lab.client.fault("status", method="POST", path=TOKEN, status=503, count=50)

    (result,) = run_tasks([{"name": "read", "intune.autopilot.autopilot_device_info": auth, "ignore_errors": True}])

    assert result["failed"] and "was unavailable" in result["msg"] and "raise max_retry_wait" in result["msg"], result
    assert auth["client_secret"] not in json.dumps(result)
    assert [entry for entry in lab.client.requests() if entry["path"].startswith(("/beta/", "/v1.0/"))] == []
