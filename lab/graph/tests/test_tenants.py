"""Several tenants in one lab: each its own directory, state, request log, faults and config, chosen as Entra ID
and Graph choose it (the token endpoint's tenant path segment, then the token's tid); nothing crosses."""

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from lab.graph import jwt
from lab.graph.client import LabAdminError
from lab.graph.testing import running_lab

from .conftest import tls

ADMIN_APP = "lab-admin"


@pytest.fixture(scope="module")
def lab():
    with running_lab(tenants=3) as handle:
        yield handle


@pytest.fixture(autouse=True)
def fresh_tenants(lab):
    for tenant in lab.tenants:
        lab.client_for(tenant).reset()


def sign_in(lab, tenant, app=ADMIN_APP, **form):
    """POST /{tenant}/oauth2/v2.0/token with the app's secret, as azure-identity does; the httpx response."""
    credentials = lab.apps[app]
    data = {"grant_type": "client_credentials", "client_id": credentials["client_id"],
            "client_secret": credentials["secret"], "scope": "https://graph.microsoft.com/.default", **form}
    return httpx.post(f"{lab.url}/{tenant}/oauth2/v2.0/token", data=data, verify=tls(lab))


def token_for(lab, tenant, app=ADMIN_APP):
    response = sign_in(lab, tenant, app)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def graph(lab, token):
    return httpx.Client(base_url=lab.url, verify=tls(lab), timeout=30, headers={"Authorization": f"Bearer {token}"})


def new_group(client, name):
    response = client.post("/v1.0/groups", json={"displayName": name, "mailEnabled": False, "mailNickname": name.replace(" ", ""),
                                                 "securityEnabled": True})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_the_lab_hosts_tenants_with_their_own_ids_and_domains(lab):
    tenants = lab.client.tenants()
    assert [t["id"] for t in tenants] == lab.tenants and len(set(lab.tenants)) == 3
    assert lab.tenants[0] == lab.tenant
    assert len({t["domain"] for t in tenants}) == 3


def test_the_token_endpoint_issues_a_token_of_the_tenant_in_its_path(lab):
    # One multi-tenant app (same client id and secret everywhere): only the path tells the tenants apart.
    for tenant in lab.tenants:
        claims = jwt.parse(token_for(lab, tenant))[1]
        assert claims["tid"] == tenant
        assert claims["iss"] == f"https://sts.windows.net/{tenant}/"
    assert [lab.client_for(t).counts()["token"] for t in lab.tenants] == [1, 1, 1]


def test_graph_acts_on_the_token_tenant_only(lab):
    ids = {}
    for number, tenant in enumerate(lab.tenants):
        with graph(lab, token_for(lab, tenant)) as client:
            ids[tenant] = new_group(client, f"Autopilot tenant {number}")
    for number, tenant in enumerate(lab.tenants):
        names = [g["displayName"] for g in lab.client_for(tenant).state()["groups"]]
        assert f"Autopilot tenant {number}" in names
        assert not [n for n in names if n.startswith("Autopilot tenant ") and n != f"Autopilot tenant {number}"]
        log = lab.client_for(tenant).requests()
        assert [(e["method"], e["path"]) for e in log] == [("POST", "/v1.0/groups")]
    first, second = lab.tenants[:2]
    with graph(lab, token_for(lab, first)) as client:
        # Another tenant's object does not exist for this token: Graph's 404, as for any unknown id.
        for method in ("GET", "PATCH", "DELETE"):
            response = client.request(method, f"/v1.0/groups/{ids[second]}",
                                      json={"description": "x"} if method == "PATCH" else None)
            assert response.status_code == 404, (method, response.text)
            assert response.json()["error"]["code"] == "Request_ResourceNotFound"
        listed = client.get("/v1.0/groups", params={"$filter": "startswith(displayName,'Autopilot tenant')"})
        assert [g["id"] for g in listed.json()["value"]] == [ids[first]]
    # Nothing of the refused requests reached the other tenant.
    assert [e["method"] for e in lab.client_for(second).requests()] == ["POST"]
    assert ids[second] in [g["id"] for g in lab.client_for(second).state()["groups"]]


