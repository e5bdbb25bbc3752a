# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of every module that talks LDAP to Active Directory.
    DOCUMENTATION = r"""
options:
  server:
    description:
      - One or more domain controllers, by the host name in their TLS certificate.
      - They are tried in order while one is unreachable or fails TLS; a refused bind stops at once,
        because every DC of a domain gives the same answer.
    type: list
    elements: str
    required: true
  port:
    description:
      - TCP port, 1 to 65535. Defaults to 636 for O(tls_mode=ldaps) and 389 for O(tls_mode=start_tls).
    type: int
  tls_mode:
    description:
      - V(ldaps) opens TLS first (LDAP over SSL); V(start_tls) upgrades a plain LDAP connection with
        StartTLS before binding. Plain unencrypted LDAP is not offered.
    type: str
    choices: [ldaps, start_tls]
    default: ldaps
  validate_certs:
    description:
      - Check the DC's certificate chain and host name. Set to V(false) only for a throwaway lab.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) that issued the DC's certificate, for example your AD CS
        root. Without it the controller's system trust store is used.
    type: path
  auth:
    description:
      - V(simple) binds with O(username) (a DN, V(user@domain) or V(DOMAIN\\user)) and O(password) over TLS.
      - V(kerberos) binds with SASL GSSAPI from the Kerberos ticket cache (run C(kinit) first, or set
        E(KRB5CCNAME)); it needs the Python package C(gssapi), which builds against the Kerberos headers.
        O(password) must not be set.
      - V(ntlm) binds with NTLM as O(username) in the form V(DOMAIN\\user); it works against Windows AD
        but cannot be tested against Samba, which lacks the bind that ldap3 uses for it. It needs MD4,
        which OpenSSL 3 leaves out; without it the task fails and says to install C(pycryptodome).
    type: str
    choices: [simple, kerberos, ntlm]
    default: simple
  username:
    description:
      - The account to bind as, for O(auth=simple) and O(auth=ntlm).
    type: str
  password:
    description:
      - The password of O(username).
    type: str
  connect_timeout:
    description:
      - Seconds to wait for a TCP connection to each server; must be positive.
    type: int
    default: 10
  operation_timeout:
    description:
      - Seconds to wait for the whole answer to each LDAP operation (StartTLS, bind, each search or write), however
        slowly it trickles in; past it the connection counts as lost. Must be positive.
    type: int
    default: 60
requirements:
  - ldap3
  - gssapi (only for O(auth=kerberos))
  - pycryptodome (only for O(auth=ntlm) where OpenSSL has no MD4)
"""

    # The same options as one dict option, ldap, for modules that also take the Graph options (which have
    # their own ca_path, validate_certs, username and password):
    # extends_documentation_fragment: intune.autopilot.ldap_connection.nested
    # A literal, as ansible-test reads fragments without running them; tests/unit/plugins/doc_fragments
    # checks that it is DOCUMENTATION nested under ldap, word for word.
    NESTED = r"""
options:
  ldap:
    description:
      - The LDAP connection to a domain controller, with the options of M(intune.autopilot.ou_account_limit).
    type: dict
    suboptions:
      server:
        description:
          - One or more domain controllers, by the host name in their TLS certificate.
          - They are tried in order while one is unreachable or fails TLS; a refused bind stops at once,
            because every DC of a domain gives the same answer.
        type: list
        elements: str
        required: true
      port:
        description:
          - TCP port, 1 to 65535. Defaults to 636 for O(ldap.tls_mode=ldaps) and 389 for O(ldap.tls_mode=start_tls).
        type: int
      tls_mode:
        description:
          - V(ldaps) opens TLS first (LDAP over SSL); V(start_tls) upgrades a plain LDAP connection with
            StartTLS before binding. Plain unencrypted LDAP is not offered.
        type: str
        choices: [ldaps, start_tls]
        default: ldaps
      validate_certs:
        description:
          - Check the DC's certificate chain and host name. Set to V(false) only for a throwaway lab.
        type: bool
        default: true
      ca_path:
        description:
          - PEM file with the CA certificate(s) that issued the DC's certificate, for example your AD CS
            root. Without it the controller's system trust store is used.
        type: path
      auth:
        description:
          - V(simple) binds with O(ldap.username) (a DN, V(user@domain) or V(DOMAIN\\user)) and O(ldap.password) over TLS.
          - V(kerberos) binds with SASL GSSAPI from the Kerberos ticket cache (run C(kinit) first, or set
            E(KRB5CCNAME)); it needs the Python package C(gssapi), which builds against the Kerberos headers.
            O(ldap.password) must not be set.
          - V(ntlm) binds with NTLM as O(ldap.username) in the form V(DOMAIN\\user); it works against Windows AD
            but cannot be tested against Samba, which lacks the bind that ldap3 uses for it. It needs MD4,
            which OpenSSL 3 leaves out; without it the task fails and says to install C(pycryptodome).
        type: str
        choices: [simple, kerberos, ntlm]
        default: simple
      username:
        description:
          - The account to bind as, for O(ldap.auth=simple) and O(ldap.auth=ntlm).
        type: str
      password:
        description:
          - The password of O(ldap.username).
        type: str
      connect_timeout:
        description:
          - Seconds to wait for a TCP connection to each server; must be positive.
        type: int
        default: 10
      operation_timeout:
        description:
          - Seconds to wait for the whole answer to each LDAP operation (StartTLS, bind, each search or write), however
            slowly it trickles in; past it the connection counts as lost. Must be positive.
        type: int
        default: 60
requirements:
  - ldap3
  - gssapi (only for O(ldap.auth=kerberos))
  - pycryptodome (only for O(ldap.auth=ntlm) where OpenSSL has no MD4)
"""
