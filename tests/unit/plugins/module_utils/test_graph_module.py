# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GraphModule as users meet it: modules run through ansible-playbook (integration harness) against the
Graph lab; what is asserted is the result and the lab's request log."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from local_http import local_server  # noqa: F401  pylint: disable=unused-import

_HARNESS = Path(__file__).resolve().parents[3] / "integration" / "pytest" / "harness.py"
_spec = importlib.util.spec_from_file_location("graph_harness", _HARNESS)
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

CONFIGURATIONS = "/beta/deviceManagement/deviceConfigurations"
PROFILE = dict(display_name="Autopilot hybrid join - domain join", computer_name_prefix="HAADJ-", domain="lab.example",
               organizational_unit="OU=Autopilot,DC=lab,DC=example")


def warnings_of(result):
    return " ".join(result.get("warnings") or [])


@pytest.mark.parametrize("option, value, allowed", [
    ("request_timeout", 0, "from 1 to 600"),
    ("request_timeout", -5, "from 1 to 600"),
    ("request_timeout", 601, "from 1 to 600"),
    ("request_timeout", "ten", "from 1 to 600"),
    ("max_retry_wait", 0, "from 1 to 1800"),
    ("max_retry_wait", -1, "from 1 to 1800"),
    ("max_retry_wait", 1801, "from 1 to 1800"),
])
def test_out_of_range_transport_numbers_fail_before_any_request(lab, option, value, allowed):
    result = harness.run_module("autopilot_config_info", dict(harness.graph_auth(lab), **{option: value}))
    assert result["failed"] and option in result["msg"] and allowed in result["msg"], result
    assert lab.client.requests() == [] and lab.client.counts()["token"] == 0, "refused before the token request too"


def test_out_of_range_numbers_with_a_given_access_token_fail_in_the_module_before_any_request(lab):
    token = lab.client.mint_token(kind="app", app=lab.apps["lab-admin"]["client_id"])
    result = harness.run_module("autopilot_config_info", dict(graph_endpoint=lab.url, ca_path=lab.ca, access_token=token, max_retry_wait=0))
    assert result["failed"] and "max_retry_wait must be a whole number of seconds from 1 to 1800" in result["msg"], result
    assert lab.client.requests() == []


def test_validate_certs_false_warns(lab):
    auth = harness.graph_auth(lab)
    del auth["ca_path"]
    result = harness.run_module("autopilot_config_info", dict(auth, validate_certs=False, kinds=["domain_join_profile"]))
    assert not result["failed"], result
    assert "validate_certs is false" in warnings_of(result) and "ca_path" in warnings_of(result)


def test_an_http_graph_endpoint_or_authority_warns_and_certificates_checked_do_not(lab, local_server):
    server = local_server(lambda _path: (200, {}, {"value": []}))
    result = harness.run_module("autopilot_config_info", dict(graph_endpoint=server.url, authority_host="http://login.lab.example",
                                                              access_token="lab-token", kinds=["domain_join_profile"]))
    assert not result["failed"] and server.requests, result
    assert "graph_endpoint %s is plain HTTP" % server.url in warnings_of(result)
    assert "authority_host http://login.lab.example is plain HTTP; sign-in uses https://login.lab.example" in warnings_of(result)

    checked = harness.run_module("autopilot_config_info", dict(harness.graph_auth(lab), kinds=["domain_join_profile"]))
    assert not checked["failed"] and not checked.get("warnings"), checked


def test_a_rejected_access_token_the_user_passed_fails_at_once_and_is_sent_once(lab):
    expired = lab.client.mint_token(kind="app", app=lab.apps["lab-admin"]["client_id"], expired=True)
    result = harness.run_module("domain_join_profile", dict(PROFILE, graph_endpoint=lab.url, ca_path=lab.ca, access_token=expired))
    assert result["failed"] and result["token_rejected"] is True, result
    assert result["status"] == 401 and result["error_code"] == "InvalidAuthenticationToken" and result["request_id"]
    assert [entry["status"] for entry in lab.client.requests()] == [401]
    assert lab.client.counts()["token"] == 0, "a token the user passed is theirs: no other is acquired"
    assert expired not in json.dumps(result)


def test_absent_succeeds_when_the_delete_answer_was_lost(lab):
    created = harness.run_module("domain_join_profile", dict(harness.graph_auth(lab), **PROFILE))
    lab.client.fault("drop_after", method="DELETE", path="^%s/" % CONFIGURATIONS, count=1)
    deleted = harness.run_module("domain_join_profile", dict(harness.graph_auth(lab), state="absent", **PROFILE))
    assert deleted["changed"] is True and not deleted["failed"], deleted
    assert [(entry["status"], entry["fault"]) for entry in lab.client.requests() if entry["method"] == "DELETE"] == [
        (204, "drop_after"), (404, None)]
    assert created["id"] not in [obj["id"] for obj in lab.client.state()["deviceConfigurations"]]
