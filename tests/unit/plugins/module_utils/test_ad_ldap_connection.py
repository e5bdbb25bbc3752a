# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection option checks and bind-failure sorting of ldap_connection.

The lab tests cover real TLS, credential and reachability failures against Samba; Samba never
answers a TLS simple bind with strongerAuthRequired, so that answer is fed in here.
"""

from __future__ import annotations

import types

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._ad import connection as ldap_connection
from ldap3.core.exceptions import LDAPSocketSendError

from ansible_collections.intune.autopilot.plugins.module_utils._ad.connection import (
    LdapConnectionError,
    connect,
    reconnect,
    release,
    validate_connection_options,
)


def params(**overrides):
    values = {name: spec.get("default") for name, spec in ldap_connection.LDAP_CONNECTION_ARGUMENT_SPEC.items()}
    values.update(server=["dc01.contoso.com"], username="svc@contoso.com", password="secret")
    values.update(overrides)
    return values


@pytest.mark.parametrize("overrides, fragment", [
    (dict(password=None), "needs both username and password"),
    (dict(auth="kerberos"), "remove password"),
    (dict(auth="ntlm"), "DOMAIN\\user"),
    (dict(ca_path="/tmp/ca.pem", validate_certs=False), "set validate_certs=true"),
    (dict(server=[" "]), "at least one domain controller"),
    (dict(port=0), "port 0 is not a TCP port; give 1 to 65535"),
    (dict(port=-636), "port -636 is not a TCP port"),
    (dict(port=65536), "port 65536 is not a TCP port"),
    (dict(connect_timeout=0), "connect_timeout is 0; give a positive number of seconds"),
    (dict(connect_timeout=-5), "connect_timeout is -5; give a positive"),
    (dict(connect_timeout=None), "connect_timeout is None; give a positive"),
    (dict(operation_timeout=0), "operation_timeout is 0; give a positive number of seconds"),
    (dict(operation_timeout=-1), "operation_timeout is -1; give a positive"),
])
def test_impossible_option_combinations_are_refused_before_connecting(overrides, fragment):
    with pytest.raises(LdapConnectionError) as raised:
        validate_connection_options(params(**overrides))
    assert raised.value.reason == "bad_options"
    assert fragment in raised.value.message


def test_out_of_range_numbers_fail_before_any_connection_attempt(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(ldap_connection.ldap3, "Server", no_network)
    monkeypatch.setattr(ldap_connection.ldap3, "Connection", no_network)
    for overrides in (dict(port=0), dict(connect_timeout=-1), dict(operation_timeout=0)):
        with pytest.raises(LdapConnectionError) as raised:
            connect(params(**overrides))
        assert raised.value.reason == "bad_options"
        assert next(iter(overrides)) in raised.value.message


def test_the_edges_of_the_ranges_are_accepted():
    validate_connection_options(params(port=1, connect_timeout=1, operation_timeout=1))
    validate_connection_options(params(port=65535))


class RefusingConnection:
    """Stands in for ldap3.Connection: opens fine, then the DC refuses the bind with a result code."""

    result_code = None

    def __init__(self, server, **options):
        self.result = {}
        self.socket = None
        self.strategy = types.SimpleNamespace(get_response=None)  # shaped like ldap3's: connect() bounds its waits

    def open(self, read_server_info=False):
        pass

    def bind(self, read_server_info=False):
        self.result = {"result": self.result_code, "description": "refused", "message": "server says no"}
        return False

    def unbind(self):
        pass


@pytest.mark.parametrize("code, reason", [(8, "stronger_auth_required"), (49, "invalid_credentials"), (50, "bind_failed")])
def test_bind_refusals_are_sorted_by_result_code(monkeypatch, code, reason):
    monkeypatch.setattr(RefusingConnection, "result_code", code)
    monkeypatch.setattr(ldap_connection.ldap3, "Connection", RefusingConnection)
    with pytest.raises(LdapConnectionError) as raised:
        connect(params(server=["dc01.contoso.com", "dc02.contoso.com"]))
    assert raised.value.reason == reason
    # A refused bind is the same on every DC: the second server is not tried.
    assert "dc02" not in raised.value.message
    assert "secret" not in raised.value.message


def test_reconnect_binds_again_to_the_dc_that_was_in_use_not_the_first_in_the_list(monkeypatch):
    # After a failover the write went to dc02; dc01 may not have replicated it yet.
    bound_to = []
    monkeypatch.setattr(ldap_connection, "_bind", lambda host, options: bound_to.append(host) or host)

    class Broken:
        class server:  # noqa: N801  shaped like ldap3.Connection.server
            host = "dc02.contoso.com"

    assert reconnect(Broken(), params(server=["dc01.contoso.com", "dc02.contoso.com"])) == "dc02.contoso.com"
    assert bound_to == ["dc02.contoso.com"]


def test_release_ignores_a_connection_that_broke_on_send():
    # ldap3 leaves a connection whose send failed open, so its unbind sends again and fails again.
    class SendFails:
        unbinds = 0

        def unbind(self):
            self.unbinds += 1
            raise LDAPSocketSendError("socket sending error[Errno 32] Broken pipe")

    connection = SendFails()
    release(connection)
    assert connection.unbinds == 1
