# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connecting and binding to Active Directory over TLS with ldap3, shared by the LDAP modules.

Bind failures are sorted into reasons a user can act on (certificate, stronger authentication
required, wrong credentials, server unreachable) instead of ldap3's raw exceptions.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import time

try:
    import ldap3
    from ldap3.core import exceptions as ldap3_exceptions
except ImportError as import_error:
    HAS_LDAP3 = False
    LDAP3_IMPORT_ERROR: ImportError | None = import_error
else:
    HAS_LDAP3 = True
    LDAP3_IMPORT_ERROR = None

# What ldap3 raises when an open connection breaks or an answer does not come within operation_timeout.
CONNECTION_LOST_ERRORS: tuple[type[Exception], ...] = (
    (ldap3_exceptions.LDAPCommunicationError, ldap3_exceptions.LDAPResponseTimeoutError) if HAS_LDAP3 else ()
)

DEFAULT_PORTS = {"ldaps": 636, "start_tls": 389}
LDAP_INVALID_CREDENTIALS = 49
LDAP_STRONGER_AUTH_REQUIRED = 8
LDAP_CONFIDENTIALITY_REQUIRED = 13

LDAP_CONNECTION_ARGUMENT_SPEC = dict(
    server=dict(type="list", elements="str", required=True),
    port=dict(type="int"),
    tls_mode=dict(type="str", choices=["ldaps", "start_tls"], default="ldaps"),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    auth=dict(type="str", choices=["simple", "kerberos", "ntlm"], default="simple"),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    connect_timeout=dict(type="int", default=10),
    operation_timeout=dict(type="int", default=60),
)


class LdapConnectionError(Exception):
    """Connecting or binding failed; reason is one of the REASONS keys, message says what to fix."""

    REASONS = ("tls", "stronger_auth_required", "invalid_credentials", "unreachable", "bind_failed", "bad_options",
               "missing_dependency")

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def validate_connection_options(params: dict) -> None:
    """Reject option combinations that cannot work, before any network traffic."""
    auth = params["auth"]
    if auth in ("simple", "ntlm") and not (params.get("username") and params.get("password")):
        raise LdapConnectionError(
            "bad_options", f"auth={auth} needs both username and password (or use auth=kerberos with a ticket from kinit)."
        )
    if auth == "kerberos" and params.get("password"):
        raise LdapConnectionError(
            "bad_options", "auth=kerberos uses the Kerberos ticket cache (run kinit first); remove password."
        )
    if auth == "ntlm" and "\\" not in (params.get("username") or ""):
        raise LdapConnectionError("bad_options", "auth=ntlm needs username as DOMAIN\\user.")
    if params.get("ca_path") and not params["validate_certs"]:
        raise LdapConnectionError(
            "bad_options", "ca_path is only used to validate certificates; remove it or set validate_certs=true."
        )
    if not [name for name in params["server"] if name.strip()]:
        raise LdapConnectionError("bad_options", "server needs at least one domain controller host name.")
    port = params.get("port")
    if port is not None and not 1 <= port <= 65535:
        raise LdapConnectionError(
            "bad_options", f"port {port} is not a TCP port; give 1 to 65535, or leave port unset for 636 (ldaps) or 389 (start_tls)."
        )
    for name in ("connect_timeout", "operation_timeout"):
        # In ldap3 a connect_timeout of 0 or None waits forever, an operation_timeout of 0 makes every
        # read fail at once (non-blocking socket) and a negative one raises a ValueError mid-connect.
        if params.get(name) is None or params[name] <= 0:
            raise LdapConnectionError("bad_options", f"{name} is {params.get(name)}; give a positive number of seconds.")


# What to install for each optional authentication, named in the error (meta/ee-bindep.txt and
# meta/ee-requirements.txt declare the same for execution environments).
KERBEROS_INSTALL_HINT = (
    "pip install gssapi on the host that runs the module; it has no wheel for Linux and builds with gcc and the "
    "Kerberos headers (libkrb5-dev on Debian/Ubuntu, krb5-devel on RHEL/Fedora). In an execution environment add "
    "meta/ee-requirements.txt and meta/ee-bindep.txt of this collection."
)
NTLM_INSTALL_HINT = (
    "pip install pycryptodome on the host that runs the module (ldap3 falls back to it), or enable OpenSSL's legacy "
    "provider. In an execution environment add meta/ee-requirements.txt of this collection."
)
# ldap3's NTLM takes a password of the form LMHASH:NTHASH (32 hex digits each) as the NT hash itself.
_HASH_PAIR_LENGTHS = (32, 32)


