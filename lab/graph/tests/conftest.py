import ssl

import httpx
import pytest

from lab.graph.testing import running_lab

ADMIN_APP = "lab-admin"
READER_APP = "lab-reader"
ADMIN_UPN = "admin@lab.example"
PILOT_GROUP = "7e1ab000-0000-4000-8000-00000000b001"
KIOSK_GROUP = "7e1ab000-0000-4000-8000-00000000b002"
MDM_USERS_GROUP = "7e1ab000-0000-4000-8000-00000000b005"
DEFAULT_ESP = "7e1ab000-0000-4000-8000-000000000001_DefaultWindows10EnrollmentCompletionPageConfiguration"


@pytest.fixture(scope="session")
def lab():
    with running_lab() as handle:
        yield handle


@pytest.fixture(autouse=True)
def fresh_lab(request):
    # Every test starts from the seed; tests that do not use the lab pay nothing.
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab").client.reset()


def tls(lab):
    return ssl.create_default_context(cafile=lab.ca)


class Graph:
    """httpx against the lab with a given bearer token."""

    def __init__(self, lab, token):
        self.lab = lab
        self.http = httpx.Client(base_url=lab.url, verify=tls(lab), timeout=30,
                                 headers={"Authorization": f"Bearer {token}"} if token else {})

    def __getattr__(self, name):
        return getattr(self.http, name)

    def ok(self, method, path, expected=(200, 201, 204), **kwargs):
        response = self.http.request(method, path, **kwargs)
        assert response.status_code in (expected if isinstance(expected, tuple) else (expected,)), response.text
        return response.json() if response.content else None

    def error(self, method, path, status, **kwargs):
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json()["error"]


def app_token(lab, name=ADMIN_APP, **spec):
    return lab.client.mint_token(app=lab.apps[name]["client_id"], **spec)


def _client(lab, token):
    client = Graph(lab, token)
    yield client
    client.http.close()


@pytest.fixture
def graph(lab):
    yield from _client(lab, app_token(lab))


@pytest.fixture
def reader(lab):
    yield from _client(lab, app_token(lab, READER_APP))


@pytest.fixture
def delegated(lab):
    yield from _client(lab, lab.client.mint_token(kind="delegated", upn=ADMIN_UPN,
                                                  scopes=["Policy.ReadWrite.MobilityManagement"]))
