"""State across a restart, and Graph's answers for paths and bodies that are not resources."""

import httpx

from lab.graph.testing import running_lab

from .conftest import Graph, app_token, tls


def test_state_survives_a_restart_with_the_same_files(tmp_path):
    state, data_dir = tmp_path / "state.json", tmp_path / "data"
    with running_lab(state=state, data_dir=data_dir) as lab:
        graph = Graph(lab, app_token(lab))
        group = graph.ok("POST", "/v1.0/groups", 201, json={"displayName": "Kept", "mailEnabled": False,
                                                            "mailNickname": "kept", "securityEnabled": True})
        lab.client.advance_clock(3600)
        token = app_token(lab)
        ca = (data_dir / "ca.pem").read_bytes()
    assert state.exists()
    with running_lab(state=state, data_dir=data_dir) as again:
        assert (data_dir / "ca.pem").read_bytes() == ca
        graph = Graph(again, token)   # a token from before the restart still verifies
        assert graph.ok("GET", f"/v1.0/groups/{group['id']}")["displayName"] == "Kept"
        assert again.client.advance_clock(0)["offset"] >= 3600
    with running_lab(data_dir=data_dir) as fresh:
        Graph(fresh, app_token(fresh)).error("GET", f"/v1.0/groups/{group['id']}", 404)


def test_unknown_segments_versions_and_methods(lab, graph):
    error = graph.error("GET", "/beta/deviceManagement/widgets", 400)
    assert error == {**error, "code": "BadRequest", "message": "Resource not found for the segment 'widgets'."}
    assert graph.error("GET", "/v2.0/groups", 400)["message"] == "Invalid version: v2.0"
    graph.error("PUT", "/v1.0/groups", 405, json={})
    graph.error("POST", "/v1.0/groups", 400, content=b"{not json", headers={"Content-Type": "application/json"})
    graph.error("POST", "/v1.0/groups", 400, json=["a list"])


def test_unknown_tenant_and_grant(lab):
    with httpx.Client(verify=tls(lab)) as http:
        wrong = http.post(f"{lab.url}/00000000-0000-4000-8000-000000000000/oauth2/v2.0/token", data={})
        assert wrong.json()["error_codes"] == [90002]
        grant = http.post(f"{lab.url}/{lab.tenant}/oauth2/v2.0/token", data={"grant_type": "device_code"})
        assert grant.json()["error"] == "unsupported_grant_type"


def test_admin_api_refuses_bad_input(lab):
    with httpx.Client(verify=tls(lab)) as http:
        assert http.post(f"{lab.url}/_lab/config", json={"page_size": 0}).status_code == 400
        assert http.post(f"{lab.url}/_lab/config", json={"colour": 1}).status_code == 400
        assert http.post(f"{lab.url}/_lab/clock", json={"advance": -1}).status_code == 400
        assert http.get(f"{lab.url}/_lab/nothing").status_code == 404
