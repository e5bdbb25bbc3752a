# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_ad.delegation's read-plan-write-verify flow against an in-memory directory (no Samba).

FakeConnection answers the ldap3 calls _ad.directory makes (search, modify, result, response,
server.info) from a dict of entries, and can break at the n-th search or modify the way a lost
connection does: before the request reaches the DC ("drop") or after the DC carried it out
("answer"). The lab tests prove the same against Samba through a TCP proxy; these run in
milliseconds and pin each outcome.
"""

from __future__ import annotations

import io
import struct
from types import SimpleNamespace

import pytest

from ldap3.core.exceptions import LDAPResponseTimeoutError, LDAPSocketReceiveError, LDAPSocketSendError
from winacl.dtyp.ace import ACE as WinaclAce
from winacl.dtyp.sid import SID as WinaclSid

from ansible_collections.intune.autopilot.plugins.module_utils._ad import delegation
from ansible_collections.intune.autopilot.plugins.module_utils._ad.connection import LdapConnectionError
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dacl import parse_ace, parse_descriptor
from ansible_collections.intune.autopilot.plugins.module_utils._ad.delegation import (
    MAX_WRITE_ATTEMPTS,
    DelegationError,
    delegate,
    read_delegation_state,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.directory import (
    CONNECTOR_MSA_FILTER,
    NT_SECURITY_DESCRIPTOR_ATTRIBUTE_ID,
)

BASE_DN = "DC=contoso,DC=com"
COMPUTER = "bf967a86-0de6-11d0-a285-00aa003049e2"
CONNECTOR_SID = "S-1-5-21-1000-2000-3000-1104"
CONNECTOR_DN = f"CN=CONNECTOR01,CN=Computers,{BASE_DN}"
OUR_ACE = f"(OA;;CC;{COMPUTER};;{CONNECTOR_SID})"
INHERITED = "(A;CIID;0xf01ff;;;S-1-5-32-544)"
SOMEONE_ELSES = "(A;;RP;;;S-1-5-11)"
OU_A, OU_B, OU_C = (f"OU={name},{BASE_DN}" for name in ("A", "B", "C"))


def ace_bytes(sddl):
    buffer = io.BytesIO()
    WinaclAce.from_sddl(sddl).to_buffer(buffer)
    return buffer.getvalue()


def descriptor(*sddl_aces):
    """A self-relative DACL-only descriptor, as AD returns it with SD flags = DACL."""
    aces = b"".join(ace_bytes(sddl) for sddl in sddl_aces)
    dacl = struct.pack("<BBHHH", 4, 0, 8 + len(aces), len(sddl_aces), 0) + aces
    return struct.pack("<BBHIIII", 1, 0, 0x8C14, 0, 0, 0, 20) + dacl


def repl_property_metadata(version):
    """replPropertyMetaData with one entry, nTSecurityDescriptor's, at the given version."""
    entry = struct.pack("<II", NT_SECURITY_DESCRIPTOR_ATTRIBUTE_ID, version) + bytes(40)
    return struct.pack("<IIII", 1, 0, 1, 0) + entry


def explicit_sddl(raw):
    return [ace.to_sddl() for ace in parse_descriptor(raw).explicit_aces]


class FakeDirectory:
    """Entries by lower-cased DN; each OU has a DACL and the version AD counts its writes with."""

    def __init__(self, ous=(OU_A,), writable=True):
        self.entries = {
            BASE_DN.lower(): {"dn": BASE_DN, "attributes": {"ms-DS-MachineAccountQuota": [b"10"]}},
            CONNECTOR_DN.lower(): {"dn": CONNECTOR_DN, "attributes": {
                "objectSid": [WinaclSid.from_string(CONNECTOR_SID).to_bytes()], "sAMAccountName": [b"CONNECTOR01$"],
                "objectClass": [b"computer"]}},
        }
        for dn in ous:
            self.entries[dn.lower()] = {"dn": dn, "attributes": {"sDRightsEffective": [b"4" if writable else b"0"]}}
            self.set_dacl(dn, descriptor(INHERITED), version=1)
        # Called as on_dacl_read(dn, nth_read_of_that_dn) after each DACL read: another administrator's edits.
        self.on_dacl_read = None
        self.dacl_reads: dict[str, int] = {}
        # Extra versions a module's write adds: someone else wrote the descriptor at the same moment.
        self.concurrent_writes_per_write = 0
        self.modifies: list[str] = []

    def set_dacl(self, dn, raw, version):
        attributes = self.entries[dn.lower()]["attributes"]
        attributes["nTSecurityDescriptor"] = [raw]
        attributes["replPropertyMetaData"] = [repl_property_metadata(version)]
        attributes["version"] = version

    def dacl(self, dn):
        return self.entries[dn.lower()]["attributes"]["nTSecurityDescriptor"][0]

    def version(self, dn):
        return self.entries[dn.lower()]["attributes"]["version"]

    def edit(self, dn, *allow_sddl):
        """Someone else's write: allow ACEs appended to the explicit ones."""
        aces = list(parse_descriptor(self.dacl(dn)).aces)
        first_inherited = next((i for i, ace in enumerate(aces) if ace.is_inherited), len(aces))
        aces[first_inherited:first_inherited] = [parse_ace(ace_bytes(sddl)) for sddl in allow_sddl]
        self.set_dacl(dn, parse_descriptor(self.dacl(dn)).with_aces(aces).to_bytes(), self.version(dn) + 1)

    def write(self, dn, raw):
        self.modifies.append(dn)
        self.set_dacl(dn, raw, self.version(dn) + 1 + self.concurrent_writes_per_write)


