# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ou_account_limit against a real Samba AD DC: every claim is checked by reading LDAP back.

The module has no action plugin, so ansible-playbook adds nothing to what most cases check but its start-up (a
second of CPU a run): they run its main() in this process (run_ou). Through ansible-playbook, as a user runs it:
the first case, check mode with --diff, and the role's step 3."""

from __future__ import annotations

import io
import ipaddress
import json
import uuid

import pytest
import yaml

from ad_fixtures import LdapFaultProxy
from harness import run_module, run_tasks
from tests.lab.module_runner import run_module as run_module_in_process

from ansible.module_utils.testing import patch_module_args
from winacl.dtyp.ace import ACE as WinaclAce

from ansible_collections.intune.autopilot.plugins.module_utils._graph import resource_domain_join_profile as resource_domain_join
from ansible_collections.intune.autopilot.plugins.module_utils._ad import delegation
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dacl import parse_ace, parse_descriptor
from ansible_collections.intune.autopilot.plugins.modules import ou_account_limit

COMPUTER = "bf967a86-0de6-11d0-a285-00aa003049e2"
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
EVERYONE = "S-1-1-0"
ADDRESS_AS_NUMBER = "<the lab's address as one number>"
AUTHENTICATED_USERS = "S-1-5-11"


def explicit_sddl(descriptor_bytes):
    return [ace.to_sddl() for ace in parse_descriptor(descriptor_bytes).explicit_aces]


def raw_ace(sddl):
    """ACE bytes from SDDL (winacl reads combined rights only in hex, e.g. 0x3 for CCDC)."""
    buffer = io.BytesIO()
    WinaclAce.from_sddl(sddl).to_buffer(buffer)
    return buffer.getvalue()


def insert_explicit_aces(ad, dn, deny_sddl=(), allow_sddl=()):
    """Set up ACEs someone else made: denies first, allows at the end of the explicit block."""
    descriptor = parse_descriptor(ad.raw_descriptor(dn))
    aces = list(descriptor.aces)
    first_inherited = next((i for i, ace in enumerate(aces) if ace.is_inherited), len(aces))
    new_aces = ([parse_ace(raw_ace(s)) for s in deny_sddl] + aces[:first_inherited]
                + [parse_ace(raw_ace(s)) for s in allow_sddl] + aces[first_inherited:])
    ad.write_descriptor(dn, descriptor.with_aces(new_aces).to_bytes())


def run_ou(args, check=False, diff=False):
    """ou_account_limit's main() in this process, its result as ansible-playbook reports it (tests/lab/module_runner.py)."""
    return run_module_in_process("ou_account_limit", args, check, diff)


def run_in_process(args, capsys, check_mode=False):
    """main() in this process, so a test can act between the module's own LDAP calls."""
    module_args = dict(args, _ansible_check_mode=check_mode)
    with patch_module_args(module_args), pytest.raises(SystemExit):
        ou_account_limit.main()
    return json.loads(capsys.readouterr().out)


# --- present, idempotency, check mode ---------------------------------------------------------


def test_msa_present_adds_the_ace_and_the_msa_can_create_computers_only_there(ad, single_connector_msa):
    target, other = ad.make_ou(), ad.make_ou()
    msa = single_connector_msa
    assert ad.create_computer_as(msa["dn"], msa["password"], target) == "insufficientAccessRights"

    result = run_module("ou_account_limit", ad.module_args(ou=[target]))

    assert result["changed"] is True, result
    msa_sid = ad.sid_of(msa["dn"])
    expected = f"(OA;;CC;{COMPUTER};;{msa_sid})"
    assert expected in explicit_sddl(ad.raw_descriptor(target))
    assert result["ous"] == [dict(dn=target, changed=True, aces_added=[expected], aces_removed=[], still_granting=[])]
    assert result["principal"]["sam_account_name"] == msa["sam_account_name"]
    assert result["machine_account_quota"] == 10
    assert ad.create_computer_as(msa["dn"], msa["password"], target) == "success"
    assert ad.create_computer_as(msa["dn"], msa["password"], other) == "insufficientAccessRights"


