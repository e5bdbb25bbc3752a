"""Sign-in through azure-identity itself, and the 401/403 answers of Graph endpoints."""

import os
import subprocess
import sys
import time

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential, ManagedIdentityCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from lab.graph import jwt

from .conftest import ADMIN_UPN, Graph, app_token, tls

ESPS = "/beta/deviceManagement/deviceEnrollmentConfigurations"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def secret_credential(lab, name="lab-admin", secret=None, authority=None):
    app = lab.apps[name]
    return ClientSecretCredential(lab.tenant, app["client_id"], secret or app["secret"],
                                  authority=authority or lab.url, disable_instance_discovery=True,
                                  connection_verify=lab.ca)


@pytest.mark.parametrize("strip_scheme", [False, True])
def test_client_secret_credential_gets_a_token_graph_accepts(lab, strip_scheme):
    authority = lab.url.removeprefix("https://") if strip_scheme else lab.url
    token = secret_credential(lab, authority=authority).get_token(GRAPH_SCOPE)
    assert token.expires_on - time.time() > 3500
    claims = jwt.parse(token.token)[1]
    assert claims["appid"] == lab.apps["lab-admin"]["client_id"] and claims["tid"] == lab.tenant
    assert "DeviceManagementServiceConfig.ReadWrite.All" in claims["roles"]
    assert Graph(lab, token.token).ok("GET", ESPS)["value"]
    assert lab.client.counts()["token"] == 1


def test_certificate_credential_with_the_lab_url_as_resource(lab):
    app = lab.apps["lab-cert"]
    credential = CertificateCredential(lab.tenant, app["client_id"], certificate_path=app["cert_path"],
                                       authority=lab.url, disable_instance_discovery=True,
                                       connection_verify=lab.ca)
    token = credential.get_token(lab.url + "/.default")
    claims = jwt.parse(token.token)[1]
    assert (claims["aud"], claims["appidacr"]) == (lab.url, "2")
    assert Graph(lab, token.token).ok("GET", ESPS)["value"]


def managed_identity(lab, monkeypatch, header):
    monkeypatch.setenv("IDENTITY_ENDPOINT", lab.url + "/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", header)
    return ManagedIdentityCredential(connection_verify=lab.ca)


def test_managed_identity_credential_gets_the_identity_token_graph_accepts(lab, monkeypatch):
    identity = lab.apps["lab-identity"]
    token = managed_identity(lab, monkeypatch, identity["identity_header"]).get_token(GRAPH_SCOPE)
    claims = jwt.parse(token.token)[1]
    assert claims["appid"] == identity["client_id"] and claims["aud"] == "https://graph.microsoft.com"
    assert Graph(lab, token.token).ok("GET", ESPS)["value"]
    assert lab.client.counts()["token"] == 1


def test_managed_identity_endpoint_refuses_a_wrong_header(lab, monkeypatch):
    with pytest.raises(ClientAuthenticationError):
        managed_identity(lab, monkeypatch, "not-the-header").get_token(GRAPH_SCOPE)
    assert lab.client.counts()["token"] == 0


def test_requests_ca_bundle_is_enough_for_azure_identity(lab):
    code = ("from azure.identity import ClientSecretCredential as C;"
            f"C({lab.tenant!r}, {lab.apps['lab-admin']['client_id']!r}, 'lab-admin-secret', authority={lab.url!r},"
            f" disable_instance_discovery=True).get_token({GRAPH_SCOPE!r})")
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
    trusted = subprocess.run([sys.executable, "-c", code], env={**env, "REQUESTS_CA_BUNDLE": lab.ca},
                             capture_output=True, text=True)
    assert trusted.returncode == 0, trusted.stderr
    untrusted = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr


def test_wrong_secret_and_unknown_client_are_refused(lab):
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        secret_credential(lab, secret="wrong").get_token(GRAPH_SCOPE)
    unknown = ClientSecretCredential(lab.tenant, "00000000-0000-4000-8000-000000000bad", "x", authority=lab.url,
                                     disable_instance_discovery=True, connection_verify=lab.ca)
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        unknown.get_token(GRAPH_SCOPE)
    with pytest.raises(ClientAuthenticationError, match="AADSTS500011"):
        secret_credential(lab).get_token("https://management.azure.com/.default")
    assert lab.client.counts()["token"] == 0


