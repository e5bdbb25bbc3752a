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
- a timeout per connect, send and read (as httpx's timeout applies to each);
- gzip-encoded answers (Graph compresses large listings);
- the proxy of the environment, as httpx and requests read it: HTTPS_PROXY (or ALL_PROXY) for https
  URLs, HTTP_PROXY for http ones (tunnelled with CONNECT as well), either case, user:password@ in it sent as Proxy-Authorization, and
  NO_PROXY (host names, which also cover their subdomains, IP addresses, or *). An https:// proxy URL
  (TLS to the proxy itself) is refused (UnusableProxy), as http.client cannot tunnel TLS in TLS.

Failures are told apart by what may have reached the server, which the retry policy needs:
ConnectFailed (nothing was sent: name resolution, TCP, the proxy's CONNECT, the TLS handshake) and
NoAnswer (the request may have been sent: a timeout, a reset or a malformed answer after sending).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import select
import socket
import zlib
from urllib.parse import quote, unquote, urlencode, urlsplit

DEFAULT_PORTS = {"https": 443, "http": 80}
# What stays as it is in a URL's path and query: every reserved character and "%" (an @odata.nextLink comes
# encoded already), so only what may not appear in a request line (spaces, non-ASCII) is percent-encoded.
PATH_SAFE = "/%:@!$&'()*+,;=-._~"
QUERY_SAFE = PATH_SAFE + "?"


class HTTPFailure(Exception):
    """A request that got no HTTP answer; the original error is the __cause__."""


class ConnectFailed(HTTPFailure):
    """No connection to the server: nothing of the request was sent."""


class NoAnswer(HTTPFailure):
    """The connection failed after the request may have been sent (timeout, reset, malformed answer)."""


class UnusableProxy(HTTPFailure):
    """The environment names a proxy this client cannot use: a setting to fix, not a failure to retry."""


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


def _no_proxy_covers(host, no_proxy):
    host = host.lower().rstrip(".")
    for entry in (item.strip().lower() for item in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        entry = entry.lstrip("*").lstrip(".").rstrip(".")
        # An entry with a port (host:port) names the host; the port does not narrow it here.
        if entry.count(":") == 1:
            entry = entry.split(":", 1)[0]
        if host == entry or host.endswith("." + entry):
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
    if not proxy or _no_proxy_covers(parts.hostname or "", _environment("no_proxy") or ""):
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
    """Requests over kept-alive connections, one per scheme, host and port; for one thread (a module's)."""

    def __init__(self, ssl_context, timeout, headers):
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._headers = dict(headers, **{"Accept-Encoding": "gzip"})
        self._connections = {}

    def close(self):
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _connection(self, scheme, host, port, url):
        key = (scheme, host, port)
        connection = self._connections.get(key)
        if connection is not None and connection.sock is not None:
            # A kept connection the server closed (or wrote to) while idle reads as ready: drop it unused.
            readable, _writable, _failed = select.select([connection.sock], [], [], 0)
            if not readable:
                return connection
        if connection is not None:
            connection.close()
        proxy = proxy_for(url)
        target = (proxy[0], proxy[1]) if proxy else (host, port)
        if scheme == "https":
            connection = http.client.HTTPSConnection(*target, timeout=self._timeout, context=self._ssl_context)
        else:
            connection = http.client.HTTPConnection(*target, timeout=self._timeout)
        if proxy:
            connection.set_tunnel(host, port, headers={"Proxy-Authorization": proxy[2]} if proxy[2] else None)
        try:
            connection.connect()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            self._connections.pop(key, None)
            raise ConnectFailed(_describe(exc)) from exc
        self._connections[key] = connection
        return connection

    def request(self, method, url, params=None, json_body=None, headers=None):
        """Send one request and read its whole answer (a Response); ConnectFailed or NoAnswer when none came."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port or DEFAULT_PORTS[scheme]
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
        connection = self._connection(scheme, host, port, url)
        try:
            connection.request(method, target, body=body, headers=all_headers)
            answer = connection.getresponse()
            content = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            self._connections.pop((scheme, host, port), None)
            raise NoAnswer(_describe(exc)) from exc
        if answer.will_close:
            connection.close()
            self._connections.pop((scheme, host, port), None)
        if content and (answer.headers.get("Content-Encoding") or "").lower() == "gzip":
            try:
                content = zlib.decompress(content, 16 + zlib.MAX_WBITS)
            except zlib.error as exc:
                raise NoAnswer("the gzip-encoded answer could not be decoded: %s" % exc) from exc
        return Response(answer.status, answer.reason, answer.headers, content)


def _describe(exc):
    """What failed, by kind, for messages: 'timed out' for any timeout, else the error's type and text."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    text = str(exc).strip()
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__