def test_legacy_rights_let_the_connector_computer_create_and_delete_computers(ad):
    target, other = ad.make_ou(), ad.make_ou()
    connector = ad.lab["connector_computer"]

    result = run_ou(ad.module_args(ou=[target], principal="CONNECTOR01", rights="legacy"))

    assert result["changed"] is True, result
    sid = ad.sid_of(connector["dn"])
    aces = explicit_sddl(ad.raw_descriptor(target))
    assert f"(OA;CI;CCDC;{COMPUTER};;{sid})" in aces
    assert f"(OA;CIIO;CCDCLCSWRPWPDTLOCRSDRCWDWO;;{COMPUTER};{sid})" in aces
    assert ad.create_computer_as(connector["dn"], connector["password"], target) == "success"
    assert ad.create_computer_as(connector["dn"], connector["password"], other) == "insufficientAccessRights"


def test_second_run_changes_nothing_and_leaves_usn_changed_alone(ad, single_connector_msa):
    target = ad.make_ou()
    args = ad.module_args(ou=[target])
    assert run_ou(args)["changed"] is True
    usn_after_first_run = ad.usn_changed(target)
    descriptor_after_first_run = ad.raw_descriptor(target)

    second = run_ou(args)

    assert second["changed"] is False, second
    assert second["ous"][0]["aces_added"] == []
    assert ad.usn_changed(target) == usn_after_first_run
    assert ad.raw_descriptor(target) == descriptor_after_first_run


def test_check_mode_reports_the_change_but_writes_nothing(ad, single_connector_msa):
    target = ad.make_ou()
    usn_before, descriptor_before = ad.usn_changed(target), ad.raw_descriptor(target)

    result = run_module("ou_account_limit", ad.module_args(ou=[target]), check=True, diff=True)

    assert result["changed"] is True, result
    assert len(result["ous"][0]["aces_added"]) == 1
    added = result["ous"][0]["aces_added"][0]
    assert added not in result["diff"][0]["before"] and added in result["diff"][0]["after"]
    assert ad.usn_changed(target) == usn_before
    assert ad.raw_descriptor(target) == descriptor_before


def test_starttls_with_certificate_validation(ad):
    target = ad.make_ou()
    result = run_ou(ad.module_args(
        ou=[target], tls_mode="start_tls", principal=ad.lab["connector_computer"]["sam_account_name"]))
    assert result["changed"] is True, result
    sid = ad.sid_of(ad.lab["connector_computer"]["dn"])
    assert f"(OA;;CC;{COMPUTER};;{sid})" in explicit_sddl(ad.raw_descriptor(target))


def test_failover_to_the_next_server_when_the_first_is_unreachable(ad):
    target = ad.make_ou()
    result = run_ou(ad.module_args(
        server=["dc-that-does-not-exist.invalid", ad.lab["host"]], ou=[target], principal="CONNECTOR01$"))
    assert result["changed"] is True, result


# --- other ACEs are kept ----------------------------------------------------------------------


def test_unrelated_explicit_aces_stay_byte_identical_and_ours_goes_in_canonical_place(ad):
    target = ad.make_ou()
    connector_sid = ad.sid_of(ad.lab["connector_computer"]["dn"])
    insert_explicit_aces(
        ad, target,
        deny_sddl=[f"(OD;;WP;{USER_CLASS};;{EVERYONE})"],
        allow_sddl=[f"(OA;CI;CC;{USER_CLASS};;{connector_sid})", f"(A;CI;RP;;;{AUTHENTICATED_USERS})"],
    )
    before = parse_descriptor(ad.raw_descriptor(target))

    result = run_ou(ad.module_args(ou=[target], principal="CONNECTOR01$"))

    assert result["changed"] is True, result
    after = parse_descriptor(ad.raw_descriptor(target))
    added = [ace for ace in after.aces if ace.to_sddl() in result["ous"][0]["aces_added"]]
    assert len(added) == 1
    assert [ace.raw for ace in after.aces if ace not in added] == [ace.raw for ace in before.aces]
    # Canonical: after every explicit ACE (the deny stays first), before the first inherited one.
    position = after.aces.index(added[0])
    assert all(not ace.is_inherited for ace in after.aces[:position])
    assert all(ace.is_inherited for ace in after.aces[position + 1:])
    assert after.aces[0].to_sddl() == f"(OD;;WP;{USER_CLASS};;{EVERYONE})"


