# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Adopting a tenant set up by hand (playbooks/adopt_tenant.yml) and the hybrid_join role's teardown
(hybrid_join_state: absent) against the Graph lab. Only the Graph steps (5 to 8, and 1 once) run (--tags), AD is not
needed but by the step 3 case (the Samba AD lab): about 180 s for the file on the shared 2-core machine."""

from __future__ import annotations

import json

import yaml

from harness import REPO, graph_auth, run_playbook, run_tasks, writes
from test_hybrid_join_role import mdm_scope

ROLE_VARS = dict(hybrid_join_domain_name="lab.example", hybrid_join_domain_join_ou="OU=Autopilot,DC=lab,DC=example",
                 hybrid_join_device_group="Pilot-HAADJ", hybrid_join_esp_name="Pilot ESP",
                 hybrid_join_profile_name="Pilot hybrid profile", hybrid_join_domain_join_profile_name="Pilot domain join",
                 hybrid_join_domain_join_assign_all_devices=False)
GRAPH_STEPS = ["--tags", "step5,step6,step7,step8"]
FOREIGN_ESP = "Helpdesk ESP"


def role_task(lab, **variables):
    """The role as a playbook's roles: section runs it (imported, so --tags reaches its tasks)."""
    return {"name": "hybrid join", "ansible.builtin.import_role": {"name": "intune.autopilot.hybrid_join"},
            "vars": dict(ROLE_VARS, hybrid_join_graph_auth=graph_auth(lab), **variables)}


def foreign_esp_task(lab, assignments):
    return {"name": "an ESP the role does not manage", "tags": ["always"],
            "intune.autopilot.autopilot_esp": dict(graph_auth(lab), display_name=FOREIGN_ESP, assignments=assignments)}


def set_up(lab, foreign_esp_assignments):
    # Without the preflight, which only reads: what is set up is what the teardown is tested on.
    results = run_tasks([role_task(lab), foreign_esp_task(lab, foreign_esp_assignments)], extra_args=GRAPH_STEPS + ["--skip-tags", "preflight"])
    assert not any(result["failed"] for result in results), [r for r in results if r["failed"]]
    lab.client.clear_log()


def names(state):
    return dict(groups=sorted(g["displayName"] for g in state["groups"]),
                esps=sorted(c["displayName"] for c in state["deviceEnrollmentConfigurations"]),
                profiles=sorted(p["displayName"] for p in state["windowsAutopilotDeploymentProfiles"]),
                domain_join=sorted(c["displayName"] for c in state["deviceConfigurations"]))


def test_teardown_removes_exactly_the_roles_objects_in_reverse_order_and_a_second_sends_no_write(lab, tmp_path):
    set_up(lab, None)
    before = names(lab.client.state())
    role_objects = dict(groups="Pilot-HAADJ", esps="Pilot ESP", profiles="Pilot hybrid profile", domain_join="Pilot domain join")
    assert all(name in before[kind] for kind, name in role_objects.items()) and FOREIGN_ESP in before["esps"], before

    planned = run_tasks([role_task(lab, hybrid_join_state="absent")], check=True, diff=True, extra_args=GRAPH_STEPS)
    assert not any(result["failed"] for result in planned), [r for r in planned if r["failed"]]
    plan = [result for result in planned if result.get("changed")]
    assert len(plan) == 4 and all(result["diff"]["before"] and not result["diff"]["after"] for result in plan), plan
    assert writes(lab.client.requests()) == [] and names(lab.client.state()) == before

    report_dir = tmp_path / "report"
    done = run_tasks([role_task(lab, hybrid_join_state="absent", hybrid_join_report_dir=str(report_dir))], extra_args=GRAPH_STEPS)
    assert not any(result["failed"] for result in done), [r for r in done if r["failed"]]
    # Exactly the role's four objects are gone; the foreign ESP and the lab's other objects stay.
    assert names(lab.client.state()) == {kind: [n for n in found if n != role_objects[kind]] for kind, found in before.items()}
    # Reverse order of the steps, and the profile's assignment deleted before the profile (Intune refuses otherwise).
    deletes = [entry["path"] for entry in writes(lab.client.requests())]
    assert all(entry["method"] == "DELETE" for entry in writes(lab.client.requests())), deletes
    kinds = [next(kind for kind in ("deviceConfigurations", "/assignments/", "windowsAutopilotDeploymentProfiles",
                                    "deviceEnrollmentConfigurations", "groups") if kind in path) for path in deletes]
    assert kinds == ["deviceConfigurations", "/assignments/", "windowsAutopilotDeploymentProfiles",
                     "deviceEnrollmentConfigurations", "groups"], deletes
    report = (report_dir / "hybrid_join_localhost.md").read_text()
    assert "| 7 | hybrid join Autopilot profile and its assignments | Pilot hybrid profile | removed |" in report, report
    assert "| 5 | device group | Pilot-HAADJ | removed |" in report and "| 1 | MDM user scope |  | not part of this run |" in report, report
    assert "## Steps" not in report  # the steps' table would show the steps as skipped
    html = (report_dir / "hybrid_join_localhost.html").read_text()
    assert "<td>Pilot ESP</td><td>removed</td>" in html, html

    lab.client.clear_log()
    again = run_tasks([role_task(lab, hybrid_join_state="absent")], extra_args=GRAPH_STEPS)
    assert not any(result.get("changed") or result["failed"] for result in again), again
    assert writes(lab.client.requests()) == []


