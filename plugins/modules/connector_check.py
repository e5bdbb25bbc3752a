#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: connector_check
short_description: Check that the Intune Connector for Active Directory can serve hybrid join now (Autopilot hybrid join step 2)
version_added: 0.1.0
description:
  - Answers whether the tenant's Intune Connector for Active Directory (the offline domain join connector of
    tutorial step 2, which cannot be installed through Graph) can create computer objects for hybrid-joined
    Autopilot devices right now, as a list of checks a playbook can act on.
  - "From Microsoft Graph: at least one connector is V(active), at version O(minimum_version) or later (compared
    as four integers, so V(6.2501.2000.10) is later than V(6.2501.2000.5)) and contacted Intune within
    O(max_contact_age_hours); each of O(expected_servers) is such a connector."
  - "From Active Directory, only when O(ldap) is given: the connector's account exists (the C(msaODJ*) managed
    service accounts the updated connector creates, the computer accounts of the connector servers Graph lists
    (a legacy connector runs as its server's computer account), or O(principal)), and one of them holds the
    tutorial step 3 right on O(domain_join_ou), judged exactly as M(intune.autopilot.ou_account_limit) grants it."
  - With O(domain_name), also that the domain controller's own domain is O(domain_name) and O(domain_join_ou)
    lies in it (check C(domain)); O(domain_only=true) makes that the only check, so a preflight can read the
    domain before any change.
  - Fails, naming what to fix, when any check fails, unless O(report_only=true).
  - Never writes anything, to Graph or to AD; check mode runs the same checks.
author:
  - intune.autopilot developers (!UNKNOWN)
extends_documentation_fragment:
  - intune.autopilot.graph
  - intune.autopilot.ldap_connection.nested
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode is the same run.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  minimum_version:
    description:
      - The oldest connector version that counts, one to four dot-separated integers.
      - Microsoft's tutorial says versions older than V(6.2501.2000.5) are deprecated and cannot process enrollments.
    type: str
    default: 6.2501.2000.5
  max_contact_age_hours:
    description:
      - How long ago, at most, a connector may have last contacted Intune (C(lastConnectionDateTime)) and still count.
      - Intune marks a connector V(error) after one hour without a heartbeat; the default of two hours catches a
        connector whose state Intune has not re-evaluated yet, while one late heartbeat does not fail the check.
    type: float
    default: 2
  expected_servers:
    description:
      - Connector servers that must each have a healthy connector, by the name Intune shows (the server's
        DNS name). Compared case-insensitively; a bare host name matches any DNS name with that host name.
    type: list
    elements: str
    default: []
  domain_join_ou:
    description:
      - The OU of the domain join profile (tutorial step 8), whose right to create computer objects is checked.
      - Required with O(ldap).
    type: str
  principal:
    description:
      - The connector's account to check, by sAMAccountName, DN or SID, as M(intune.autopilot.ou_account_limit)
        takes it; for a custom sMSA or gMSA, or a legacy connector's server computer account.
      - When omitted, every C(msaODJ*) managed service account and the computer accounts of the connector servers
        Graph lists are checked; one holding the right is enough.
    type: str
  rights:
    description:
      - The right expected, as M(intune.autopilot.ou_account_limit) grants it.
      - V(msa) is "Create Computer objects" on the OU itself; the legacy rights include it, so a legacy
        delegation passes too. V(legacy) asks for the two ACEs of the Delegation of Control Wizard.
    type: str
    choices: [msa, legacy]
    default: msa
  domain_name:
    description:
      - The DNS name of the AD domain the caller means, for example the domain of the domain join profile.
      - The check C(domain) compares it with the domain of the domain controller O(ldap) connects to (the root
        DSE's C(defaultNamingContext), and the C(dnsRoot) of that domain's crossRef under C(CN=Partitions) of the
        configuration partition) and checks that O(domain_join_ou) lies in that domain. Needs O(ldap).
    type: str
  domain_only:
    description:
      - Only the check C(domain), in one bind; no Graph request and no connector checks.
      - For a read before any change, as the hybrid_join role's preflight does. Needs O(domain_name).
    type: bool
    default: false
  report_only:
    description:
      - Return the checks without failing when one fails (RV(ready) says whether all passed).
    type: bool
    default: false
notes:
  - "Graph permission: C(DeviceManagementConfiguration.Read.All) (application or delegated). The bind account of
    O(ldap) needs only read access: the connector accounts, and the permissions of O(domain_join_ou)."
  - Graph does not say which domain a connector serves or which account it runs as; the AD checks therefore look
    at every candidate account.
  - Connectors from version 6.2501 on run as a managed service account; a right held only by computer accounts
    passes with a warning, as it serves a legacy connector only.
seealso:
  - module: intune.autopilot.ou_account_limit
  - name: "Tutorial: install the Intune Connector for Active Directory"
    description: Step 2 of the user-driven Microsoft Entra hybrid join tutorial.
    link: https://learn.microsoft.com/autopilot/tutorial/user-driven/hybrid-azure-ad-join-intune-connector
"""

EXAMPLES = r"""
- name: Can the connector serve hybrid join? (Graph only)
  intune.autopilot.connector_check:
    tenant_id: "{{ vault_tenant_id }}"
    client_id: "{{ vault_client_id }}"
    client_secret: "{{ vault_client_secret }}"
  register: connector

- name: Graph and AD, two named connector servers, without failing the play
  intune.autopilot.connector_check:
    expected_servers: [odj01.contoso.com, odj02.contoso.com]
    domain_join_ou: OU=Autopilot,DC=contoso,DC=com
    ldap:
      server: [dc01.contoso.com]
      ca_path: /etc/pki/contoso-root-ca.pem
      username: svc-ad-reader@contoso.com
      password: "{{ ad_reader_password }}"
    report_only: true
  register: connector

- name: Say what failed
  ansible.builtin.debug:
    msg: "{{ connector.checks | rejectattr('passed') | map(attribute='reason') | list }}"
  when: not connector.ready

- name: A custom gMSA given to the connector (TenantConfiguredManagedServiceAccount)
  intune.autopilot.connector_check:
    domain_join_ou: OU=Autopilot,DC=contoso,DC=com
    principal: gmsaODJ$
    ldap:
      server: [dc01.contoso.com]
      auth: kerberos

- name: Before any change, is the domain join OU in the domain the profile names? (LDAP only)
  intune.autopilot.connector_check:
    domain_name: contoso.com
    domain_only: true
    domain_join_ou: OU=Autopilot,DC=contoso,DC=com
    ldap:
      server: [dc01.contoso.com, dc02.contoso.com]
      auth: kerberos
  register: domain_fit
"""

RETURN = r"""
ready:
  description: Whether every check passed, so the connector can serve the domain join OU.
  returned: always
  type: bool
  sample: true
checks:
  description:
    - Every check, in order. Graph's C(connector_present), C(connector_active), C(connector_version),
      C(connector_recent_contact) (each narrows the connectors of the one before), C(expected_servers) when
      O(expected_servers) is given; with O(domain_name), C(domain); with O(ldap), C(connector_account) and
      C(domain_join_ou_right). With O(domain_only), only C(domain).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check.
      type: str
      sample: connector_version
    passed:
      description: Whether it passed.
      type: bool
    reason:
      description: What was found, and when it failed, what to fix.
      type: str
      sample: "At version 6.2501.2000.5 or later: ODJ01.contoso.com."
domain:
  description: The domain of the domain controller.
  returned: when O(domain_name) is given
  type: dict
  contains:
    naming_context:
      description: The domain's DN (the root DSE's C(defaultNamingContext)).
      type: str
      sample: DC=contoso,DC=com
    dns_name:
      description: Its DNS name (C(dnsRoot) of its crossRef), lower case.
      type: str
      sample: contoso.com
