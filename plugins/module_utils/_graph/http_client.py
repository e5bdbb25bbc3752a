# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The HTTPS client under the Graph transport, on the standard library's http.client.

Why not httpx: every task is a new Python process, and importing httpx (with httpcore, h11, idna and the
standard modules they pull in) cost each module run more CPU than everything else it does besides
ansible's own imports (bench/role_bench.py). What the transport needs is small:
- one connection per host, kept alive between requests; a kept connection that the server has closed
  meanwhile is noticed before it is used (as httpcore does), so a request is never reported lost for it;
- TLS with the caller's SSLContext;
- a deadline for the whole exchange: from the request's start, `timeout` bounds it as a whole (the answer to the
  proxy's CONNECT and the answer to the request are read within the time left, the TCP connection, the TLS
  handshake and each send wait at most the time left), so a peer that trickles a byte at a time cannot keep a
  request alive past it;
- gzip-encoded answers (Graph compresses large listings), the decoded answer capped at MAX_ANSWER_BYTES;
- the proxy of the environment, as httpx and requests read it: HTTPS_PROXY (or ALL_PROXY) for https
  URLs, HTTP_PROXY for http ones (tunnelled with CONNECT as well), either case, user:password@ in it sent as Proxy-Authorization, and
  NO_PROXY read by the rules of requests (bypasses_proxy), which the sign-in (azure-core) goes through, so both
  take the same way. An https:// proxy URL (TLS to the proxy itself) is refused (UnusableProxy), as http.client
  cannot tunnel TLS in TLS; so is a proxy that answers the CONNECT with 407 (ProxyAuthenticationRequired):
  sending the same wrong password again would only risk locking its account.

