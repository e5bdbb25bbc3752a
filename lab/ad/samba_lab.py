"""A throwaway Samba AD domain controller on loopback, for tests and demos of the AD steps.

Everything lives in one state directory (default /tmp/intune-autopilot-ad-lab, or $AD_LAB_DIR): the
provisioned domain, the lab's TLS CA, the PID of the running DC, the address it listens on and a JSON
file with the connection details and seeded objects.

Listeners bind to one loopback address only, 127.0.0.1 unless another 127.x.y.z is given at
provisioning. Samba 4.17 has no setting for its LDAP ports (389, 636 and the global catalog's 3268,
3269 are compiled in; smb.conf only has "cldap port", "krb5 port", "kpasswd port", "smb ports" and the
like), so two labs on one machine are kept apart by giving each its own address, not its own ports.
See lab/ad/README.md.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_STATE_DIR = Path(os.environ.get("AD_LAB_DIR", "/tmp/intune-autopilot-ad-lab"))

SAMBA_PACKAGES = (
    "samba",
    "samba-ad-provision",
    "samba-dsdb-modules",
    "samba-vfs-modules",
    "winbind",
    "ldb-tools",
)
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")

DEFAULT_ADDRESS = "127.0.0.1"
# Clients of the default address connect to "localhost", the name in its certificate.
DEFAULT_CLIENT_HOST = "localhost"
# Fixed in Samba (no smb.conf option changes them); other services of the DC bind more fixed ports.
LDAP_PORT = 389
LDAPS_PORT = 636
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
# free_loopback_address picks from here, away from 127.0.0.1 and the 127.0.1.1 Debian gives the host name.
FREE_ADDRESS_RANGE = ipaddress.ip_network("127.64.0.0/10")
REALM = "AUTOPILOT.TEST"
NETBIOS_DOMAIN = "AUTOPILOT"
BASE_DN = "DC=autopilot,DC=test"
# Throwaway lab secrets: the DC listens on loopback only and is deleted with its directory.
ADMIN_PASSWORD = "Lab-Admin-Pass-1!"
CONNECTOR_PASSWORD = "Lab-Connector-Pass-1!"
MSA_PASSWORD = "Lab-Msa-Pass-1!"
DELEGATE_PASSWORD = "Lab-Delegate-Pass-1!"

AUTOPILOT_OU = f"OU=Autopilot,{BASE_DN}"
OTHER_OU = f"OU=Other,{BASE_DN}"
CONNECTOR_NAME = "CONNECTOR01"
MSA_NAME = "msaODJ00001"
DELEGATE_NAME = "ou-delegator"

STARTUP_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20
# userAccountControl values: WORKSTATION_TRUST_ACCOUNT, NORMAL_ACCOUNT
UAC_WORKSTATION = 0x1000
UAC_NORMAL_USER = 0x200


class LabError(RuntimeError):
    """The lab could not be installed, provisioned, started or stopped; the message says why."""


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @property
    def smb_conf(self) -> Path:
        return self.root / "etc" / "smb.conf"

    @property
    def pid_file(self) -> Path:
        return self.root / "samba.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "samba.log"

    @property
    def env_file(self) -> Path:
        return self.root / "lab-env.json"

    @property
    def settings_file(self) -> Path:
        """What provisioning chose (the address), kept for start, env and stop."""
        return self.root / "lab-settings.json"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"


def validate_address(address: str) -> str:
    """address as a loopback IPv4 address string, or LabError saying why it cannot be one."""
    try:
        parsed = ipaddress.IPv4Address(address)
    except ValueError:
        raise LabError(f"Address {address!r} is not an IPv4 address; give one in 127.0.0.0/8, like 127.0.0.1.") from None
    if parsed not in LOOPBACK or parsed in (LOOPBACK.network_address, LOOPBACK.broadcast_address):
        raise LabError(f"Address {address} is not a loopback host address; give one in 127.0.0.1 to 127.255.255.254.")
    return str(parsed)


def client_host(address: str) -> str:
    """The name clients connect to: it must be in the DC certificate's DNS names, as ldap3 ignores IP SANs."""
    return DEFAULT_CLIENT_HOST if address == DEFAULT_ADDRESS else address


def lab_address(paths: LabPaths) -> str:
    """The address this lab was provisioned with (127.0.0.1 for labs from before it was a choice)."""
    try:
        return json.loads(paths.settings_file.read_text())["address"]
    except FileNotFoundError:
        return DEFAULT_ADDRESS