connectors:
  description: The connectors Intune lists.
  returned: unless O(domain_only=true)
  type: list
  elements: dict
  contains:
    id:
      description: Graph's id of the connector.
      type: str
    display_name:
      description: The connector server's name.
      type: str
      sample: ODJ01.contoso.com
    state:
      description: V(active), V(error) or V(inactive), as Graph says.
      type: str
    contact_state:
      description:
        - The state Intune's heartbeat rule gives the last contact, measured on the controller's clock - V(active),
          V(error) after an hour without a heartbeat, V(inactive) after five days; null without a contact time.
        - It differs from C(state) while Intune has not re-evaluated the connector yet (or when clocks disagree).
      type: str
      sample: error
    version:
      description: The connector's version.
      type: str
      sample: 6.2501.2000.5
    last_connection:
      description: When it last contacted Intune, as Graph gives it.
      type: str
      sample: "2026-11-30T01:55:00Z"
    hours_since_contact:
      description: Hours since then, or null when Graph gives no time.
      type: float
      sample: 0.08
    healthy:
      description: Whether this connector passes the Graph checks.
      type: bool
    problems:
      description: What keeps it from counting.
      type: list
      elements: str
      sample: ["state is inactive, not active (last contact 480.0 hours ago)", "version 6.2211.1500.0 is older than 6.2501.2000.5"]