def test_a_wider_existing_ace_counts_as_present(ad):
    target = ad.make_ou()
    connector_sid = ad.sid_of(ad.lab["connector_computer"]["dn"])
    # CreateChild plus DeleteChild, inherited by children too: more than rights=msa asks for.
    insert_explicit_aces(ad, target, allow_sddl=[f"(OA;CI;0x3;{COMPUTER};;{connector_sid})"])
    usn_before = ad.usn_changed(target)

    result = run_ou(ad.module_args(ou=[target], principal="CONNECTOR01$"))

    assert result["changed"] is False, result
    assert ad.usn_changed(target) == usn_before


def test_absent_removes_only_our_aces(ad):
    target = ad.make_ou()
    connector_sid = ad.sid_of(ad.lab["connector_computer"]["dn"])
    unrelated = f"(A;CI;RP;;;{AUTHENTICATED_USERS})"
    wider = f"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{connector_sid})"
    insert_explicit_aces(ad, target, allow_sddl=[unrelated])
    args = ad.module_args(ou=[target], principal="CONNECTOR01$", rights="legacy")
    assert run_ou(args)["changed"] is True
    insert_explicit_aces(ad, target, allow_sddl=[wider.replace("CCDCLCSWRPWPDTLOCRSDRCWDWO", "0xf01ff")])
    with_ours = parse_descriptor(ad.raw_descriptor(target))

    result = run_ou(dict(args, state="absent"))

    assert result["changed"] is True, result
    assert len(result["ous"][0]["aces_removed"]) == 2
    after = parse_descriptor(ad.raw_descriptor(target))
    removed = set(result["ous"][0]["aces_removed"])
    assert [ace.raw for ace in after.aces] == [ace.raw for ace in with_ours.aces if ace.to_sddl() not in removed]
    sddl_after = explicit_sddl(ad.raw_descriptor(target))
    assert unrelated in sddl_after and wider in sddl_after
    assert not any(COMPUTER in ace and connector_sid in ace for ace in sddl_after)
    assert run_ou(dict(args, state="absent"))["changed"] is False


# --- concurrent changes -----------------------------------------------------------------------


def test_a_change_made_between_read_and_write_is_kept(ad, capsys, monkeypatch):
    target = ad.make_ou()
    concurrent = f"(A;;RP;;;{AUTHENTICATED_USERS})"
    real_read_dacl = delegation.read_dacl
    reads = []

    def read_then_someone_else_edits(connection, dn):
        snapshot = real_read_dacl(connection, dn)
        reads.append(dn)
        if len(reads) == 1:  # after the module's first read, before its write
            insert_explicit_aces(ad, dn, allow_sddl=[concurrent])
        return snapshot

    monkeypatch.setattr(delegation, "read_dacl", read_then_someone_else_edits)
    result = run_in_process(ad.module_args(ou=[target], principal="CONNECTOR01$"), capsys)

    assert result["changed"] is True, result
    aces = explicit_sddl(ad.raw_descriptor(target))
    assert concurrent in aces
    assert result["ous"][0]["aces_added"][0] in aces


def test_a_dacl_that_keeps_changing_fails_after_bounded_retries_without_writing(ad, capsys, monkeypatch):
    target = ad.make_ou()
    real_read_dacl = delegation.read_dacl
    other_writes = []

    def read_while_another_tool_keeps_editing(connection, dn):
        snapshot = real_read_dacl(connection, dn)
        other_writes.append(f"(A;;RP;;;S-1-5-21-1-2-3-{1000 + len(other_writes)})")
        insert_explicit_aces(ad, dn, allow_sddl=[other_writes[-1]])
        return snapshot

    monkeypatch.setattr(delegation, "read_dacl", read_while_another_tool_keeps_editing)
    result = run_in_process(ad.module_args(ou=[target], principal="CONNECTOR01$"), capsys)

    assert result["failed"] is True
    assert "another tool is editing them" in result["msg"]
    aces = explicit_sddl(ad.raw_descriptor(target))
    assert all(ace in aces for ace in other_writes)
    connector_sid = ad.sid_of(ad.lab["connector_computer"]["dn"])
    assert not any(connector_sid in ace for ace in aces)


# --- the connection to the DC breaks -----------------------------------------------------------