def free_loopback_address(attempts: int = 50) -> str:
    """A random address in FREE_ADDRESS_RANGE on which nothing answers on the LDAP ports.

    Two labs picking at the same moment would have to pick the same of four million addresses.
    """
    for _attempt in range(attempts):
        offset = random.randrange(1, FREE_ADDRESS_RANGE.num_addresses - 1)
        address = str(FREE_ADDRESS_RANGE.network_address + offset)
        if not any(_port_open(address, port) for port in (LDAP_PORT, LDAPS_PORT)):
            return address
    raise LabError(f"Found no free loopback address in {FREE_ADDRESS_RANGE} after {attempts} attempts.")


def samba_installed() -> bool:
    return shutil.which("samba") is not None and shutil.which("samba-tool") is not None


def install() -> None:
    """Install Samba from Debian's packages unless it is already there."""
    if samba_installed():
        return
    if os.geteuid() != 0:
        raise LabError("Samba is not installed and installing it needs root (apt-get).")
    if shutil.which("apt-get") is None:
        raise LabError("Samba is not installed and this machine has no apt-get to install it.")
    previous_policy = POLICY_RC_D.read_bytes() if POLICY_RC_D.exists() else None
    # Without this, the package scripts start the system Samba on every interface.
    POLICY_RC_D.write_text("#!/bin/sh\nexit 101\n")
    POLICY_RC_D.chmod(0o755)
    try:
        apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        _run(["apt-get", "update", "-q"], env=apt_env)
        _run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *SAMBA_PACKAGES],
            env=apt_env,
        )
    finally:
        if previous_policy is None:
            POLICY_RC_D.unlink()
        else:
            POLICY_RC_D.write_bytes(previous_policy)
    if not samba_installed():
        raise LabError("apt-get finished but the samba and samba-tool commands are still missing.")


def provision(paths: LabPaths, address: str = DEFAULT_ADDRESS) -> None:
    """Create a fresh domain in paths.root listening on address, replacing whatever was there."""
    address = validate_address(address)
    if running_pid(paths) is not None:
        raise LabError(f"A lab DC is running from {paths.root}; stop it before provisioning again.")
    shutil.rmtree(paths.root, ignore_errors=True)
    # Samba creates the other directories itself, with the permissions it insists on.
    (paths.root / "log").mkdir(parents=True)
    write_tls_files(paths, address)
    # An empty configuration keeps provision from copying the machine's DNS forwarder and shares.
    empty_conf = paths.root / "empty-smb.conf"
    empty_conf.write_text("")
    paths.smb_conf.unlink(missing_ok=True)
    root = paths.root
    options = {
        # Any 127.x address is on lo; "/8" lets Samba take one that lo does not list by itself.
        "interfaces": f"{address}/8",
        "bind interfaces only": "yes",
        "server services": "-dns -nbt -dnsupdate",
        "dns forwarder": address,
        "pid directory": root / "pid",
        "ncalrpc dir": root / "ncalrpc",
        "winbindd socket directory": root / "winbindd",
        "ntp signd socket directory": root / "ntp_signd",
        "log file": root / "log" / "samba.%m.log",
        "tls enabled": "yes",
        "tls cafile": paths.ca_file,
        "tls certfile": paths.tls_dir / "cert.pem",
        "tls keyfile": paths.tls_dir / "key.pem",
    }
    command = [
        "samba-tool", "domain", "provision",
        "-s", str(empty_conf),
        f"--targetdir={root}",
        f"--realm={REALM}",
        f"--domain={NETBIOS_DOMAIN}",
        f"--adminpass={ADMIN_PASSWORD}",
        "--server-role=dc",
        "--dns-backend=SAMBA_INTERNAL",
        "--use-rfc2307",
        "--host-name=dc1",
        f"--host-ip={address}",
    ]
    command += [f"--option={name}={value}" for name, value in options.items()]
    _run(command)
    paths.settings_file.write_text(json.dumps({"address": address}))