accounts:
  description: The connector accounts found in AD, and whether each holds the right on O(domain_join_ou).
  returned: when O(ldap) is given, unless O(domain_only=true)
  type: list
  elements: dict
  contains:
    sam_account_name:
      description: Its sAMAccountName.
      type: str
      sample: msaODJ12345$
    dn:
      description: Its distinguished name.
      type: str
    sid:
      description: Its objectSid.
      type: str
    kind:
      description: V(managed_service_account), V(group_managed_service_account), V(computer), V(user) or V(other).
      type: str
    server:
      description: For a computer account found from Graph's list, the connector server it belongs to; else null.
      type: str
    holds_right:
      description: Whether it holds O(rights) on O(domain_join_ou); null when the OU could not be read.
      type: bool
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.intune.autopilot.plugins.module_utils._ad.connection import (
    HAS_LDAP3,
    LDAP3_IMPORT_ERROR,
    LDAP_CONNECTION_ARGUMENT_SPEC,
    LdapConnectionError,
    validate_connection_options,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.connector_rights import (
    ConnectorRightsError,
    check_connector_rights,
)
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dacl import HAS_WINACL, WINACL_IMPORT_ERROR
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dn import normalise_dn, split_dn
from ansible_collections.intune.autopilot.plugins.module_utils._graph.connector_health import (
    CONNECTORS_PATH,
    DEFAULT_MINIMUM_VERSION,
    check_connectors,
    parse_version,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph.module import GraphModule


def validate(module):
    """Refuse bad input before any request, naming the option and the fix."""
    params = module.params
    if parse_version(params["minimum_version"]) is None:
        module.fail_json(msg="minimum_version %r is not a version; give one to four dot-separated integers, "
                             "like 6.2501.2000.5." % params["minimum_version"])
    if params["max_contact_age_hours"] <= 0:
        module.fail_json(msg="max_contact_age_hours is %s; give a positive number of hours." % params["max_contact_age_hours"])
    if any(not server.strip() for server in params["expected_servers"]):
        module.fail_json(msg="expected_servers has an empty entry; give each connector server's name as Intune shows it.")
    if params["domain_only"] and params["domain_name"] is None:
        module.fail_json(msg="domain_only checks only the domain, which needs domain_name; set domain_name to the AD "
                             "domain's DNS name, like contoso.com.")
    if params["domain_name"] is not None and not params["domain_name"].strip().rstrip("."):
        module.fail_json(msg="domain_name is empty; give the AD domain's DNS name, like contoso.com.")
    ldap = params["ldap"]
    if ldap is None:
        for option in ("domain_join_ou", "principal", "domain_name"):
            if params[option] is not None:
                module.fail_json(msg="%s is checked in AD, which needs the ldap connection; add ldap (server, "
                                     "username, password, ...) or remove %s." % (option, option))
        return None
    if params["domain_join_ou"] is None:
        module.fail_json(msg="ldap is given but domain_join_ou is not; set it to the OU of the domain join profile "
                             "(tutorial step 8), like OU=Autopilot,DC=contoso,DC=com.")
    if not HAS_LDAP3:
        module.fail_json(msg=missing_required_lib("ldap3"), exception=str(LDAP3_IMPORT_ERROR))
    if not HAS_WINACL:
        module.fail_json(msg=missing_required_lib("winacl"), exception=str(WINACL_IMPORT_ERROR))
    try:
        validate_connection_options(ldap)
    except LdapConnectionError as error:
        module.fail_json(msg="ldap: " + error.message, reason=error.reason)
    rdns = split_dn(params["domain_join_ou"])
    # The same rule as ou_account_limit's ou: a full DN of an OU (or container) in a domain.
    if not rdns or rdns[0][0] not in ("OU", "CN") or rdns[-1][0] != "DC":
        module.fail_json(msg="domain_join_ou %r is not the full DN of an OU; write it like OU=Autopilot,DC=contoso,DC=com, "
                             "as in the domain join profile." % params["domain_join_ou"])
    return normalise_dn(params["domain_join_ou"])


def run(module, ou):
    params = module.params
    if params["domain_only"]:
        checks, result = [], dict(changed=False)
    else:
        raw_connectors = module.graph.list(CONNECTORS_PATH)
        checks, connectors = check_connectors(raw_connectors, params["minimum_version"], params["max_contact_age_hours"],
                                              params["expected_servers"])
        result = dict(changed=False, connectors=connectors)
    if ou is not None:
        servers = [connector["display_name"] for connector in result.get("connectors", []) if connector["display_name"]]
        try:
            ad_checks, accounts, warnings, domain = check_connector_rights(
                params["ldap"], ou, params["principal"], params["rights"], servers, params["domain_name"], params["domain_only"])
        except ConnectorRightsError as error:
            failure = dict(result, msg="ldap: " + error.message, checks=checks, ready=False)
            if error.reason:
                failure["reason"] = error.reason
            module.fail_json(**failure)
        checks += ad_checks
        if not params["domain_only"]:
            result["accounts"] = accounts
        if domain is not None:
            result["domain"] = domain
        for warning in warnings:
            module.warn(warning)
    failed = [check for check in checks if not check["passed"]]
    result.update(checks=checks, ready=not failed)
    if failed and not params["report_only"]:
        where = " for %s" % ou if ou else ""
        what = "The AD domain does not fit" if params["domain_only"] else "The Intune Connector for Active Directory cannot serve hybrid join"
        module.fail_json(msg="%s%s: %s" % (what, where, " ".join("%s: %s" % (check["name"], check["reason"]) for check in failed)), **result)
    module.exit_json(**result)


def main():
    module = GraphModule(
        argument_spec=dict(
            minimum_version=dict(type="str", default=DEFAULT_MINIMUM_VERSION),
            max_contact_age_hours=dict(type="float", default=2),
            expected_servers=dict(type="list", elements="str", default=[]),
            ldap=dict(type="dict", options=LDAP_CONNECTION_ARGUMENT_SPEC),
            domain_join_ou=dict(type="str"),
            principal=dict(type="str"),
            rights=dict(type="str", choices=["msa", "legacy"], default="msa"),
            domain_name=dict(type="str"),
            domain_only=dict(type="bool", default=False),
            report_only=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    ou = validate(module)
    module.run_guarded(lambda: run(module, ou))


if __name__ == "__main__":
    main()