def test_a_connection_lost_before_any_write_fails_saying_nothing_was_written(ad):
    target = ad.make_ou()
    version, descriptor = ad.descriptor_version(target), ad.raw_descriptor(target)
    # The 5th search is the last read before the first write (root DSE, principal, DACL, rights, quota).
    with LdapFaultProxy(ad.lab, "search", occurrence=5, action="drop", reset=True) as proxy:
        result = run_ou(ad.module_args(ou=[target], principal="CONNECTOR01$", port=proxy.port))

    assert proxy.fired.is_set() and "modify" not in sum(proxy.operations, [])
    assert result["failed"] is True and result["changed"] is False, result
    assert result["reason"] == "connection_lost"
    assert "before anything was written" in result["msg"] and "nothing was written" in result["msg"]
    assert "Traceback" not in json.dumps(result)
    assert (ad.descriptor_version(target), ad.raw_descriptor(target)) == (version, descriptor)


@pytest.mark.parametrize("state, fragment", [
    ("present", "is present: it was written"),
    ("absent", "is gone: its removal was written"),
])
def test_a_write_whose_answer_is_lost_is_read_again_and_reported_written(ad, state, fragment):
    target = ad.make_ou()
    args = ad.module_args(ou=[target], principal="CONNECTOR01$", state=state)
    if state == "absent":
        assert run_ou(dict(args, state="present"))["changed"] is True
    version = ad.descriptor_version(target)

    with LdapFaultProxy(ad.lab, "modify", action="answer") as proxy:
        result = run_ou(dict(args, port=proxy.port))
        again = run_ou(dict(args, port=proxy.port))

    assert result["failed"] is True and result["changed"] is True, result
    assert result["reason"] == "connection_lost"
    assert target in result["msg"] and fragment in result["msg"]
    # The DC wrote exactly once; the module's new connection only read.
    assert ad.descriptor_version(target) == version + 1
    assert proxy.operations[1].count("modify") == 0 and "search" in proxy.operations[1]
    connector_sid = ad.sid_of(ad.lab["connector_computer"]["dn"])
    ace = f"(OA;;CC;{COMPUTER};;{connector_sid})"
    assert (ace in explicit_sddl(ad.raw_descriptor(target))) is (state == "present")
    assert again["changed"] is False and "modify" not in proxy.operations[2], again


def test_a_write_that_never_reached_the_dc_is_reported_not_written(ad):
    target = ad.make_ou()
    version, descriptor = ad.descriptor_version(target), ad.raw_descriptor(target)

    with LdapFaultProxy(ad.lab, "modify", action="drop") as proxy:
        result = run_ou(ad.module_args(ou=[target], principal="CONNECTOR01$", port=proxy.port))

    assert result["failed"] is True and result["changed"] is False, result
    assert target in result["msg"] and "is not present: it was not written" in result["msg"]
    assert len(proxy.operations) == 2  # it reconnected to read the OU again
    assert (ad.descriptor_version(target), ad.raw_descriptor(target)) == (version, descriptor)


def test_a_write_without_an_answer_within_operation_timeout_is_read_again(ad):
    target = ad.make_ou()
    version = ad.descriptor_version(target)

    with LdapFaultProxy(ad.lab, "modify", action="stall") as proxy:
        result = run_ou(ad.module_args(
            ou=[target], principal="CONNECTOR01$", port=proxy.port, operation_timeout=3))

    assert result["failed"] is True and result["changed"] is True, result
    assert "is present: it was written" in result["msg"]
    assert ad.descriptor_version(target) == version + 1


def test_when_the_dc_cannot_be_reached_again_the_outcome_is_unknown_and_said_so(ad):
    target = ad.make_ou()

    with LdapFaultProxy(ad.lab, "modify", action="answer", refuse_reconnect=True) as proxy:
        result = run_ou(ad.module_args(ou=[target], principal="CONNECTOR01$", port=proxy.port))

    assert proxy.fired.is_set()
    assert result["failed"] is True, result
    assert f"unknown whether the ACE (OA;;CC;{COMPUTER};;" in result["msg"] and f"was written to {target!r}" in result["msg"]
    assert "re-run the task, it is idempotent" in result["msg"]
    # The DC did write; a write that may have happened counts as a change.
    assert result["changed"] is True
    second = run_ou(ad.module_args(ou=[target], principal="CONNECTOR01$"))
    assert second["changed"] is False, second


