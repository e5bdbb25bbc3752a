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
- A DELETE that gets 404 after an earlier send of it may have reached the service (no answer, or
  a 5xx) succeeds: that send deleted the object. A 404 on the first send stays an error.
- `Retry-After` (seconds or HTTP date) of at least MIN_RETRY_AFTER (1 s) is honoured. A smaller one
  (0, a date in the past) counts as absent, so a storm of `Retry-After: 0` cannot spin: the wait is
  then exponential back-off with jitter (0.5-1 s, 1-2 s, 2-4 s, ... up to 32 s).
- Each request is sent at most MAX_ATTEMPTS (10) times (once more when a 401 brought a new token),
  and no retry is sent later than `max_retry_wait` seconds after the request began. That time is
  measured with a monotonic clock, so it counts the time spent inside the failed sends (up to
  `request_timeout` each), not only the waits. So one request takes at most about `max_retry_wait`
  plus one `request_timeout`; past its limits the module fails saying it was throttled or Graph was
  unavailable.
- A 401 is answered once with a new token when the token provider can give a different one. With a
  fixed token (`access_token`, which is what the action plugin hands every module) the same token is
  never resent: `TokenRejected` is raised at once (the module fails with `token_rejected: true`).
- A 404 on an object this run created is retried briefly: Graph replicates new objects with a delay.

