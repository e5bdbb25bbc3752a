# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain servers on 127.0.0.1 for the tests that need what the Graph lab cannot be: an http://
graph_endpoint, slow answers, links to another origin, raw HTTP answers byte by byte (RawServer), and a CONNECT
proxy (ConnectProxy)."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class LocalServer:
    """`answer(path)` returns (status, headers, body dict); every request is recorded as
    (method, path, Authorization header)."""

    def __init__(self, answer):
        self.requests = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                recorded.append((self.command, self.path, self.headers.get("Authorization")))
                status, headers, body = answer(self.path)
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for name, value in dict(headers, **{"Content-Type": "application/json"}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except ConnectionError:
                    pass  # a client that timed out has hung up

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def local_server():
    """start(answer) -> a running LocalServer; all are stopped after the test."""
    servers = []

    def start(answer):
        servers.append(LocalServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")


@pytest.fixture
def no_proxy_from_the_machine(monkeypatch):
    """No proxy setting of the machine running the tests reaches the code under test."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class LoopbackServer:
    """Accepts connections on 127.0.0.1 (a free port) and hands each to handle() in its own thread, counting them."""

    def __init__(self):
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _address = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.handle, args=(connection,), daemon=True).start()

    def handle(self, connection):
        raise NotImplementedError

    def close(self):
        self._listener.close()


class ConnectProxy(LoopbackServer):
    """A forward proxy that tunnels CONNECT, as corporate proxies do; it records each CONNECT target and its
    Proxy-Authorization header, and never sees inside the TLS it relays."""

    def __init__(self):
        self.tunnels = []
        super().__init__()

    def handle(self, connection):
        client = connection  # the side of the tunnel that asked for it
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        self.tunnels.append((method, target, headers.get("Proxy-Authorization")))
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [client, upstream]
        while True:
            readable, _writable, _failed = select.select(sockets, [], [], 5)
            if not readable:
                break
            for source in readable:
                data = source.recv(65536)
                if not data:
                    client.close()
                    upstream.close()
                    return
                (upstream if source is client else client).sendall(data)
        client.close()
        upstream.close()


@pytest.fixture
def proxy():
    running = ConnectProxy()
    yield running
    running.close()


class RawServer(LoopbackServer):
    """A plain-HTTP server on 127.0.0.1 that answers every request with `answer`: the bytes of a whole response, or
    answer(request line) giving them. It records each request line ("GET /beta/x HTTP/1.1") in request_lines; with
    trickle, it sends the answer one byte every `trickle` seconds (a sick server, a throttling proxy); with
    close_after, it closes the kept connection once it has been idle that long; with tls (a server-side SSLContext),
    it speaks HTTPS."""

    def __init__(self, answer, close_after=None, trickle=None, tls=None):
        self.requests = 0
        self.request_lines = []
        self._answer = answer
        self._close_after = close_after
        self._trickle = trickle
        self._tls = tls
        super().__init__()
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)

    def handle(self, connection):
        if self._tls is not None:
            try:
                connection = self._tls.wrap_socket(connection, server_side=True)
            except OSError:
                connection.close()
                return
        with connection:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    readable, _writable, _failed = select.select([connection], [], [], self._close_after or 10)
                    try:
                        chunk = connection.recv(65536) if readable else b""
                    except OSError:
                        chunk = b""
                    if not chunk:
                        return  # idle too long (closed here), or the client hung up
                    data += chunk
                head, data = data.split(b"\r\n\r\n", 1)
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(data) < length:
                    data += connection.recv(65536)
                data = data[length:]
                request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                self.requests += 1
                self.request_lines.append(request_line)
                answer = self._answer(request_line) if callable(self._answer) else self._answer
                try:
                    if self._trickle is None:
                        connection.sendall(answer)
                        continue
                    for index in range(len(answer)):
                        connection.sendall(answer[index:index + 1])
                        time.sleep(self._trickle)
                except OSError:
                    return  # the client gave up


def response(body, headers=(), status="200 OK", content_type="application/json"):
    head = ["HTTP/1.1 " + status, "Content-Length: %d" % len(body)] + (["Content-Type: " + content_type] if content_type else []) + list(headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body
