"""Intune's throttling budgets (lab/graph/throttling.py): off by default, per app and per tenant, writes and all
requests, sliding windows on the lab clock, Retry-After, the start flags and the config API."""

import time

import pytest

from lab.graph.client import LabAdminError
from lab.graph.testing import running_lab

from .conftest import PILOT_GROUP, Graph, app_token

CONFIGURATION = "/beta/deviceManagement/deviceConfigurations/7e1ab000-0000-4000-8000-00000000f001"
PATCH_BODY = {"@odata.type": "#microsoft.graph.windows10CustomConfiguration", "description": "x"}


@pytest.fixture
def budgets(lab):
    """Budgets on, with a frozen clock so the windows depend only on advance_clock."""
    lab.client.config(throttle_budgets=True)
    lab.client.advance_clock(freeze=True)
    return lab


@pytest.fixture
def clients(lab):
    opened = {}

    def client(app):
        if app not in opened:
            opened[app] = Graph(lab, app_token(lab, app))
        return opened[app]
    yield client
    for graph in opened.values():
        graph.http.close()


def write(graph):
    return graph.http.patch(CONFIGURATION, json=PATCH_BODY)


def spend(graph, count, send=write):
    for _ in range(count):
        response = send(graph)
        assert response.status_code < 400, response.text


def read(graph):
    return graph.http.get(CONFIGURATION)


def test_off_by_default(lab, clients):
    lab.client.advance_clock(freeze=True)
    spend(clients("lab-admin"), 120)
    assert lab.client.counts()["throttled"] == 0


def test_per_app_write_budget_answers_graphs_429_until_the_window_frees(budgets, clients):
    admin = clients("lab-admin")
    spend(admin, 100)
    refused = write(admin)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "20"
    error = refused.json()["error"]
    assert error["code"] == "TooManyRequests" and error["innerError"]["request-id"] == refused.headers["request-id"]
    assert read(admin).status_code == 200            # reads have the larger budget
    assert write(clients("lab-cert")).status_code == 200   # another app has its own
    budgets.client.advance_clock(19)
    assert write(admin).status_code == 429
    budgets.client.advance_clock(1)
    assert write(admin).status_code == 200
    log = budgets.client.requests()
    assert [e["throttle"] for e in log if e["status"] == 429] == ["app writes", "app writes"]
    assert budgets.client.counts()["throttled"] == 2


def test_per_tenant_write_budget_spans_apps(budgets, clients):
    spend(clients("lab-admin"), 100)
    spend(clients("lab-cert"), 100)
    refused = write(clients("lab-identity"))         # its own app budget is untouched
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "20"
    assert budgets.client.requests()[-1]["throttle"] == "tenant writes"


def test_per_app_request_budget_counts_reads_and_writes(budgets, clients):
    admin = clients("lab-admin")
    spend(admin, 100)
    spend(admin, 900, send=read)
    refused = read(admin)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "TooManyRequests"
    assert budgets.client.requests()[-1]["throttle"] == "app requests"
    assert read(clients("lab-reader")).status_code == 200


def test_per_tenant_request_budget_spans_apps(budgets, clients):
    spend(clients("lab-admin"), 1000, send=read)
    spend(clients("lab-reader"), 1000, send=read)
    refused = read(clients("lab-cert"))
    assert refused.status_code == 429 and budgets.client.requests()[-1]["throttle"] == "tenant requests"


def test_window_slides_and_retry_after_names_when_the_oldest_expire(budgets, clients):
    admin = clients("lab-admin")
    spend(admin, 50)
    budgets.client.advance_clock(10)
    spend(admin, 50)
    refused = write(admin)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"
    budgets.client.advance_clock(10)                 # the first 50 expire; the refused one still counts
    spend(admin, 49)
    assert write(admin).status_code == 429


def test_refused_requests_count_so_a_retry_storm_extends_the_wait(budgets, clients):
    admin = clients("lab-admin")
    spend(admin, 100)
    budgets.client.advance_clock(10)
    storm = [write(admin) for _ in range(101)]
    assert {r.status_code for r in storm} == {429}
    assert storm[0].headers["Retry-After"] == "10" and storm[-1].headers["Retry-After"] == "20"
    budgets.client.advance_clock(10)                 # what the first refusal said, but the storm spent the budget
    assert write(admin).status_code == 429


def test_scaled_window_rounds_retry_after_up_to_whole_seconds(budgets, clients):
    budgets.client.config(throttle_window=2.5)
    admin = clients("lab-admin")
    spend(admin, 100)
    refused = write(admin)
    assert refused.headers["Retry-After"] == "3"
    budgets.client.advance_clock(2.5)
    assert write(admin).status_code == 200


