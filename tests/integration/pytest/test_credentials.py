# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Graph modules as a playbook runs them: each credential kind, the action plugin's token cache
(one token request per credential per run, a rejected cached token replaced once), option checks that
come before the token request, and module_defaults for group/intune.autopilot.graph. The evidence is
the lab's token count and request log, so these run through ansible-playbook (harness.py); the
modules' behaviour itself is tested in-process under tests/lab."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import pytest

from harness import graph_auth, run_module, run_tasks, writes

from ansible_collections.intune.autopilot.plugins.plugin_utils.graph_action import CACHE_DIR_NAME

PROFILE = dict(display_name="Autopilot hybrid join - domain join", computer_name_prefix="HAADJ-", domain="lab.example",
               organizational_unit="OU=Autopilot,DC=lab,DC=example")


def log(lab):
    return lab.client.requests()


def domain_join_profiles(lab):
    return [obj for obj in lab.client.state()["deviceConfigurations"] if obj["@odata.type"].endswith("windowsDomainJoinConfiguration")]


def federated_token_file(lab, directory):
    """A federated token the lab trusts: an assertion signed with the lab-cert app's key, as a workload's
    OIDC issuer would sign it (the lab checks it like a client assertion)."""
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from lab.graph import jwt  # pylint: disable=import-outside-toplevel

    app = lab.apps["lab-cert"]
    key = serialization.load_pem_private_key(Path(app["cert_path"]).read_bytes(), password=None)
    now = int(time.time())
    claims = {"iss": app["client_id"], "sub": app["client_id"], "aud": "%s/%s/oauth2/v2.0/token" % (lab.url, lab.tenant),
              "iat": now, "nbf": now, "exp": now + 600, "jti": str(uuid.uuid4())}
    path = directory / "federated-token"
    path.write_text(jwt.sign_rs256(claims, key))
    return str(path)


def credentials(lab, kind, tmp_path):
    """(module options, controller environment) for one credential kind; auth_source stays auto throughout."""
    if kind == "access_token":
        token = lab.client.mint_token(kind="app", app=lab.apps["lab-admin"]["client_id"])
        return dict(graph_endpoint=lab.url, ca_path=lab.ca, access_token=token), {}
    if kind == "managed_identity":
        identity = lab.apps["lab-identity"]
        return dict(graph_endpoint=lab.url, ca_path=lab.ca), {"IDENTITY_ENDPOINT": lab.url + "/msi/token",
                                                              "IDENTITY_HEADER": identity["identity_header"]}
    if kind == "workload_identity":
        return dict(tenant_id=lab.tenant, client_id=lab.apps["lab-cert"]["client_id"], graph_endpoint=lab.url,
                    authority_host=lab.url, ca_path=lab.ca, federated_token_file=federated_token_file(lab, tmp_path)), {}
    return graph_auth(lab, app={"client_secret": "lab-admin", "certificate": "lab-cert"}[kind]), {}


CALLER = {"client_secret": "lab-admin", "certificate": "lab-cert", "access_token": "lab-admin",
          "managed_identity": "lab-identity", "workload_identity": "lab-cert"}


@pytest.mark.parametrize("kind", list(CALLER))
def test_lifecycle_with_each_credential(lab, kind, tmp_path):
    auth, env = credentials(lab, kind, tmp_path)

    def run(**overrides):
        return run_module("domain_join_profile", dict(auth, **dict(PROFILE, **overrides)), extra_env=env)

    created = run()
    assert created["changed"] is True and not created["failed"], created
    assert {entry["app_id"] for entry in log(lab)} == {lab.apps[CALLER[kind]]["client_id"]}
    assert lab.client.counts()["token"] == (0 if kind == "access_token" else 1)

    lab.client.clear_log()
    assert run()["changed"] is False
    assert writes(log(lab)) == []

    updated = run(description="updated")
    assert updated["changed"] is True
    assert [(entry["method"], sorted(entry["body"])) for entry in writes(log(lab))] == [("PATCH", ["@odata.type", "description"])]

    lab.client.clear_log()
    deleted = run(state="absent")
    assert deleted["changed"] is True and domain_join_profiles(lab) == []
    assert [entry["method"] for entry in writes(log(lab))] == ["DELETE"]
    for secret in (auth.get("access_token"), auth.get("client_secret")):
        assert not secret or all(secret not in json.dumps(result) for result in (created, updated, deleted))


