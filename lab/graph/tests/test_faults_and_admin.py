"""Fault injection, replication lag and the admin API's evidence (throttling budgets: test_throttling.py)."""

import threading

import httpx
import pytest

from .conftest import PILOT_GROUP, tls

GROUPS = "/v1.0/groups"


def new_group(name):
    return {"displayName": name, "mailEnabled": False, "mailNickname": name.lower(), "securityEnabled": True}


def count_named(graph, name):
    return len(graph.ok("GET", GROUPS, params={"$filter": f"displayName eq '{name}'"})["value"])


@pytest.mark.parametrize("status,retry_after", [(429, "2"), (503, None), (504, "Wed, 21 Oct 2015 07:28:00 GMT")])
def test_status_faults_answer_then_expire(lab, graph, status, retry_after):
    lab.client.fault("status", method="GET", path=r"/groups$", count=2, status=status, retry_after=retry_after)
    for _ in range(2):
        response = graph.http.get(GROUPS)
        assert response.status_code == status
        assert response.headers.get("Retry-After") == retry_after
        assert response.json()["error"]["innerError"]["request-id"]
    graph.ok("GET", f"{GROUPS}/{PILOT_GROUP}")   # path does not match: no fault consumed
    graph.ok("GET", GROUPS)
    log = lab.client.requests()
    assert [(e["status"], e["fault"]) for e in log] == [(status, "status")] * 2 + [(200, None)] * 2


def test_faults_match_in_order_and_clear(lab, graph):
    lab.client.fault("status", method="POST", count=1, status=503)
    lab.client.fault("status", count=1, status=429)
    assert graph.http.get(GROUPS).status_code == 429       # first fault is POST-only
    assert graph.http.post(GROUPS, json=new_group("a")).status_code == 503
    lab.client.fault("status", count=5, status=503)
    lab.client.clear_faults()
    graph.ok("GET", GROUPS)


def test_drop_before_does_not_commit(lab, graph):
    lab.client.fault("drop_before", method="POST", path="groups")
    with pytest.raises(httpx.RemoteProtocolError):
        graph.http.post(GROUPS, json=new_group("Dropped"))
    assert count_named(graph, "Dropped") == 0
    entry = lab.client.requests()[0]
    assert (entry["method"], entry["status"], entry["fault"]) == ("POST", None, "drop_before")


def test_drop_after_commits_without_answering(lab, graph):
    lab.client.fault("drop_after", method="POST", path="groups")
    with pytest.raises(httpx.RemoteProtocolError):
        graph.http.post(GROUPS, json=new_group("Committed"))
    assert count_named(graph, "Committed") == 1
    entry = lab.client.requests()[0]
    assert (entry["status"], entry["fault"]) == (201, "drop_after")


def test_latency_fault_delays_the_answer(lab, graph):
    # Connect first, so only the read can time out however slow the TLS handshake is on a loaded machine.
    assert graph.http.get(f"{GROUPS}/{PILOT_GROUP}").status_code == 200
    lab.client.clear_log()
    lab.client.fault("latency", path="groups", latency_ms=1500)
    with pytest.raises(httpx.ReadTimeout):
        graph.http.get(GROUPS, timeout=httpx.Timeout(30.0, read=0.3))
    # The delayed request completes (and is logged) after the client gave up.
    with httpx.Client(base_url=lab.url, verify=tls(lab), headers=graph.http.headers) as patient:
        assert patient.get(f"{GROUPS}/{PILOT_GROUP}", timeout=30).status_code == 200
    for _ in range(100):
        if any(e["fault"] == "latency" and e["status"] == 200 for e in lab.client.requests()):
            break
        threading.Event().wait(0.1)
    assert [e["fault"] for e in lab.client.requests() if e["path"] == GROUPS] == ["latency"]


def test_token_endpoint_can_be_faulted_too(lab):
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ClientSecretCredential
    lab.client.fault("status", path="oauth2", status=503, count=10)
    app = lab.apps["lab-admin"]
    credential = ClientSecretCredential(lab.tenant, app["client_id"], app["secret"], authority=lab.url,
                                        disable_instance_discovery=True, connection_verify=lab.ca, retry_total=0)
    with pytest.raises(ClientAuthenticationError):
        credential.get_token("https://graph.microsoft.com/.default")
    assert lab.client.counts()["token"] == 0