def write_tls_files(paths: LabPaths, address: str = DEFAULT_ADDRESS) -> None:
    """A lab CA and a server certificate for dc1, the client host name and the address.

    Samba's self-generated certificate lacks the Authority Key Identifier that Python 3.13's strict
    X.509 verification requires, so LDAPS validation against it would fail for the wrong reason.
    """
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    validity = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=365))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{REALM} lab CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    host_name = f"dc1.{REALM.lower()}"
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            # ldap3 matches host names itself and ignores IP SANs, so clients connect to "localhost",
            # or to another address by that address written as a DNS name.
            x509.SubjectAlternativeName(
                [x509.DNSName(host_name), x509.DNSName(client_host(address)), x509.IPAddress(ipaddress.ip_address(address))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths.tls_dir.mkdir(parents=True, exist_ok=True)
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (paths.tls_dir / "cert.pem").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_file = paths.tls_dir / "key.pem"
    key_file.touch(mode=0o600)  # Samba refuses a key file that others can read
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )


def running_pid(paths: LabPaths) -> int | None:
    """The PID of this lab's Samba if it is alive, else None."""
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    # A recycled PID would belong to another program; only trust a samba process.
    try:
        process_name = Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return None
    return pid if process_name == "samba" else None


def start_dc(paths: LabPaths) -> int:
    """Start Samba in the background and wait until LDAP and LDAPS answer."""
    pid = running_pid(paths)
    if pid is not None:
        return pid
    address = lab_address(paths)
    for port in (LDAP_PORT, LDAPS_PORT):
        if _port_open(address, port):
            raise LabError(
                f"Port {port} on {address} is already in use by another program; stop the other directory server "
                "(or the other lab), or provision this lab on another loopback address (start --fresh --address 127.x.y.z)."
            )
    log = paths.log_file.open("ab")
    process = subprocess.Popen(
        ["samba", "-s", str(paths.smb_conf), "-F", "--no-process-group", "-M", "single"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # outlive the command that started it, e.g. `python -m lab.ad start`
    )
    log.close()
    paths.pid_file.write_text(str(process.pid))
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabError(f"samba exited with status {process.returncode}; see {paths.log_file}")
        if _port_open(address, LDAP_PORT) and _port_open(address, LDAPS_PORT) and paths.ca_file.exists():
            return process.pid
        time.sleep(0.1)
    stop(paths)
    raise LabError(f"samba did not open {address}:{LDAP_PORT}/{LDAPS_PORT} in {STARTUP_TIMEOUT_SECONDS} s; see {paths.log_file}")


def stop(paths: LabPaths) -> bool:
    """Stop this lab's Samba by its PID; True when one was running."""
    pid = running_pid(paths)
    if pid is None:
        paths.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and running_pid(paths) is not None:
        time.sleep(0.1)
    if running_pid(paths) is not None:
        os.kill(pid, signal.SIGKILL)
    paths.pid_file.unlink(missing_ok=True)
    return True


def lab_environment(paths: LabPaths) -> dict:
    """Connection details and seeded names, as printed by `python -m lab.ad env`."""
    address = lab_address(paths)
    return {
        "host": client_host(address),
        "address": address,
        "ldap_port": LDAP_PORT,
        "ldaps_port": LDAPS_PORT,
        "ca_path": str(paths.ca_file),
        "base_dn": BASE_DN,
        "realm": REALM,
        "netbios_domain": NETBIOS_DOMAIN,
        "admin_dn": f"CN=Administrator,CN=Users,{BASE_DN}",
        "admin_user": f"Administrator@{REALM.lower()}",
        "admin_password": ADMIN_PASSWORD,
        "autopilot_ou": AUTOPILOT_OU,
        "other_ou": OTHER_OU,
        "connector_computer": {
            "sam_account_name": f"{CONNECTOR_NAME}$",
            "dn": f"CN={CONNECTOR_NAME},CN=Computers,{BASE_DN}",
            "password": CONNECTOR_PASSWORD,
        },
        "msa": {
            "sam_account_name": f"{MSA_NAME}$",
            "dn": f"CN={MSA_NAME},CN=Managed Service Accounts,{BASE_DN}",
            "password": MSA_PASSWORD,
        },
        "delegate_user": {
            "sam_account_name": DELEGATE_NAME,
            "dn": f"CN={DELEGATE_NAME},CN=Users,{BASE_DN}",
            "password": DELEGATE_PASSWORD,
            "can_change_permissions_on": AUTOPILOT_OU,
        },
        "state_dir": str(paths.root),
        "pid": running_pid(paths),
    }


def seed(paths: LabPaths) -> None:
    """Create the OUs and accounts that the tests and the demo use."""
    env = lab_environment(paths)
    connection = admin_connection(paths)
    with connection:
        for ou in (AUTOPILOT_OU, OTHER_OU):
            _add(connection, ou, ["top", "organizationalUnit"], {})
        connector = env["connector_computer"]
        _add(
            connection,
            connector["dn"],
            ["top", "person", "organizationalPerson", "user", "computer"],
            {
                "sAMAccountName": connector["sam_account_name"],
                "userAccountControl": str(UAC_WORKSTATION),
                "dNSHostName": f"{CONNECTOR_NAME.lower()}.{REALM.lower()}",
                "unicodePwd": _unicode_password(CONNECTOR_PASSWORD),
            },
        )
        msa = env["msa"]
        _add(
            connection,
            msa["dn"],
            ["top", "person", "organizationalPerson", "user", "computer", "msDS-ManagedServiceAccount"],
            {
                "sAMAccountName": msa["sam_account_name"],
                "userAccountControl": str(UAC_WORKSTATION),
                "unicodePwd": _unicode_password(MSA_PASSWORD),
            },
        )
        delegate = env["delegate_user"]
        _add(
            connection,
            delegate["dn"],
            ["top", "person", "organizationalPerson", "user"],
            {
                "sAMAccountName": delegate["sam_account_name"],
                "userAccountControl": str(UAC_NORMAL_USER),
                "unicodePwd": _unicode_password(DELEGATE_PASSWORD),
            },
        )
        grant_change_permissions(connection, AUTOPILOT_OU, delegate["dn"])


def grant_change_permissions(connection, ou_dn: str, trustee_dn: str) -> None:
    """Give trustee_dn read and WRITE_DAC on ou_dn itself (what a delegated OU admin has).

    Built by hand rather than with the collection's code, so the lab does not depend on what it tests.
    """
    from ldap3 import MODIFY_REPLACE
    from ldap3.protocol.microsoft import security_descriptor_control

    controls = security_descriptor_control(sdflags=0x04)
    connection.search(trustee_dn, "(objectClass=*)", search_scope="BASE", attributes=["objectSid"])
    trustee_sid = connection.response[0]["raw_attributes"]["objectSid"][0]
    connection.search(ou_dn, "(objectClass=*)", search_scope="BASE", attributes=["nTSecurityDescriptor"], controls=controls)
    descriptor = connection.response[0]["raw_attributes"]["nTSecurityDescriptor"][0]
    mask = 0x00020000 | 0x00040000 | 0x10 | 0x4 | 0x80  # READ_CONTROL, WRITE_DAC, RP, LC, LO
    ace_body = mask.to_bytes(4, "little") + trustee_sid
    ace = bytes([0x00, 0x00]) + (4 + len(ace_body)).to_bytes(2, "little") + ace_body
    connection.modify(ou_dn, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [_prepend_ace(descriptor, ace)])]}, controls=controls)
    if connection.result["result"] != 0:
        raise LabError(f"Could not delegate permissions on {ou_dn}: {connection.result}")