def test_one_token_request_for_a_whole_play_and_no_secret_in_results(lab):
    auth = graph_auth(lab)
    tasks = [
        {"name": "defaults", "module_defaults": {"group/intune.autopilot.graph": auth}, "block": [
            {"name": "create", "intune.autopilot.domain_join_profile": PROFILE},
            {"name": "again", "intune.autopilot.domain_join_profile": PROFILE},
            {"name": "description", "intune.autopilot.domain_join_profile": dict(PROFILE, description="third task")},
        ]},
    ]
    results = run_tasks(tasks)
    assert [result["changed"] for result in results] == [True, False, True]
    assert lab.client.counts()["token"] == 1
    assert auth["client_secret"] not in json.dumps(results)


@pytest.mark.parametrize("option, value, allowed", [
    ("request_timeout", 0, "from 1 to 600"),
    ("request_timeout", -5, "from 1 to 600"),
    ("request_timeout", 601, "from 1 to 600"),
    # Refused by ansible-core's type check of the module's spec, which the action plugin applies.
    ("request_timeout", "ten", "cannot be converted to an int"),
    ("max_retry_wait", 0, "from 1 to 1800"),
    ("max_retry_wait", -1, "from 1 to 1800"),
    ("max_retry_wait", 1801, "from 1 to 1800"),
])
def test_out_of_range_transport_numbers_fail_before_any_request(lab, option, value, allowed):
    result = run_module("autopilot_config_info", dict(graph_auth(lab), **{option: value}))
    assert result["failed"] and option in result["msg"] and allowed in result["msg"], result
    assert lab.client.requests() == [] and lab.client.counts()["token"] == 0, "refused before the token request too"


def test_a_rejected_access_token_the_user_passed_fails_at_once_and_is_sent_once(lab):
    expired = lab.client.mint_token(kind="app", app=lab.apps["lab-admin"]["client_id"], expired=True)
    result = run_module("domain_join_profile", dict(PROFILE, graph_endpoint=lab.url, ca_path=lab.ca, access_token=expired))
    assert result["failed"] and result["token_rejected"] is True, result
    assert result["status"] == 401 and result["error_code"] == "InvalidAuthenticationToken" and result["request_id"]
    assert [entry["status"] for entry in lab.client.requests()] == [401]
    assert lab.client.counts()["token"] == 0, "a token the user passed is theirs: no other is acquired"
    assert expired not in json.dumps(result)


# Stands in for a token revoked after it was cached: the entry still claims an hour to live.
REVOKE = """
import glob, json, sys, time
entries = [p for p in glob.glob(sys.argv[1] + "/*/%s/*") if not p.endswith(".lock")]
for path in entries:
    with open(path, "w") as handle:
        json.dump({"token": open(sys.argv[2]).read(), "expires_on": time.time() + 3600}, handle)
print(len(entries))
""" % CACHE_DIR_NAME


def test_a_cached_token_graph_rejects_is_replaced_and_the_task_runs_again(lab, tmp_path):
    auth = graph_auth(lab)
    revoked = lab.client.mint_token(kind="app", app=lab.apps["lab-admin"]["client_id"], expired=True)
    (tmp_path / "revoked").write_text(revoked)
    (tmp_path / "local").mkdir()
    tasks = [
        {"name": "create", "intune.autopilot.domain_join_profile": dict(auth, **PROFILE)},
        {"name": "revoke", "ansible.builtin.command": {"argv": [sys.executable, "-c", REVOKE, str(tmp_path / "local"), str(tmp_path / "revoked")]}},
        {"name": "update", "intune.autopilot.domain_join_profile": dict(auth, description="after a rejected token", **PROFILE)},
    ]
    created, revoking, updated = run_tasks(tasks, extra_env={"ANSIBLE_LOCAL_TEMP": str(tmp_path / "local")})
    assert created["changed"] and revoking["stdout"] == "1", (created, revoking)
    assert updated["changed"] is True and not updated["failed"], updated
    assert lab.client.counts()["token"] == 2, "the rejected token was replaced once"
    statuses = [entry["status"] for entry in lab.client.requests()]
    assert statuses.count(401) == 1
    assert [entry["method"] for entry in lab.client.requests()[statuses.index(401):] if entry["method"] != "GET"] == ["PATCH"]
    assert [obj.get("description") for obj in lab.client.state()["deviceConfigurations"] if obj["id"] == created["id"]] == ["after a rejected token"]
    assert revoked not in json.dumps([created, updated])