def test_with_several_ous_the_break_is_reported_per_ou(ad):
    first, second, third = ad.make_ou(), ad.make_ou(), ad.make_ou()
    versions = {dn: ad.descriptor_version(dn) for dn in (first, second, third)}

    with LdapFaultProxy(ad.lab, "modify", occurrence=2, action="drop") as proxy:
        result = run_ou(ad.module_args(
            ou=[first, second, third], principal="CONNECTOR01$", port=proxy.port))

    assert result["failed"] is True and result["changed"] is True, result
    assert f"while writing the permissions of {second!r}" in result["msg"]
    assert "is not present: it was not written" in result["msg"]
    assert f"Written before it: {first}." in result["msg"] and f"Not attempted: {third}." in result["msg"]
    assert ad.descriptor_version(first) == versions[first] + 1
    assert [ad.descriptor_version(dn) for dn in (second, third)] == [versions[second], versions[third]]


# --- bad input: a clear message and no write ----------------------------------------------------


def test_missing_ou_is_named_and_no_ou_is_written(ad):
    good = ad.make_ou()
    missing = f"OU=does-not-exist-{uuid.uuid4().hex[:6]},{ad.lab['base_dn']}"
    usn_before = ad.usn_changed(good)

    result = run_ou(ad.module_args(ou=[good, missing], principal="CONNECTOR01$"))

    assert result["failed"] is True
    assert missing in result["msg"] and "not found" in result["msg"]
    assert ad.usn_changed(good) == usn_before


def test_an_ou_written_with_spaces_is_the_same_ou_and_a_rerun_writes_nothing(ad):
    target = ad.make_ou()  # OU=t-...,DC=autopilot,DC=test
    spaced = target.replace(",", ", ")
    # What domain_join_profile accepts for organizational_unit, ou_account_limit accepts for ou.
    assert resource_domain_join.validate(dict(domain="autopilot.test", organizational_unit=spaced)) == []
    args = ad.module_args(ou=[spaced, target.lower().replace("=", " = ")], principal="CONNECTOR01$")

    first = run_ou(args)

    assert first["changed"] is True, first
    assert [ou["dn"] for ou in first["ous"]] == [target]  # one OU, however it was spelled
    connector_sid = ad.sid_of(ad.lab["connector_computer"]["dn"])
    assert f"(OA;;CC;{COMPUTER};;{connector_sid})" in explicit_sddl(ad.raw_descriptor(target))
    version, descriptor = ad.descriptor_version(target), ad.raw_descriptor(target)

    second = run_ou(dict(args, ou=[spaced]))

    assert second["changed"] is False, second
    assert (ad.descriptor_version(target), ad.raw_descriptor(target)) == (version, descriptor)


def test_an_ou_dn_split_by_a_yaml_flow_list_is_refused_without_writing(ad):
    target = ad.make_ou()
    ous = yaml.safe_load(f"ou: [{target}]")["ou"]  # what a playbook's unquoted flow list gives the module
    assert len(ous) == 3
    version = ad.descriptor_version(target)

    result = run_ou(ad.module_args(ou=ous, principal="CONNECTOR01$"))

    assert result["failed"] is True
    assert "'DC=autopilot', 'DC=test'" in result["msg"]
    assert "write ou as a block list or quote the DN" in result["msg"]
    assert ad.descriptor_version(target) == version


def test_ou_that_is_not_a_dn(ad):
    result = run_ou(ad.module_args(ou=["Autopilot"], principal="CONNECTOR01$"))
    assert result["failed"] is True
    assert "'Autopilot' is not a distinguished name" in result["msg"]


def test_ou_without_permission_to_change_fails_before_writing_any_ou(ad):
    writable = ad.make_ou()
    not_writable = ad.make_ou(delegate_can_change_permissions=False)
    usn_before = ad.usn_changed(writable)

    result = run_ou(ad.module_args(ou=[writable, not_writable], principal="CONNECTOR01$"))

    assert result["failed"] is True
    assert not_writable in result["msg"] and "WRITE_DAC" in result["msg"]
    assert writable not in result["msg"]
    assert ad.usn_changed(writable) == usn_before


@pytest.mark.parametrize("principal, fragment", [
    ("no-such-account", "'no-such-account' was not found"),
    ("S-1-5-21-1-2-3-99999", "'S-1-5-21-1-2-3-99999' was not found"),
    ("CN=Nobody,CN=Users,DC=autopilot,DC=test", "was not found"),
])
def test_unknown_principal(ad, principal, fragment):
    target = ad.make_ou()
    usn_before = ad.usn_changed(target)
    result = run_ou(ad.module_args(ou=[target], principal=principal))
    assert result["failed"] is True
    assert fragment in result["msg"]
    assert ad.usn_changed(target) == usn_before


