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


def ldap_vars(ad, **overrides):
    """Step 3's connection as the role takes it: the lab's OU delegate, over validated LDAPS."""
    return dict(dict(hybrid_join_ldap_server=ad.lab["host"], hybrid_join_ldap_port=ad.lab["ldaps_port"],
                     hybrid_join_ldap_ca_path=ad.lab["ca_path"], hybrid_join_ldap_username=ad.lab["delegate_user"]["dn"],
                     hybrid_join_ldap_password=ad.lab["delegate_user"]["password"]), **overrides)


def test_the_ad_domain_is_the_domain_controllers_not_what_the_ou_spells(lab, ad):
    dc_domain = ad.lab["realm"].lower()
    # Agreeing with each other, as the OU's DN alone would have passed, but not the domain of step 3's DC.
    other = preflight_failure(run_tasks([role_task(lab, hybrid_join_domain_name="other.test",
                                                   hybrid_join_domain_join_ou="OU=Autopilot,DC=other,DC=test", **ldap_vars(ad))]))
    (problem,) = [line for line in other[1:] if "domain controller" in line]
    assert f"domain is {dc_domain} ({ad.lab['base_dn']}), not other.test" in problem, problem
    assert f"OU=Autopilot,DC=other,DC=test is not in the domain controller's domain {dc_domain}" in problem, problem
    assert "hybrid_join_domain_name" in problem and "hybrid_join_ldap_server" in problem

    unreadable = preflight_failure(run_tasks([role_task(lab, hybrid_join_domain_name=dc_domain, hybrid_join_domain_join_ou=ad.make_ou(),
                                                        **ldap_vars(ad, hybrid_join_ldap_password="not-the-password"))]))
    assert "The AD domain could not be read from hybrid_join_ldap_server" in unreadable[1], unreadable
    assert "not-the-password" not in " ".join(unreadable)
    assert writes(lab.client.requests()) == []


@pytest.mark.parametrize("check", [False, True], ids=["run", "check_mode"])
def test_the_domain_controllers_own_domain_and_an_ou_in_it_pass_reading_only(lab, ad, check):
    ou = ad.make_ou()
    usn = ad.usn_changed(ou)

    task = role_task(lab, hybrid_join_domain_name=ad.lab["realm"].upper() + ".", hybrid_join_domain_join_ou=ou, **ldap_vars(ad))
    # Imported, so --tags preflight reaches the role's tasks and no step runs.
    task["ansible.builtin.import_role"] = task.pop("ansible.builtin.include_role")
    results = run_tasks([task], check=check, extra_args=["--tags", "preflight"])

    assert not [result for result in results if result["failed"]], results
    (read,) = [result for result in results if result["_task"].endswith("read the AD domain from the domain controller step 3 connects to")]
    assert read["domain"] == {"naming_context": ad.lab["base_dn"], "dns_name": ad.lab["realm"].lower()}
    assert [check_["name"] for check_ in read["checks"]] == ["domain"] and read["checks"][0]["passed"]
    assert "connectors" not in read and "accounts" not in read   # no connector check in preflight: step 2's
    assert ad.usn_changed(ou) == usn
    assert writes(lab.client.requests()) == []


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


HYBRID_PROFILE = "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile"
DOMAIN_JOIN = "#microsoft.graph.windowsDomainJoinConfiguration"


def preflight_requests(lab):
    """The Graph requests of one preflight (tags preflight: no step runs), after a clean log."""
    lab.client.clear_log()
    task = role_task(lab)
    task["ansible.builtin.import_role"] = task.pop("ansible.builtin.include_role")
    results = run_tasks([task], extra_args=["--tags", "preflight"])
    assert not [result for result in results if result["failed"]], results
    return [entry for entry in lab.client.requests() if entry["path"].startswith(("/beta/", "/v1.0/"))]


def test_unrelated_profiles_do_not_add_requests_to_the_preflight(lab):
    # The role's own objects in place, so the by-name reads find something to read.
    assert not [result for result in run_tasks([role_task(lab)]) if result["failed"]]
    alone = preflight_requests(lab)
    # Each object read once (issue 23): no collection listed twice, no object (or group) read twice by id; before,
    # the domain join and the Autopilot profiles were read twice each and the device group resolved twice.
    paths = [entry["path"] for entry in alone]
    assert len(paths) == len(set(paths)) == 7, [entry["path"] + "?" + entry["query"] for entry in alone]

    unrelated = 250   # beyond Graph's (and the lab's) default page of 100
    lab.client.seed({
        "windowsAutopilotDeploymentProfiles": [{"@odata.type": HYBRID_PROFILE, "displayName": "Branch profile %03d" % index}
                                               for index in range(unrelated)],
        "deviceConfigurations": [{"@odata.type": DOMAIN_JOIN, "displayName": "Branch domain join %03d" % index,
                                  "activeDirectoryDomainName": "lab.example", "computerNameStaticPrefix": "BR-",
                                  "computerNameSuffixRandomCharCount": 9,
                                  "organizationalUnit": "OU=Branch%03d,DC=lab,DC=example" % index} for index in range(unrelated)]})
    crowded = preflight_requests(lab)

    # Before, preflight read every domain join profile by id and listed every deployment profile with its
    # assignments, 100 a page: 250 unrelated of each took it from 9 requests to 261. Now 7 either way: the ESP by
    # name, one listing of ids, names and assignments per profile collection (all devices and the role's by name),
    # each of the three objects read once, the group they target resolved once.
    assert len(crowded) == len(alone), (len(alone), len(crowded))
    assert writes(crowded) == []