class FakeConnection:
    """What _ad.directory uses of an ldap3 Connection, over a FakeDirectory.

    faults maps (operation, n) to "drop" (the n-th search or modify never reaches the directory),
    "answer" (it is carried out, its answer is lost) or "timeout" (as answer, then operation_timeout).
    """

    def __init__(self, directory, faults=None, host="dc1.contoso.com"):
        self.directory = directory
        self.faults = dict(faults or {})
        self.counts = {"search": 0, "modify": 0}
        self.server = SimpleNamespace(host=host, port=636, info=SimpleNamespace(other={"defaultNamingContext": [BASE_DN]}))
        self.result: dict = {}
        self.response: list = []
        self.unbound = False

    def _fault(self, operation):
        self.counts[operation] += 1
        return self.faults.get((operation, self.counts[operation]))

    @staticmethod
    def _lose(action):
        if action == "drop":
            raise LDAPSocketSendError("socket sending error[Errno 104] Connection reset by peer")
        if action == "timeout":
            raise LDAPResponseTimeoutError("no response from server")
        raise LDAPSocketReceiveError("error receiving data: [Errno 104] Connection reset by peer")

    def search(self, search_base, search_filter, search_scope=None, attributes=None, controls=None):
        action = self._fault("search")
        if action == "drop":
            self._lose(action)
        if search_scope == "BASE":
            entry = self.directory.entries.get(search_base.lower())
            found = [entry] if entry else []
        else:
            found = [entry for entry in self.directory.entries.values() if self._matches(entry, search_filter)]
        self.response = [
            {"type": "searchResEntry", "dn": entry["dn"],
             "raw_attributes": {name: entry["attributes"][name] for name in attributes or [] if name in entry["attributes"]}}
            for entry in found
        ]
        self.result = {"result": 0 if found or search_scope != "BASE" else 32}
        if found and search_scope == "BASE" and "nTSecurityDescriptor" in (attributes or []):
            reads = self.directory.dacl_reads[search_base] = self.directory.dacl_reads.get(search_base, 0) + 1
            if self.directory.on_dacl_read:
                self.directory.on_dacl_read(search_base, reads)
        if action:
            self._lose(action)

    @staticmethod
    def _matches(entry, search_filter):
        sam = (entry["attributes"].get("sAMAccountName") or [b""])[0].decode()
        if search_filter == CONNECTOR_MSA_FILTER:
            return sam.startswith("msaODJ")
        return search_filter == f"(sAMAccountName={sam})" and bool(sam)

    def modify(self, dn, changes, controls=None):
        action = self._fault("modify")
        if action == "drop":
            self._lose(action)
        (_operation, [raw]), = changes["nTSecurityDescriptor"]
        self.directory.write(dn, raw)
        self.result = {"result": 0}
        if action:
            self._lose(action)

    def unbind(self):
        self.unbound = True


@pytest.fixture
def lab(monkeypatch):
    """Wires delegate() to fake connections; set lab.faults and lab.reconnect_fails before delegate()."""
    state = SimpleNamespace(directory=FakeDirectory(ous=(OU_A, OU_B, OU_C)), faults={}, reconnect_fails=False, connections=[])

    def connect(params):
        connection = FakeConnection(state.directory, state.faults)
        state.connections.append(connection)
        return connection

    def reconnect(connection, params):
        if state.reconnect_fails:
            raise LdapConnectionError("unreachable", f"Cannot reach {connection.server.host}:636 (ldaps): Connection refused")
        fresh = FakeConnection(state.directory)
        state.connections.append(fresh)
        return fresh

    monkeypatch.setattr(delegation, "connect", connect)
    monkeypatch.setattr(delegation, "reconnect", reconnect)
    return state


