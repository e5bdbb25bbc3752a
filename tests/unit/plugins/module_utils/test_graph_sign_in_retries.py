# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""acquire_token's retries of the sign-in: transport.py's policy (Retry-After, back-off, MAX_ATTEMPTS, max_retry_wait)
for passing failures, none for a refusal. The credential is scripted; the lab runs the real one
(tests/integration/pytest/test_sign_in_retries.py)."""

from __future__ import annotations

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph import auth, auth_sign_in
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import MAX_ATTEMPTS

exceptions = pytest.importorskip("azure.core.exceptions")

SECRET = dict(tenant_id="t", client_id="c", client_secret="very-secret-value", authority_host="https://login.example")


class Token:
    token, expires_on = "a-token", 4102444800


def scripted(monkeypatch, answers):
    """Each credential built answers the next of `answers`: (status, Retry-After), "drop", or "token"."""
    sent = []

    def build_credential(params, on_response=None, prompt=None):  # pylint: disable=unused-argument
        class Credential:
            @staticmethod
            def get_token(scope):
                answer = answers[len(sent)]
                sent.append(answer)
                if answer == "token":
                    return Token
                if answer == "drop":
                    try:
                        raise exceptions.ServiceResponseError("Connection aborted.")
                    except exceptions.ServiceResponseError as dropped:
                        raise exceptions.ClientAuthenticationError("Authentication failed: Connection aborted.") from dropped
                on_response(answer)
                raise exceptions.ClientAuthenticationError("Authentication failed: AADSTS%s: the lab's words" % answer[0])
        return Credential

    monkeypatch.setattr(auth_sign_in, "build_credential", build_credential)
    return sent


class Clock:
    """A monotonic clock that only sleeping moves."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


def test_retry_after_is_honoured_and_a_5xx_or_a_dropped_connection_backs_off(monkeypatch):
    sent = scripted(monkeypatch, [(429, "3"), (503, None), "drop", "token"])
    clock = Clock()

    assert auth.acquire_token(SECRET, sleep=clock.sleep, clock=clock) == ("a-token", 4102444800)

    assert len(sent) == 4
    assert clock.sleeps[0] == 3.0
    assert 1.0 <= clock.sleeps[1] <= 2.0 and 2.0 <= clock.sleeps[2] <= 4.0  # transport.backoff_delay(1), (2)


@pytest.mark.parametrize("answer", [(401, None), (400, None), (400, "5")], ids=["bad_secret", "invalid_grant", "400_with_retry_after"])
def test_a_refusal_is_sent_once(monkeypatch, answer):
    sent = scripted(monkeypatch, [answer, "token"])
    clock = Clock()

    with pytest.raises(auth.AuthError) as failure:
        auth.acquire_token(SECRET, sleep=clock.sleep, clock=clock)

    assert len(sent) == 1 and clock.sleeps == []
    assert "AADSTS%s" % answer[0] in str(failure.value)


def test_a_refusal_after_waits_says_how_long_it_waited(monkeypatch):
    scripted(monkeypatch, [(503, "2"), (401, None)])
    clock = Clock()

    with pytest.raises(auth.AuthError) as failure:
        auth.acquire_token(SECRET, sleep=clock.sleep, clock=clock)

    assert "after 2 attempts and 2.0 s of waiting" in str(failure.value)


def test_no_wait_goes_past_max_retry_wait_and_the_failure_names_it(monkeypatch):
    sent = scripted(monkeypatch, [(429, "4")] * MAX_ATTEMPTS)
    clock = Clock()

    with pytest.raises(auth.AuthError) as failure:
        auth.acquire_token(dict(SECRET, max_retry_wait=10), sleep=clock.sleep, clock=clock)

    message = str(failure.value)
    assert len(sent) == 3 and clock.sleeps == [4.0, 4.0]  # a third wait of 4 s would end past 10 s
    assert "kept throttling the token request" in message and "https://login.example" in message
    assert "gave up after 3 attempts in 8 s, 8.0 s of it waiting" in message and "max_retry_wait=10 s" in message
    assert "raise max_retry_wait" in message and SECRET["client_secret"] not in message


def test_at_most_max_attempts_sends_however_short_the_waits(monkeypatch):
    sent = scripted(monkeypatch, [(503, "1")] * (MAX_ATTEMPTS + 1))
    clock = Clock()

    with pytest.raises(auth.AuthError) as failure:
        auth.acquire_token(dict(SECRET, max_retry_wait=1800), sleep=clock.sleep, clock=clock)

    assert len(sent) == MAX_ATTEMPTS and "was unavailable" in str(failure.value)


def test_a_credential_not_sent_through_azure_core_is_not_retried(monkeypatch):
    # az's own sign-in: its failure is whatever az says, once.
    sent = scripted(monkeypatch, ["drop", "token"])

    with pytest.raises(auth.AuthError):
        auth.acquire_token(dict(auth_source="cli"), sleep=pytest.fail, clock=Clock())

    assert len(sent) == 1
