# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTPS client under the Graph transport (http_client.py) against real servers: the Graph lab over TLS,
through a real CONNECT proxy, and small local servers for what the lab does not do (gzip, closing a kept
connection while it is idle, refusing connections)."""

from __future__ import annotations

import gzip
import json
import select
import socket
import threading
import time

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph.http_client import (
    ConnectFailed,
    HTTPClient,
    UnusableProxy,
    proxy_for,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import GraphClient, GraphError, tls_context

PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch):
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


def graph_client(lab, token):
    return GraphClient(lab.url, lambda: token, ca_path=lab.ca, timeout=10)


def test_graph_is_reached_through_the_environments_proxy_with_its_credentials(lab, token, proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://corp%%5Cadmin:p%%40ss@127.0.0.1:%d" % proxy.port)
    client = graph_client(lab, token)
    groups = client.list("groups", api="v1.0")
    assert isinstance(groups, list)
    lab_host_port = lab.url.split("://", 1)[1]
    # One tunnel for the kept connection; TLS inside it is verified against the lab's CA, end to end.
    assert proxy.tunnels == [("CONNECT", lab_host_port, "Basic Y29ycFxhZG1pbjpwQHNz")]  # corp\admin:p@ss


def test_no_proxy_sends_graph_directly(lab, token, proxy, monkeypatch):
    monkeypatch.setenv("https_proxy", "127.0.0.1:%d" % proxy.port)
    monkeypatch.setenv("no_proxy", "example.com, 127.0.0.1")
    graph_client(lab, token).list("groups", api="v1.0")
    assert proxy.tunnels == []


@pytest.mark.parametrize("no_proxy, host, bypassed", [
    ("contoso.com", "graph.contoso.com", True),
    (".contoso.com", "contoso.com", True),
    ("*", "graph.microsoft.com", True),
    ("microsoft.com:443", "graph.microsoft.com", True),
    ("soft.com", "graph.microsoft.com", False),
    ("", "graph.microsoft.com", False),
])
def test_no_proxy_names_hosts_and_their_subdomains(monkeypatch, no_proxy, host, bypassed):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert (proxy_for("https://%s/beta/x" % host) is None) == bypassed


@pytest.mark.parametrize("proxy", ["http://proxy.corp:port", "http://user:secret@:3128"])
def test_a_proxy_without_host_or_port_fails_saying_what_to_give_and_not_its_password(monkeypatch, proxy):
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    with pytest.raises(UnusableProxy) as caught:
        proxy_for("https://graph.microsoft.com/beta/x")
    assert "http://host:port" in str(caught.value) and "secret" not in str(caught.value)


def test_an_https_proxy_fails_at_once_saying_what_to_give(lab, token, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.corp:3128")
    with pytest.raises(UnusableProxy):
        proxy_for(lab.url)
    with pytest.raises(GraphError) as caught:
        graph_client(lab, token).get("groups", api="v1.0")
    assert "http://host:port" in str(caught.value) and "proxy.corp" in str(caught.value)


class RawServer(LoopbackServer):
    """A plain-HTTP server on 127.0.0.1 that answers every request with `answer` (bytes of a whole response)
    and then, with close_after, closes the kept connection once it has been idle that long."""

    def __init__(self, answer, close_after=None):
        self.requests = 0
        self._answer = answer
        self._close_after = close_after
        super().__init__()
        self.url = "http://127.0.0.1:%d" % self.port

    def handle(self, connection):
        with connection:
            while True:
                data = b""
                while b"\r\n\r\n" not in data:
                    readable, _writable, _failed = select.select([connection], [], [], self._close_after or 10)
                    chunk = connection.recv(65536) if readable else b""
                    if not chunk:
                        return  # idle too long (closed here), or the client hung up
                    data += chunk
                self.requests += 1
                connection.sendall(self._answer)


def response(body, headers=()):
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", "Content-Length: %d" % len(body)] + list(headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def test_a_gzip_answer_is_decoded():
    payload = {"value": [{"id": str(index), "displayName": "Group %d" % index} for index in range(200)]}
    server = RawServer(response(gzip.compress(json.dumps(payload).encode()), ["Content-Encoding: gzip"]))
    try:
        client = HTTPClient(tls_context(), 5, {})
        answer = client.request("GET", server.url + "/beta/groups")
        assert answer.status_code == 200 and answer.json() == payload
    finally:
        server.close()


def test_a_kept_connection_the_server_closed_while_idle_is_replaced_before_a_create_is_sent():
    # Were the closed connection used, the POST would fail after sending and be reported as possibly applied.
    server = RawServer(response(b'{"id": "1"}'), close_after=0.2)
    try:
        client = GraphClient(server.url, lambda: "token", timeout=5)
        client.request("GET", "items")
        time.sleep(0.6)
        assert client.request("POST", "items", body={"displayName": "x"}) == {"id": "1"}
        assert server.connections == 2 and server.requests == 2
    finally:
        server.close()


def test_a_kept_connection_is_reused_for_the_next_request():
    server = RawServer(response(b'{"value": []}'))
    try:
        client = HTTPClient(tls_context(), 5, {})
        for _ in range(3):
            client.request("GET", server.url + "/beta/items", params={"$filter": "displayName eq 'A b'"})
        assert server.connections == 1 and server.requests == 3
    finally:
        server.close()


def test_a_refused_connection_is_a_failure_to_connect():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(ConnectFailed) as caught:
        HTTPClient(tls_context(), 5, {}).request("GET", "http://127.0.0.1:%d/beta/items" % port)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
