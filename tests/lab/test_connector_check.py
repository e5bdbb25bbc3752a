# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""connector_check against the Graph lab: every connector state the tutorial cares about, and never a write.
The lab gives a connector the state its last contact implies (error after an hour without a heartbeat, inactive
after five days), so connectors are seeded by how long ago they last called in."""

from __future__ import annotations

import pytest

from module_runner import graph_auth, run_module, writes

CONNECTORS = "domainJoinConnectors"
HOUR, DAY = 3600, 24 * 3600
ERROR, INACTIVE = 2 * HOUR, 6 * DAY  # silent that long, Intune says error / inactive


def connector(name, version="6.2501.2000.5", seconds_ago=300):
    return {"displayName": name, "version": version, "lastConnectionSecondsAgo": seconds_ago}


def seed_connectors(lab, *connectors):
    lab.client.seed({CONNECTORS: list(connectors)}, replace=[CONNECTORS])
    lab.client.clear_log()


def checks_of(result):
    return {check["name"]: check["passed"] for check in result["checks"]}


def reason(result, name):
    return next(check["reason"] for check in result["checks"] if check["name"] == name)


@pytest.fixture
def auth(lab):
    return graph_auth(lab, app="lab-reader")


def test_the_seeded_tenant_is_ready_and_only_reads(lab, auth):
    lab.client.clear_log()
    result = run_module("connector_check", auth)
    assert not result["failed"], result
    assert result["ready"] is True and result["changed"] is False
    assert checks_of(result) == dict(connector_present=True, connector_active=True, connector_version=True,
                                     connector_recent_contact=True)
    by_name = {c["display_name"]: c for c in result["connectors"]}
    assert by_name["ODJ01.lab.example"]["healthy"] is True
    assert by_name["ODJ01.lab.example"]["contact_state"] == "active"
    assert by_name["ODJ-OLD.lab.example"]["problems"] == ["state is inactive, not active (last contact 480.0 hours ago)",
                                                          "version 6.2211.1500.0 is older than 6.2501.2000.5",
                                                          "last contact 480.0 hours ago, more than 2.0"]
    requests = lab.client.requests()
    assert [(entry["method"], entry["path"]) for entry in requests] == [("GET", "/beta/deviceManagement/domainJoinConnectors")]


def test_no_connector_fails_saying_to_install_one(lab, auth):
    seed_connectors(lab)
    result = run_module("connector_check", auth)
    assert result["failed"] is True and result["ready"] is False
    assert checks_of(result) == dict.fromkeys(["connector_present", "connector_active", "connector_version",
                                               "connector_recent_contact"], False)
    assert "install the Intune Connector for Active Directory" in result["msg"]
    assert result["connectors"] == []


def test_only_inactive_connectors_fail_the_active_check_with_their_state(lab, auth):
    seed_connectors(lab, connector("ODJ01", seconds_ago=INACTIVE), connector("ODJ02", seconds_ago=ERROR))
    result = run_module("connector_check", auth)
    assert result["failed"] is True
    assert checks_of(result) == dict(connector_present=True, connector_active=False, connector_version=False,
                                     connector_recent_contact=False)
    assert ("ODJ01: state is inactive, not active (last contact 144.0 hours ago); "
            "ODJ02: state is error, not active (last contact 2.0 hours ago)") in reason(result, "connector_active")
    assert "start the Intune ODJConnector service" in result["msg"]


def test_an_old_version_fails_naming_the_floor(lab, auth):
    seed_connectors(lab, connector("ODJ01", version="6.2411.1000.3"))
    result = run_module("connector_check", auth)
    assert result["failed"] is True
    assert checks_of(result)["connector_active"] is True and checks_of(result)["connector_version"] is False
    assert "ODJ01: version 6.2411.1000.3 is older than 6.2501.2000.5" in reason(result, "connector_version")


def test_versions_compare_as_integers_not_text(lab, auth):
    # As text "6.2501.2000.10" < "6.2501.2000.5"; as integers it is later.
    seed_connectors(lab, connector("ODJ01", version="6.2501.2000.10"))
    result = run_module("connector_check", auth)
    assert result["ready"] is True, result
    seed_connectors(lab, connector("ODJ01", version="6.2501.2000.10"))
    stricter = run_module("connector_check", dict(auth, minimum_version="6.2501.2000.11"))
    assert checks_of(stricter)["connector_version"] is False


def test_a_connector_silent_for_over_an_hour_is_not_healthy_whatever_the_contact_limit(lab, auth):
    """Intune's heartbeat rule (error after an hour without one): a longer max_contact_age_hours does not make a
    silent connector healthy, and its state is reported as Graph and the rule give it."""
    seed_connectors(lab, connector("ODJ01", seconds_ago=90 * 60))
    for args in (dict(), dict(max_contact_age_hours=4)):
        result = run_module("connector_check", dict(auth, **args))
        assert result["failed"] is True and checks_of(result)["connector_active"] is False, result
        (found,) = result["connectors"]
        assert (found["state"], found["contact_state"], found["healthy"]) == ("error", "error", False)
        assert "ODJ01: state is error, not active (last contact 1.5 hours ago)" in reason(result, "connector_active")


def test_the_contact_limit_is_an_option(lab, auth):
    seed_connectors(lab, connector("ODJ01", seconds_ago=45 * 60))
    assert run_module("connector_check", auth)["ready"] is True
    seed_connectors(lab, connector("ODJ01", seconds_ago=45 * 60))
    stricter = run_module("connector_check", dict(auth, max_contact_age_hours=0.5))
    assert checks_of(stricter)["connector_active"] is True and checks_of(stricter)["connector_recent_contact"] is False
    assert "ODJ01: last contact 0.75 hours ago, more than 0.5" in reason(stricter, "connector_recent_contact")


def test_one_healthy_connector_among_bad_ones_is_enough(lab, auth):
    seed_connectors(lab, connector("ODJ-STOPPED", seconds_ago=INACTIVE), connector("ODJ-OLD", version="6.2211.1500.0"),
                    connector("ODJ-QUIET", seconds_ago=30 * HOUR), connector("ODJ-GOOD.lab.example"))
    result = run_module("connector_check", auth)
    assert result["ready"] is True and not result["failed"], result
    assert [c["display_name"] for c in result["connectors"] if c["healthy"]] == ["ODJ-GOOD.lab.example"]
    assert reason(result, "connector_recent_contact") == "Contacted Intune within 2.0 hours: ODJ-GOOD.lab.example."


def test_an_expected_server_without_a_healthy_connector_fails(lab, auth):
    seed_connectors(lab, connector("ODJ01.lab.example"), connector("ODJ02.lab.example", seconds_ago=ERROR))
    result = run_module("connector_check", dict(auth, expected_servers=["odj01", "ODJ02.lab.example", "ODJ03.lab.example"]))
    assert result["failed"] is True
    assert checks_of(result)["expected_servers"] is False
    assert reason(result, "expected_servers") == ("No healthy connector on ODJ02.lab.example, ODJ03.lab.example; "
                                                  "healthy: ODJ01.lab.example.")
    passing = run_module("connector_check", dict(auth, expected_servers=["ODJ01.LAB.EXAMPLE"]))
    assert passing["ready"] is True, passing


def test_report_only_returns_the_failures_without_failing(lab, auth):
    seed_connectors(lab, connector("ODJ01", seconds_ago=INACTIVE))
    result = run_module("connector_check", dict(auth, report_only=True))
    assert result["failed"] is False and result["ready"] is False
    assert checks_of(result)["connector_active"] is False


def test_check_mode_is_the_same_run(lab, auth):
    seed_connectors(lab, connector("ODJ01", version="6.2211.1500.0"))
    normal = run_module("connector_check", dict(auth, report_only=True))
    checked = run_module("connector_check", dict(auth, report_only=True), check=True)
    assert checked["checks"] == normal["checks"] and checked["changed"] is False


@pytest.mark.parametrize("args, fragment", [
    (dict(minimum_version="6.2501.x"), "minimum_version '6.2501.x' is not a version"),
    (dict(minimum_version="1.2.3.4.5"), "one to four dot-separated integers"),
    (dict(max_contact_age_hours=0), "max_contact_age_hours is 0.0; give a positive number"),
    (dict(expected_servers=[" "]), "expected_servers has an empty entry"),
    (dict(domain_join_ou="OU=Autopilot,DC=lab,DC=example"), "domain_join_ou is checked in AD, which needs the ldap connection"),
    (dict(ldap=dict(server=["dc1.lab.example"], username="reader", password="not-a-real-password")), "ldap is given but domain_join_ou is not"),
    (dict(ldap=dict(server=["dc1.lab.example"]), domain_join_ou="OU=A,DC=lab,DC=example"), "ldap: auth=simple needs both username and password"),
    (dict(ldap=dict(server=["dc1.lab.example"], username="reader", password="not-a-real-password"), domain_join_ou="Autopilot"),
     "domain_join_ou 'Autopilot' is not the full DN of an OU"),
])
def test_bad_input_fails_before_any_request(lab, auth, args, fragment):
    lab.client.clear_log()
    result = run_module("connector_check", dict(auth, **args))
    assert result["failed"] is True and fragment in result["msg"], result
    assert lab.client.requests() == []


def test_no_write_ever_reaches_the_lab(lab, auth):
    seed_connectors(lab, connector("ODJ01"), connector("ODJ02", seconds_ago=INACTIVE))
    for args in (dict(), dict(report_only=True), dict(expected_servers=["ODJ09"])):
        run_module("connector_check", dict(auth, **args))
        run_module("connector_check", dict(auth, **args), check=True)
    assert len(lab.client.requests()) == 6
    assert writes(lab.client.requests()) == []
