# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""connector_check's AD side against the Samba AD lab (and the Graph lab), run through ansible-playbook.

The step 3 right is put in place by ou_account_limit itself, so the check and the grant cannot drift apart.
"""

from __future__ import annotations

import json

import pytest

from harness import graph_auth, run_module

CONNECTOR_SERVER = "connector01.autopilot.test"  # the AD lab's CONNECTOR01 computer account has this dNSHostName


def connector_check(lab, ad, **args):
    return run_module("connector_check", dict(graph_auth(lab), ldap=ad.module_args(), **args))


def check(result, name):
    return next(entry for entry in result["checks"] if entry["name"] == name)


def account(result, sam_account_name):
    return next(entry for entry in result["accounts"] if entry["sam_account_name"] == sam_account_name)


def test_without_the_delegation_it_fails_naming_the_grant_and_hides_the_password(lab, ad, single_connector_msa):
    ou = ad.make_ou()
    result = connector_check(lab, ad, domain_join_ou=ou)
    assert result["failed"] is True and result["ready"] is False, result
    msa = single_connector_msa["sam_account_name"]
    assert check(result, "connector_account")["passed"] is True
    assert f"{msa} (managed service account)" in check(result, "connector_account")["reason"]
    right = check(result, "domain_join_ou_right")
    assert right["passed"] is False
    assert f"intune.autopilot.ou_account_limit (tutorial step 3): ou={ou} principal={msa} rights=msa" in right["reason"]
    assert account(result, msa)["holds_right"] is False and account(result, msa)["kind"] == "managed_service_account"
    assert ad.lab["delegate_user"]["password"] not in json.dumps(result)


def test_with_the_step3_delegation_it_passes_and_writes_nothing(lab, ad, single_connector_msa):
    ou = ad.make_ou()
    granted = run_module("ou_account_limit", ad.module_args(ou=[ou]))
    assert granted["changed"] is True, granted
    usn, descriptor = ad.usn_changed(ou), ad.raw_descriptor(ou)

    result = connector_check(lab, ad, domain_join_ou=ou)
    checked = run_module("connector_check", dict(graph_auth(lab), ldap=ad.module_args(), domain_join_ou=ou), check=True)

    assert result["failed"] is False and result["ready"] is True and result["changed"] is False, result
    assert checked["checks"] == result["checks"]
    msa = single_connector_msa["sam_account_name"]
    assert account(result, msa)["holds_right"] is True
    assert check(result, "domain_join_ou_right")["reason"].startswith(f"May create computer objects in {ou} (rights=msa): {msa}")
    assert (ad.usn_changed(ou), ad.raw_descriptor(ou)) == (usn, descriptor)


def test_a_custom_managed_service_account_named_as_principal(lab, ad):
    ou = ad.make_ou()
    dn = ad.add_managed_service_account("svcOdjCustom")
    try:
        before = connector_check(lab, ad, domain_join_ou=ou, principal="svcOdjCustom", report_only=True)
        assert before["failed"] is False and before["ready"] is False, before
        assert [entry["sam_account_name"] for entry in before["accounts"]] == ["svcOdjCustom$"]
        assert run_module("ou_account_limit", ad.module_args(ou=[ou], principal="svcOdjCustom"))["changed"] is True

        after = connector_check(lab, ad, domain_join_ou=ou, principal="svcOdjCustom$")

        assert after["ready"] is True, after
        assert after["accounts"][0]["holds_right"] is True and after["accounts"][0]["kind"] == "managed_service_account"
    finally:
        ad.delete(dn)


def test_a_legacy_connector_is_recognised_by_its_server_computer_account(lab, ad):
    lab.client.seed({"domainJoinConnectors": [{"displayName": CONNECTOR_SERVER, "state": "active", "version": "6.2501.2000.5",
                                               "lastConnectionSecondsAgo": 60}]}, replace=["domainJoinConnectors"])
    ou = ad.make_ou()
    assert run_module("ou_account_limit", ad.module_args(ou=[ou], principal="CONNECTOR01", rights="legacy"))["changed"] is True

    result = connector_check(lab, ad, domain_join_ou=ou)

    assert result["ready"] is True, result
    computer = account(result, "CONNECTOR01$")
    assert computer == dict(computer, kind="computer", server=CONNECTOR_SERVER, holds_right=True)
    assert any("Only computer accounts hold the right" in warning for warning in result.get("warnings", []))
    # The legacy ACEs include "create computer objects" on the OU, and rights=legacy asks for both of them.
    assert connector_check(lab, ad, domain_join_ou=ou, principal="CONNECTOR01$", rights="legacy")["ready"] is True


def test_a_missing_ou_fails_the_right_check_naming_it(lab, ad):
    missing = f"OU=does-not-exist,{ad.lab['base_dn']}"
    result = connector_check(lab, ad, domain_join_ou=missing, report_only=True)
    assert result["ready"] is False
    assert check(result, "domain_join_ou_right") == dict(
        name="domain_join_ou_right", passed=False,
        reason=f"ou {missing!r} was not found; check the DN (it must be the OU named in the domain join profile).")


@pytest.mark.parametrize("principal, fragment", [("nobody-here", "'nobody-here' was not found")])
def test_a_named_principal_that_does_not_exist_fails_the_account_check(lab, ad, principal, fragment):
    result = connector_check(lab, ad, domain_join_ou=ad.lab["autopilot_ou"], principal=principal, report_only=True)
    assert check(result, "connector_account")["passed"] is False
    assert fragment in check(result, "connector_account")["reason"]
    assert result["accounts"] == []


def test_a_refused_bind_fails_with_its_reason_and_keeps_the_graph_checks(lab, ad):
    ldap = ad.module_args(password="wrong-password-for-the-test")
    result = run_module("connector_check", dict(graph_auth(lab), ldap=ldap, domain_join_ou=ad.lab["autopilot_ou"], report_only=True))
    assert result["failed"] is True and result["reason"] == "invalid_credentials", result
    assert result["msg"].startswith("ldap: ")
    assert [entry["name"] for entry in result["checks"]][:1] == ["connector_present"]
