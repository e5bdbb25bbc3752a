# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One HTTP transport to Microsoft Graph for every module: retries, paging and error mapping.

Retry policy
- 429 is always retried: Graph refused the request before acting on it.
- 502, 503, 504, timeouts and dropped connections are retried for requests that are safe to repeat
  (GET, PATCH, PUT, DELETE, and POST actions marked idempotent such as `assign` that replace a set).
  A POST that creates something is not: the service may already have acted, so `WriteOutcomeUnknown`
  is raised and the engine re-reads by key before deciding to POST again.
- `Retry-After` (seconds or HTTP date) is honoured; otherwise exponential back-off with jitter.
- The total wait of one request is bounded by `max_retry_wait`; past it the module fails, saying so.
- A 404 on an object this run created is retried briefly: Graph replicates new objects with a delay.
"""

from __future__ import annotations

import datetime
import email.utils
import random
import ssl
import time
import traceback
import uuid

try:
    import httpx
except ImportError:  # the base module reports it through missing_required_lib
    httpx = None
    HTTPX_IMPORT_ERROR = traceback.format_exc()
else:
    HTTPX_IMPORT_ERROR = None

USER_AGENT = "intune.autopilot/0.1.0"
RETRYABLE_STATUS = (502, 503, 504)
# Back-off without Retry-After: 1, 2, 4, ... seconds, capped, with jitter.
BACKOFF_BASE = 1.0
BACKOFF_CAP = 32.0
# How long a freshly created object may stay invisible before its 404 is believed.
CREATED_404_WAIT = 30.0


class GraphError(Exception):
    """A failed Graph request, described by method, path, status and Graph's own error fields."""

    def __init__(self, message, method=None, path=None, status=None, code=None, request_id=None, date=None):
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.request_id = request_id
        self.date = date

    def details(self):
        """Fields for fail_json: everything a support case needs, never a header or a token."""
        return {
            "http_method": self.method,
            "path": self.path,
            "status": self.status,
            "error_code": self.code,
            "request_id": self.request_id,
            "date": self.date,
        }


class GraphThrottled(GraphError):
    """Graph kept answering 429/5xx for longer than max_retry_wait."""


class WriteOutcomeUnknown(GraphError):
    """A non-idempotent POST may or may not have been applied (timeout, dropped connection, 5xx)."""


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(attempt, rng=random.random):
    """Exponential back-off with 'equal jitter': half fixed, half random, so waits never collapse to 0."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** attempt))
    return ceiling / 2 + rng() * ceiling / 2


def _error_fields(response):
    """Graph's error code, message, request-id and date from an error response (any shape tolerated)."""
    code = message = request_id = date = None
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
        inner = error.get("innerError") or error.get("innererror") or {}
        if isinstance(inner, dict):
            request_id = inner.get("request-id")
            date = inner.get("date")
    request_id = request_id or response.headers.get("request-id")
    date = date or response.headers.get("date")
    if not message:
        message = (response.text or response.reason_phrase or "").strip()[:500]
    return code, message, request_id, date


