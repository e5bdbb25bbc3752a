# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plain-HTTP server on 127.0.0.1 for the tests that need what the Graph lab cannot be: an http://
graph_endpoint, slow answers, or links to another origin."""

from __future__ import annotations

import json
import threading
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