def md4_available() -> bool:
    """Whether ldap3's NTLM can hash a password: it tries hashlib's MD4, then pycryptodome's."""
    try:
        hashlib.new("md4", b"")
        return True
    except ValueError:  # OpenSSL 3 without the legacy provider
        pass
    try:
        from Crypto.Hash import MD4  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return False
    return True


def check_auth_dependencies(params: dict) -> None:
    """Fail with what to install, before any connection, when auth needs a library this Python lacks.

    ldap3 imports gssapi only while binding and hashes the NTLM password with MD4 only then; without
    them the bind would end in an ImportError or a ValueError traceback.
    """
    if params["auth"] == "kerberos":
        try:
            import gssapi  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
        except ImportError:
            raise LdapConnectionError(
                "missing_dependency", "auth=kerberos needs the Python package gssapi: " + KERBEROS_INSTALL_HINT
            ) from None
    if params["auth"] == "ntlm" and not _is_hash_pair(params.get("password") or "") and not md4_available():
        raise LdapConnectionError(
            "missing_dependency",
            "auth=ntlm needs the MD4 hash, which this Python's OpenSSL does not provide: " + NTLM_INSTALL_HINT,
        )


def _is_hash_pair(password: str) -> bool:
    return tuple(len(part) for part in password.split(":")) == _HASH_PAIR_LENGTHS


def connect(params: dict):
    """Bind to the first server in params['server'] that answers; return the bound ldap3 Connection.

    Servers are tried in order only while they are unreachable or fail TLS: a credential or
    authentication refusal is the same on every DC of a domain, so it ends the attempt at once.
    """
    validate_connection_options(params)
    check_auth_dependencies(params)
    failures = []
    for host in (name.strip() for name in params["server"] if name.strip()):
        try:
            return _bind(host, params)
        except LdapConnectionError as error:
            failures.append((host, error))
            if error.reason not in ("unreachable", "tls"):
                break
    if len(failures) == 1:
        raise failures[0][1]
    reasons = {error.reason for _host, error in failures}
    reason = failures[-1][1].reason if len(reasons) > 1 else reasons.pop()
    raise LdapConnectionError(reason, "No domain controller could be used: " + "; ".join(
        f"{host}: {error.message}" for host, error in failures))


def _bind(host: str, params: dict):
    port = params.get("port") or DEFAULT_PORTS[params["tls_mode"]]
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED if params["validate_certs"] else ssl.CERT_NONE,
        ca_certs_file=params.get("ca_path"),
    )
    server = ldap3.Server(
        host,
        port=port,
        use_ssl=params["tls_mode"] == "ldaps",
        tls=tls,
        get_info=ldap3.DSA,
        connect_timeout=params["connect_timeout"],
    )
    connection_options = dict(receive_timeout=params["operation_timeout"], raise_exceptions=False)
    if params["auth"] == "kerberos":
        connection_options.update(authentication=ldap3.SASL, sasl_mechanism=ldap3.KERBEROS)
    elif params["auth"] == "ntlm":
        connection_options.update(authentication=ldap3.NTLM, user=params["username"], password=params["password"])
    else:
        connection_options.update(authentication=ldap3.SIMPLE, user=params["username"], password=params["password"])
    connection = ldap3.Connection(server, **connection_options)
    _bound_each_answer(connection, params["operation_timeout"])
    where = f"{host}:{port} ({params['tls_mode']})"
    try:
        connection.open(read_server_info=False)
        if params["tls_mode"] == "start_tls" and not connection.start_tls(read_server_info=False):
            raise LdapConnectionError("tls", f"StartTLS was refused by {where}: {connection.result.get('message')}")
        bound = connection.bind(read_server_info=True)
    except LdapConnectionError:
        connection.unbind()
        raise
    except (ldap3_exceptions.LDAPCertificateError, ssl.SSLError, ldap3_exceptions.LDAPStartTLSError) as error:
        raise LdapConnectionError("tls", _tls_message(where, error, params)) from None
    except ldap3_exceptions.LDAPSocketOpenError as error:
        if isinstance(error, ssl.SSLError) or "ssl" in str(error).lower() or "certificate" in str(error).lower():
            raise LdapConnectionError("tls", _tls_message(where, error, params)) from None
        raise LdapConnectionError("unreachable", f"Cannot reach {where}: {_first_line(error)}") from None
    except ldap3_exceptions.LDAPException as error:
        if params["auth"] == "kerberos":
            raise LdapConnectionError("bind_failed", f"Kerberos bind to {where} failed: {_first_line(error)}") from None
        raise LdapConnectionError("unreachable", f"Connection to {where} failed: {_first_line(error)}") from None
    if not bound:
        result = connection.result or {}
        connection.unbind()
        code = result.get("result")
        server_message = (result.get("message") or result.get("description") or "").strip()
        if code == LDAP_INVALID_CREDENTIALS:
            raise LdapConnectionError(
                "invalid_credentials",
                f"{where} refused the username or password ({server_message}); check username and password.",
            )
        if code in (LDAP_STRONGER_AUTH_REQUIRED, LDAP_CONFIDENTIALITY_REQUIRED):
            raise LdapConnectionError(
                "stronger_auth_required",
                f"{where} requires stronger authentication ({server_message}); use tls_mode=ldaps or "
                "start_tls with auth=simple, or auth=kerberos.",
            )
        raise LdapConnectionError("bind_failed", f"Bind to {where} failed: {result.get('description')} {server_message}")
    return connection