def test_seeded_objects_have_ids_of_their_own_tenant(lab):
    first, second = lab.tenants[:2]
    first_ids = {g["id"] for g in lab.client_for(first).state()["groups"]}
    second_ids = {g["id"] for g in lab.client_for(second).state()["groups"]}
    assert first_ids and second_ids and not first_ids & second_ids
    with graph(lab, token_for(lab, first)) as client:
        assert client.get(f"/v1.0/groups/{sorted(second_ids)[0]}").status_code == 404


def test_an_app_without_a_service_principal_in_a_tenant_gets_no_token_there(lab):
    # A fourth tenant, where only lab-reader was consented (the other tests look at the first three only).
    added = lab.client.add_tenant(apps=["lab-reader"])
    refused = sign_in(lab, added["id"])
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "unauthorized_client"
    assert refused.json()["error_codes"] == [700016]
    assert added["id"] in refused.json()["error_description"]
    assert jwt.parse(token_for(lab, added["id"], "lab-reader"))[1]["tid"] == added["id"]
    assert lab.client_for(added["id"]).counts()["token"] == 1


def test_a_token_of_a_tenant_the_lab_does_not_host_is_refused(lab):
    header, claims, _, _ = jwt.parse(token_for(lab, lab.tenant))
    with open(f"{lab.data_dir}/token-signing-key.pem", "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), None)
    stranger = "0badc0de-0000-4000-8000-000000000000"
    forged = jwt.sign_rs256(dict(claims, tid=stranger), key, {"kid": header["kid"]})
    with graph(lab, forged) as client:
        response = client.get("/v1.0/groups")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert all(e["status"] in (401, None) for t in lab.tenants for e in lab.client_for(t).requests())


def test_a_user_signs_in_to_their_own_tenant_only(lab):
    first, second = lab.tenants[:2]
    domains = {t["id"]: t["domain"] for t in lab.client.tenants()}
    form = {"grant_type": "password", "client_id": "14d82eec-204b-4c2f-b7e8-296a70dab67e",
            "password": "lab-admin-password", "scope": "https://graph.microsoft.com/.default"}
    url = f"{lab.url}/{second}/oauth2/v2.0/token"
    refused = httpx.post(url, data=dict(form, username=f"admin@{domains[first]}"), verify=tls(lab))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    accepted = httpx.post(url, data=dict(form, username=f"admin@{domains[second]}"), verify=tls(lab))
    assert accepted.status_code == 200, accepted.text
    assert jwt.parse(accepted.json()["access_token"])[1]["tid"] == second


def test_faults_config_and_reset_stay_in_their_tenant(lab):
    first, second = lab.tenants[:2]
    lab.client_for(second).fault("status", method="GET", path="^/v1.0/groups$", status=503, count=5)
    lab.client_for(second).config(page_size=1)
    with graph(lab, token_for(lab, first)) as client:
        response = client.get("/v1.0/groups")
        assert response.status_code == 200 and len(response.json()["value"]) > 1
    with graph(lab, token_for(lab, second)) as client:
        assert client.get("/v1.0/groups").status_code == 503
    lab.client_for(second).clear_faults()
    with graph(lab, token_for(lab, first)) as client:
        kept = new_group(client, "Kept in the first tenant")
    lab.client_for(second).reset()
    assert kept in [g["id"] for g in lab.client_for(first).state()["groups"]]
    assert lab.client_for(first).counts()["POST"] == 1


def test_unknown_tenant_in_admin_path_is_404(lab):
    with pytest.raises(LabAdminError, match="404"):
        lab.client_for("not-a-tenant").counts()


def test_tenants_survive_a_restart_with_state(tmp_path):
    state, data_dir = tmp_path / "state.json", tmp_path / "data"
    with running_lab(tenants=2, state=state, data_dir=data_dir) as first_run:
        second = first_run.tenants[1]
        with graph(first_run, token_for(first_run, second)) as client:
            group = new_group(client, "Survives")
    with running_lab(tenants=2, state=state, data_dir=data_dir) as second_run:
        assert group in [g["id"] for g in second_run.client_for(second).state()["groups"]]
        assert group not in [g["id"] for g in second_run.client.state()["groups"]]