def _assertion(lab, key_path, **overrides):
    pem = open(key_path, "rb").read()
    key = serialization.load_pem_private_key(pem, None)
    cert = x509.load_pem_x509_certificate(pem)
    client_id = lab.apps["lab-cert"]["client_id"]
    now = int(time.time())
    claims = {"aud": f"{lab.url}/{lab.tenant}/oauth2/v2.0/token", "iss": client_id, "sub": client_id,
              "jti": str(now), "nbf": now, "exp": now + 600, **overrides}
    return jwt.sign_rs256(claims, key, {"x5t": jwt.b64url_encode(cert.fingerprint(hashes.SHA1()))})


@pytest.mark.parametrize("overrides,accepted", [
    ({}, True),
    ({"aud": "https://login.microsoftonline.com/x/oauth2/v2.0/token"}, False),
    ({"exp": int(time.time()) - 3600}, False),
    ({"iss": "someone-else"}, False),
])
def test_client_assertion_checks(lab, overrides, accepted):
    form = {"grant_type": "client_credentials", "client_id": lab.apps["lab-cert"]["client_id"],
            "scope": GRAPH_SCOPE,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": _assertion(lab, lab.apps["lab-cert"]["cert_path"], **overrides)}
    response = httpx.post(f"{lab.url}/{lab.tenant}/oauth2/v2.0/token", data=form, verify=tls(lab))
    assert (response.status_code == 200) is accepted, response.text
    if not accepted:
        assert response.json()["error_codes"] == [700027]


def test_assertion_signed_by_another_key_is_refused(lab, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa
    other = rsa.generate_private_key(65537, 2048)
    cert_pem = open(lab.apps["lab-cert"]["cert_path"], "rb").read().split(b"-----END CERTIFICATE-----")[0]
    forged = tmp_path / "forged.pem"
    forged.write_bytes(cert_pem + b"-----END CERTIFICATE-----\n" + other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    credential = CertificateCredential(lab.tenant, lab.apps["lab-cert"]["client_id"], certificate_path=str(forged),
                                       authority=lab.url, disable_instance_discovery=True, connection_verify=lab.ca)
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        credential.get_token(GRAPH_SCOPE)


@pytest.mark.parametrize("token_spec,message", [
    (None, "Access token is empty"),
    ({"expired": True}, "expired"),
    ({"bad_signature": True}, "Invalid signature"),
    ({"audience": "https://management.azure.com"}, "Invalid audience"),
])
def test_graph_answers_401_for_bad_tokens(lab, token_spec, message):
    token = None if token_spec is None else app_token(lab, **token_spec)
    response = Graph(lab, token).http.get(ESPS, headers={"client-request-id": "abc-123"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken" and message in error["message"]
    assert error["innerError"]["client-request-id"] == "abc-123"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["request-id"] == error["innerError"]["request-id"]


def test_graph_answers_403_without_the_permission(lab, reader):
    assert reader.ok("GET", ESPS)["value"]
    error = reader.error("POST", ESPS, 403, json={"@odata.type": "#microsoft.graph.windows10EnrollmentCompletion"
                                                                 "PageConfiguration", "displayName": "x"})
    # Intune's own 403 names the scopes; the directory's (groups) does not.
    assert error["code"] == "Forbidden" and "following scopes: DeviceManagementServiceConfig.ReadWrite.All -" in error["message"]
    assert reader.error("POST", "/v1.0/groups", 403, json={"displayName": "G", "mailEnabled": False, "mailNickname": "g",
                                                           "securityEnabled": True})["code"] == "Authorization_RequestDenied"
    narrow = Graph(lab, app_token(lab, roles=["Group.Read.All"]))
    narrow.error("GET", ESPS, 403)
    assert narrow.ok("GET", "/v1.0/groups")["value"]
    creator = Graph(lab, app_token(lab, roles=["Group.Create"]))
    creator.ok("POST", "/v1.0/groups", 201, json={"displayName": "G", "mailEnabled": False,
                                                  "mailNickname": "g", "securityEnabled": True})
    creator.error("GET", "/v1.0/groups", 403)


def test_password_grant_gives_a_delegated_token(lab):
    form = {"grant_type": "password", "client_id": lab.apps["lab-admin"]["client_id"], "username": ADMIN_UPN,
            "password": "lab-admin-password", "scope": GRAPH_SCOPE}
    verify = tls(lab)
    response = httpx.post(f"{lab.url}/{lab.tenant}/oauth2/v2.0/token", data=form, verify=verify)
    claims = jwt.parse(response.json()["access_token"])[1]
    assert claims["upn"] == ADMIN_UPN and "Policy.ReadWrite.MobilityManagement" in claims["scp"].split()
    bad = httpx.post(f"{lab.url}/{lab.tenant}/oauth2/v2.0/token", data=dict(form, password="no"), verify=verify)
    assert bad.json()["error"] == "invalid_grant"
    assert "id_token" not in response.json()


def test_password_grant_with_openid_gives_the_id_token_msal_builds_its_account_from(lab):
    client_id = lab.apps["lab-admin"]["client_id"]
    form = {"grant_type": "password", "client_id": client_id, "username": ADMIN_UPN, "password": "lab-admin-password",
            "scope": GRAPH_SCOPE + " openid profile offline_access"}
    answer = httpx.post(f"{lab.url}/{lab.tenant}/oauth2/v2.0/token", data=form, verify=tls(lab)).json()
    claims = jwt.parse(answer["id_token"])[1]
    assert (claims["aud"], claims["preferred_username"]) == (client_id, ADMIN_UPN)
    assert claims["iss"] == f"{lab.url}/{lab.tenant}/v2.0"


def test_discovery_and_keys_answer(lab):
    verify = tls(lab)
    config = httpx.get(f"{lab.url}/{lab.tenant}/v2.0/.well-known/openid-configuration", verify=verify).json()
    assert config["token_endpoint"] == f"{lab.url}/{lab.tenant}/oauth2/v2.0/token"
    keys = httpx.get(config["jwks_uri"], verify=verify).json()["keys"]
    assert keys[0]["kid"] == jwt.parse(app_token(lab))[0]["kid"]


def test_group_member_read_lists_groups_and_members_but_writes_nothing(lab):
    members_only = Graph(lab, app_token(lab, roles=["GroupMember.Read.All"]))
    (group,) = members_only.ok("GET", "/v1.0/groups", params={"$filter": "displayName eq 'Lab-Pilot-Devices'"})["value"]
    assert members_only.ok("GET", f"/v1.0/groups/{group['id']}/members")["value"] == []
    members_only.error("POST", "/v1.0/groups", 403, json={"displayName": "G", "mailEnabled": False,
                                                          "mailNickname": "g", "securityEnabled": True})


# --- the device authorization grant (RFC 8628) and the Azure CLI's token -------------------------------------------

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PUBLIC_APP = "lab-public"


def start_device_code(lab, client_id, scope=GRAPH_SCOPE):
    answer = httpx.post(f"{lab.url}/{lab.tenant}/oauth2/v2.0/devicecode", data={"client_id": client_id, "scope": scope},
                        verify=tls(lab))
    return answer


def poll(lab, client_id, device_code):
    return httpx.post(f"{lab.url}/{lab.tenant}/oauth2/v2.0/token", verify=tls(lab),
                      data={"grant_type": DEVICE_CODE_GRANT, "client_id": client_id, "device_code": device_code})


def test_device_code_grant_is_pending_then_slows_a_hasty_client_then_gives_the_apps_delegated_token(lab):
    client_id = lab.apps[PUBLIC_APP]["client_id"]
    flow = start_device_code(lab, client_id).json()
    assert (flow["verification_uri"], flow["expires_in"], flow["interval"]) == ("https://microsoft.com/devicelogin", 900, 5)
    assert flow["user_code"] in flow["message"]
    assert poll(lab, client_id, flow["device_code"]).json()["error"] == "authorization_pending"
    hasty = poll(lab, client_id, flow["device_code"]).json()  # sooner than the interval
    assert (hasty["error"], hasty["error_codes"]) == ("slow_down", [70016])
    lab.client.sign_in_device_code(flow["user_code"], ADMIN_UPN)
    answer = poll(lab, client_id, flow["device_code"])
    claims = jwt.parse(answer.json()["access_token"])[1]
    assert (claims["appid"], claims["upn"]) == (client_id, ADMIN_UPN)
    assert set(claims["scp"].split()) == set(lab.apps[PUBLIC_APP]["delegated_scopes"])
    assert poll(lab, client_id, flow["device_code"]).json()["error"] == "bad_verification_code", "a device code is used once"


def test_device_code_expires_on_the_lab_clock_and_can_be_declined(lab):
    client_id = lab.apps[PUBLIC_APP]["client_id"]
    flow = start_device_code(lab, client_id).json()
    lab.client.advance_clock(901)
    expired = poll(lab, client_id, flow["device_code"])
    assert expired.status_code == 400 and expired.json()["error"] == "expired_token"
    flow = start_device_code(lab, client_id).json()
    lab.client.sign_in_device_code(flow["user_code"], decline=True)
    assert poll(lab, client_id, flow["device_code"]).json()["error"] == "authorization_declined"


def test_device_code_needs_a_public_client(lab):
    confidential = start_device_code(lab, lab.apps["lab-admin"]["client_id"])
    assert confidential.status_code == 401 and confidential.json()["error_codes"] == [7000218]
    unknown = start_device_code(lab, "00000000-0000-4000-8000-000000000bad")
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [700016]


def test_azure_identity_device_code_credential_signs_in_when_the_user_does(lab):
    from azure.identity import DeviceCodeCredential  # pylint: disable=import-outside-toplevel

    lab.client.config(device_code_interval=1)
    shown = []

    def the_user_signs_in(verification_uri, user_code, expires_on):
        shown.append((verification_uri, user_code, expires_on))
        lab.client.sign_in_device_code(user_code, ADMIN_UPN)

    credential = DeviceCodeCredential(lab.apps[PUBLIC_APP]["client_id"], tenant_id=lab.tenant, authority=lab.url,
                                      disable_instance_discovery=True, connection_verify=lab.ca,
                                      prompt_callback=the_user_signs_in)
    token = credential.get_token(GRAPH_SCOPE)
    assert len(shown) == 1 and shown[0][0] == "https://microsoft.com/devicelogin"
    assert "Policy.ReadWrite.MobilityManagement" in jwt.parse(token.token)[1]["scp"].split()


def test_the_azure_cli_gets_its_fixed_scopes_whatever_it_asks_and_intune_names_the_scopes_it_lacks(lab):
    cli = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    flow = start_device_code(lab, cli, scope="https://graph.microsoft.com/Policy.ReadWrite.MobilityManagement").json()
    lab.client.sign_in_device_code(flow["user_code"], ADMIN_UPN)
    signed_in = jwt.parse(poll(lab, cli, flow["device_code"]).json()["access_token"])[1]
    minted = jwt.parse(lab.client.mint_token(kind="cli", upn=ADMIN_UPN))[1]
    for claims in (signed_in, minted):
        assert claims["appid"] == cli and "Group.ReadWrite.All" in claims["scp"].split()
        assert not [scope for scope in claims["scp"].split() if scope.startswith(("Policy.", "DeviceManagement"))]
    cli_graph = Graph(lab, lab.client.mint_token(kind="cli", upn=ADMIN_UPN))
    error = cli_graph.error("GET", ESPS, 403)
    assert error["code"] == "Forbidden"
    assert ("Application must have one of the following scopes: DeviceManagementServiceConfig.Read.All, "
            "DeviceManagementServiceConfig.ReadWrite.All") in error["message"]
    assert cli_graph.error("GET", "/beta/policies/mobileDeviceManagementPolicies", 403)["code"] == "Authorization_RequestDenied"
    assert cli_graph.ok("GET", "/v1.0/groups")["value"]
