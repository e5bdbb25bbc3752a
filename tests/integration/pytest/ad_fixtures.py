# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the Active Directory tests: one Samba AD lab per test run, shared by xdist workers.

Each run has its own state directory and its own loopback address (Samba's LDAP ports are fixed),
so two runs on one machine do not collide. Each test works in OUs of its own (made by
`ad.make_ou()`), so tests do not see each other's ACEs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import ssl
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

# xdist gives every worker of one run the same id; a run without xdist is one process.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
# The run's directory: its locks, and the lab's state directory under lab/ (which provisioning replaces).
RUN_DIR = Path(os.environ.get("TMPDIR") or "/tmp") / f"intune-autopilot-ad-tests-{RUN_ID}"
LAB_DIR = RUN_DIR / "lab"
START_LOCK = RUN_DIR / "start.lock"
USERS_LOCK = RUN_DIR / "users.lock"
# Tests that rely on msaODJ* discovery finding exactly one account hold this shared; the test that
# adds a second msaODJ account holds it exclusively.
DISCOVERY_LOCK = RUN_DIR / "discovery.lock"


def _samba_lab():
    from lab.ad import samba_lab  # pylint: disable=import-outside-toplevel

    return samba_lab


@pytest.fixture(scope="session")
def ad_lab():
    """The lab's connection details (dict, as `python -m lab.ad env` prints them).

    The first worker of the run provisions a fresh domain on a free loopback address; the others use
    it. Skips when Samba cannot be installed or cannot start here, except under CI=true, where that
    is a failure.
    """
    samba_lab = _samba_lab()
    paths = samba_lab.LabPaths(LAB_DIR)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    users = USERS_LOCK.open("a")
    with START_LOCK.open("a") as start_lock:
        fcntl.flock(start_lock, fcntl.LOCK_EX)
        try:
            try:
                samba_lab.install()
            except samba_lab.LabError as error:
                users.close()
                _unavailable(f"Samba cannot be installed here: {error}")
            try:
                if samba_lab.running_pid(paths) is None:
                    environment = samba_lab.ensure_running(paths, fresh=True, address=samba_lab.free_loopback_address())
                else:  # another worker of this run started it
                    environment = samba_lab.lab_environment(paths)
            except samba_lab.LabError as error:
                users.close()
                samba_lab.stop(paths)
                _unavailable(f"the Samba AD DC cannot be provisioned or started here: {error}")
            fcntl.flock(users, fcntl.LOCK_SH)
        finally:
            fcntl.flock(start_lock, fcntl.LOCK_UN)
    yield environment
    # The last worker to finish stops the DC and removes the run's directory; others still hold their shared lock.
    fcntl.flock(users, fcntl.LOCK_UN)
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass
    else:
        samba_lab.stop(paths)
        shutil.rmtree(RUN_DIR, ignore_errors=True)
    users.close()


def _unavailable(reason: str):
    """Skip the AD tests, or fail them under CI=true, where they must run (see the Makefile and README)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the AD tests, but {reason}", pytrace=False)
    pytest.skip(f"Samba AD lab unavailable: {reason}")


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
        from ansible_collections.intune.autopilot.plugins.module_utils._ad.directory import (  # pylint: disable=import-outside-toplevel
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


# protocolOp tags of the LDAP requests the modules send (RFC 4511), and of the answers that do not
# end an operation (search entries and references, intermediate responses).
LDAP_REQUESTS = {0x60: "bind", 0x42: "unbind", 0x63: "search", 0x66: "modify", 0x68: "add", 0x4A: "delete", 0x77: "extended"}
NOT_FINAL_ANSWERS = (0x64, 0x73, 0x79)


class LdapFaultProxy:
    """A proxy on the lab's loopback address between a module and the lab's LDAPS port that breaks the connection at one request.

    It ends TLS with the lab DC's own certificate (so the module validates it as it would the DC's)
    and relays one request and its answers at a time, so it knows each LDAP operation. On the
    first connection, at the `occurrence`-th request of kind `operation`:
      - "drop": the request never reaches the DC, and the connection is cut;
      - "answer": the DC carries the request out and answers, and the connection is cut before the
        answer reaches the module;
      - "stall": as "answer", but the connection stays open without an answer (for operation_timeout).
    The cut is a TCP reset with reset=True, else a plain close. Later connections (the module
    reconnecting) are relayed untouched, or refused with refuse_reconnect=True. Use it as a context
    manager; it stops at the end of the block, and by itself after LIFETIME seconds.
    """

    LIFETIME = 180
    SOCKET_TIMEOUT = 30

    def __init__(self, lab: dict, operation: str, occurrence: int = 1, action: str = "drop",
                 reset: bool = False, refuse_reconnect: bool = False):
        assert operation in LDAP_REQUESTS.values() and action in ("drop", "answer", "stall")
        self.lab = lab
        self.operation, self.occurrence, self.action = operation, occurrence, action
        self.reset, self.refuse_reconnect = reset, refuse_reconnect
        self.fired = threading.Event()
        # The operations seen on each connection, in order, so a test can tell what the module sent.
        self.operations: list[list[str]] = []
        self.port = 0
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self):
        tls_dir = _samba_lab().LabPaths(Path(self.lab["state_dir"])).tls_dir
        self._server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_tls.load_cert_chain(tls_dir / "cert.pem", tls_dir / "key.pem")
        self._dc_tls = ssl.create_default_context(cafile=self.lab["ca_path"])
        # On the lab's address, so that the module connects by the same name, which the certificate holds.
        self._listener = socket.create_server((self.lab["address"], 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept_until_stopped)
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._listener.close()
        for sock in list(self._sockets):
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_until_stopped(self):
        deadline = time.monotonic() + self.LIFETIME
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                client, _address = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:  # closed: the test is over, or reconnects are refused
                return
            self.operations.append([])
            self._spawn(self._relay, client, len(self.operations) == 1, self.operations[-1])

    def _relay(self, client_tcp, faulty, seen):
        client_tcp.settimeout(self.SOCKET_TIMEOUT)
        own = [client_tcp]
        self._sockets.append(client_tcp)
        try:
            client = self._server_tls.wrap_socket(client_tcp, server_side=True)
            dc_tcp = socket.create_connection((self.lab["address"], self.lab["ldaps_port"]), timeout=self.SOCKET_TIMEOUT)
            own.append(dc_tcp)
            self._sockets.append(dc_tcp)
            dc = self._dc_tls.wrap_socket(dc_tcp, server_hostname=self.lab["host"])
            own += [client, dc]
            self._sockets += [client, dc]
            requests, answers = _LdapMessages(client), _LdapMessages(dc)
            while not self._stop.is_set():
                request = requests.next()
                if request is None:
                    return
                seen.append(LDAP_REQUESTS.get(_protocol_op(request), "other"))
                fire = faulty and seen[-1] == self.operation and seen.count(self.operation) == self.occurrence
                if fire and self.action == "drop":
                    return self._cut(client)
                dc.sendall(request)
                if seen[-1] == "unbind":
                    return
                answer = b""
                while True:
                    message = answers.next()
                    if message is None:
                        return
                    answer += message
                    if _protocol_op(message) not in NOT_FINAL_ANSWERS:
                        break
                if fire and self.action == "answer":
                    return self._cut(client)
                if fire:  # stall: silent until the module gives up and closes, or the socket times out
                    self.fired.set()
                    requests.next()
                    return
                client.sendall(answer)
        except OSError:
            return  # the module or the test closed its end; nothing left to relay
        finally:
            for sock in own:
                sock.close()

    def _cut(self, client):
        self.fired.set()
        if self.refuse_reconnect:
            # shutdown stops listening at once; close alone waits for the blocked accept() to return.
            self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        if self.reset:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()


class _LdapMessages:
    """Whole BER-encoded LDAP messages read from a socket, one at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def next(self) -> bytes | None:
        """The next message, or None when the other side closed."""
        while True:
            size = _message_size(self.buffer)
            if size is not None and len(self.buffer) >= size:
                message, self.buffer = self.buffer[:size], self.buffer[size:]
                return message
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data


def _message_size(buffer: bytes) -> int | None:
    if len(buffer) < 2:
        return None
    if buffer[1] < 0x80:
        return 2 + buffer[1]
    count = buffer[1] & 0x7F
    if len(buffer) < 2 + count:
        return None
    return 2 + count + int.from_bytes(buffer[2:2 + count], "big")


def _protocol_op(message: bytes) -> int:
    """The protocolOp tag of an LDAPMessage: SEQUENCE { messageID INTEGER, protocolOp, ... }."""
    position = 2 + (message[1] & 0x7F if message[1] & 0x80 else 0)
    message_id_length = message[position + 1]
    return message[position + 2 + message_id_length]