def test_the_device_group_is_kept_while_another_esp_still_targets_it_and_the_run_says_which(lab):
    set_up(lab, {"add": [{"group": "Pilot-HAADJ"}]})
    planned = run_tasks([role_task(lab, hybrid_join_state="absent")], check=True, extra_args=GRAPH_STEPS)
    (kept,) = [result for result in planned if result["_task"].endswith("say why the device group is kept")]
    assert "Enrollment Status Page 'Helpdesk ESP'" in kept["msg"] and "Pilot ESP" not in kept["msg"], kept
    # Limited to step 5, the plan deletes none of the role's own: they keep the group too.
    only_group = run_tasks([role_task(lab, hybrid_join_state="absent")], check=True, extra_args=["--tags", "step5"])
    (kept,) = [result for result in only_group if result["_task"].endswith("say why the device group is kept")]
    assert "Enrollment Status Page 'Pilot ESP'" in kept["msg"] and "Autopilot profile 'Pilot hybrid profile'" in kept["msg"], kept
    assert writes(lab.client.requests()) == []

    done = run_tasks([role_task(lab, hybrid_join_state="absent")], extra_args=GRAPH_STEPS)
    assert not any(result["failed"] for result in done), [r for r in done if r["failed"]]
    after = names(lab.client.state())
    assert "Pilot-HAADJ" in after["groups"] and FOREIGN_ESP in after["esps"], after
    assert "Pilot ESP" not in after["esps"] and "Pilot hybrid profile" not in after["profiles"], after
    assert not [entry for entry in writes(lab.client.requests()) if "/groups" in entry["path"]]


def test_an_opt_in_the_teardown_cannot_carry_out_fails_before_any_write(lab):
    set_up(lab, None)
    results = run_tasks([role_task(lab, hybrid_join_state="absent", hybrid_join_teardown_mdm_scope=True,
                                   hybrid_join_teardown_devices=True)])
    failed = [result for result in results if result["failed"]]
    assert failed and "hybrid_join_delegated_auth is empty" in str(failed[0]["msg"]), failed
    assert "no device is named" in str(failed[0]["msg"]), failed
    assert writes(lab.client.requests()) == []


# A setup made by hand, as the portal would: other names and settings, a group-tag rule, the profile and the domain join
# profile on that group, and an ESP beside it on another group.
HAND_MADE = [
    ("device_group", dict(display_name="Sales-Autopilot", description="Sales laptops", membership={"group_tag": "Sales"})),
    ("autopilot_esp", dict(display_name="Sales ESP", error_timeout_minutes=90, custom_error_message="Call the Sales desk",
                           assignments={"set": [{"group": "Sales-Autopilot"}]})),
    ("autopilot_esp", dict(display_name="Kiosk ESP", assignments={"set": [{"group": "Lab-Kiosk-Devices"}]})),
    ("autopilot_profile", dict(display_name="Sales hybrid profile", language="en-US", hide_privacy_settings=False,
                               assignments={"set": [{"group": "Sales-Autopilot"}]})),
    ("domain_join_profile", dict(display_name="Sales domain join", computer_name_prefix="SLS-", domain="lab.example",
                                 organizational_unit="OU=Sales,DC=lab,DC=example", scope_tags=["0", "7"],
                                 assignments={"set": [{"group": "Sales-Autopilot"}]})),
]


