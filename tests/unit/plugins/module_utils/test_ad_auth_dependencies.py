# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""auth=kerberos and auth=ntlm without their libraries fail before connecting, naming what to install.

ldap3 imports gssapi only while binding, and hashes an NTLM password with hashlib's MD4 (absent
from OpenSSL 3 unless its legacy provider is on) and then pycryptodome's. Each absence is simulated
here: a None entry in sys.modules makes the import fail, and hashlib.new refuses md4 as OpenSSL 3 does.
"""

from __future__ import annotations

import hashlib
import sys
import types

import pytest
from ldap3.utils.ntlm import NtlmClient

from ansible_collections.intune.autopilot.plugins.module_utils._ad import connection as ldap_connection
from ansible_collections.intune.autopilot.plugins.module_utils._ad.connection import (
    LdapConnectionError,
    connect,
    md4_available,
)

REAL_HASHLIB_NEW = hashlib.new
# What `hashlib.new('md4')` raises on OpenSSL 3 without the legacy provider.
OPENSSL3_MD4_ERROR = "unsupported hash type md4"


def openssl3_new(name, *args, **kwargs):
    if name.lower() == "md4":
        raise ValueError(OPENSSL3_MD4_ERROR)
    return REAL_HASHLIB_NEW(name, *args, **kwargs)


def fake_pycryptodome_md4():
    """A Crypto.Hash.MD4 stand-in that hashes like the real one (a fixed digest is enough for the test)."""
    md4 = types.ModuleType("Crypto.Hash.MD4")
    md4.new = lambda data: types.SimpleNamespace(digest=lambda: b"\x01" * 16)
    hash_package = types.ModuleType("Crypto.Hash")
    hash_package.MD4 = md4
    return {"Crypto": types.ModuleType("Crypto"), "Crypto.Hash": hash_package, "Crypto.Hash.MD4": md4}


@pytest.fixture
def no_md4(monkeypatch):
    monkeypatch.setattr(hashlib, "new", openssl3_new)
    for name in ("Crypto", "Crypto.Hash", "Crypto.Hash.MD4"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(ldap_connection.ldap3, "Server", refuse)
    monkeypatch.setattr(ldap_connection.ldap3, "Connection", refuse)


def params(**overrides):
    values = {name: spec.get("default") for name, spec in ldap_connection.LDAP_CONNECTION_ARGUMENT_SPEC.items()}
    values.update(server=["dc01.contoso.com"])
    values.update(overrides)
    return values


def ntlm_params(password="Passw0rd!"):
    return params(auth="ntlm", username="CONTOSO\\svc-ou-admin", password=password)


@pytest.mark.usefixtures("no_md4")
def test_without_md4_ldap3_itself_would_fail_with_a_bare_valueerror():
    # Why the check exists: this is what the bind would raise mid-connection.
    with pytest.raises(ValueError, match=OPENSSL3_MD4_ERROR):
        NtlmClient("CONTOSO", "svc-ou-admin", "Passw0rd!").ntowf_v2()
    assert md4_available() is False


@pytest.mark.usefixtures("no_md4", "no_network")
def test_ntlm_without_md4_fails_before_connecting_and_names_what_to_install():
    with pytest.raises(LdapConnectionError) as raised:
        connect(ntlm_params())
    assert raised.value.reason == "missing_dependency"
    assert "auth=ntlm needs the MD4 hash" in raised.value.message
    assert "pip install pycryptodome" in raised.value.message
    assert "Passw0rd!" not in raised.value.message


@pytest.mark.usefixtures("no_md4")
def test_pycryptodome_is_enough_for_ntlm_as_it_is_for_ldap3(monkeypatch):
    for name, module in fake_pycryptodome_md4().items():
        monkeypatch.setitem(sys.modules, name, module)
    assert md4_available() is True
    NtlmClient("CONTOSO", "svc-ou-admin", "Passw0rd!").ntowf_v2()
    ldap_connection.check_auth_dependencies(ntlm_params())


@pytest.mark.usefixtures("no_md4")
def test_an_nt_hash_password_needs_no_md4():
    # ldap3 uses LMHASH:NTHASH as the hash itself and never calls MD4 for it.
    hash_pair = "aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c"
    NtlmClient("CONTOSO", "svc-ou-admin", hash_pair).ntowf_v2()
    ldap_connection.check_auth_dependencies(ntlm_params(password=hash_pair))


@pytest.mark.usefixtures("no_network")
def test_kerberos_without_gssapi_fails_before_connecting_and_names_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gssapi", None)
    with pytest.raises(LdapConnectionError) as raised:
        connect(params(auth="kerberos"))
    assert raised.value.reason == "missing_dependency"
    message = raised.value.message
    assert "auth=kerberos needs the Python package gssapi" in message
    assert "libkrb5-dev" in message and "krb5-devel" in message and "meta/ee-bindep.txt" in message


def test_kerberos_with_gssapi_goes_on_to_connect(monkeypatch):
    monkeypatch.setitem(sys.modules, "gssapi", types.ModuleType("gssapi"))
    ldap_connection.check_auth_dependencies(params(auth="kerberos"))


@pytest.mark.usefixtures("no_md4")
def test_simple_bind_needs_neither(monkeypatch):
    monkeypatch.setitem(sys.modules, "gssapi", None)
    ldap_connection.check_auth_dependencies(params(auth="simple", username="svc@contoso.com", password="x"))