def _prepend_ace(descriptor: bytes, ace: bytes) -> bytes:
    """Put an explicit allow ACE first in the DACL of a self-relative descriptor that holds only a DACL.

    Allow-before-deny is not canonical in general, but the lab's fresh OUs have no explicit deny.
    """
    dacl_offset = int.from_bytes(descriptor[16:20], "little")
    acl = descriptor[dacl_offset:]
    acl_size = int.from_bytes(acl[2:4], "little")
    ace_count = int.from_bytes(acl[4:6], "little")
    new_acl = acl[0:2] + (acl_size + len(ace)).to_bytes(2, "little") + (ace_count + 1).to_bytes(2, "little") + acl[6:8] + ace + acl[8:acl_size]
    return descriptor[:dacl_offset] + new_acl


def admin_connection(paths: LabPaths):
    """A bound ldap3 connection as the domain Administrator over LDAPS (validated against the lab CA)."""
    import ssl

    import ldap3

    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(paths.ca_file))
    server = ldap3.Server(client_host(lab_address(paths)), port=LDAPS_PORT, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    connection = ldap3.Connection(
        server,
        user=f"CN=Administrator,CN=Users,{BASE_DN}",
        password=ADMIN_PASSWORD,
        raise_exceptions=False,
    )
    if not connection.bind():
        raise LabError(f"Administrator bind to the lab failed: {connection.result}")
    return connection


def ensure_running(paths: LabPaths, fresh: bool = False, address: str | None = None) -> dict:
    """Install, provision, start and seed as needed; return the lab environment.

    address is where a newly provisioned lab listens (default 127.0.0.1); an existing lab keeps its
    own, and asking for another one without fresh is an error.
    """
    if address is not None:
        address = validate_address(address)
        if not fresh and paths.smb_conf.exists() and lab_address(paths) != address:
            raise LabError(
                f"The lab in {paths.root} listens on {lab_address(paths)}, not {address}; "
                "add --fresh (fresh=True) to provision it again on the new address."
            )
    install()
    if fresh:
        stop(paths)
    if fresh or not paths.smb_conf.exists():
        provision(paths, address or lab_address(paths))
    start_dc(paths)
    environment = lab_environment(paths)
    if not paths.env_file.exists():
        seed(paths)
        paths.env_file.write_text(json.dumps(environment, indent=2))
    return lab_environment(paths)


def _add(connection, dn: str, object_class: list[str], attributes: dict) -> None:
    connection.add(dn, object_class, attributes)
    if connection.result["result"] != 0:
        raise LabError(f"Could not create {dn}: {connection.result['description']} {connection.result['message']}")


def _unicode_password(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


def _port_open(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((address, port)) == 0


def _run(command: list[str], env: dict | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise LabError(f"{command[0]} {command[1]} failed with status {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