def set_up_by_hand(lab, extra=()):
    tasks = [{"name": name, "intune.autopilot." + module: dict(graph_auth(lab), **args)}
             for name, (module, args) in ((args["display_name"], item) for item in list(HAND_MADE) + list(extra) for args in [item[1]])]
    results = run_tasks(tasks)
    assert all(result.get("changed") and not result["failed"] for result in results), results
    lab.client.clear_log()


def adopt(lab, tmp_path, **variables):
    adopted = tmp_path / "adopted.yml"
    extra = dict(hybrid_join_graph_auth=graph_auth(lab), hybrid_join_adopt_file=str(adopted), **variables)
    results, completed = run_playbook(REPO / "playbooks" / "adopt_tenant.yml", extra_args=["-e", json.dumps(extra)])
    return adopted, results, completed


def run_hybrid_join(lab, adopted, *args, check=False, diff=True):
    auth = json.dumps(dict(hybrid_join_graph_auth=graph_auth(lab)))
    return run_playbook(REPO / "playbooks" / "hybrid_join.yml", check=check, diff=diff, extra_args=["-e", "@%s" % adopted, "-e", auth] + list(args))[0]


def differences(results):
    """What each changed task's diff says differs, setting by setting: short enough for an assertion's message."""
    found = []
    for result in results:
        if result.get("changed"):
            before, after = result.get("diff", {}).get("before", {}), result.get("diff", {}).get("after", {})
            found.append({key: (before.get(key), after.get(key)) for key in set(before) | set(after) if before.get(key) != after.get(key)})
    return found


def delegated_auth(lab):
    """A user's sign-in, as step 1 needs (an access token the lab minted for its seeded admin)."""
    scopes = ["Policy.Read.All", "Policy.ReadWrite.MobilityManagement", "Group.Read.All"]
    return dict(access_token=lab.client.mint_token(kind="delegated", upn="admin@lab.example", scopes=scopes),
                graph_endpoint=lab.url, ca_path=lab.ca)


def test_a_hand_made_setup_is_adopted_then_the_role_sends_no_write_and_its_teardown_leaves_the_foreign_esp(lab, tmp_path):
    user = delegated_auth(lab)
    scope = {"intune.autopilot.automatic_enrollment": dict(user, scope="selected", groups={"set": ["Lab-MDM-Users"]})}
    assert not run_tasks([scope])[0]["failed"]
    set_up_by_hand(lab)
    adopted, results, completed = adopt(lab, tmp_path, hybrid_join_delegated_auth=user)
    assert not any(result["failed"] for result in results), completed.stdout
    assert writes(lab.client.requests()) == []
    text = adopted.read_text()
    variables = yaml.safe_load(text)
    state = lab.client.state()
    (group,) = [g for g in state["groups"] if g["displayName"] == "Sales-Autopilot"]
    assert variables["hybrid_join_device_group"] == "Sales-Autopilot"
    assert variables["hybrid_join_device_group_rule"] == '(device.devicePhysicalIds -any _ -eq "[OrderID]:Sales")'
    assert variables["hybrid_join_esp_name"] == "Sales ESP" and variables["hybrid_join_esp_error_timeout_minutes"] == 90
    assert variables["hybrid_join_esp_custom_error_message"] == "Call the Sales desk"
    assert variables["hybrid_join_profile_language"] == "en-US" and variables["hybrid_join_profile_hide_privacy_settings"] is False
    assert variables["hybrid_join_domain_join_ou"] == "OU=Sales,DC=lab,DC=example" and variables["hybrid_join_computer_name_prefix"] == "SLS-"
    assert variables["hybrid_join_domain_join_assign_all_devices"] is False and "Kiosk ESP" not in text
    assert "# Step 5: the device group, id %s," % group["id"] in text and "the only chain found" in text
    # A setting the role has no variable for is said, not silently dropped.
    assert "# Not a role variable yet, left as it is by the role: the domain join profile's scope_tags [\"0\", \"7\"]." in text, text
    assert variables["hybrid_join_mdm_user_scope"] == "selected" and variables["hybrid_join_mdm_user_groups"] == ["Lab-MDM-Users"]
    assert graph_auth(lab)["client_secret"] not in text and user["access_token"] not in text
    assert not [name for name in variables if "auth" in name or "password" in name], variables

    # The promise: the role with the adopted variables finds the tenant as it is.
    converged = run_hybrid_join(lab, adopted, "-e", json.dumps(dict(hybrid_join_delegated_auth=user)), "--tags", "step1,step5,step6,step7,step8")
    assert [r for r in converged if r["_task"].endswith("the MDM user scope")], "step 1 did not run"
    assert not any(result["failed"] for result in converged), [r for r in converged if r["failed"]]
    assert not any(result.get("changed") for result in converged), differences(converged)
    assert writes(lab.client.requests()) == []

    before = names(lab.client.state())
    planned = run_hybrid_join(lab, adopted, "-e", "hybrid_join_state=absent", "--tags", "step5,step6,step7,step8", check=True)
    assert len([result for result in planned if result.get("changed")]) == 4 and writes(lab.client.requests()) == [], planned
    run_hybrid_join(lab, adopted, "-e", "hybrid_join_state=absent", "--tags", "step5,step6,step7,step8")
    adopted_objects = dict(groups="Sales-Autopilot", esps="Sales ESP", profiles="Sales hybrid profile", domain_join="Sales domain join")
    assert names(lab.client.state()) == {kind: [n for n in found if n != adopted_objects[kind]] for kind, found in before.items()}
    assert "Kiosk ESP" in names(lab.client.state())["esps"]


