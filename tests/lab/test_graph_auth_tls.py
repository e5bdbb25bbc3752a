# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sign-in host whose TLS certificate cannot be verified (a private authority_host, a TLS-inspecting proxy):
the token request fails saying so and pointing to ca_path, as Graph requests do (transport.py), with no secret in
the message. The lab's sign-in endpoint is served under its private CA, which only ca_path trusts."""

from __future__ import annotations

import certifi
import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import AuthError, acquire_token, validated_auth_options


def sign_in(graph_lab, app, **overrides):
    credentials = graph_lab.apps[app]
    params = dict(tenant_id=graph_lab.tenant, client_id=credentials["client_id"], graph_endpoint=graph_lab.url,
                  authority_host=graph_lab.url)
    if credentials.get("secret"):
        params["client_secret"] = credentials["secret"]
    else:
        params["client_certificate_path"] = credentials["cert_path"]
    return validated_auth_options(dict(params, **overrides))


@pytest.mark.parametrize("app, source", [("lab-admin", "client_secret"), ("lab-cert", "certificate")])
def test_an_untrusted_sign_in_certificate_points_to_ca_path(lab, app, source):
    params = sign_in(lab, app)
    with pytest.raises(AuthError) as caught:
        acquire_token(params)
    message = str(caught.value)
    assert message.startswith("Could not get a Graph token with auth_source=%s: the TLS certificate of %s could not be "
                              "verified against the system's (certifi's) CA certificates: " % (source, lab.url)), message
    assert "set ca_path to its CA certificate" in message
    assert not params.get("client_secret") or params["client_secret"] not in message
    assert lab.client.counts()["token"] == 0


def test_a_ca_path_that_does_not_hold_the_issuer_is_named(lab, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(open(certifi.where(), "rb").read())  # public CAs only: not the lab's issuer
    with pytest.raises(AuthError) as caught:
        acquire_token(sign_in(lab, "lab-admin", ca_path=str(other_ca)))
    assert "against the CA certificates in ca_path (%s)" % other_ca in str(caught.value)


def test_with_the_issuer_in_ca_path_the_sign_in_succeeds(lab):
    token, expires_on = acquire_token(sign_in(lab, "lab-admin", ca_path=lab.ca))
    assert token and expires_on and lab.client.counts()["token"] == 1
