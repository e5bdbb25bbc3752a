# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTPS client under the Graph transport (http_client.py) against real servers: the Graph lab over TLS,
through a real CONNECT proxy, and small local servers for what the lab does not do (gzip, closing a kept
connection while it is idle, refusing connections)."""

from __future__ import annotations

import gzip
import json
import socket
import time

import pytest
from local_http import RawServer, no_proxy_from_the_machine, proxy, response  # noqa: F401  pylint: disable=unused-import

from ansible_collections.intune.autopilot.plugins.module_utils._graph.http_client import (
    ConnectFailed,
    HTTPClient,
    UnusableProxy,
    proxy_for,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import GraphClient, GraphError, tls_context

pytestmark = pytest.mark.usefixtures("no_proxy_from_the_machine")


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


NO_PROXY_VALUES = [
    "", "*", "*,example.com", "contoso.com", ".contoso.com", "*.contoso.com", "CONTOSO.COM", "soft.com", "microsoft.com:443",
    "graph.microsoft.com.", "contoso.com, graph.microsoft.com", "127.0.0.0/8", "127.0.0.1", "10.0.0.0/8", "127.0.0.1/33",
    "127.0.0.1:8443", "0.0.1", "localhost", "::1", "[::1]", "127.0.0.0/8,.internal.", "127.0.0.0/abc",
]
URLS = [
    "https://graph.microsoft.com/beta/x", "https://graph.contoso.com/beta/x", "https://contoso.com/beta/x",
    "https://GRAPH.Contoso.com/x", "https://graph.microsoft.com./x", "https://graph.microsoft.com:443/x",
    "https://127.0.0.1:8443/x", "https://127.0.0.1/x", "https://10.1.2.3/x", "https://localhost:8443/x",
    "https://[::1]:8443/x", "https://lab.internal/x", "https://lab.internal./x", "https://xcontoso.com/x",
]


@pytest.mark.parametrize("no_proxy", NO_PROXY_VALUES)
def test_no_proxy_is_read_as_the_sign_in_reads_it(monkeypatch, no_proxy):
    # The sign-in goes through requests (azure-core's transport): Graph's requests must take the same way for every
    # NO_PROXY, else one goes direct and the other through the proxy (with NO_PROXY=127.0.0.0/8 they once did).
    requests_utils = pytest.importorskip("requests.utils")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    for url in URLS:
        assert (proxy_for(url) is None) == requests_utils.should_bypass_proxies(url, no_proxy=None), (no_proxy, url)


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
