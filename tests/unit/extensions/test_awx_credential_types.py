# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX credential types shipped in extensions/awx/credential_types: AWX would accept them, and what they
inject is what the collection reads.

AWX's rules, from its source (awx/main/fields.py, CredentialTypeInputField and CredentialTypeInjectorField;
awx/main/models/credential.py, CredentialType.inject_credential):
- injectors hold only `file`, `env` and `extra_vars`; file keys are `template` or `template.<name>`;
- each template renders with StrictUndefined when every input is set, `tower.filename` naming the file;
- env names are shell names, not ANSIBLE_* and not in AWX's block list;
- at run time inputs left empty are simply absent from the template namespace.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import (
    CLOUDS,
    ENV_FALLBACKS,
    resolve_auth_source,
    validated_auth_options,
)

COLLECTION = Path(__file__).resolve().parents[3]
TYPES = COLLECTION / "extensions" / "awx" / "credential_types"
ROLE_OPTIONS = yaml.safe_load((COLLECTION / "roles" / "hybrid_join" / "meta" / "argument_specs.yml").read_text())[
    "argument_specs"]["main"]["options"]
# awx/main/constants.py ENV_BLOCKLIST (the names a credential may not set), and AWX's ANSIBLE_* rule.
AWX_ENV_BLOCKLIST = {"VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID",
                     "INVENTORY_UPDATE_ID", "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES",
                     "CALLBACK_QUEUE", "CALLBACK_CONNECTION", "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS",
                     "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH"}
FILE_KEY = re.compile(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$")
ENV_NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")


def load(name):
    return yaml.safe_load((TYPES / name / "inputs.yml").read_text()), yaml.safe_load((TYPES / name / "injectors.yml").read_text())


def fields(inputs):
    return {field["id"]: field for field in inputs["fields"]}


def render(template, namespace):
    return ImmutableSandboxedEnvironment().from_string(template).render(**namespace)


def injected_env(injectors, inputs):
    """The environment AWX injects for a credential with these (non-empty) inputs; the file is /runner/env/cert."""
    namespace = dict(inputs, tower=type("Tower", (), {"filename": "/runner/env/cert"}))
    return {name: render(template, namespace) for name, template in injectors["env"].items()}


@pytest.mark.parametrize("name", sorted(path.name for path in TYPES.iterdir()))
def test_awx_would_accept_the_credential_type(name):
    inputs, injectors = load(name)
    by_id = fields(inputs)
    assert len(by_id) == len(inputs["fields"]) and set(inputs.get("required", ())) <= set(by_id)
    for field in inputs["fields"]:
        assert {"id", "label", "type"} <= set(field) and field["type"] == "string", field
        assert field.get("default") in (None, *field.get("choices", (field.get("default"),))), field
    assert set(injectors) <= {"file", "env", "extra_vars"}
    assert all(FILE_KEY.match(key) for key in injectors.get("file", {}))
    for env_name in injectors.get("env", {}):
        assert ENV_NAME.match(env_name) and not env_name.startswith("ANSIBLE_") and env_name not in AWX_ENV_BLOCKLIST

    example = {field_id: "EXAMPLE" for field_id in by_id}
    example["tower"] = type("Tower", (), {"filename": "EXAMPLE_FILENAME"})
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    templates = list(injectors.get("file", {}).values()) + list(injectors.get("env", {}).values())
    templates += list(injectors.get("extra_vars", {}).values())
    for template in templates:
        strict.from_string(template).render(**example)  # raises on a field the inputs do not define


def test_intune_type_injects_only_variables_the_graph_modules_read_and_keeps_secrets_secret():
    inputs, injectors = load("intune_graph")
    read = {name for names in ENV_FALLBACKS.values() for name in names}
    assert set(injectors["env"]) <= read, set(injectors["env"]) - read
    by_id = fields(inputs)
    assert by_id["cloud"]["choices"] == list(CLOUDS)
    assert all(by_id[secret].get("secret") for secret in ("client_secret", "client_certificate", "client_certificate_password"))


@pytest.mark.parametrize("credential, source", [
    (dict(tenant_id="t", client_id="c", client_secret="s", cloud="usgov"), "client_secret"),
    (dict(tenant_id="t", client_id="c", client_certificate="-----BEGIN CERTIFICATE-----"), "certificate"),
])
def test_intune_type_signs_in_with_what_the_credential_holds(monkeypatch, credential, source):
    for names in ENV_FALLBACKS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    for name, value in injected_env(load("intune_graph")[1], credential).items():
        monkeypatch.setenv(name, value)  # AWX sets every variable, empty or not

    options = validated_auth_options({})
    assert resolve_auth_source(options) == source and options["tenant_id"] == "t" and options["client_id"] == "c"
    assert options["cloud"] == credential.get("cloud", "public")
    assert options["client_certificate_path"] == ("/runner/env/cert" if source == "certificate" else None)


def test_ad_delegate_type_sets_role_variables_with_their_choices_and_hides_the_password():
    inputs, injectors = load("ad_delegate")
    assert set(injectors["extra_vars"]) <= set(ROLE_OPTIONS), set(injectors["extra_vars"]) - set(ROLE_OPTIONS)
    assert fields(inputs)["ldap_auth"]["choices"] == ROLE_OPTIONS["hybrid_join_ldap_auth"]["choices"]
    assert fields(inputs)["ldap_password"].get("secret") and ROLE_OPTIONS["hybrid_join_ldap_password"].get("no_log")
    without_ca = {name: render(template, dict(ldap_server="dc1", ldap_username="u", ldap_password="p", tower=None))
                  for name, template in injectors["extra_vars"].items()}
    # No CA certificates given: the path is empty, which the role leaves out (the system trust store).
    assert without_ca["hybrid_join_ldap_ca_path"] == "" and without_ca["hybrid_join_ldap_auth"] == "simple"
