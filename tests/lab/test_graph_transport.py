# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Graph transport against the Graph lab over real HTTPS: retries, waits, paging, errors.

`sleep` is replaced by a recorder, so the waits the policy chooses are asserted exactly and the suite
does not spend them; the transport's clock is real time plus those waits, so its wall-clock bound sees
both. Every other part (TLS, HTTP, the lab's faults and log) is real. Where the lab cannot play a
server (a plain-HTTP endpoint, slow answers, links to elsewhere), a small local HTTP server does.
"""

from __future__ import annotations

import email.utils
import os
import re
import subprocess
import sys
import time

import pytest
from local_http import local_server  # noqa: F401  pylint: disable=unused-import
from module_runner import graph_auth, run_module

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import acquire_token
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import (
    MAX_ATTEMPTS,
    GraphClient,
    GraphError,
    GraphThrottled,
    ScopeMissing,
    TokenRejected,
    WriteOutcomeUnknown,
    accepted_scopes,
    origin,
    required_permission,
)

GROUPS = "/v1.0/groups"


class RecordingSleep:
    def __init__(self, on_sleep=None):
        self.waits = []
        self.on_sleep = on_sleep

    def __call__(self, seconds):
        self.waits.append(seconds)
        if self.on_sleep:
            self.on_sleep(seconds)

    def clock(self):
        """Real time (so time spent inside requests counts) plus the waits that were not spent."""
        return time.monotonic() + sum(self.waits)


def client_for(lab, token, sleep, max_retry_wait=300, endpoint=None, timeout=60):
    return GraphClient(endpoint or lab.url, lambda: token, ca_path=lab.ca, max_retry_wait=max_retry_wait, timeout=timeout,
                       sleep=sleep, clock=sleep.clock)


def logged(lab, method=None, path=None):
    return [entry for entry in lab.client.requests()
            if (method is None or entry["method"] == method) and (path is None or entry["path"] == path)]


def new_group(name):
    return {"displayName": name, "mailEnabled": False, "mailNickname": name.replace(" ", ""), "securityEnabled": True}


def test_retry_after_in_seconds_is_honoured(lab, token):
    lab.client.fault(method="GET", path="^/v1.0/groups$", count=2, action="status", status=429, retry_after="3")
    sleep = RecordingSleep()
    groups = client_for(lab, token, sleep).list("groups", api="v1.0")
    assert groups, "the seeded groups come back once throttling stops"
    assert sleep.waits == [3.0, 3.0]
    assert [entry["status"] for entry in logged(lab, "GET", GROUPS)] == [429, 429, 200]


def test_retry_after_as_http_date_is_honoured(lab, token):
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    lab.client.fault(method="GET", path="^/v1.0/groups$", count=1, action="status", status=503, retry_after=when)
    sleep = RecordingSleep()
    client_for(lab, token, sleep).list("groups", api="v1.0")
    assert len(sleep.waits) == 1 and 15 <= sleep.waits[0] <= 20


def test_total_wait_is_bounded_and_the_failure_says_throttled(lab, token):
    lab.client.fault(method="GET", path="^/v1.0/groups$", count=50, action="status", status=429, retry_after="120")
    sleep = RecordingSleep()
    with pytest.raises(GraphThrottled) as caught:
        client_for(lab, token, sleep, max_retry_wait=300).list("groups", api="v1.0")
    assert sleep.waits == [120.0, 120.0]
    message = str(caught.value)
    assert "throttled" in message and "240 s" in message and "max_retry_wait=300" in message
    assert len(logged(lab, "GET", GROUPS)) == 3
    assert token not in message


def test_backoff_without_retry_after_grows_with_jitter(lab, token):
    lab.client.fault(method="GET", path="^/v1.0/groups$", count=3, action="status", status=503)
    sleep = RecordingSleep()
    client_for(lab, token, sleep).list("groups", api="v1.0")
    first, second, third = sleep.waits
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0 and 2.0 <= third <= 4.0


def test_paging_follows_next_link_to_the_end(lab, token):
    lab.client.config(page_size=2)
    client = client_for(lab, token, RecordingSleep())
    for index in range(3):
        client.request("POST", "groups", api="v1.0", body=new_group("Paging %d" % index))
    total = len(lab.client.state()["groups"])
    lab.client.clear_log()
    groups = client.list("groups", api="v1.0")
    assert len(groups) == total and len({group["id"] for group in groups}) == total
    assert len(logged(lab, "GET", GROUPS)) == (total + 1) // 2


def test_errors_name_method_path_code_and_request_id_never_the_token(lab, token):
    client = client_for(lab, token, RecordingSleep())
    with pytest.raises(GraphError) as caught:
        client.get("groups/00000000-0000-4000-8000-0000000000ff", api="v1.0")
    error = caught.value
    assert error.status == 404 and error.code and error.request_id
    assert "GET /v1.0/groups/00000000-0000-4000-8000-0000000000ff" in str(error)
    assert token not in str(error) and token not in repr(error.details())


def test_post_is_not_resent_after_a_dropped_connection(lab, token):
    lab.client.fault(method="POST", path="^/v1.0/groups$", count=1, action="drop_after")
    client = client_for(lab, token, RecordingSleep())
    with pytest.raises(WriteOutcomeUnknown):
        client.request("POST", "groups", api="v1.0", body=new_group("Dropped after commit"))
    assert len(logged(lab, "POST", GROUPS)) == 1
    assert [g["displayName"] for g in lab.client.state()["groups"]].count("Dropped after commit") == 1


def test_post_is_not_resent_after_a_5xx(lab, token):
    lab.client.fault(method="POST", path="^/v1.0/groups$", count=1, action="status", status=503, retry_after="1")
    client = client_for(lab, token, RecordingSleep())
    with pytest.raises(WriteOutcomeUnknown):
        client.request("POST", "groups", api="v1.0", body=new_group("Maybe created"))
    assert len(logged(lab, "POST", GROUPS)) == 1


def test_post_is_retried_after_429_because_graph_did_not_act(lab, token):
    lab.client.fault(method="POST", path="^/v1.0/groups$", count=1, action="status", status=429, retry_after="1")
    client = client_for(lab, token, RecordingSleep())
    client.request("POST", "groups", api="v1.0", body=new_group("Throttled once"))
    assert [entry["status"] for entry in logged(lab, "POST", GROUPS)] == [429, 201]
    assert [g["displayName"] for g in lab.client.state()["groups"]].count("Throttled once") == 1


def test_patch_is_retried_after_a_dropped_connection(lab, token):
    client = client_for(lab, token, RecordingSleep())
    group = client.request("POST", "groups", api="v1.0", body=new_group("Patched"))
    lab.client.fault(method="PATCH", path="^/v1.0/groups/", count=1, action="drop_before")
    client.request("PATCH", "groups/%s" % group["id"], api="v1.0", body={"description": "after retry"})
    assert len(logged(lab, "PATCH")) == 2
    assert client.get("groups/%s" % group["id"], api="v1.0")["description"] == "after retry"


def test_a_new_object_missing_through_replication_delay_is_waited_for(lab, token):
    lab.client.config(consistency_delay=5)
    sleep = RecordingSleep(on_sleep=lab.client.advance_clock)
    client = client_for(lab, token, sleep)
    group = client.request("POST", "groups", api="v1.0", body=new_group("Replicating"))
    assert client.get("groups/%s" % group["id"], api="v1.0")["id"] == group["id"]
    assert sleep.waits and [entry["status"] for entry in logged(lab, "GET")][-1] == 200


def test_a_404_on_an_object_this_run_did_not_create_is_final(lab, token):
    sleep = RecordingSleep()
    with pytest.raises(GraphError):
        client_for(lab, token, sleep).get("groups/00000000-0000-4000-8000-0000000000fe", api="v1.0")
    assert sleep.waits == []


# -- 401: a fixed token is never resent -----------------------------------------------------------

def test_a_rejected_fixed_token_fails_at_once_recognisably_and_is_not_resent(lab):
    expired = lab.client.mint_token(kind="app", app=lab.apps["lab-admin"]["client_id"], roles=["Group.Read.All"], expired=True)
    with pytest.raises(TokenRejected) as caught:
        client_for(lab, expired, RecordingSleep()).get("groups", api="v1.0")
    details = caught.value.details()
    assert details["token_rejected"] is True and details["status"] == 401
    assert details["error_code"] == "InvalidAuthenticationToken" and details["request_id"]
    assert [entry["status"] for entry in logged(lab)] == [401]
    assert expired not in str(caught.value) and expired not in repr(details)


def test_a_401_is_answered_once_with_a_new_token_when_the_provider_has_one(lab, token):
    expired = lab.client.mint_token(kind="app", app=lab.apps["lab-admin"]["client_id"], expired=True)
    tokens = iter([expired, token])
    client = GraphClient(lab.url, lambda: next(tokens), ca_path=lab.ca, sleep=RecordingSleep())
    assert client.list("groups", api="v1.0")
    assert [entry["status"] for entry in logged(lab)] == [401, 200]


# -- retry bounds: floor, attempt cap, wall clock -------------------------------------------------

@pytest.mark.parametrize("retry_after", ["0", "1"])
def test_a_429_storm_with_tiny_retry_after_waits_and_ends_at_the_attempt_cap(lab, token, retry_after):
    lab.client.fault(method="GET", path="^/v1.0/groups$", count=100, action="status", status=429, retry_after=retry_after)
    sleep = RecordingSleep()
    with pytest.raises(GraphThrottled) as caught:
        client_for(lab, token, sleep).list("groups", api="v1.0")
    assert len(logged(lab, "GET", GROUPS)) == MAX_ATTEMPTS
    assert len(sleep.waits) == MAX_ATTEMPTS - 1
    if retry_after == "1":
        assert sleep.waits == [1.0] * (MAX_ATTEMPTS - 1)
    else:
        # "0" counts as absent: back-off that never drops below half a second and keeps growing.
        assert min(sleep.waits) >= 0.5 and sleep.waits[-1] >= 16
    assert "throttled" in str(caught.value) and "%d attempts" % MAX_ATTEMPTS in str(caught.value)


@pytest.mark.parametrize("answer_after, timeout, expected", [
    (1.5, 60, "throttled"),          # a slow 429 that asks for only 1 s
    (3.0, 1, "unavailable"),         # no answer within request_timeout
])
def test_the_retry_bound_counts_time_spent_inside_requests(lab, token, local_server, answer_after, timeout, expected):
    def slow_429(_path):
        time.sleep(answer_after)
        return 429, {"Retry-After": "1"}, {"error": {"code": "TooManyRequests", "message": "slow down"}}

    server = local_server(slow_429)
    sleep = RecordingSleep()
    with pytest.raises(GraphThrottled) as caught:
        client_for(lab, token, sleep, max_retry_wait=1, endpoint=server.url, timeout=timeout).get("items")
    # The first send alone used up max_retry_wait, so no retry started.
    assert len(server.requests) == 1 and sleep.waits == []
    assert expected in str(caught.value) and "max_retry_wait=1" in str(caught.value)


# -- DELETE: a 404 after a lost answer means it is gone ---------------------------------------------

def test_a_delete_retried_after_its_answer_was_lost_succeeds_on_404(lab, token):
    client = client_for(lab, token, RecordingSleep())
    group = client.request("POST", "groups", api="v1.0", body=new_group("Deleted once"))
    lab.client.fault(method="DELETE", path="^/v1.0/groups/", count=1, action="drop_after")
    assert client.request("DELETE", "groups/%s" % group["id"], api="v1.0") is None
    assert [(entry["status"], entry["fault"]) for entry in logged(lab, "DELETE")] == [(204, "drop_after"), (404, None)]
    assert group["id"] not in [g["id"] for g in lab.client.state()["groups"]]


@pytest.mark.parametrize("first", [None, "429"])
def test_a_404_on_a_delete_no_earlier_send_could_have_applied_stays_an_error(lab, token, first):
    if first:
        # Graph refused the first send before acting, so the 404 is about the object, not about us.
        lab.client.fault(method="DELETE", path="^/v1.0/groups/", count=1, action="status", status=429, retry_after="1")
    with pytest.raises(GraphError) as caught:
        client_for(lab, token, RecordingSleep()).request("DELETE", "groups/00000000-0000-4000-8000-0000000000fd", api="v1.0")
    assert caught.value.status == 404
    assert [entry["status"] for entry in logged(lab, "DELETE")] == ([429, 404] if first else [404])


# -- paging stays on graph_endpoint ---------------------------------------------------------------

def test_a_next_link_to_another_origin_is_refused_and_gets_nothing(lab, token, local_server):
    server = local_server(lambda _path: (200, {}, {"value": [{"id": "1"}], "@odata.nextLink": lab.url + "/v1.0/groups"}))
    with pytest.raises(GraphError) as caught:
        client_for(lab, token, RecordingSleep(), endpoint=server.url).list("items")
    message = str(caught.value)
    assert origin(lab.url) in message and origin(server.url) in message and "@odata.nextLink" in message
    assert len(server.requests) == 1
    assert lab.client.requests() == [], "nothing, and so no token, went to the link's host"


def test_absolute_http_next_links_page_on_an_http_graph_endpoint(lab, token, local_server):
    def pages(path):
        if path == "/beta/items":
            return 200, {}, {"value": [{"id": "1"}], "@odata.nextLink": server.url + "/beta/items?$skiptoken=2"}
        if path == "/beta/items?$skiptoken=2":
            return 200, {}, {"value": [{"id": "2"}]}
        return 404, {}, {"error": {"code": "NotFound", "message": path}}

    server = local_server(pages)
    items = client_for(lab, token, RecordingSleep(), endpoint=server.url).list("items")
    assert [item["id"] for item in items] == ["1", "2"]
    assert [(path, auth) for _method, path, auth in server.requests] == [
        ("/beta/items", "Bearer " + token), ("/beta/items?$skiptoken=2", "Bearer " + token)]


def test_a_next_link_that_comes_back_ends_the_listing(lab, token, local_server):
    # Would end by itself after 20 pages; the client must stop at the first repeat.
    def same_link(_path):
        last = len(server.requests) > 20
        return 200, {}, dict({"value": [{"id": str(len(server.requests))}]}, **({} if last else {"@odata.nextLink": server.url + "/beta/items?page=2"}))

    server = local_server(same_link)
    with pytest.raises(GraphError) as caught:
        client_for(lab, token, RecordingSleep(), endpoint=server.url).list("items")
    assert "paging does not end" in str(caught.value)
    assert len(server.requests) == 2


def test_a_graph_module_imports_no_http_library_beyond_the_standard_one():
    # Every task is a new process: importing httpx (httpcore, h11, idna, ...) cost each module run more CPU than
    # its own work (bench/role_bench.py), so the transport speaks HTTP with http.client.
    code = ("import sys\n"
            "from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'httpx', 'httpcore', 'h11', 'idna', 'anyio', 'requests', 'urllib3', 'azure', 'msal'}))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    completed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]", "imported with the engine: %s" % completed.stdout


def test_every_lab_route_maps_to_a_permission_the_lab_accepts_for_it():
    # The lab enforces each route's permission with its source (lab/graph/permissions.py); Graph's 403 does not name
    # it, so the transport's table does. Any route whose named permissions the lab would refuse is a wrong hint.
    from lab.graph.app import build_registry  # pylint: disable=import-outside-toplevel

    wrong = []
    for route in build_registry().routes:
        path = "/%s/%s" % (route.versions[0], "/".join("x" if segment.startswith("{") else segment for segment in route.segments))
        named = set(re.findall(r"\b[A-Z][A-Za-z]+(?:\.[A-Za-z]+)+", required_permission(route.method, path) or ""))
        if not named & set(route.permission.any_of) or route.permission.delegated_only != ("delegated only" in required_permission(route.method, path)):
            wrong.append((route.method, path, required_permission(route.method, path), route.permission))
    assert wrong == []


def test_a_403_names_the_permission_the_request_needs(lab, graph_lab):
    reader = graph_lab.apps["lab-reader"]
    token = acquire_token(dict(tenant_id=graph_lab.tenant, client_id=reader["client_id"], client_secret=reader["secret"],
                               graph_endpoint=graph_lab.url, authority_host=graph_lab.url, ca_path=graph_lab.ca))[0]
    client = client_for(lab, token, RecordingSleep())
    with pytest.raises(GraphError) as caught:
        client.request("POST", "groups", api="v1.0", body=new_group("Refused"))
    assert caught.value.status == 403 and caught.value.permission == "Group.Create (or Group.ReadWrite.All)"
    assert "needs the Graph permission Group.Create (or Group.ReadWrite.All)" in str(caught.value)
    assert caught.value.details()["required_permission"] == caught.value.permission
    with pytest.raises(GraphError) as caught:
        client.request("PATCH", "deviceManagement/deviceConfigurations/7e1ab000-0000-4000-8000-00000000c001", body={"description": "x"})
    # The lab, like Graph, checks the permission before looking the object up.
    assert caught.value.status == 403 and caught.value.permission == "DeviceManagementConfiguration.ReadWrite.All"
    assert token not in str(caught.value)
    assert [entry["status"] for entry in logged(lab, "POST", GROUPS)] == [403], "refused once, not retried"


def test_an_app_only_call_to_a_delegated_only_route_asks_for_a_users_consent_not_the_apps(lab, token):
    client = client_for(lab, token, RecordingSleep())  # an app's token: Graph refuses it here whatever the app holds
    with pytest.raises(GraphError) as caught:
        client.request("PATCH", "policies/mobileDeviceManagementPolicies/0000000a-0000-0000-c000-000000000000",
                       body={"appliesTo": "all"})
    message = str(caught.value)
    # Graph's 401 "Unsupported app-only call." is about the kind of token, not its age: no new token is asked for.
    assert caught.value.status == 401 and not isinstance(caught.value, TokenRejected), message
    assert "Unsupported app-only call." in message and "Policy.ReadWrite.MobilityManagement (delegated only" in message
    assert "consented for the signed-in user" in message
    assert "to the app" not in message, "no grant to an app makes a delegated-only permission work"


def test_a_users_token_without_the_scope_is_refused_before_the_request(lab):
    cli = lab.client.mint_token(kind="cli", upn="admin@lab.example")
    client = client_for(lab, cli, RecordingSleep())
    with pytest.raises(ScopeMissing) as caught:
        client.request("GET", "deviceManagement/windowsAutopilotDeploymentProfiles")
    assert "lacks the delegated scope DeviceManagementServiceConfig.Read.All" in str(caught.value)
    assert "Azure CLI" in str(caught.value) and "auth_source: device_code" in str(caught.value)
    assert client.request("GET", "groups", api="v1.0")["value"], "what the Azure CLI's token holds still works"
    assert [entry["path"] for entry in logged(lab)] == ["/v1.0/groups"]


def test_a_write_scope_serves_reading_too():
    assert "DeviceManagementConfiguration.ReadWrite.All" in accepted_scopes("GET", "/beta/deviceManagement/deviceConfigurations")
    assert "Policy.ReadWrite.MobilityManagement" in accepted_scopes("GET", "/beta/policies/mobileDeviceManagementPolicies")
    assert accepted_scopes("PATCH", "/beta/policies/mobileDeviceManagementPolicies/x") == {"Policy.ReadWrite.MobilityManagement"}


def test_the_scopes_the_transport_accepts_include_every_one_the_lab_takes():
    # The product never refuses a user's token before a request that Graph (the lab's table, with its sources) would serve.
    from lab.graph.app import build_registry  # pylint: disable=import-outside-toplevel

    refused = []
    for route in build_registry().routes:
        path = "/%s/%s" % (route.versions[0], "/".join("x" if segment.startswith("{") else segment for segment in route.segments))
        if not set(route.permission.any_of) <= accepted_scopes(route.method, path):
            refused.append((route.method, path, sorted(set(route.permission.any_of) - accepted_scopes(route.method, path))))
    assert refused == []


def test_an_unverifiable_certificate_fails_at_once_and_points_to_ca_path(lab, token):
    sleep = RecordingSleep()
    client = GraphClient(lab.url, lambda: token, sleep=sleep, clock=sleep.clock)   # the lab's private CA not given
    with pytest.raises(GraphError) as caught:
        client.list("groups", api="v1.0")
    message = str(caught.value)
    assert not isinstance(caught.value, GraphThrottled), "a certificate failure is not retried"
    assert "could not be verified" in message and "set ca_path to its CA certificate" in message, message
    assert "system's (certifi's) CA certificates" in message
    assert sleep.waits == [] and lab.client.requests() == []


def test_waits_on_throttling_are_summed_up_for_the_task(lab, token):
    lab.client.fault(method="GET", path="^/v1.0/groups$", count=2, action="status", status=429, retry_after="3")
    lab.client.fault(method="GET", path="^/v1.0/devices$", count=1, action="status", status=503)
    client = client_for(lab, token, RecordingSleep())
    assert client.waits_summary() is None
    client.list("groups", api="v1.0")
    client.list("devices", api="v1.0")
    summary = client.waits_summary()
    assert summary.startswith("Graph throttled this task: it waited %.1f s" % (6 + client.waits[-1][2])), summary
    assert "2 after HTTP 429 for 6.0 s, 1 after HTTP 503" in summary and "the first was GET /v1.0/groups" in summary, summary


def test_a_module_that_waited_on_throttling_says_so_in_a_warning(lab):
    lab.client.fault(method="GET", path="^/beta/deviceManagement/deviceConfigurations$", count=1, action="status", status=429,
                     retry_after="2")
    result = run_module("autopilot_config_info", dict(graph_auth(lab), kinds=["domain_join_profile"]))
    assert not result["failed"], result
    warnings = [warning for warning in result.get("warnings") or [] if "Graph throttled this task" in warning]
    assert len(warnings) == 1 and "1 after HTTP 429 for 2.0 s" in warnings[0], result.get("warnings")