class GraphClient:
    """A Graph session for one module run: one pooled connection, one token, the retry policy."""

    def __init__(
        self,
        endpoint,
        token_provider,
        ca_path=None,
        validate_certs=True,
        timeout=60,
        max_retry_wait=300,
        sleep=time.sleep,
        clock=time.monotonic,
    ):
        self.endpoint = endpoint.rstrip("/")
        self._token_provider = token_provider
        self._token = None
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._clock = clock
        self.created_ids = set()
        if validate_certs:
            verify = ssl.create_default_context(cafile=ca_path) if ca_path else True
        else:
            verify = False
        self._http = httpx.Client(verify=verify, timeout=timeout, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})

    def close(self):
        self._http.close()

    def url(self, path, api="beta"):
        if path.startswith("https://"):
            return path
        return "%s/%s/%s" % (self.endpoint, api, path.lstrip("/"))

    def _authorization(self):
        if self._token is None:
            self._token = self._token_provider()
        return "Bearer " + self._token

    # -- requests ---------------------------------------------------------------------------------

    def request(self, method, path, api="beta", params=None, body=None, idempotent=None):
        """Send one request with the retry policy; return the parsed JSON body (None for 204)."""
        method = method.upper()
        if idempotent is None:
            idempotent = method != "POST"
        url = self.url(path, api)
        shown_path = url[len(self.endpoint):] if url.startswith(self.endpoint) else path
        waited = 0.0
        attempt = 0
        refreshed_token = False
        started = self._clock()
        while True:
            delay = None
            try:
                response = self._http.request(
                    method, url, params=params, json=body,
                    headers={"Authorization": self._authorization(), "client-request-id": str(uuid.uuid4())},
                )
            except httpx.ConnectError as exc:
                # Nothing reached the service: safe to retry whatever the method.
                failure = "connection failed: %s" % exc
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                failure = "no answer (%s)" % type(exc).__name__
                if not idempotent:
                    raise WriteOutcomeUnknown(
                        "%s %s: %s; the request may have been applied" % (method, shown_path, failure),
                        method=method, path=shown_path,
                    )
            else:
                status = response.status_code
                if status < 400:
                    if response.status_code == 201 and method == "POST":
                        self._remember_created(response)
                    return self._json(response)
                code, message, request_id, date = _error_fields(response)
                failure = "HTTP %s %s: %s" % (status, code or "", message)
                if status == 401 and not refreshed_token and self._token_provider is not None:
                    # A token can expire during a long run; fetch a new one once.
                    refreshed_token = True
                    self._token = None
                    continue
                if status == 429:
                    delay = parse_retry_after(response.headers.get("Retry-After"))
                elif status in RETRYABLE_STATUS:
                    if not idempotent:
                        raise WriteOutcomeUnknown(
                            "%s %s failed with HTTP %s; the request may have been applied" % (method, shown_path, status),
                            method=method, path=shown_path, status=status, code=code, request_id=request_id, date=date,
                        )
                    delay = parse_retry_after(response.headers.get("Retry-After"))
                elif status == 404 and self._recently_created(url) and self._clock() - started < CREATED_404_WAIT:
                    delay = None
                else:
                    raise GraphError(
                        "%s %s failed: HTTP %s %s: %s (request-id %s, date %s)"
                        % (method, shown_path, status, code or "", message, request_id, date),
                        method=method, path=shown_path, status=status, code=code, request_id=request_id, date=date,
                    )
            if delay is None:
                delay = backoff_delay(attempt)
            if waited + delay > self.max_retry_wait:
                raise GraphThrottled(
                    "%s %s: %s; gave up after waiting %.0f s over %d attempts (max_retry_wait=%s, last: %s). "
                    "Retry later or raise max_retry_wait."
                    % (method, shown_path, "Graph throttled the request" if "HTTP 429" in failure else "Graph was unavailable",
                       waited, attempt + 1, self.max_retry_wait, failure),
                    method=method, path=shown_path,
                )
            self._sleep(delay)
            waited += delay
            attempt += 1

    @staticmethod
    def _json(response):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def _remember_created(self, response):
        try:
            created = response.json()
        except ValueError:
            return
        if isinstance(created, dict) and created.get("id"):
            self.created_ids.add(str(created["id"]).lower())

    def _recently_created(self, url):
        lowered = url.lower()
        return any(object_id in lowered for object_id in self.created_ids)

    # -- conveniences -----------------------------------------------------------------------------

    def get(self, path, api="beta", params=None):
        return self.request("GET", path, api=api, params=params)

    def get_or_none(self, path, api="beta", params=None):
        """The object, or None when Graph answers 404."""
        try:
            return self.get(path, api=api, params=params)
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, path, api="beta", params=None):
        """Every item of a collection, following @odata.nextLink to the last page."""
        page = self.get(path, api=api, params=params) or {}
        items = list(page.get("value", []))
        while page.get("@odata.nextLink"):
            page = self.get(page["@odata.nextLink"]) or {}
            items.extend(page.get("value", []))
        return items