def test_two_chains_fail_listing_both_until_one_is_chosen(lab, tmp_path):
    second = [("device_group", dict(display_name="Labs-Autopilot", membership={"purchase_order": "PO-9"})),
              ("autopilot_profile", dict(display_name="Labs hybrid profile", assignments={"set": [{"group": "Labs-Autopilot"}]}))]
    set_up_by_hand(lab, second)
    adopted, results, completed = adopt(lab, tmp_path)
    (failure,) = [result for result in results if result["failed"]]
    assert "2 chains match: set hybrid_join_adopt_chain" in failure["msg"], failure
    assert "'Sales hybrid profile'" in failure["msg"] and "'Labs hybrid profile'" in failure["msg"], failure
    assert not adopted.exists()

    adopted, results, completed = adopt(lab, tmp_path, hybrid_join_adopt_chain="labs-autopilot")
    assert not any(result["failed"] for result in results), completed.stdout
    variables = yaml.safe_load(adopted.read_text())
    assert variables["hybrid_join_profile_name"] == "Labs hybrid profile" and variables["hybrid_join_device_group"] == "Labs-Autopilot"
    assert "Not picked: device group 'Sales-Autopilot' -> profile 'Sales hybrid profile'" in adopted.read_text()
    assert writes(lab.client.requests()) == []


def test_with_an_inventory_of_tenants_each_gets_its_file_under_the_directory(lab, tmp_path):
    set_up_by_hand(lab)
    # Two inventory hosts on the one lab tenant: enough to show one file per host, named as host_vars names them.
    hosts = {name: dict(hybrid_join_graph_auth=graph_auth(lab)) for name in ("contoso", "fabrikam")}
    inventory = tmp_path / "tenants.yml"
    inventory.write_text(json.dumps({"tenants": {"vars": {"ansible_connection": "local"}, "hosts": hosts}}))
    results, completed = run_playbook(REPO / "playbooks" / "adopt_tenant.yml", extra_args=[
        "-i", str(inventory), "-e", "hybrid_join_adopt_hosts=tenants", "-e", "hybrid_join_adopt_dir=%s" % (tmp_path / "host_vars")])
    assert not any(result["failed"] for result in results), completed.stdout
    files = sorted(path.name for path in (tmp_path / "host_vars").iterdir())
    assert files == ["contoso.yml", "fabrikam.yml"], files
    for name in ("contoso", "fabrikam"):
        text = (tmp_path / "host_vars" / (name + ".yml")).read_text()
        assert text.startswith("---\n# The hybrid join setup of %s (tenant %s)" % (name, lab.tenant)), text[:200]
        assert yaml.safe_load(text)["hybrid_join_profile_name"] == "Sales hybrid profile"
    assert writes(lab.client.requests()) == []