def params(**overrides):
    values = dict(server=["dc1.contoso.com"], username="svc@contoso.com", password="secret",
                  ou=[OU_A], principal="CONNECTOR01$", rights="msa", state="present")
    values.update(overrides)
    return values


def run(lab, **overrides):
    return delegate(params(**overrides))[0]


def failure(lab, check_mode=False, **overrides):
    with pytest.raises(DelegationError) as raised:
        delegate(params(**overrides), check_mode=check_mode)
    return raised.value


# --- the ordinary path ----------------------------------------------------------------------------


def test_present_writes_once_verifies_and_a_second_run_writes_nothing(lab):
    result = run(lab)

    assert result["changed"] is True
    assert result["ous"] == [dict(dn=OU_A, changed=True, aces_added=[OUR_ACE], aces_removed=[], still_granting=[])]
    assert result["principal"] == dict(dn=CONNECTOR_DN, sid=CONNECTOR_SID, sam_account_name="CONNECTOR01$")
    assert result["machine_account_quota"] == 10
    assert lab.directory.modifies == [OU_A] and lab.directory.version(OU_A) == 2
    assert OUR_ACE in explicit_sddl(lab.directory.dacl(OU_A))
    assert all(connection.unbound for connection in lab.connections)

    assert run(lab)["changed"] is False
    assert lab.directory.modifies == [OU_A]


def test_check_mode_and_the_reading_part_write_nothing(lab):
    result, _warnings = delegate(params(ou=[OU_A, OU_B]), check_mode=True, diff=True)

    assert result["changed"] is True and lab.directory.modifies == []
    assert OUR_ACE in result["diff"][0]["after"] and OUR_ACE not in result["diff"][0]["before"]

    state = read_delegation_state(FakeConnection(lab.directory), [OU_A, OU_B], "CONNECTOR01$", "msa", "present")
    assert [plan.changed for plan in state.plans] == [True, True]
    assert state.not_writable == () and state.principal.sid == CONNECTOR_SID
    assert lab.directory.modifies == []


def test_an_ou_the_bind_account_may_not_change_fails_before_any_write(lab):
    lab.directory.entries[OU_B.lower()]["attributes"]["sDRightsEffective"] = [b"0"]

    error = failure(lab, ou=[OU_A, OU_B])

    assert "may not change the permissions of " + OU_B in error.message
    assert error.changed is False and error.reason is None and lab.directory.modifies == []


def test_a_failed_bind_keeps_its_reason(lab, monkeypatch):
    def refuse(params):
        raise LdapConnectionError("invalid_credentials", "dc1.contoso.com:636 (ldaps) refused the username or password")

    monkeypatch.setattr(delegation, "connect", refuse)
    error = failure(lab)

    assert (error.reason, error.changed) == ("invalid_credentials", False)


def test_bad_ou_input_is_refused_before_connecting(lab):
    error = failure(lab, ou=["OU=Autopilot", "DC=contoso", "DC=com"])

    assert "block list" in error.message and lab.connections == []


# --- concurrent changes -----------------------------------------------------------------------------


def test_a_change_between_read_and_write_is_kept_and_the_ace_planned_again_on_top(lab):
    def someone_else_edits(dn, nth_read):
        if nth_read == 1:  # after the read every OU gets, before the one right before the write
            lab.directory.edit(dn, SOMEONE_ELSES)

    lab.directory.on_dacl_read = someone_else_edits
    result = run(lab)

    assert result["changed"] is True
    aces = explicit_sddl(lab.directory.dacl(OU_A))
    assert "(A;;RP;;;S-1-5-11)" in aces and OUR_ACE in aces
    # Theirs, then ours, written once.
    assert lab.directory.modifies == [OU_A] and lab.directory.version(OU_A) == 3


def test_a_change_that_already_grants_the_rights_means_nothing_is_written(lab):
    def someone_else_grants(dn, nth_read):
        if nth_read == 1:
            lab.directory.edit(dn, OUR_ACE)

    lab.directory.on_dacl_read = someone_else_grants
    result = run(lab)

    assert lab.directory.modifies == []
    assert result["changed"] is False and result["ous"][0]["aces_added"] == []


def test_a_dacl_that_changes_at_every_read_fails_after_bounded_re_plans_without_writing(lab):
    lab.directory.on_dacl_read = lambda dn, nth_read: lab.directory.edit(dn, f"(A;;RP;;;S-1-5-21-1-2-3-{1000 + nth_read})")

    error = failure(lab)

    assert "another tool is editing them" in error.message and f"({MAX_WRITE_ATTEMPTS} attempts)" in error.message
    assert error.changed is False and lab.directory.modifies == []
    assert lab.directory.dacl_reads[OU_A] == 1 + MAX_WRITE_ATTEMPTS