def test_only_intune_paths_are_budgeted(budgets, clients):
    admin = clients("lab-admin")
    spend(admin, 120, send=lambda graph: graph.http.patch(f"/v1.0/groups/{PILOT_GROUP}", json={"description": "x"}))
    spend(admin, 100)


def test_config_api_turns_budgets_off_and_checks_values(budgets, clients):
    admin = clients("lab-admin")
    spend(admin, 100)
    assert write(admin).status_code == 429
    assert budgets.client.config(throttle_budgets=False)["throttle_budgets"] is False
    assert write(admin).status_code == 200
    for bad in ({"throttle_window": 0}, {"throttle_window": True}, {"throttle_budgets": "yes"}):
        with pytest.raises(LabAdminError):
            budgets.client.config(**bad)


def test_start_flags_turn_budgets_on_and_survive_reset():
    with running_lab(throttle_budgets=True, throttle_window=5) as lab:
        lab.client.reset()
        assert lab.client.config()["throttle_window"] == 5
        lab.client.advance_clock(freeze=True)
        graph = Graph(lab, app_token(lab))
        spend(graph, 100)
        refused = write(graph)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "5"
        graph.http.close()


def test_a_batch_answers_each_request_on_its_own_and_each_counts_against_the_budgets(budgets, clients):
    """json-batching: up to 20 requests, each with its own status; each evaluated against the budgets on its own."""
    admin = clients("lab-admin")
    spend(admin, 995, send=read)
    steps = [{"id": str(number), "method": "GET", "url": CONFIGURATION.removeprefix("/beta")} for number in range(8)]
    steps.append({"id": "missing", "method": "GET", "url": "/deviceManagement/deviceConfigurations/nope"})
    budgets.client.clear_log()

    answer = admin.ok("POST", "/beta/$batch", 200, json={"requests": steps})

    statuses = {response["id"]: response["status"] for response in answer["responses"]}
    # 995 + 5 fill the app's 1000 reads; the rest are refused one by one, each with its own Retry-After.
    assert [statuses[str(number)] for number in range(8)] == [200] * 5 + [429] * 3
    assert statuses["missing"] == 429
    refused = next(response for response in answer["responses"] if response["status"] == 429)
    assert refused["headers"]["Retry-After"] == "20" and refused["body"]["error"]["code"] == "TooManyRequests"
    log = budgets.client.requests()
    assert [entry["path"] for entry in log if not entry.get("batch")] == ["/beta/$batch"]
    assert len([entry for entry in log if entry.get("batch")]) == 9
    budgets.client.advance_clock(20)
    fresh = admin.ok("POST", "/beta/$batch", 200, json={"requests": steps[-2:]})
    assert sorted(response["status"] for response in fresh["responses"]) == [200, 404]


def test_a_batch_of_more_than_twenty_or_without_ids_is_refused(lab, clients):
    admin = clients("lab-admin")
    step = {"method": "GET", "url": "/groups/" + PILOT_GROUP}
    too_many = admin.error("POST", "/v1.0/$batch", 400, json={"requests": [dict(step, id=str(n)) for n in range(21)]})
    assert "maximum of 20" in too_many["message"]
    assert admin.error("POST", "/v1.0/$batch", 400, json={"requests": [step]})["code"] == "BadRequest"
    assert admin.ok("POST", "/v1.0/$batch", 200, json={"requests": [dict(step, id="1")]})["responses"][0]["status"] == 200


def test_a_round_trip_per_request_with_jitter_and_the_budgets_still_on(budgets, clients):
    """The latency knob (README "Latency"): every Graph request takes round_trip_ms, give or take the jitter, a refused
    one too. Lower bounds only: a loaded machine adds time, never takes it away."""
    admin = clients("lab-admin")
    spend(admin, 100)  # the app's write budget, at no latency
    budgets.client.config(round_trip_ms=300, round_trip_jitter_ms=100)
    timings = []
    for send in (read, read, write):
        began = time.perf_counter()
        answer = send(admin)
        timings.append((answer.status_code, time.perf_counter() - began))
    assert [status for status, _seconds in timings] == [200, 200, 429]
    assert min(seconds for _status, seconds in timings) >= 0.2, timings
    for bad in ({"round_trip_ms": -1}, {"round_trip_jitter_ms": "5"}, {"round_trip_ms": 61000}):
        with pytest.raises(LabAdminError):
            budgets.client.config(**bad)