class _DeadlineSocket:
    """The connection's socket while ldap3 awaits one answer: each recv waits at most the time left before the
    operation's deadline, so a server that trickles its answer a byte at a time cannot outlast operation_timeout
    (ldap3's receive_timeout bounds each recv only)."""

    def __init__(self, sock, timeout):
        self._sock = sock
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout

    def recv(self, size):
        left = self._deadline - time.monotonic()
        try:
            if left <= 0:
                raise socket.timeout
            self._sock.settimeout(min(self._timeout, left))
            return self._sock.recv(size)
        except socket.timeout:
            raise socket.timeout(f"the answer did not come whole within operation_timeout={self._timeout} s") from None

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _bound_each_answer(connection, timeout) -> None:
    """Make every answer ldap3 awaits on connection (StartTLS, bind, search, modify, ...) end within timeout seconds
    of the wait's start, or fail as a lost connection (ldap3 closes it and raises LDAPSocketReceiveError)."""
    get_response = connection.strategy.get_response

    def bounded_get_response(*args, **kwargs):
        sock = connection.socket
        if sock is None:
            return get_response(*args, **kwargs)
        connection.socket = bounded = _DeadlineSocket(sock, timeout)
        try:
            return get_response(*args, **kwargs)
        finally:
            if connection.socket is bounded:  # not replaced (closed: None) meanwhile
                connection.socket = sock
                sock.settimeout(timeout)

    connection.strategy.get_response = bounded_get_response


def reconnect(connection, params: dict):
    """A new bind to the DC that connection was bound to, which after a failover is not the first in server."""
    return connect(dict(params, server=[connection.server.host]))


def release(connection) -> None:
    """Unbind, ignoring a connection that is already broken: the session is over either way.

    ldap3 closes a connection whose read failed, but not one whose send failed; unbinding that one
    would raise again and hide why the module stopped.
    """
    try:
        connection.unbind()
    except CONNECTION_LOST_ERRORS:
        pass


def describe_server(connection) -> str:
    return f"{connection.server.host}:{connection.server.port}"


def describe_loss(error: Exception) -> str:
    return f"{type(error).__name__}: {_first_line(error)}"


def default_naming_context(connection) -> str:
    """The domain's DN (for example DC=contoso,DC=com) from the root DSE read at bind."""
    contexts = connection.server.info.other.get("defaultNamingContext") if connection.server.info else None
    if not contexts:
        raise LdapConnectionError("bind_failed", "The server's root DSE has no defaultNamingContext; is it an AD DC?")
    return contexts[0]


def _tls_message(where: str, error: Exception, params: dict) -> str:
    hint = ("set ca_path to the PEM file of the CA that issued the DC's certificate"
            if not params.get("ca_path") else f"check that {params['ca_path']} is the CA that issued the DC's certificate")
    return (f"TLS with {where} failed: {_first_line(error)}. Connect by the host name in the DC's certificate "
            f"and {hint} (validate_certs=false only for a throwaway lab).")


def _first_line(error: Exception) -> str:
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__
