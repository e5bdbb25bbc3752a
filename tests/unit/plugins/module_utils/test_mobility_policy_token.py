# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""automatic_enrollment tells an app-only token from a user's by its claims, without verifying it."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph.mobility_policy import app_only_refusal as refusal_of_claims
from ansible_collections.intune.autopilot.plugins.module_utils._graph.token_scopes import unverified_claims


def app_only_refusal(token):
    return refusal_of_claims(unverified_claims(token))


def jwt_with(claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return "%s.%s.signature" % (part({"alg": "RS256"}), part(claims))


@pytest.mark.parametrize("claims", [
    {"appid": "a", "roles": ["Group.Read.All"]},
    {"appid": "a", "idtyp": "app"},  # an app token with no application permission granted has no roles
])
def test_app_only_tokens_are_refused_naming_the_app_and_what_to_give(claims):
    refusal = app_only_refusal(jwt_with(claims))
    assert "app-only (app a" in refusal and "auth_source: device_code" in refusal and "username_password" in refusal


@pytest.mark.parametrize("token", [
    jwt_with({"appid": "a", "scp": "Policy.ReadWrite.MobilityManagement", "roles": ["Some.Role"]}),
    "an-opaque-token",  # not a JWT: Graph judges it
])
def test_delegated_and_unreadable_tokens_pass(token):
    assert app_only_refusal(token) is None