def test_consistency_window_hides_new_objects_until_the_clock_moves(lab, graph):
    lab.client.config(consistency_delay=30)
    lab.client.advance_clock(freeze=True)
    created = graph.ok("POST", GROUPS, 201, json=new_group("Fresh"))
    assert count_named(graph, "Fresh") == 0
    graph.error("GET", f"{GROUPS}/{created['id']}", 404)
    esp = {"enrollmentConfigurationAssignments": [{"target": {
        "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": created["id"]}}]}
    default_limit = "7e1ab000-0000-4000-8000-00000000e001_Limit"
    graph.error("POST", f"/beta/deviceManagement/deviceEnrollmentConfigurations/{default_limit}/assign", 404,
                json=esp)
    assert count_named(graph, "Lab-Pilot-Devices") == 1   # seeded objects are not affected
    lab.client.advance_clock(31)
    assert count_named(graph, "Fresh") == 1
    graph.ok("GET", f"{GROUPS}/{created['id']}")


def test_request_log_counts_and_clear(lab, graph):
    graph.http.get(GROUPS, params={"$filter": "displayName eq 'Lab-Duplicate'"},
                   headers={"client-request-id": "cid-1"})
    graph.http.post(GROUPS, json=new_group("Logged"))
    entries = lab.client.requests()
    assert entries[0]["path"] == GROUPS and entries[0]["query"] == "%24filter=displayName+eq+%27Lab-Duplicate%27"
    assert entries[0]["client_request_id"] == "cid-1" and entries[0]["token_kind"] == "app"
    assert entries[0]["app_id"] == lab.apps["lab-admin"]["client_id"]
    assert entries[1]["body"] == new_group("Logged") and entries[1]["status"] == 201
    assert [e["seq"] for e in lab.client.requests(since=entries[0]["seq"])] == [entries[1]["seq"]]
    assert lab.client.counts() == {"GET": 1, "POST": 1, "PATCH": 0, "DELETE": 0, "PUT": 0, "token": 0, "throttled": 0}
    lab.client.clear_log()
    assert lab.client.requests() == [] and lab.client.counts()["GET"] == 0
    assert count_named(graph, "Logged") == 1   # clearing the log keeps the state


def test_request_log_times_tell_a_chain_from_requests_in_flight_together(lab, graph):
    """received (before the round trip) and answered are real time, so a bench can find the requests sent one after
    another (bench/whole_role_bench.py's longest chain): one after another, each is received after the one before
    was answered; in flight together, they overlap."""
    lab.client.config(round_trip_ms=200)
    graph.http.get(GROUPS)
    graph.http.get(f"{GROUPS}/{PILOT_GROUP}")
    threads = [threading.Thread(target=graph.http.get, args=(GROUPS,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second, *together = lab.client.requests()
    assert all(entry["answered"] - entry["received"] >= 0.2 for entry in (first, second, *together))
    assert second["received"] >= first["answered"]
    assert together[1]["received"] < together[0]["answered"] and together[0]["received"] < together[1]["answered"]


def test_seed_replace_empties_the_named_collections_first(lab, graph):
    lab.client.seed({}, replace=["domainJoinConnectors"])
    assert graph.ok("GET", "/beta/deviceManagement/domainJoinConnectors")["value"] == []
    lab.client.seed({"domainJoinConnectors": [{"displayName": "ODJ03", "state": "active", "version": "6.2501.2000.5",
                                               "lastConnectionSecondsAgo": 60}]}, replace=["domainJoinConnectors"])
    assert [c["displayName"] for c in graph.ok("GET", "/beta/deviceManagement/domainJoinConnectors")["value"]] == ["ODJ03"]
    assert count_named(graph, "Lab-Pilot-Devices") == 1   # other collections keep their seed
    with pytest.raises(Exception, match="replace: expected a list of collection keys"):
        lab.client.seed({}, replace=["widgets"])


def test_reset_seed_and_state(lab, graph):
    graph.ok("POST", GROUPS, 201, json=new_group("Temporary"))
    added = lab.client.seed({"groups": [new_group("Seeded")],
                             "domainJoinConnectors": [{"displayName": "ODJ02", "state": "error",
                                                       "version": "6.2504.2001.8", "lastConnectionSecondsAgo": 7200}]})
    assert len(added["added"]["groups"]) == 1
    state = lab.client.state()
    assert {"Temporary", "Seeded"} <= {g["displayName"] for g in state["groups"]}
    assert any(c["displayName"] == "ODJ02" and c["lastConnectionDateTime"] for c in state["domainJoinConnectors"])
    lab.client.config(page_size=1)
    lab.client.reset()
    assert count_named(graph, "Temporary") == count_named(graph, "Seeded") == 0
    assert "@odata.nextLink" not in graph.ok("GET", GROUPS)
    with pytest.raises(Exception, match="unknown collection"):
        lab.client.seed({"widgets": [{}]})
    with pytest.raises(Exception, match="action"):
        lab.client.fault("explode")