def test_principal_by_sid_and_by_dn(ad):
    target = ad.make_ou()
    connector = ad.lab["connector_computer"]
    sid = ad.sid_of(connector["dn"])
    by_sid = run_ou(ad.module_args(ou=[target], principal=sid))
    by_dn = run_ou(ad.module_args(ou=[target], principal=connector["dn"]))
    assert by_sid["changed"] is True and by_sid["principal"]["dn"] == connector["dn"]
    assert by_dn["changed"] is False and by_dn["principal"]["sid"] == sid


def test_several_connector_msas_are_listed_and_nothing_is_written(ad, exclusive_msa_discovery):
    target = ad.make_ou()
    second = ad.add_managed_service_account(f"msaODJ{uuid.uuid4().hex[:5]}")
    try:
        usn_before = ad.usn_changed(target)
        result = run_ou(ad.module_args(ou=[target]))
    finally:
        ad.delete(second)
    assert result["failed"] is True
    assert "found 2" in result["msg"] and ad.lab["msa"]["sam_account_name"] in result["msg"]
    assert ad.usn_changed(target) == usn_before


@pytest.mark.parametrize("overrides, reason, fragment", [
    (dict(password="wrong-password"), "invalid_credentials", "check username and password"),
    (dict(ca_path=None), "tls", "set ca_path"),
    (dict(port=1), "unreachable", "Cannot reach"),
    # The DC's own address, written as one number: a name that reaches it but is not in its certificate.
    (dict(server=[ADDRESS_AS_NUMBER]), "tls", "host name in the DC's certificate"),
    (dict(port=0), "bad_options", "port 0 is not a TCP port"),
    (dict(operation_timeout=-1), "bad_options", "operation_timeout is -1"),
])
def test_bind_failures_are_told_apart(ad, overrides, reason, fragment):
    if overrides.get("server") == [ADDRESS_AS_NUMBER]:
        overrides = dict(overrides, server=[str(int(ipaddress.IPv4Address(ad.lab["address"])))])
    args = ad.module_args(ou=[ad.lab["autopilot_ou"]], principal="CONNECTOR01$", **overrides)
    result = run_ou({key: value for key, value in args.items() if value is not None})
    assert result["failed"] is True
    assert result["reason"] == reason, result["msg"]
    assert fragment in result["msg"]
    assert ad.lab["delegate_user"]["password"] not in json.dumps(result)


def test_kerberos_without_gssapi_says_what_is_missing(ad):
    pytest.importorskip("ldap3")
    try:
        import gssapi  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    except ImportError:
        pass
    else:
        pytest.skip("gssapi is installed here, so its absence cannot be shown")
    result = run_ou(dict(server=[ad.lab["host"]], ca_path=ad.lab["ca_path"], auth="kerberos",
                                                 ou=[ad.lab["autopilot_ou"]], principal="CONNECTOR01$"))
    assert result["failed"] is True
    assert "needs the Python package gssapi" in result["msg"]


# --- the role's step 3 ------------------------------------------------------------------------


def test_role_step3_delegates_the_domain_join_ou_once(ad, single_connector_msa):
    target = ad.make_ou()
    role_vars = dict(
        hybrid_join_ldap_server=ad.lab["host"],
        hybrid_join_ldap_ca_path=ad.lab["ca_path"],
        hybrid_join_ldap_username=ad.lab["delegate_user"]["dn"],
        hybrid_join_ldap_password=ad.lab["delegate_user"]["password"],
        hybrid_join_ldap_tls_mode="ldaps",
        hybrid_join_ldap_validate_certs=True,
        hybrid_join_ldap_auth="simple",
        hybrid_join_connector_rights="msa",
        hybrid_join_domain_join_ou=target,
    )
    task = {"ansible.builtin.include_role": {"name": "intune.autopilot.hybrid_join", "tasks_from": "step3"},
            "vars": role_vars}

    first = run_tasks([task])[-1]
    usn_after_first = ad.usn_changed(target)
    second = run_tasks([task])[-1]

    assert first["changed"] is True, first
    msa_sid = ad.sid_of(single_connector_msa["dn"])
    assert f"(OA;;CC;{COMPUTER};;{msa_sid})" in explicit_sddl(ad.raw_descriptor(target))
    assert second["changed"] is False, second
    assert ad.usn_changed(target) == usn_after_first
