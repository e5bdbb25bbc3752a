# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GraphModule as users meet it: modules run in-process (module_runner) against the Graph lab; what is
asserted is the result and the lab's request log. What the action plugin adds (option checks before the
token request, a passed token never replaced) is in tests/integration/pytest/test_credentials.py."""

from __future__ import annotations

from local_http import local_server  # noqa: F401  pylint: disable=unused-import

import module_runner

CONFIGURATIONS = "/beta/deviceManagement/deviceConfigurations"
PROFILE = dict(display_name="Autopilot hybrid join - domain join", computer_name_prefix="HAADJ-", domain="lab.example",
               organizational_unit="OU=Autopilot,DC=lab,DC=example")


def warnings_of(result):
    return " ".join(result.get("warnings") or [])


def test_out_of_range_numbers_with_a_given_access_token_fail_in_the_module_before_any_request(lab):
    token = lab.client.mint_token(kind="app", app=lab.apps["lab-admin"]["client_id"])
    result = module_runner.run_module("autopilot_config_info", dict(graph_endpoint=lab.url, ca_path=lab.ca, access_token=token, max_retry_wait=0))
    assert result["failed"] and "max_retry_wait must be a whole number of seconds from 1 to 1800" in result["msg"], result
    assert lab.client.requests() == []


def test_validate_certs_false_warns(lab):
    auth = module_runner.graph_auth(lab)
    del auth["ca_path"]
    result = module_runner.run_module("autopilot_config_info", dict(auth, validate_certs=False, kinds=["domain_join_profile"]))
    assert not result["failed"], result
    assert "validate_certs is false" in warnings_of(result) and "ca_path" in warnings_of(result)


def test_an_http_graph_endpoint_or_authority_warns_and_certificates_checked_do_not(lab, local_server):
    server = local_server(lambda _path: (200, {}, {"value": []}))
    result = module_runner.run_module("autopilot_config_info", dict(graph_endpoint=server.url, authority_host="http://login.lab.example",
                                                              access_token="lab-token", kinds=["domain_join_profile"]))
    assert not result["failed"] and server.requests, result
    assert "graph_endpoint %s is plain HTTP" % server.url in warnings_of(result)
    assert "authority_host http://login.lab.example is plain HTTP; sign-in uses https://login.lab.example" in warnings_of(result)

    checked = module_runner.run_module("autopilot_config_info", dict(module_runner.graph_auth(lab), kinds=["domain_join_profile"]))
    assert not checked["failed"] and not checked.get("warnings"), checked


def test_absent_succeeds_when_the_delete_answer_was_lost(lab):
    created = module_runner.run_module("domain_join_profile", dict(module_runner.graph_auth(lab), **PROFILE))
    lab.client.fault("drop_after", method="DELETE", path="^%s/" % CONFIGURATIONS, count=1)
    deleted = module_runner.run_module("domain_join_profile", dict(module_runner.graph_auth(lab), state="absent", **PROFILE))
    assert deleted["changed"] is True and not deleted["failed"], deleted
    assert [(entry["status"], entry["fault"]) for entry in lab.client.requests() if entry["method"] == "DELETE"] == [
        (204, "drop_after"), (404, None)]
    assert created["id"] not in [obj["id"] for obj in lab.client.state()["deviceConfigurations"]]
