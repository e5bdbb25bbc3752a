# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller reads a task's auth options as the module does: one spec, ansible-core's validator."""

from __future__ import annotations

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import (
    AuthError,
    credential_fingerprint,
    resolve_auth_source,
    validated_auth_options,
)

SECRET = dict(tenant_id="t", client_id="c", client_secret="s")


def test_an_unknown_cloud_is_named_with_its_choices_not_a_key_error():
    with pytest.raises(AuthError) as refused:
        credential_fingerprint(validated_auth_options(dict(SECRET, cloud="publik")))
    assert "cloud" in str(refused.value) and "usgov" in str(refused.value)


def test_environment_fallbacks_come_from_the_spec(monkeypatch):
    for name, value in (("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c"), ("AZURE_CLIENT_SECRET", "s")):
        monkeypatch.setenv(name, value)
    options = validated_auth_options({"graph_endpoint": "https://graph.example"})
    assert (options["tenant_id"], options["client_id"], options["client_secret"]) == ("t", "c", "s")
    assert resolve_auth_source(options) == "client_secret"


def test_task_args_are_converted_like_module_args_and_other_options_are_left_out():
    options = validated_auth_options(dict(SECRET, max_retry_wait="30", validate_certs="no", display_name="x"))
    assert options["max_retry_wait"] == 30 and options["validate_certs"] is False and "display_name" not in options


def test_a_wrong_type_is_refused_naming_the_option():
    with pytest.raises(AuthError, match="request_timeout"):
        validated_auth_options(dict(SECRET, request_timeout="soon"))


USER = dict(tenant_id="t", client_id="c", username="admin@contoso.com", password="p")


def test_username_and_password_choose_the_user_sign_in_and_need_tenant_and_client():
    assert resolve_auth_source(validated_auth_options(USER)) == "username_password"
    with pytest.raises(AuthError, match="auth_source=username_password needs tenant_id, client_id"):
        credential_fingerprint(validated_auth_options(dict(username="u", password="p", auth_source="username_password")))


def test_the_token_cache_key_changes_with_the_user_and_the_password():
    key = credential_fingerprint(validated_auth_options(USER))
    assert credential_fingerprint(validated_auth_options(dict(USER, username="other@contoso.com"))) != key
    assert credential_fingerprint(validated_auth_options(dict(USER, password="rotated"))) != key
