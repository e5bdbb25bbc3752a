# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the Active Directory tests: one Samba AD lab per test run, shared by xdist workers.

Each test works in OUs of its own (made by `ad.make_ou()`), so tests do not see each other's ACEs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

LAB_DIR = Path("/tmp/intune-autopilot-ad-lab-tests")
START_LOCK = Path("/tmp/intune-autopilot-ad-lab-tests.start.lock")
USERS_LOCK = Path("/tmp/intune-autopilot-ad-lab-tests.users.lock")
# Tests that rely on msaODJ* discovery finding exactly one account hold this shared; the test that
# adds a second msaODJ account holds it exclusively.
DISCOVERY_LOCK = Path("/tmp/intune-autopilot-ad-lab-tests.discovery.lock")


def _samba_lab():
    from lab.ad import samba_lab  # pylint: disable=import-outside-toplevel

    return samba_lab


@pytest.fixture(scope="session")
def ad_lab():
    """The lab's connection details (dict, as `python -m lab.ad env` prints them).

    Skips when Samba cannot be installed here, except under CI=true, where that is a failure.
    """
    samba_lab = _samba_lab()
    paths = samba_lab.LabPaths(LAB_DIR)
    users = USERS_LOCK.open("a")
    with START_LOCK.open("a") as start_lock:
        fcntl.flock(start_lock, fcntl.LOCK_EX)
        try:
            try:
                samba_lab.install()
            except samba_lab.LabError as error:
                if os.environ.get("CI") == "true":
                    pytest.fail(f"CI must run the AD tests but Samba cannot be installed: {error}")
                pytest.skip(f"Samba AD lab unavailable (Samba cannot be installed here): {error}")
            # A lab left from an earlier run may hold extra msaODJ accounts; start from a fresh domain.
            environment = samba_lab.ensure_running(paths, fresh=samba_lab.running_pid(paths) is None)
            fcntl.flock(users, fcntl.LOCK_SH)
        finally:
            fcntl.flock(start_lock, fcntl.LOCK_UN)
    yield environment
    # The last worker to finish stops the DC; others still hold their shared lock.
    fcntl.flock(users, fcntl.LOCK_UN)
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass
    else:
        samba_lab.stop(paths)
    users.close()


@dataclass
class AdHelper:
    """Admin access to the lab for setting up and checking what a test's module run did."""

    lab: dict

    def connect(self, user_dn: str, password: str):
        import ldap3  # pylint: disable=import-outside-toplevel

        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.lab["ca_path"])
        server = ldap3.Server(self.lab["host"], port=self.lab["ldaps_port"], use_ssl=True, tls=tls, get_info=ldap3.NONE)
        connection = ldap3.Connection(server, user=user_dn, password=password, raise_exceptions=False)
        assert connection.bind(), connection.result
        return connection

    @property
    def admin(self):
        if not hasattr(self, "_admin"):
            self._admin = self.connect(self.lab["admin_dn"], self.lab["admin_password"])
        return self._admin

    def make_ou(self, delegate_can_change_permissions: bool = True) -> str:
        """A fresh OU for this test; the lab's non-admin bind user may change its permissions."""
        dn = f"OU=t-{uuid.uuid4().hex[:12]},{self.lab['base_dn']}"
        self.admin.add(dn, ["top", "organizationalUnit"])
        assert self.admin.result["result"] == 0, self.admin.result
        if delegate_can_change_permissions:
            _samba_lab().grant_change_permissions(self.admin, dn, self.lab["delegate_user"]["dn"])
        return dn

    def raw_descriptor(self, dn: str) -> bytes:
        from ldap3.protocol.microsoft import security_descriptor_control  # pylint: disable=import-outside-toplevel

        self.admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["nTSecurityDescriptor"],
                          controls=security_descriptor_control(sdflags=0x04))
        return self.admin.response[0]["raw_attributes"]["nTSecurityDescriptor"][0]

    def write_descriptor(self, dn: str, descriptor: bytes) -> None:
        from ldap3 import MODIFY_REPLACE  # pylint: disable=import-outside-toplevel
        from ldap3.protocol.microsoft import security_descriptor_control  # pylint: disable=import-outside-toplevel

        self.admin.modify(dn, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [descriptor])]},
                          controls=security_descriptor_control(sdflags=0x04))
        assert self.admin.result["result"] == 0, self.admin.result

    def descriptor_version(self, dn: str) -> int:
        """nTSecurityDescriptor's version in replPropertyMetaData: it goes up by one with each write of the DACL."""
        from ansible_collections.intune.autopilot.plugins.module_utils.ad_directory import (  # pylint: disable=import-outside-toplevel
            descriptor_version,
        )

        self.admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["replPropertyMetaData"])
        return descriptor_version(self.admin.response[0]["raw_attributes"]["replPropertyMetaData"][0])

    def usn_changed(self, dn: str) -> int:
        self.admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["uSNChanged"])
        return int(self.admin.response[0]["raw_attributes"]["uSNChanged"][0])

    def sid_of(self, dn: str) -> str:
        from winacl.dtyp.sid import SID  # pylint: disable=import-outside-toplevel

        self.admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["objectSid"])
        return str(SID.from_bytes(self.admin.response[0]["raw_attributes"]["objectSid"][0]))

    def create_computer_as(self, user_dn: str, password: str, ou: str) -> str:
        """Try to create a computer object in ou as user_dn; return the LDAP result description."""
        name = f"PC{uuid.uuid4().hex[:10].upper()}"
        connection = self.connect(user_dn, password)
        connection.add(f"CN={name},{ou}", ["top", "person", "organizationalPerson", "user", "computer"],
                       {"sAMAccountName": f"{name}$", "userAccountControl": "4096"})
        description = connection.result["description"]
        connection.unbind()
        return description

    def add_managed_service_account(self, name: str) -> str:
        dn = f"CN={name},CN=Managed Service Accounts,{self.lab['base_dn']}"
        self.admin.add(dn, ["top", "person", "organizationalPerson", "user", "computer", "msDS-ManagedServiceAccount"],
                       {"sAMAccountName": f"{name}$", "userAccountControl": "4096"})
        assert self.admin.result["result"] == 0, self.admin.result
        return dn

    def delete(self, dn: str) -> None:
        self.admin.delete(dn)

    def module_args(self, **overrides) -> dict:
        """ou_account_limit options binding as the lab's non-admin delegate over validated LDAPS."""
        args = dict(
            server=[self.lab["host"]],
            ca_path=self.lab["ca_path"],
            username=self.lab["delegate_user"]["dn"],
            password=self.lab["delegate_user"]["password"],
        )
        args.update(overrides)
        return args


@pytest.fixture
def ad(ad_lab):
    helper = AdHelper(ad_lab)
    yield helper
    if hasattr(helper, "_admin"):
        helper.admin.unbind()


@contextlib.contextmanager
def _discovery_lock(mode):
    with DISCOVERY_LOCK.open("a") as handle:
        fcntl.flock(handle, mode)
        yield


@pytest.fixture
def single_connector_msa(ad_lab):
    """Hold off the test that adds a second msaODJ account while this test relies on discovery."""
    with _discovery_lock(fcntl.LOCK_SH):
        yield ad_lab["msa"]


@pytest.fixture
def exclusive_msa_discovery(ad_lab):
    """No discovery-based test runs meanwhile: this test may add msaODJ accounts."""
    with _discovery_lock(fcntl.LOCK_EX):
        yield