def test_a_version_that_jumps_by_more_than_our_one_write_fails_and_reports_the_write(lab):
    lab.directory.concurrent_writes_per_write = 1

    error = failure(lab)

    assert "Someone else wrote the permissions of " + repr(OU_A) in error.message
    assert "descriptor version 1 became 3, one write expected" in error.message
    assert OUR_ACE in error.message  # the explicit ACEs as they are now
    assert error.changed is True and error.reason is None


def test_a_later_ou_failing_still_reports_the_earlier_write(lab):
    lab.directory.on_dacl_read = lambda dn, nth_read: dn == OU_B and lab.directory.edit(dn, f"(A;;RP;;;S-1-5-21-9-{nth_read})")

    error = failure(lab, ou=[OU_A, OU_B])

    assert "another tool is editing them" in error.message and error.changed is True
    assert lab.directory.modifies == [OU_A]


# --- the connection breaks ----------------------------------------------------------------------------


@pytest.mark.parametrize("nth_search", [1, 2, 3, 4])
def test_lost_before_the_first_write_nothing_was_written(lab, nth_search):
    # Searches: principal, DACL, sDRightsEffective, quota (the root DSE came with the bind).
    lab.faults[("search", nth_search)] = "drop"

    error = failure(lab)

    assert (error.reason, error.changed) == ("connection_lost", False)
    assert "before anything was written" in error.message and "nothing was written" in error.message
    assert "LDAPSocketSendError" in error.message and "dc1.contoso.com:636" in error.message
    assert lab.directory.modifies == [] and len(lab.connections) == 1


@pytest.mark.parametrize("action, changed, fragment", [
    ("drop", False, "is not present: it was not written"),
    ("answer", True, "is present: it was written"),
    ("timeout", True, "is present: it was written"),
])
def test_lost_during_the_write_the_ou_is_read_again_over_a_new_connection(lab, action, changed, fragment):
    lab.faults[("modify", 1)] = action

    error = failure(lab)

    assert (error.reason, error.changed) == ("connection_lost", changed)
    assert f"while writing the permissions of {OU_A!r}" in error.message
    assert f"Read again over a new connection, the ACE {OUR_ACE} {fragment}." in error.message
    assert "Run the task again to finish" in error.message
    assert len(lab.connections) == 2 and lab.connections[1].counts == {"search": 1, "modify": 0}
    assert all(connection.unbound for connection in lab.connections)


def test_lost_while_removing_and_the_removal_went_through(lab):
    assert run(lab)["changed"] is True
    lab.faults[("modify", 1)] = "answer"

    error = failure(lab, state="absent")

    assert error.changed is True and "is gone: its removal was written" in error.message
    assert OUR_ACE not in explicit_sddl(lab.directory.dacl(OU_A))


def test_lost_during_the_write_and_the_dc_cannot_be_reached_again_the_outcome_is_unknown(lab):
    lab.faults[("modify", 1)] = "answer"
    lab.reconnect_fails = True

    error = failure(lab)

    assert error.reason == "connection_lost" and error.changed is True  # it may have been written
    assert f"unknown whether the ACE {OUR_ACE} was written to {OU_A!r}" in error.message
    assert "Connection refused" in error.message and "re-run the task, it is idempotent" in error.message


def test_lost_at_the_second_of_three_ous_says_which_were_written_and_which_not_attempted(lab):
    lab.faults[("modify", 2)] = "drop"

    error = failure(lab, ou=[OU_A, OU_B, OU_C])

    assert error.changed is True  # OU_A was written
    assert f"while writing the permissions of {OU_B!r}" in error.message and "it was not written" in error.message
    assert f"Written before it: {OU_A}." in error.message and f"Not attempted: {OU_C}." in error.message
    assert lab.directory.modifies == [OU_A]


def test_lost_at_the_read_right_before_the_write_is_read_again_and_found_not_written(lab):
    lab.faults[("search", 5)] = "drop"

    error = failure(lab)

    assert (error.reason, error.changed) == ("connection_lost", False)
    assert "it was not written" in error.message and lab.directory.modifies == []


def test_lost_at_the_check_read_after_the_write_reads_again_and_finds_it_written(lab):
    # Searches 1-5 read and plan; the 6th is the version check after the write.
    lab.faults[("search", 6)] = "drop"

    error = failure(lab)

    assert error.changed is True and "is present: it was written" in error.message
    assert lab.directory.modifies == [OU_A]
