# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Tutorial step 2 in Graph: can one of the tenant's Intune Connectors for AD serve hybrid join now?

The checks narrow the connectors down one condition at a time (listed, active, recent enough version,
contacted lately), so a failed check names the connectors that fell out at that step and why.
"""

from __future__ import annotations

import datetime
import re

CONNECTORS_PATH = "deviceManagement/domainJoinConnectors"
# Learn: connectors older than this are deprecated and cannot process enrollments.
DEFAULT_MINIMUM_VERSION = "6.2501.2000.5"
VERSION_RE = re.compile(r"^\s*\d+(\.\d+){0,3}\s*$")
# Graph sends up to 7 fractional digits; Python's fromisoformat before 3.11 takes at most 6.
FRACTION_RE = re.compile(r"\.(\d{6})\d+")
# Intune's states by heartbeat (beta metadata, deviceManagementDomainJoinConnectorState): active while the
# connector pings, error after an hour without a heartbeat, inactive after five days.
ERROR_AFTER_HOURS = 1
INACTIVE_AFTER_HOURS = 5 * 24


def parse_version(text):
    """A version as four integers (missing trailing parts are 0), or None when it is not one."""
    if not isinstance(text, str) or not VERSION_RE.match(text):
        return None
    parts = [int(part) for part in text.strip().split(".")]
    return tuple(parts + [0] * (4 - len(parts)))


def parse_graph_datetime(text):
    """An aware datetime from Graph's DateTimeOffset text, or None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(FRACTION_RE.sub(r".\1", text.strip()).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def same_server(expected, display_name):
    """Server names compare case-insensitively, and a bare host name matches its FQDN (ODJ01 = ODJ01.contoso.com)."""
    expected, display_name = expected.strip().casefold(), (display_name or "").strip().casefold()
    if "." in expected and "." in display_name:
        return expected == display_name
    return expected.split(".", 1)[0] == display_name.split(".", 1)[0]


def contact_state(hours_since_contact):
    """The state Intune's heartbeat rule gives a connector last heard from that long ago (None: never)."""
    if hours_since_contact is None:
        return None
    if hours_since_contact >= INACTIVE_AFTER_HOURS:
        return "inactive"
    return "error" if hours_since_contact >= ERROR_AFTER_HOURS else "active"


def describe_connector(connector, minimum_version, max_contact_age_hours, now):
    """The connector as the module returns it, with what keeps it from serving (problems)."""
    state = connector.get("state")
    version = connector.get("version")
    last_contact = parse_graph_datetime(connector.get("lastConnectionDateTime"))
    hours_since_contact = None if last_contact is None else round((now - last_contact).total_seconds() / 3600, 2)
    by_contact = contact_state(hours_since_contact)
    silence = "last contact %s hours ago" % hours_since_contact if by_contact else "no last contact time"
    problems = {}
    if state != "active":
        problems["state"] = "state is %s, not active (%s)" % (state or "missing", silence)
    parsed = parse_version(version)
    if parsed is None:
        problems["version"] = "version %r is not a version number" % (version,)
    elif parsed < parse_version(minimum_version):
        problems["version"] = "version %s is older than %s" % (version, minimum_version)
    if last_contact is None:
        problems["contact"] = "no last contact time"
    elif hours_since_contact > max_contact_age_hours:
        # Intune re-evaluates the state on its own schedule: say when Graph's active is behind the heartbeat rule.
        problems["contact"] = "%s, more than %s%s" % (silence, max_contact_age_hours, "" if state != "active" or by_contact == "active" else (
            "; by Intune's heartbeat rule it is %s, though Graph still says active" % by_contact))
    return dict(
        id=connector.get("id"),
        display_name=connector.get("displayName"),
        state=state,
        contact_state=by_contact,
        version=version,
        last_connection=connector.get("lastConnectionDateTime"),
        hours_since_contact=hours_since_contact,
        healthy=not problems,
        problems=list(problems.values()),
        _problems=problems,
    )


def _names(connectors):
    return ", ".join(str(connector["display_name"]) for connector in connectors)


def _why(connectors, problem):
    return "; ".join("%s: %s" % (connector["display_name"], connector["_problems"][problem]) for connector in connectors)


def check_connectors(raw_connectors, minimum_version, max_contact_age_hours, expected_servers, now=None):
    """(checks, connectors): the checks as {name, passed, reason}, the connectors as returned."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    connectors = [describe_connector(raw, minimum_version, max_contact_age_hours, now) for raw in raw_connectors]
    checks = []

    def check(name, passed, reason):
        checks.append(dict(name=name, passed=passed, reason=reason))

    install = "install the Intune Connector for Active Directory (tutorial step 2) and sign it in to the tenant"
    if not connectors:
        check("connector_present", False, "Intune lists no Intune Connector for Active Directory; " + install + ".")
    else:
        check("connector_present", True, "Intune lists %d connector(s): %s." % (len(connectors), _names(connectors)))
    remaining = connectors
    for name, problem, good, fix in (
        ("connector_active", "state", "active",
         "start the Intune ODJConnector service on a connector server and check its event log "
         "(Applications and Services Logs > Microsoft > Intune > ODJConnectorService)"),
        ("connector_version", "version", "at version %s or later" % minimum_version,
         "install the current connector (a legacy connector is not updated automatically: uninstall it first)"),
        ("connector_recent_contact", "contact", "contacted Intune within %s hours" % max_contact_age_hours,
         "check that the connector server reaches the Intune endpoints and its service runs"),
    ):
        if not connectors:
            check(name, False, "No connector to check.")
            continue
        kept = [connector for connector in remaining if problem not in connector["_problems"]]
        dropped = [connector for connector in remaining if problem in connector["_problems"]]
        if kept:
            check(name, True, "%s: %s." % (good[0].upper() + good[1:], _names(kept)))
        elif not remaining:
            check(name, False, "No connector is left from the checks before this one.")
        else:
            check(name, False, "No connector is %s (%s); %s." % (good, _why(dropped, problem), fix))
        remaining = kept
    if expected_servers:
        missing = [server for server in expected_servers
                   if not any(same_server(server, connector["display_name"]) for connector in remaining)]
        if missing:
            check("expected_servers", False, "No healthy connector on %s; healthy: %s." % (
                ", ".join(missing), _names(remaining) or "none"))
        else:
            check("expected_servers", True, "Every expected server has a healthy connector: %s." % ", ".join(expected_servers))
    for connector in connectors:
        del connector["_problems"]
    return checks, connectors
