# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials from the environment AWX's built-in Azure credential sets, beside azure-identity's names.

AWX's "Microsoft Azure Resource Manager" credential (awx_plugins/credentials/injectors.py, azure_rm) injects
AZURE_CLIENT_ID, AZURE_TENANT, AZURE_SECRET and AZURE_SUBSCRIPTION_ID for a service principal, AZURE_AD_USER and
AZURE_PASSWORD for a user, and AZURE_CLOUD_ENVIRONMENT when its cloud field is filled.
"""

from __future__ import annotations

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import (
    ENV_FALLBACKS,
    AuthError,
    credential_fingerprint,
    endpoints,
    graph_auth_argument_spec,
    resolve_auth_source,
    validated_auth_options,
)

AWX_SERVICE_PRINCIPAL = dict(AZURE_CLIENT_ID="awx-client", AZURE_TENANT="awx-tenant", AZURE_SECRET="awx-secret",
                             AZURE_SUBSCRIPTION_ID="")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No AZURE_* variable of the machine running the tests leaks into them."""
    for names in ENV_FALLBACKS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    for name in ("IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def set_environment(monkeypatch, **variables):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_awx_azure_credential_alone_gives_a_client_secret_credential(monkeypatch):
    set_environment(monkeypatch, **AWX_SERVICE_PRINCIPAL)
    options = validated_auth_options({})
    assert (options["tenant_id"], options["client_id"], options["client_secret"]) == ("awx-tenant", "awx-client", "awx-secret")
    assert resolve_auth_source(options) == "client_secret"
    credential_fingerprint(options)  # validates: nothing is missing
    assert endpoints(options) == ("https://graph.microsoft.com", "https://login.microsoftonline.com")


def test_azure_identity_names_win_over_awx_names_and_task_options_over_both(monkeypatch):
    set_environment(monkeypatch, AZURE_TENANT_ID="identity-tenant", AZURE_CLIENT_SECRET="identity-secret", **AWX_SERVICE_PRINCIPAL)
    options = validated_auth_options({})
    assert (options["tenant_id"], options["client_secret"]) == ("identity-tenant", "identity-secret")
    options = validated_auth_options(dict(tenant_id="task-tenant", client_secret="task-secret"))
    assert (options["tenant_id"], options["client_secret"]) == ("task-tenant", "task-secret")


def test_an_empty_variable_counts_as_unset(monkeypatch):
    # AWX injects every field of a credential, filled or not; an empty azure-identity name must not hide AWX's.
    set_environment(monkeypatch, AZURE_TENANT_ID="", AZURE_CLIENT_SECRET=" ", **AWX_SERVICE_PRINCIPAL)
    options = validated_auth_options({})
    assert (options["tenant_id"], options["client_secret"]) == ("awx-tenant", "awx-secret")


def test_an_empty_awx_secret_leaves_no_credential_and_the_message_names_both_sets(monkeypatch):
    set_environment(monkeypatch, **{**AWX_SERVICE_PRINCIPAL, "AZURE_SECRET": ""})
    monkeypatch.setenv("PATH", "")  # no az CLI to fall back on
    with pytest.raises(AuthError) as refused:
        resolve_auth_source(validated_auth_options({}))
    assert "AZURE_CLIENT_SECRET" in str(refused.value) and "AZURE_SECRET" in str(refused.value)


def test_the_awx_secret_is_masked_like_the_option(monkeypatch):
    set_environment(monkeypatch, **AWX_SERVICE_PRINCIPAL)
    result = ArgumentSpecValidator(graph_auth_argument_spec()).validate({})
    assert "awx-secret" in result._no_log_values  # pylint: disable=protected-access


def test_awx_user_credential_chooses_the_user_sign_in_and_still_needs_tenant_and_client(monkeypatch):
    set_environment(monkeypatch, AZURE_AD_USER="admin@contoso.com", AZURE_PASSWORD="user-password", AZURE_SUBSCRIPTION_ID="s")
    options = validated_auth_options({})
    assert options["username"] == "admin@contoso.com" and resolve_auth_source(options) == "username_password"
    with pytest.raises(AuthError, match="tenant_id, client_id"):
        credential_fingerprint(options)
    options = validated_auth_options(dict(tenant_id="t", client_id="c"))
    credential_fingerprint(options)
    set_environment(monkeypatch, AZURE_USERNAME="identity@contoso.com")
    assert validated_auth_options({})["username"] == "identity@contoso.com"


@pytest.mark.parametrize("value, cloud, hosts", [
    ("AzureCloud", "public", ("https://graph.microsoft.com", "https://login.microsoftonline.com")),
    ("AzureUSGovernment", "usgov", ("https://graph.microsoft.us", "https://login.microsoftonline.us")),
    ("azurechinacloud", "china", ("https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn")),
    ("usgov_dod", "usgov_dod", ("https://dod-graph.microsoft.us", "https://login.microsoftonline.us")),
])
def test_the_cloud_environment_sets_graph_and_sign_in_hosts(monkeypatch, value, cloud, hosts):
    set_environment(monkeypatch, AZURE_CLOUD_ENVIRONMENT=value, **AWX_SERVICE_PRINCIPAL)
    options = validated_auth_options({})
    assert options["cloud"] == cloud and endpoints(options) == hosts


def test_the_cloud_option_wins_over_the_cloud_environment(monkeypatch):
    set_environment(monkeypatch, AZURE_CLOUD_ENVIRONMENT="AzureChinaCloud")
    assert validated_auth_options(dict(cloud="usgov"))["cloud"] == "usgov"


def test_a_cloud_environment_without_graph_is_refused_naming_the_option_and_its_choices(monkeypatch):
    set_environment(monkeypatch, AZURE_CLOUD_ENVIRONMENT="AzureGermanCloud", **AWX_SERVICE_PRINCIPAL)
    with pytest.raises(AuthError) as refused:
        validated_auth_options({})
    message = str(refused.value)
    assert "cloud" in message and "usgov_dod" in message and "AzureGermanCloud" in message
