# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a hostile network answers in Graph's place (issue 21): a captive portal's redirect or sign-in page, a proxy
that mangles a create's answer, a sick server that trickles a byte at a time, a body or a gzip bomb too large for
memory, a proxy that wants authentication. Each is served by a real local server (local_http.py), never by a mock of
the transport: the module or the client must fail at once, saying what came back, and write nothing after it."""

from __future__ import annotations

import gzip
import json
import os
import ssl
import time

import pytest
from local_http import ConnectProxy, LoopbackServer, RawServer, no_proxy_from_the_machine, proxy, response  # noqa: F401  pylint: disable=unused-import
from module_runner import run_module

from ansible_collections.intune.autopilot.plugins.module_utils._ad.connection import LdapConnectionError, connect
from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import AuthError, acquire_token, validated_auth_options
from ansible_collections.intune.autopilot.plugins.module_utils._graph import http_client
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import GraphClient, GraphError

pytestmark = pytest.mark.usefixtures("no_proxy_from_the_machine")

SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in to the guest Wi-Fi</title></head><body>Accept the terms</body></html>"
REDIRECT = ("HTTP/1.1 302 Found\r\nLocation: http://portal.example/login?next=graph\r\nContent-Length: 0\r\n\r\n").encode()


@pytest.fixture
def serve():
    """serve(answer, **options) -> a running RawServer; all are stopped after the test."""
    servers = []

    def start(answer, **options):
        servers.append(RawServer(answer, **options))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def client(server, timeout=5):
    return GraphClient(server.url, lambda: "token", timeout=timeout, sleep=lambda _seconds: None)


# -- item 1: an answer that is not Graph's is no success ------------------------------------------------------

@pytest.mark.parametrize("answer, what", [
    (REDIRECT, "a redirect to http://portal.example/login?next=graph, which is never followed"),
    (response(SIGN_IN_PAGE, content_type="text/html"), "an answer that is not JSON"),
    (response(b""), "an empty answer where Graph's JSON is due"),
    (response(b'["not", "a", "page"]'), "a JSON answer that is not an object"),
])
def test_a_read_answered_by_a_portal_fails_saying_what_came_back(serve, answer, what):
    server = serve(answer)
    with pytest.raises(GraphError) as caught:
        client(server).list("groups")
    message = str(caught.value)
    assert what in message and "proxy or captive portal" in message and "nothing was written after it" in message, message
    assert server.request_lines == ["GET /beta/groups HTTP/1.1"], "the redirect was not followed"
    if answer is not REDIRECT:
        assert ("HTTP 200 OK, Content-Type %s" % ("text/html" if b"html" in answer else "application/json")) in message


def test_the_first_bytes_of_a_sign_in_page_are_shown(serve):
    server = serve(response(SIGN_IN_PAGE, content_type="text/html"))
    with pytest.raises(GraphError) as caught:
        client(server).get("groups")
    assert "starting '<!DOCTYPE html><html><head><title>Sign in to the guest Wi-Fi" in str(caught.value)
    assert caught.value.status == 200


def test_a_create_answered_201_without_an_id_fails_saying_it_may_have_been_applied(serve):
    server = serve(response(b'{"displayName": "x"}', status="201 Created"))
    with pytest.raises(GraphError) as caught:
        client(server).request("POST", "groups", body={"displayName": "x"})
    message = str(caught.value)
    assert "a 201 Created without the new object's id" in message and "may have been applied (HTTP 201)" in message, message


@pytest.mark.parametrize("method, answer", [
    ("PATCH", b"HTTP/1.1 204 No Content\r\n\r\n"),
    ("POST", b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"),
    ("POST", response(b"")),
    ("DELETE", b"HTTP/1.1 204 No Content\r\n\r\n"),
])
def test_graphs_own_empty_answers_still_succeed(serve, method, answer):
    # Graph answers 204 to PATCH and DELETE, 202 or an empty 200 to some actions (assign, syncDevices).
    assert client(serve(answer)).request(method, "deviceManagement/x/assign", body={} if method != "DELETE" else None) is None


def portal_for_reads(request_line):
    """A captive portal that lets writes through to a Graph that would create: the worst case for a listing."""
    if request_line.startswith("GET "):
        return response(SIGN_IN_PAGE, content_type="text/html")
    return response(json.dumps({"id": "00000000-0000-0000-0000-000000000001", "displayName": "Autopilot"}).encode(),
                    status="201 Created")


def test_a_module_whose_listing_is_a_sign_in_page_creates_nothing(serve):
    # Read as an empty listing, the page made the module create a second group: now it fails before any write.
    server = serve(portal_for_reads)
    result = run_module("device_group", dict(graph_endpoint=server.url, access_token="token", display_name="Autopilot"))
    assert result["failed"] and "captive portal" in result["msg"], result
    assert [line.split(" ")[0] for line in server.request_lines] == ["GET"]


def test_a_module_whose_create_comes_back_without_an_id_fails(serve):
    server = serve(lambda line: response(b'{"value": []}') if line.startswith("GET ") else response(b"{}", status="201 Created"))
    result = run_module("device_group", dict(graph_endpoint=server.url, access_token="token", display_name="Autopilot"))
    assert result["failed"] and "without the new object's id" in result["msg"], result
    assert result.get("id") is None and [line.split(" ")[0] for line in server.request_lines] == ["GET", "POST"]


# -- item 4: request_timeout bounds the whole exchange ---------------------------------------------------------

def test_a_server_that_trickles_its_answer_is_cut_off_at_the_timeout(serve):
    # One byte every 0.3 s never lets a single read wait 1 s; the whole answer would take about 20 s.
    server = serve(response(b'{"value": [], "padding": "' + b"x" * 40 + b'"}'), trickle=0.3)
    started = time.monotonic()
    with pytest.raises(GraphError) as caught:
        GraphClient(server.url, lambda: "token", timeout=1, max_retry_wait=1, sleep=lambda _seconds: None).get("groups")
    assert time.monotonic() - started < 3
    assert "timed out" in str(caught.value), caught.value


# -- item 5: one answer's decoded size is capped ---------------------------------------------------------------

def test_an_answer_larger_than_the_cap_is_refused_naming_it(serve, monkeypatch):
    monkeypatch.setattr(http_client, "MAX_ANSWER_BYTES", 2 * 1024 * 1024)
    server = serve(response(b'{"value": [], "x": "' + b"x" * (3 * 1024 * 1024) + b'"}'))
    with pytest.raises(GraphError) as caught:
        client(server).get("groups")
    assert "exceeds 2 MiB once decoded" in str(caught.value), caught.value


def test_a_gzip_bomb_is_refused_without_expanding_it(serve, monkeypatch):
    monkeypatch.setattr(http_client, "MAX_ANSWER_BYTES", 2 * 1024 * 1024)
    bomb = gzip.compress(b'{"value": [], "x": "' + b"0" * (16 * 1024 * 1024) + b'"}')
    assert len(bomb) < 32 * 1024
    server = serve(response(bomb, ["Content-Encoding: gzip"]))
    with pytest.raises(GraphError) as caught:
        client(server).get("groups")
    assert "exceeds 2 MiB once decoded" in str(caught.value), caught.value


def test_an_answer_under_the_cap_is_read_whole(serve, monkeypatch):
    monkeypatch.setattr(http_client, "MAX_ANSWER_BYTES", 2 * 1024 * 1024)
    page = {"value": [{"id": str(index), "displayName": "x" * 900} for index in range(2000)]}  # about 1.9 MB
    server = serve(response(gzip.compress(json.dumps(page).encode()), ["Content-Encoding: gzip"]))
    assert client(server).list("groups") == page["value"]


# -- item 6: a proxy's 407 is not an outage --------------------------------------------------------------------

class AuthenticatingProxy(ConnectProxy):
    """A CONNECT proxy that answers 407 to every CONNECT, as one does to a wrong or missing password."""

    def handle(self, connection):
        with connection:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            self.tunnels.append((lines[0].split(" ")[0], lines[0].split(" ")[1], headers.get("Proxy-Authorization")))
            connection.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n"
                               b"Content-Length: 0\r\n\r\n")


@pytest.mark.parametrize("credentials, given", [("corp%5Cadmin:hunter2@", "refused"), ("", "missing")])
def test_a_proxy_that_wants_authentication_is_asked_once_and_named(serve, monkeypatch, credentials, given):
    proxy = AuthenticatingProxy()
    try:
        monkeypatch.setenv("HTTP_PROXY", "http://%s127.0.0.1:%d" % (credentials, proxy.port))
        server = serve(response(b'{"value": []}'))
        started = time.monotonic()
        with pytest.raises(GraphError) as caught:
            client(server).get("groups")
        message = str(caught.value)
        assert "requires proxy authentication" in message and "HTTP 407" in message and given in message, message
        assert len(proxy.tunnels) == 1 and server.requests == 0 and time.monotonic() - started < 2
        assert "hunter2" not in message
    finally:
        proxy.close()


def sign_in_options(lab, authority_host, **overrides):
    admin = lab.apps["lab-admin"]
    return validated_auth_options(dict(dict(tenant_id=lab.tenant, client_id=admin["client_id"], client_secret=admin["secret"],
                                            graph_endpoint=lab.url, authority_host=authority_host, ca_path=lab.ca), **overrides))


def test_a_sign_in_endpoint_that_trickles_its_answer_is_cut_off_at_the_timeout(lab, serve):
    # The lab's server certificate (127.0.0.1, issued by the CA in ca_path), on a server that answers a byte every 0.3 s.
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(os.path.join(lab.data_dir, "server.pem"), os.path.join(lab.data_dir, "server-key.pem"))
    server = serve(response(b'{"token_endpoint": "https://127.0.0.1:1/token", "issuer": "x"}'), trickle=0.3, tls=tls)
    started = time.monotonic()
    with pytest.raises(AuthError) as caught:
        acquire_token(sign_in_options(lab, server.url, request_timeout=1, max_retry_wait=1), sleep=lambda _seconds: None)
    assert time.monotonic() - started < 4, "the sign-in's answer trickled past request_timeout"
    assert "was unavailable" in str(caught.value) and "no answer" in str(caught.value), caught.value
    assert lab.apps["lab-admin"]["secret"] not in str(caught.value)


def test_a_proxy_that_wants_authentication_fails_the_sign_in_at_once(lab, monkeypatch):
    proxy = AuthenticatingProxy()
    try:
        monkeypatch.setenv("HTTPS_PROXY", "http://corp%%5Cadmin:hunter2@127.0.0.1:%d" % proxy.port)
        with pytest.raises(AuthError) as caught:
            acquire_token(sign_in_options(lab, "https://login.example.test"), sleep=lambda _seconds: None)
        message = str(caught.value)
        assert "requires proxy authentication" in message and "HTTP 407" in message and "hunter2" not in message, message
        assert [target for _method, target, _authorization in proxy.tunnels] == ["login.example.test:443"]
    finally:
        proxy.close()


@pytest.mark.parametrize("no_proxy, through_the_proxy", [("127.0.0.0/8", 0), ("", 2), ("localhost,127.0.0.1", 0)])
def test_the_sign_in_and_graph_take_the_same_way(lab, proxy, monkeypatch, no_proxy, through_the_proxy):
    # With NO_PROXY=127.0.0.0/8 the sign-in (requests) went direct and Graph through the proxy.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % proxy.port)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    token, _expires_on = acquire_token(sign_in_options(lab, lab.url))
    GraphClient(lab.url, lambda: token, ca_path=lab.ca, timeout=10).list("groups", api="v1.0")
    assert [target for _method, target, _authorization in proxy.tunnels] == [lab.url.split("://")[1]] * through_the_proxy


class TricklingDirectoryServer(LoopbackServer):
    """A TCP server that takes any LDAP request and answers with the start of a 4 kB LDAP message, then one byte every
    0.3 s, for at most `lasts` seconds: a sick DC (or a middlebox) that never lets one read wait long."""

    def __init__(self, lasts=8.0):
        self.lasts = lasts
        super().__init__()

    def handle(self, connection):
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(b"\x30\x84\x00\x00\x10\x00")
                ends = time.monotonic() + self.lasts
                while time.monotonic() < ends:
                    time.sleep(0.3)
                    connection.sendall(b"\x00")
            except OSError:
                pass  # the client gave up


def test_an_ldap_answer_that_trickles_is_cut_off_at_operation_timeout():
    server = TricklingDirectoryServer()
    try:
        params = dict(server=["127.0.0.1"], port=server.port, tls_mode="start_tls", validate_certs=False, ca_path=None,
                      auth="simple", username="admin@contoso.com", password="secret", connect_timeout=1, operation_timeout=1)
        started = time.monotonic()
        with pytest.raises(LdapConnectionError) as caught:
            connect(params)
        assert time.monotonic() - started < 3, "the StartTLS answer trickled past operation_timeout"
        assert "did not come whole within operation_timeout=1 s" in caught.value.message and caught.value.reason == "unreachable", caught.value.message
    finally:
        server.close()