Failures are told apart by what may have reached the server, which the retry policy needs:
ConnectFailed (nothing was sent: name resolution, TCP, the proxy's CONNECT, the TLS handshake) and
NoAnswer (the request may have been sent: a timeout, a reset or a malformed answer after sending).
AnswerTooLarge is neither: an answer came and was refused for its size, which sending again would repeat.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import io
import re
import select
import socket
import struct
import time
import zlib
from urllib.parse import quote, unquote, urlencode, urlsplit

DEFAULT_PORTS = {"https": 443, "http": 80}
# What stays as it is in a URL's path and query: every reserved character and "%" (an @odata.nextLink comes
# encoded already), so only what may not appear in a request line (spaces, non-ASCII) is percent-encoded.
PATH_SAFE = "/%:@!$&'()*+,;=-._~"
QUERY_SAFE = PATH_SAFE + "?"
# The most one answer may hold once decoded (gzip expanded). Graph's largest page (999 objects) is about 10 MB; an
# answer past this is no Graph page (a runaway proxy, a gzip bomb) and would only exhaust the host's memory.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
READ_CHUNK = 1024 * 1024
# A proxy's refusal of the CONNECT, as http.client words it: "Tunnel connection failed: 407 Proxy Authentication Required".
TUNNEL_REFUSED = re.compile(r"Tunnel connection failed: (\d{3})\b\s*(.*)")


class HTTPFailure(Exception):
    """A request that got no HTTP answer; the original error is the __cause__."""


class ConnectFailed(HTTPFailure):
    """No connection to the server: nothing of the request was sent."""


class NoAnswer(HTTPFailure):
    """The connection failed after the request may have been sent (timeout, reset, malformed answer)."""


class UnusableProxy(HTTPFailure):
    """The environment names a proxy this client cannot use: a setting to fix, not a failure to retry."""


class ProxyAuthenticationRequired(UnusableProxy):
    """The proxy answered the CONNECT with 407: its credentials are missing or wrong; sending them again risks a lockout."""


class AnswerTooLarge(HTTPFailure):
    """An answer larger than MAX_ANSWER_BYTES once decoded: refused unread past the cap."""


def too_large_message():
    return ("the answer exceeds %d MiB once decoded (the cap of one answer; Graph's largest pages are about 10 MB): "
            "it is not Graph's, or a proxy sent something else; it was not read further" % (MAX_ANSWER_BYTES // (1024 * 1024)))


class _DeadlineReader(io.RawIOBase):
    """The socket reader of one answer, each read bounded by the time left before the exchange's deadline (and by the
    per-operation timeout), so headers and body together cannot outlast it however slowly they trickle."""

    def __init__(self, raw, sock, deadline, timeout):
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._deadline = deadline
        self._timeout = timeout

    def readable(self):
        return True

    def readinto(self, buffer):
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("the whole exchange took longer than %s s" % self._timeout)
        self._sock.settimeout(min(self._timeout, left))
        return self._raw.readinto(buffer)

    def close(self):
        self._raw.close()
        super().close()


class ExchangeDeadline:
    """When the current exchange must be over (start() it as the exchange begins); the responses of a connection
    whose response_class is its response_class keep to it. One HTTPClient's, and one of each sign-in connection's
    (sign_in_http.py)."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.at = None

    def start(self):
        self.at = time.monotonic() + self.timeout
        return self

    def left(self):
        left = self.at - time.monotonic()
        if left <= 0:
            raise socket.timeout("the whole exchange took longer than %s s" % self.timeout)
        return min(self.timeout, left)

    def response_class(self, sock, *args, **kwargs):
        """An http.client response (to the request, or to a proxy's CONNECT) whose reads keep to the deadline."""
        answer = http.client.HTTPResponse(sock, *args, **kwargs)
        answer.fp = io.BufferedReader(_DeadlineReader(answer.fp.detach(), sock, self.at, self.timeout))
        return answer


class Response:
    """A whole HTTP answer: status_code, reason_phrase, headers (names matched case-insensitively), content."""

    def __init__(self, status_code, reason_phrase, headers, content):
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.content = content

    @property
    def text(self):
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


def _is_ipv4(host):
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def _in_cidr(address, cidr):
    """Whether an IPv4 address lies in a CIDR range a.b.c.d/n (1 <= n <= 32); False for anything else."""
    network, _slash, bits = cidr.partition("/")
    try:
        mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF if 1 <= int(bits) <= 32 else None
        wanted, actual = (struct.unpack("!L", socket.inet_aton(value))[0] for value in (network, address))
    except (ValueError, OSError):
        return False
    return mask is not None and cidr.count("/") == 1 and wanted & mask == actual & mask


def bypasses_proxy(url, no_proxy):
    """Whether NO_PROXY (its value, `no_proxy`) sends url direct, by the rules of requests, which the sign-in goes
    through (requests.utils.should_bypass_proxies, then urllib's proxy_bypass_environment), so that a Graph request
    and the sign-in never take different ways: for an IPv4 host a CIDR range (10.0.0.0/8) or the address itself; for
    a name an entry it (or host:port, with a port in the URL) equals or is a subdomain of; then, for any host, an entry
    it equals or is a subdomain of (leading dots and case ignored); "*" alone covers every host. Not covered, as requests does
    not: "*.domain", a trailing dot on the host, a host:port entry for a URL without a port."""
    parts = urlsplit(url)
    host = parts.hostname
    if host is None:
        return True
    entries = [entry for entry in no_proxy.replace(" ", "").split(",") if entry]
    if _is_ipv4(host):
        if any(_in_cidr(host, entry) if "/" in entry else host == entry for entry in entries):
            return True
    else:
        host_with_port = "%s:%s" % (host, parts.port) if parts.port else host
        for entry in (entry.lstrip(".") for entry in entries):
            if entry in (host, host_with_port) or host.endswith("." + entry) or host_with_port.endswith("." + entry):
                return True
    if no_proxy == "*":
        return True
    host = host.lower()
    for entry in no_proxy.split(","):
        entry = entry.strip().lstrip(".").lower()
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def _environment(*names):
    for name in names:
        for variant in (name.lower(), name.upper()):
            value = os.environ.get(variant)
            if value:
                return value
    return None


def proxy_for(url):
    """(host, port, Proxy-Authorization header or None) of the environment's proxy for url, or None for a
    direct connection."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        proxy = _environment("https_proxy", "all_proxy")
    else:
        proxy = _environment("http_proxy", "all_proxy")
    if not proxy or bypasses_proxy(url, _environment("no_proxy") or ""):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    proxy_parts = urlsplit(proxy)
    if proxy_parts.scheme != "http":
        raise UnusableProxy(
            "the proxy %s://%s from the environment (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) is not supported: only http:// "
            "proxies, which tunnel TLS to Graph with CONNECT, are; give the proxy as http://host:port."
            % (proxy_parts.scheme, proxy_parts.hostname)
        )
    try:
        proxy_port = proxy_parts.port or 80
    except ValueError:
        proxy_port = None
    if not proxy_parts.hostname or proxy_port is None:
        raise UnusableProxy("the proxy %r from the environment (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) has no usable host and port; "
                            "give it as http://host:port." % proxy.split("@")[-1])
    authorization = None
    if proxy_parts.username is not None:
        credentials = "%s:%s" % (unquote(proxy_parts.username), unquote(proxy_parts.password or ""))
        authorization = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
    return proxy_parts.hostname, proxy_port, authorization


class HTTPClient:
    """Requests over kept-alive connections, one per scheme, host and port; for one thread (a module's).
    `timeout` bounds each request as a whole (see the module's docstring), as well as each socket operation."""

    def __init__(self, ssl_context, timeout, headers):
        self._ssl_context = ssl_context
        self._deadline = ExchangeDeadline(timeout)
        self._headers = dict(headers, **{"Accept-Encoding": "gzip"})
        self._connections = {}

    def close(self):
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _drop(self, key):
        connection = self._connections.pop(key, None)
        if connection is not None:
            connection.close()

    def _connection(self, scheme, host, port, url):
        key = (scheme, host, port)
        connection = self._connections.get(key)
        if connection is not None and connection.sock is not None:
            # A kept connection the server closed (or wrote to) while idle reads as ready: drop it unused.
            readable, _writable, _failed = select.select([connection.sock], [], [], 0)
            if not readable:
                connection.sock.settimeout(self._deadline.left())
                return connection
        self._drop(key)
        proxy = proxy_for(url)
        target = (proxy[0], proxy[1]) if proxy else (host, port)
        if scheme == "https":
            connection = http.client.HTTPSConnection(*target, timeout=self._deadline.left(), context=self._ssl_context)
        else:
            connection = http.client.HTTPConnection(*target, timeout=self._deadline.left())
        connection.response_class = self._deadline.response_class
        if proxy:
            connection.set_tunnel(host, port, headers={"Proxy-Authorization": proxy[2]} if proxy[2] else None)
        try:
            connection.connect()
            connection.sock.settimeout(self._deadline.left())
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            refused = TUNNEL_REFUSED.match(str(exc)) if proxy else None
            if refused and refused.group(1) == "407":
                raise ProxyAuthenticationRequired(
                    "the proxy %s:%s (from HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) refused to connect to %s:%s with HTTP 407 %s: "
                    "it requires proxy authentication, and the credentials given (user:password@ in the proxy URL) are %s. "
                    "Not retried, so a wrong password is not sent again (proxies lock accounts out). Give the proxy as "
                    "http://user:password@host:port (percent-encode special characters), or exempt the host with NO_PROXY."
                    % (proxy[0], proxy[1], host, port, refused.group(2).strip() or "Proxy Authentication Required",
                       "missing" if proxy[2] is None else "refused")
                ) from exc
            raise ConnectFailed(_describe(exc)) from exc
        self._connections[key] = connection
        return connection

    def request(self, method, url, params=None, json_body=None, headers=None):
        """Send one request and read its whole answer (a Response); ConnectFailed or NoAnswer when none came,
        AnswerTooLarge for an answer past MAX_ANSWER_BYTES."""
        self._deadline.start()
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port or DEFAULT_PORTS[scheme]
        key = (scheme, host, port)
        target = quote(parts.path or "/", safe=PATH_SAFE)
        query = quote(parts.query, safe=QUERY_SAFE)
        if params:
            query = "%s&%s" % (query, urlencode(params)) if query else urlencode(params)
        if query:
            target += "?" + query
        all_headers = dict(self._headers, **(headers or {}))
        body = None
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        try:
            connection = self._connection(scheme, host, port, url)
        except socket.timeout as exc:  # the deadline passed before a connection was made: nothing was sent
            raise ConnectFailed(_describe(exc)) from exc
        try:
            connection.request(method, target, body=body, headers=all_headers)
            answer = connection.getresponse()
            if int(answer.headers.get("Content-Length") or 0) > MAX_ANSWER_BYTES:
                self._drop(key)
                raise AnswerTooLarge(too_large_message())
            chunks, size = [], 0
            while size <= MAX_ANSWER_BYTES:
                chunk = answer.read(min(READ_CHUNK, MAX_ANSWER_BYTES + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._drop(key)
            raise NoAnswer(_describe(exc)) from exc
        if size > MAX_ANSWER_BYTES:
            self._drop(key)
            raise AnswerTooLarge(too_large_message())
        content = b"".join(chunks)
        if answer.will_close:
            self._drop(key)
        if content and (answer.headers.get("Content-Encoding") or "").lower() == "gzip":
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                content = decoder.decompress(content, MAX_ANSWER_BYTES + 1)
            except zlib.error as exc:
                raise NoAnswer("the gzip-encoded answer could not be decoded: %s" % exc) from exc
            if len(content) > MAX_ANSWER_BYTES:
                raise AnswerTooLarge(too_large_message())
        return Response(answer.status, answer.reason, answer.headers, content)


def _describe(exc):
    """What failed, by kind, for messages: 'timed out' for any timeout, else the error's type and text."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    text = str(exc).strip()
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__
