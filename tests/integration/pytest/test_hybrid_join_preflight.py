# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hybrid_join role's preflight cross-checks against the Graph lab: every problem in one failure, before any write."""

from __future__ import annotations

import pytest

from harness import graph_auth, run_tasks, writes
from test_hybrid_join_role import role_task

ENTRA_JOIN = "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"
PILOT_GROUP = "Lab-Pilot-Devices"  # seeded by the lab


def preflight_failure(results):
    failures = [result for result in results if result["failed"]]
    # Step 7's check-mode probe may fail too (ignored); the listing is the one that stops the role.
    assert failures and failures[-1]["_task"].endswith("listing every problem and its fix"), failures
    assert not [result for result in results if result["_task"].split(" : ")[-1].startswith("Step")], "a step ran"
    return failures[-1]["msg"]


@pytest.mark.parametrize("check", [False, True], ids=["run", "check_mode"])
def test_wrong_variables_are_all_listed_in_one_failure_before_any_write(lab, check):
    results = run_tasks([role_task(lab, hybrid_join_domain_join_ou="cn = Computers , DC=lab,DC=example",
                                   hybrid_join_domain_name="other.example", hybrid_join_profile_skip_ad_connectivity_check=True)],
                        check=check)

    problems = preflight_failure(results)[1:]
    assert len(problems) == 2, problems
    assert "hybrid_join_domain_join_ou" in problems[0] and "default Computers container" in problems[0]
    assert "hybrid_join_vpn: true" in problems[1]
    assert writes(lab.client.requests()) == []


def test_an_ou_outside_the_domain_or_none_is_refused_and_a_declared_vpn_allows_the_skip(lab):
    other_domain = preflight_failure(run_tasks([role_task(lab, hybrid_join_domain_name="corp.example")]))
    assert "hybrid_join_domain_name is corp.example" in other_domain[1] and "lab.example" in other_domain[1], other_domain
    no_ou = preflight_failure(run_tasks([role_task(lab, hybrid_join_domain_join_ou="")]))
    assert "hybrid_join_domain_join_ou is empty" in no_ou[1], no_ou
    assert writes(lab.client.requests()) == []

    vpn = run_tasks([role_task(lab, hybrid_join_vpn=True, hybrid_join_profile_skip_ad_connectivity_check=True,
                               hybrid_join_domain_name="LAB.example.")])
    assert not any(result["failed"] for result in vpn), [result for result in vpn if result["failed"]]
    (profile,) = lab.client.state()["windowsAutopilotDeploymentProfiles"]
    assert profile["hybridAzureADJoinSkipConnectivityCheck"] is True


def test_what_the_tenant_has_is_checked_against_the_role_before_any_write(lab):
    auth = graph_auth(lab)
    lab.client.seed({"windowsAutopilotDeploymentProfiles": [{"@odata.type": ENTRA_JOIN, "displayName": "Autopilot hybrid join user driven"}]})
    existing = [
        {"intune.autopilot.autopilot_esp": dict(auth, display_name="Autopilot hybrid join - ESP", assignments={"set": [{"group": PILOT_GROUP}]})},
        {"intune.autopilot.domain_join_profile": dict(auth, display_name="Autopilot hybrid join - domain join", computer_name_prefix="OLD-",
                                                      domain="lab.example", organizational_unit="OU=Old,DC=lab,DC=example",
                                                      assignments={"set": [{"all_devices": True}]})},
        {"intune.autopilot.domain_join_profile": dict(auth, display_name="Legacy domain join", computer_name_prefix="LEG-",
                                                      domain="lab.example", organizational_unit="OU=Autopilot,DC=lab,DC=example",
                                                      assignments={"set": [{"all_devices": True}]})},
        {"intune.autopilot.autopilot_profile": dict(auth, display_name="Legacy hybrid profile", assignments={"set": [{"all_devices": True}]})},
    ]
    seeded = run_tasks(existing)
    assert not any(result["failed"] for result in seeded), seeded
    lab.client.clear_log()

    problems = preflight_failure(run_tasks([role_task(lab)]))[1:]

    assert len(problems) == 5, problems
    entra, esp, ou, legacy, legacy_profile = problems
    assert "join type" in entra and "hybrid_join_profile_recreate" in entra
    assert "'Autopilot hybrid join - ESP' targets lab-pilot-devices, not autopilot-haadj-devices" in esp and "hybrid_join_device_group" in esp
    assert "names the OU OU=Old,DC=lab,DC=example" in ou and "hybrid_join_domain_join_ou" in ou
    assert "'Legacy domain join' already targets all devices" in legacy and "hybrid_join_domain_join_assign_all_devices" in legacy
    assert "Autopilot profile 'Legacy hybrid profile' already targets all devices" in legacy_profile
    assert writes(lab.client.requests()) == []
    # Another domain join profile on all devices is no conflict once the role assigns its own to the group.
    problems = preflight_failure(run_tasks([role_task(lab, hybrid_join_domain_join_assign_all_devices=False)]))[1:]
    assert not [problem for problem in problems if "Legacy" in problem], problems