def test_teardown_takes_off_only_step_3s_ace_in_check_mode_writes_nothing_and_a_second_sends_no_ldap_write(lab, ad, single_connector_msa):
    from test_ou_account_limit import AUTHENTICATED_USERS, COMPUTER, explicit_sddl, insert_explicit_aces  # pylint: disable=import-outside-toplevel

    target = ad.make_ou()
    foreign = f"(A;CI;RP;;;{AUTHENTICATED_USERS})"
    insert_explicit_aces(ad, target, allow_sddl=[foreign])
    granted = f"(OA;;CC;{COMPUTER};;{ad.sid_of(single_connector_msa['dn'])})"
    ldap = dict(hybrid_join_domain_name="autopilot.test", hybrid_join_domain_join_ou=target, hybrid_join_ldap_server=ad.lab["host"],
                hybrid_join_ldap_port=ad.lab["ldaps_port"], hybrid_join_ldap_ca_path=ad.lab["ca_path"],
                hybrid_join_ldap_username=ad.lab["delegate_user"]["dn"], hybrid_join_ldap_password=ad.lab["delegate_user"]["password"])
    step3 = ["--tags", "step3"]
    assert not any(result["failed"] for result in run_tasks([role_task(lab, **ldap)], extra_args=step3))
    assert granted in explicit_sddl(ad.raw_descriptor(target))
    version = ad.descriptor_version(target)

    planned = run_tasks([role_task(lab, hybrid_join_state="absent", **ldap)], check=True, extra_args=step3)
    assert [result["_task"].rsplit(" : ", 1)[-1] for result in planned if result.get("changed")] == [
        "Teardown step 3 - take the connector's rights off the domain join OU"], planned
    assert ad.descriptor_version(target) == version

    removed = run_tasks([role_task(lab, hybrid_join_state="absent", **ldap)], extra_args=step3)
    assert not any(result["failed"] for result in removed), [r for r in removed if r["failed"]]
    aces = explicit_sddl(ad.raw_descriptor(target))
    assert granted not in aces and foreign in aces, aces
    version = ad.descriptor_version(target)
    again = run_tasks([role_task(lab, hybrid_join_state="absent", **ldap)], extra_args=step3)
    assert not any(result.get("changed") or result["failed"] for result in again), again
    assert ad.descriptor_version(target) == version
    assert writes(lab.client.requests()) == []


def test_teardown_deletes_only_the_named_devices_registrations_and_only_when_asked(lab, tmp_path):
    lab.client.seed({"windowsAutopilotDeviceIdentities": [dict(serialNumber="GO-0001"), dict(serialNumber="ENROLLED-1", enrollmentState="enrolled"),
                                                           dict(serialNumber="BYSTANDER-1")]})
    named = dict(hybrid_join_state="absent", hybrid_join_devices=[dict(serial_number="GO-0001"), dict(serial_number="ENROLLED-1")])
    serials = lambda: sorted(identity["serialNumber"] for identity in lab.client.state()["windowsAutopilotDeviceIdentities"])  # noqa: E731
    lab.client.clear_log()
    kept = run_tasks([role_task(lab, **named)], extra_args=["--tags", "step4"])
    assert not any(result["failed"] for result in kept) and writes(lab.client.requests()) == []
    assert serials() == ["BYSTANDER-1", "ENROLLED-1", "GO-0001"]

    report_dir = tmp_path / "report"
    removed = run_tasks([role_task(lab, hybrid_join_teardown_devices=True, hybrid_join_report_dir=str(report_dir), **named)],
                        extra_args=["--tags", "step4"])
    assert not any(result["failed"] for result in removed), [r for r in removed if r["failed"]]
    assert serials() == ["BYSTANDER-1", "ENROLLED-1"]  # an enrolled device is Intune's to keep; one not named is never touched
    assert "| 4 | Autopilot registrations of the named devices |  | removed (1 deleted, 1 kept: enrolled in Intune) |" in (report_dir / "hybrid_join_localhost.md").read_text()


def test_teardown_turns_automatic_enrollment_off_only_when_asked(lab):
    user = delegated_auth(lab)
    assert not run_tasks([{"intune.autopilot.automatic_enrollment": dict(user, scope="all")}])[0]["failed"]
    policy = "/beta/policies/mobileDeviceManagementPolicies/0000000a-0000-0000-c000-000000000000"
    left = run_tasks([role_task(lab, hybrid_join_state="absent", hybrid_join_delegated_auth=user)], extra_args=["--tags", "step1"])
    assert not any(result["failed"] for result in left) and mdm_scope(lab) == "all"
    lab.client.clear_log()
    off = run_tasks([role_task(lab, hybrid_join_state="absent", hybrid_join_delegated_auth=user, hybrid_join_teardown_mdm_scope=True)],
                    extra_args=["--tags", "step1"])
    assert not any(result["failed"] for result in off), [r for r in off if r["failed"]]
    assert mdm_scope(lab) == "none" and [entry["path"] for entry in writes(lab.client.requests())] == [policy]