What the errors say (Graph's own words are kept, and a hint added where they do not say what to do):
- A 403 names the permission the request needs (see required_permission): Graph's body only says
  "Insufficient privileges".
- A certificate that cannot be verified fails at once (it is not transient) and points to `ca_path`.
- Every wait of the retry policy is kept in `waits`, which the module reports as one warning, so a task
  slowed by throttling says so.

An answer below 400 that cannot be Graph's (a redirect, which is never followed; a body that is not JSON; no body
where one is due; a create's 201 without an id; see graphs_answer) fails at once, not retried, as does one larger than
http_client.MAX_ANSWER_BYTES: a captive portal or a proxy answered, and read as "nothing" it made listings look empty.

Paging follows `@odata.nextLink` only to graph_endpoint's own scheme, host and port, since every
request carries the bearer token; a link elsewhere fails with nothing sent. A listing is also bounded
to MAX_PAGES pages and fails when a link repeats.
"""

from __future__ import annotations

import datetime
import email.utils
import random
import re
import ssl
import time
import uuid
from urllib.parse import urlsplit

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import certificate_failure
from ansible_collections.intune.autopilot.plugins.module_utils._graph.token_scopes import missing_scope, unverified_claims
from ansible_collections.intune.autopilot.plugins.module_utils._graph.http_client import (
    DEFAULT_PORTS,
    AnswerTooLarge,
    ConnectFailed,
    HTTPClient,
    NoAnswer,
    UnusableProxy,
)

USER_AGENT = "intune.autopilot/0.1.0"
RETRYABLE_STATUS = (502, 503, 504)
# Back-off without Retry-After: 1, 2, 4, ... seconds, capped, with jitter.
BACKOFF_BASE = 1.0
BACKOFF_CAP = 32.0
# A Retry-After below this is treated as absent: "0" in a 429 storm must not mean "resend at once".
MIN_RETRY_AFTER = 1.0
# Sends of one request, the first included, however short the waits.
MAX_ATTEMPTS = 10
# Pages of one listing: a service that never stops handing out new links must not loop forever.
MAX_PAGES = 10000
# How long a freshly created object may stay invisible before its 404 is believed.
CREATED_404_WAIT = 30.0


# The Graph permission each request needs, by the path after the API version: the least privileged one Microsoft's
# API reference lists for it (the README's permission table, which the lab enforces); the first match wins.
# Graph's 403 body says only "Insufficient privileges". (path pattern, to read, to write)
DELEGATED_ONLY = " (delegated only: a user's sign-in; Graph refuses it to an app whatever it is granted)"
PERMISSIONS = tuple((re.compile(pattern), read, write) for pattern, read, write in (
    (r"deviceManagement/(deviceConfigurations|domainJoinConnectors)(/|$)",
     "DeviceManagementConfiguration.Read.All", "DeviceManagementConfiguration.ReadWrite.All"),
    (r"deviceManagement/(managedDevices|autopilotEvents)(/|$)",
     "DeviceManagementManagedDevices.Read.All", "DeviceManagementManagedDevices.ReadWrite.All"),
    # Autopilot devices and imports, deployment profiles, enrollment configurations (ESPs), Autopilot settings.
    (r"deviceManagement/", "DeviceManagementServiceConfig.Read.All", "DeviceManagementServiceConfig.ReadWrite.All"),
    (r"policies/mobileDeviceManagementPolicies(/|$)",
     "Policy.Read.All (or Policy.ReadWrite.MobilityManagement)" + DELEGATED_ONLY, "Policy.ReadWrite.MobilityManagement" + DELEGATED_ONLY),
    (r"groups/[^/]+/members(/|$)", "GroupMember.Read.All (or Group.Read.All)", "GroupMember.ReadWrite.All (or Group.ReadWrite.All)"),
    (r"groups$", "GroupMember.Read.All (or Group.Read.All)", "Group.Create (or Group.ReadWrite.All)"),
    (r"groups/", "GroupMember.Read.All (or Group.Read.All)", "Group.ReadWrite.All"),
    (r"devices(/|$)", "Device.Read.All", "Device.ReadWrite.All"),
    (r"users(/|$)", "User.Read.All", "User.ReadWrite.All"),
))
GRAPH_VERSIONS = ("beta", "v1.0")


def required_permission(method, path):
    """The Graph permission a request needs (see PERMISSIONS), or None for a path this collection does not call."""
    parts = urlsplit(path).path.strip("/").split("/")
    if parts[0] in GRAPH_VERSIONS:
        parts = parts[1:]
    relative = "/".join(parts)
    for pattern, read, write in PERMISSIONS:
        if pattern.match(relative):
            return read if method.upper() == "GET" else write
    return None


PERMISSION_NAME = re.compile(r"\b[A-Z][A-Za-z]+(?:\.[A-Za-z]+)+")


def accepted_scopes(method, path):
    """The permissions any one of which lets a request through (see PERMISSIONS): those required_permission names,
    and for each `X.Read.All` its `X.ReadWrite.All`, which Graph also takes for reading. Empty for a path this
    collection does not call."""
    names = PERMISSION_NAME.findall(required_permission(method, path) or "")
    return frozenset(names + [name.replace(".Read.", ".ReadWrite.") for name in names if ".Read." in name])


def permission_hint(permission):
    """What a 403's message adds: the permission, and who must be granted it (a delegated-only one no app can hold)."""
    if permission.endswith(DELEGATED_ONLY):
        return (" This request needs the Graph permission %s, consented for the signed-in user, whose Entra role must "
                "also allow it." % permission)
    return (" This request needs the Graph permission %s, granted with admin consent to the app (or, for a user's "
            "sign-in, consented for the user, whose Entra role must also allow it)." % permission)


class GraphError(Exception):
    """A failed Graph request, described by method, path, status and Graph's own error fields."""

    def __init__(self, message, method=None, path=None, status=None, code=None, request_id=None, date=None, permission=None):
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.request_id = request_id
        self.date = date
        self.permission = permission

    def details(self):
        """Fields for fail_json: everything a support case needs, never a header or a token."""
        return {
            "http_method": self.method,
            "path": self.path,
            "status": self.status,
            "error_code": self.code,
            "request_id": self.request_id,
            "date": self.date,
            "required_permission": self.permission,
        }


class ScopeMissing(GraphError):
    """A user's token lacks every scope a request needs: refused here, before it is sent."""


class GraphThrottled(GraphError):
    """Graph kept answering 429/5xx for longer than max_retry_wait."""


class WriteOutcomeUnknown(GraphError):
    """A non-idempotent POST may or may not have been applied (timeout, dropped connection, 5xx)."""


class TokenRejected(GraphError):
    """Graph answered 401 and no other token is at hand: it is expired, revoked or for another audience.

    Graph did not act on the request, so the caller may run again with a new token (the action plugin does).
    """

    def details(self):
        return dict(super().details(), token_rejected=True)


DELTA_SECONDS = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. None if unusable."""
    if value is None:
        return None
    value = value.strip()
    # RFC 9110 says whole seconds; Graph's throttling page shows "Retry-After: 2.128", so take fractions too.
    if DELTA_SECONDS.match(value):
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


def retry_wait(attempt, requested, elapsed, max_retry_wait):
    """Seconds to wait before sending again a request sent `attempt` times, `elapsed` seconds after it began:
    the server's `requested` wait (parsed Retry-After) when it is at least MIN_RETRY_AFTER, else back-off; None
    when the policy gives up (MAX_ATTEMPTS sends, or the next one would start past max_retry_wait). The one
    decision of both retry loops: Graph's requests here and the sign-in's in auth.acquire_token."""
    delay = requested if requested is not None and requested >= MIN_RETRY_AFTER else backoff_delay(attempt - 1)
    if attempt >= MAX_ATTEMPTS or elapsed + delay > max_retry_wait:
        return None
    return delay


def tls_context(ca_path=None, validate_certs=True):
    """The TLS settings of Graph's connections: the CA certificates of ca_path, else certifi's (which requests, and so
    azure-identity's sign-in, trusts too; the system's when certifi is not installed); no verification at all with validate_certs false."""
    if not validate_certs:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA certificates to load: none would be checked
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_path:
        return ssl.create_default_context(cafile=ca_path)
    try:
        import certifi  # pylint: disable=import-outside-toplevel
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def origin(url):
    """scheme://host:port of a URL, lower-cased and with the default port filled in, for comparison."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # an unparseable port: keep it as given, so it never equals a real origin
        port = parts.netloc.rpartition(":")[2]
    return "%s://%s:%s" % (scheme, (parts.hostname or "").lower(), port)


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


# What every refusal of an answer that is not Graph's ends with: the module stops at it.
_STOPPED_HERE = " The task stopped at this request: nothing was written after it"


def graphs_answer(method, shown_path, response):
    """The parsed JSON of a success answer (None where Graph sends no body), or GraphError when the answer cannot be
    Graph's: a redirect (never followed: the request carries the token, and a captive portal's sign-in page is no
    listing), a body that is not JSON (an HTML page from a proxy), no body where one is due (a GET, a create's 201), a
    GET's answer that is no JSON object, a create's 201 without the new object's id. Read as "nothing" any of them
    would make a listing look empty, and so a second object be created, or a create report an id of null."""
    status = response.status_code
    problem = None
    answer = None
    if 300 <= status < 400:
        location = response.headers.get("Location")
        problem = "a redirect%s, which is never followed" % (" to %s" % location[:200] if location else "")
    elif status in (204, 205):
        return None
    elif not response.content:
        if method == "GET" or (method == "POST" and status == 201):
            problem = "an empty answer where Graph's JSON is due"
    else:
        try:
            answer = response.json()
        except ValueError:
            problem = "an answer that is not JSON"
        else:
            if method == "GET" and not isinstance(answer, dict):
                problem = "a JSON answer that is not an object, as Graph's always are"
            elif method == "POST" and status == 201 and not (isinstance(answer, dict) and answer.get("id")):
                problem = "a 201 Created without the new object's id"
    if problem is None:
        return answer
    written = (" The request itself may have been applied (HTTP %d): check the object before running again." % status
               if method != "GET" and 200 <= status < 300 else "")
    raise GraphError(
        "%s %s: the answer is not Graph's: %s (HTTP %d %s, Content-Type %s, %d bytes%s). Is a proxy or captive portal in the "
        "way (a sign-in page, a TLS-inspecting proxy)? Check graph_endpoint and the proxy settings (HTTPS_PROXY, NO_PROXY)."
        "%s%s."
        % (method, shown_path, problem, status, response.reason_phrase or "", response.headers.get("Content-Type") or "none",
           len(response.content), ", starting %r" % response.content[:120].decode("utf-8", "replace") if response.content else "",
           written, _STOPPED_HERE),
        method=method, path=shown_path, status=status,
    )


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
        self.origin = origin(self.endpoint)
        self._token_provider = token_provider
        self._token = None
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._clock = clock
        self.created_ids = set()
        # (method, path, seconds, why) of every wait of the retry policy, for the module's warning.
        self.waits = []
        self._ca_path = ca_path
        self._http = HTTPClient(tls_context(ca_path, validate_certs), timeout, {"User-Agent": USER_AGENT, "Accept": "application/json"})

    def close(self):
        self._http.close()

    def url(self, path, api="beta"):
        """The URL of a Graph path; an absolute URL (an @odata.nextLink) only on graph_endpoint's origin."""
        if urlsplit(path).scheme.lower() not in DEFAULT_PORTS:
            return "%s/%s/%s" % (self.endpoint, api, path.lstrip("/"))
        if origin(path) != self.origin:
            # Every request carries the bearer token: a link elsewhere would hand it to that host.
            raise GraphError(
                "Graph returned a link (@odata.nextLink) to %s, which is not graph_endpoint's origin %s; "
                "it was not followed and nothing was sent there. Check graph_endpoint, or any proxy that rewrites Graph's answers."
                % (origin(path), self.origin),
                method="GET", path=urlsplit(path).path,
            )
        return path

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
        self.check_scopes(method, shown_path)
        attempt = 0
        refreshed_token = False
        # Whether an earlier send may have reached the service and been acted on.
        maybe_applied = False
        started = self._clock()
        while True:
            attempt += 1
            delay = None
            try:
                response = self._http.request(
                    method, url, params=params, json_body=body,
                    headers={"Authorization": self._authorization(), "client-request-id": str(uuid.uuid4())},
                )
            except UnusableProxy as exc:  # ProxyAuthenticationRequired too: a wrong password is not resent
                raise GraphError("%s %s: %s" % (method, shown_path, exc), method=method, path=shown_path) from None
            except AnswerTooLarge as exc:
                raise GraphError("%s %s: %s.%s" % (method, shown_path, exc, _STOPPED_HERE), method=method, path=shown_path) from None
            except ConnectFailed as exc:
                if certificate_failure(exc):
                    raise self._untrusted(method, shown_path, url, exc) from None
                # Nothing reached the service: safe to retry whatever the method.
                failure = "connection failed: %s" % exc
            except NoAnswer as exc:
                failure = "no answer (%s)" % exc
                if not idempotent:
                    raise WriteOutcomeUnknown(
                        "%s %s: %s; the request may have been applied" % (method, shown_path, failure),
                        method=method, path=shown_path,
                    )
                maybe_applied = True
            else:
                status = response.status_code
                if status < 400:
                    answer = graphs_answer(method, shown_path, response)
                    if status == 201 and method == "POST":
                        self.created_ids.add(str(answer["id"]).lower())
                    return answer
                code, message, request_id, date = _error_fields(response)
                failure = "HTTP %s %s: %s" % (status, code or "", message)
                if status == 401 and "app-only" in (message or ""):
                    # "Unsupported app-only call.": the token is fine, but this resource takes only a user's.
                    permission = required_permission(method, shown_path)
                    raise GraphError(
                        "%s %s failed: HTTP 401 %s: %s (request-id %s, date %s). Graph takes only a user's (delegated) token "
                        "here.%s" % (method, shown_path, code or "", message, request_id, date, permission_hint(permission) if permission else ""),
                        method=method, path=shown_path, status=status, code=code, request_id=request_id, date=date,
                    )
                if status == 401:
                    rejected, self._token = self._token, None
                    if refreshed_token or self._authorization() == "Bearer " + rejected:
                        raise TokenRejected(
                            "%s %s: Graph rejected the access token (HTTP 401 %s: %s; request-id %s, date %s). It is expired, "
                            "revoked or not issued for %s; Graph did not act on the request. Run again with a new token."
                            % (method, shown_path, code or "", message, request_id, date, self.endpoint),
                            method=method, path=shown_path, status=status, code=code, request_id=request_id, date=date,
                        )
                    # A token can expire during a long run; the provider gave a new one: send it, once.
                    refreshed_token = True
                    continue
                if status == 429:
                    delay = parse_retry_after(response.headers.get("Retry-After"))
                elif status in RETRYABLE_STATUS:
                    if not idempotent:
                        raise WriteOutcomeUnknown(
                            "%s %s failed with HTTP %s; the request may have been applied" % (method, shown_path, status),
                            method=method, path=shown_path, status=status, code=code, request_id=request_id, date=date,
                        )
                    maybe_applied = True
                    delay = parse_retry_after(response.headers.get("Retry-After"))
                elif status == 404 and method == "DELETE" and maybe_applied:
                    # An earlier send deleted it and its answer was lost: the object is gone, as asked.
                    return None
                elif status == 404 and self._recently_created(url) and self._clock() - started < CREATED_404_WAIT:
                    delay = None
                else:
                    permission = required_permission(method, shown_path) if status == 403 else None
                    hint = permission_hint(permission) if permission else ""
                    raise GraphError(
                        "%s %s failed: HTTP %s %s: %s (request-id %s, date %s).%s"
                        % (method, shown_path, status, code or "", message, request_id, date, hint),
                        method=method, path=shown_path, status=status, code=code, request_id=request_id, date=date,
                        permission=permission,
                    )
            elapsed = self._clock() - started
            delay = retry_wait(attempt, delay, elapsed, self.max_retry_wait)
            if delay is None:
                raise GraphThrottled(
                    "%s %s: %s; gave up after %d attempts in %.0f s (limits: %d attempts, and max_retry_wait=%s s counting "
                    "requests and waits; last: %s). Retry later or raise max_retry_wait."
                    % (method, shown_path, "Graph throttled the request" if "HTTP 429" in failure else "Graph was unavailable",
                       attempt, elapsed, MAX_ATTEMPTS, self.max_retry_wait, failure),
                    method=method, path=shown_path,
                )
            self.waits.append((method, shown_path, delay, "HTTP 429" if "HTTP 429" in failure else failure.split(":")[0]))
            self._sleep(delay)

    def check_scopes(self, method, path):
        """Raise ScopeMissing when the token is a user's and holds none of the scopes the request needs (see
        accepted_scopes); an app's token, or one that is not a JWT, is left for Graph to judge."""
        refusal = missing_scope(unverified_claims(self._authorization()[len("Bearer "):]), accepted_scopes(method, path),
                                required_permission(method, path), "%s %s" % (method, path))
        if refusal:
            raise ScopeMissing(refusal, method=method, path=path, permission=required_permission(method, path))

    def _untrusted(self, method, shown_path, url, exc):
        """The error for a certificate that could not be verified: not transient, so not retried."""
        trusted = ("the CA certificates in ca_path (%s)" % self._ca_path if self._ca_path
                   else "the system's (certifi's) CA certificates")
        return GraphError(
            "%s %s: the TLS certificate of %s could not be verified against %s: %s. If a TLS-inspecting proxy or a "
            "private endpoint stands in front of Graph, set ca_path to its CA certificate (PEM); validate_certs: false "
            "would hand the access token to whoever intercepts the connection."
            % (method, shown_path, origin(url), trusted, certificate_failure(exc)),
            method=method, path=shown_path,
        )

    def waits_summary(self):
        """One line on the time this client spent waiting to resend requests, or None when it never waited."""
        if not self.waits:
            return None
        reasons = {}
        for _method, _path, seconds, why in self.waits:
            count, total = reasons.get(why, (0, 0.0))
            reasons[why] = (count + 1, total + seconds)
        first_method, first_path, _seconds, _why = self.waits[0]
        return "%s: it waited %.1f s before resending requests to Graph (%s; the first was %s %s). max_retry_wait bounds the waits of each request." % (
            "Graph throttled this task" if "HTTP 429" in reasons else "Graph asked this task to wait",
            sum(wait[2] for wait in self.waits),
            ", ".join("%d after %s for %.1f s" % (count, why, total) for why, (count, total) in reasons.items()),
            first_method, first_path,
        )

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
        return list(self.items(path, api=api, params=params))

    def items(self, path, api="beta", params=None):
        """The items of a collection one page at a time, so a caller need not hold the whole listing."""
        page = self.get(path, api=api, params=params) or {}
        followed = set()
        while True:
            yield from page.get("value", [])
            link = page.get("@odata.nextLink")
            if not link:
                return
            if link in followed or len(followed) >= MAX_PAGES:
                raise GraphError(
                    "GET %s: Graph's paging does not end (%s); stopped after %d pages."
                    % (path, "an @odata.nextLink came back" if link in followed else "over %d pages" % MAX_PAGES, len(followed) + 1),
                    method="GET", path=path,
                )
            followed.add(link)
            page = self.get(link) or {}
