# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hybrid_join role (steps 1 to 10) against the Graph lab, as playbooks/hybrid_join.yml runs it."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import unquote

from harness import graph_auth, run_tasks, writes

DEVICE_GROUP = "Autopilot-HAADJ-Devices"
TUTORIAL_RULE = '(device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]"))'
ROLE_VARS = dict(hybrid_join_domain_name="lab.example", hybrid_join_domain_join_ou="OU=Autopilot,DC=lab,DC=example")


def role_task(lab, **variables):
    return {"name": "hybrid join", "ansible.builtin.include_role": {"name": "intune.autopilot.hybrid_join"},
            "vars": dict(ROLE_VARS, hybrid_join_graph_auth=graph_auth(lab), **variables)}


def run_steps(lab, steps, **variables):
    """The role limited to some steps (--tags) and without the preflight, which only reads (its own tests are
    test_hybrid_join_preflight.py): a test about those steps pays for them alone. Imported, so the tags reach the
    role's tasks, as a playbook's roles: section does."""
    task = {"name": "hybrid join", "ansible.builtin.import_role": {"name": "intune.autopilot.hybrid_join"},
            "vars": dict(ROLE_VARS, hybrid_join_graph_auth=graph_auth(lab), **variables)}
    return run_tasks([task], extra_args=["--tags", ",".join("step%d" % n for n in steps), "--skip-tags", "preflight"])


def seed_device_group(lab):
    """The group as a tenant may already hold it: without the description step 5 gives it."""
    lab.client.seed({"groups": [{"displayName": DEVICE_GROUP, "mailEnabled": False, "mailNickname": "autopilothaadj",
                                 "securityEnabled": True, "groupTypes": ["DynamicMembership"], "membershipRuleProcessingState": "On",
                                 "membershipRule": TUTORIAL_RULE}]})
    lab.client.clear_log()


def test_first_run_configures_steps_5_to_8_and_the_second_sends_no_write(lab):
    first = run_tasks([role_task(lab)])
    changed = sorted(result["_task"] for result in first if result.get("changed"))
    assert len(changed) == 4 and not any(result["failed"] for result in first), first
    state = lab.client.state()
    (group,) = [g for g in state["groups"] if g["displayName"] == DEVICE_GROUP]
    assert group["groupTypes"] == ["DynamicMembership"] and group["membershipRule"] == TUTORIAL_RULE
    # Steps 6 and 7 assign to the group step 5 made, taking its id from the run's cache, not from a look-up.
    (profile,) = state["windowsAutopilotDeploymentProfiles"]
    assert profile["displayName"] == "Autopilot hybrid join user driven"
    assert [a["target"].get("groupId") for a in profile["assignments"]] == [group["id"]]
    name_lookups = [e for e in lab.client.requests() if e["method"] == "GET" and e["path"] == "/v1.0/groups" and DEVICE_GROUP in unquote(e["query"])]
    # Step 5's look-up before its create and its look again after it (another run's group of the name, issue 21);
    # none from steps 6-8.
    assert len(name_lookups) == 2, name_lookups
    skipped_step3 = [result for result in first if result["_task"].endswith("Step 3 - say why it was skipped")]
    assert skipped_step3 and "Step 3 skipped" in skipped_step3[0]["msg"]

    lab.client.clear_log()
    second = run_tasks([role_task(lab)])
    assert not any(result.get("changed") or result["failed"] for result in second), second
    assert writes(lab.client.requests()) == []
    assert lab.client.counts()["token"] == 1


def test_the_optional_settings_reach_graph_when_set_and_are_left_to_intune_when_unset(lab):
    # The role passes them as "x or omit" (no filter, see step6.yml); unset must leave them out, not send null.
    unset = run_steps(lab, (5, 6, 7, 8))
    assert not any(result["failed"] for result in unset), unset
    state = lab.client.state()
    (domain_join,) = [c for c in state["deviceConfigurations"] if c["displayName"] == "Autopilot hybrid join - domain join"]
    (profile,) = state["windowsAutopilotDeploymentProfiles"]
    assert domain_join["computerNameSuffixRandomCharCount"] == 9  # fills HAADJ- to 15 characters
    assert domain_join["organizationalUnit"] == "OU=Autopilot,DC=lab,DC=example"
    assert not profile.get("description")

    lab.client.reset()
    set_ = run_steps(lab, (5, 6, 7, 8), hybrid_join_computer_name_random_chars=5, hybrid_join_profile_description="Pilot wave",
                     hybrid_join_esp_priority=1)
    assert not any(result["failed"] for result in set_), set_
    state = lab.client.state()
    (domain_join,) = [c for c in state["deviceConfigurations"] if c["displayName"] == "Autopilot hybrid join - domain join"]
    (profile,) = state["windowsAutopilotDeploymentProfiles"]
    assert domain_join["computerNameSuffixRandomCharCount"] == 5 and profile["description"] == "Pilot wave"


def test_check_mode_run_sends_no_write(lab):
    # Steps 6 to 8 can only plan assignments to a group that exists.
    seed_device_group(lab)
    planned = run_tasks([role_task(lab)], check=True, diff=True)
    assert sum(1 for result in planned if result.get("changed")) == 4, planned
    assert writes(lab.client.requests()) == []


def test_check_mode_on_a_new_tenant_plans_the_group_and_its_assignments_without_writing(lab):
    planned = run_tasks([role_task(lab)], check=True, diff=True)

    assert not any(result["failed"] for result in planned), [r for r in planned if r["failed"]]
    changed = {result["_task"].rsplit(" : ", 1)[-1]: result for result in planned if result.get("changed")}
    assert len(changed) == 4, sorted(changed)
    # Steps 6-8 plan their assignments to the group step 5 would create, shown by its name.
    profile = next(result for name, result in changed.items() if "deployment profile" in name)
    assert profile["assignments"] == [{"group": DEVICE_GROUP, "exclude": False}], profile
    assert writes(lab.client.requests()) == []
    assert not [g for g in lab.client.state()["groups"] if g["displayName"] == DEVICE_GROUP]


def test_wrong_variables_fail_before_any_request(lab):
    results = run_tasks([role_task(lab, hybrid_join_profile_user_account_type="superuser")])
    (failure,) = [result for result in results if result["failed"]]
    assert "Validating arguments" in failure["_task"] and "hybrid_join_profile_user_account_type" in failure["msg"], failure
    assert lab.client.requests() == []


def test_assignments_made_outside_the_role_survive_it(converged_lab):
    lab = converged_lab
    exclude_kiosks = {"add": [{"group": "Lab-Kiosk-Devices", "exclude": True}]}
    profile_args = dict(graph_auth(lab), display_name="Autopilot hybrid join user driven", assignments=exclude_kiosks)
    extra = {"intune.autopilot.autopilot_profile": profile_args}
    assert run_tasks([extra])[0]["changed"] is True
    lab.client.clear_log()
    run_steps(lab, (5, 6, 7, 8))
    assert writes(lab.client.requests()) == []
    (profile,) = lab.client.state()["windowsAutopilotDeploymentProfiles"]
    assert len(profile["assignments"]) == 2


def test_an_esp_that_does_not_block_the_device_leaves_out_the_settings_that_need_blocking(lab):
    variables = dict(hybrid_join_esp_block_device_until_complete=False, hybrid_join_esp_allow_reset_on_failure=True)
    first = run_steps(lab, (5, 6), **variables)
    assert not any(result["failed"] for result in first), first
    (create,) = [entry for entry in writes(lab.client.requests()) if entry["path"].endswith("/deviceEnrollmentConfigurations")]
    assert create["body"]["blockDeviceSetupRetryByUser"] is True and "allowDeviceResetOnInstallFailure" not in create["body"]

    lab.client.clear_log()
    second = run_steps(lab, (5, 6), **variables)
    assert not any(result.get("changed") or result["failed"] for result in second), second
    assert writes(lab.client.requests()) == []


def test_a_device_group_given_by_id_is_managed_by_id_among_groups_with_its_name(lab):
    seed_device_group(lab)
    seed_device_group(lab)
    chosen = [g["id"] for g in lab.client.state()["groups"] if g["displayName"] == DEVICE_GROUP][1]
    results = run_steps(lab, (5, 6, 7, 8), hybrid_join_device_group=chosen, hybrid_join_domain_join_assign_all_devices=False)
    assert not any(result["failed"] for result in results), results
    groups = {g["id"]: g for g in lab.client.state()["groups"] if g["displayName"] == DEVICE_GROUP}
    assert len(groups) == 2 and groups[chosen].get("description")
    (profile,) = lab.client.state()["windowsAutopilotDeploymentProfiles"]
    assert [a["target"]["groupId"] for a in profile["assignments"]] == [chosen]


def fake_hash(serial):
    """A base64 stand-in for a 4K hardware hash (the lab checks base64 and a plausible length)."""
    return base64.b64encode(hashlib.sha512(serial.encode()).digest() * 4).decode()


def test_steps_4_and_9_register_devices_and_assign_a_user_and_a_second_run_sends_no_write(lab):
    lab.client.config(delay_scale=0)  # the import and the sync finish at the next request instead of in minutes
    devices = [{"serial_number": serial, "hardware_hash": fake_hash(serial), "group_tag": "HAADJ-Role"}
               for serial in ("ROLEPC01", "ROLEPC02")]
    users = [{"serial_number": "ROLEPC02", "assigned_user": "alice@lab.example", "assigned_user_display_name": "Alice"}]

    first = run_steps(lab, range(4, 11), hybrid_join_devices=devices, hybrid_join_device_users=users)

    assert not any(result["failed"] for result in first), first
    state = lab.client.state()
    identities = {i["serialNumber"]: i for i in state["windowsAutopilotDeviceIdentities"] if i["serialNumber"].startswith("ROLEPC")}
    assert sorted(identities) == ["ROLEPC01", "ROLEPC02"]
    assert {i["groupTag"] for i in identities.values()} == {"HAADJ-Role"}
    assert (identities["ROLEPC02"]["userPrincipalName"], identities["ROLEPC02"]["addressableUserName"]) == ("alice@lab.example", "Alice")
    assert identities["ROLEPC01"]["userPrincipalName"] == ""
    # Staging rows stay (hybrid_join_device_cleanup: none, as Get-WindowsAutopilotInfo leaves them), complete.
    staged = [row for row in state.get("importedWindowsAutopilotDeviceIdentities", []) if row["serialNumber"].startswith("ROLEPC")]
    assert sorted(row["serialNumber"] for row in staged) == ["ROLEPC01", "ROLEPC02"], staged
    assert {row["state"]["deviceImportStatus"] for row in staged} == {"complete"}, staged
    step4 = [result for result in first if result["_task"].endswith("then sync Autopilot")]
    assert step4 and step4[0]["changed"] and step4[0]["counts"]["imported"] == 2, step4
    # Step 10 follows the same two devices (the lab plays the pipeline at once here) and says so line by line.
    (readiness,) = [result["msg"] for result in first if result["_task"].endswith("Readiness of each device")]
    assert readiness == ["2 of 2 devices ready to deploy", "ROLEPC01: ready to deploy", "ROLEPC02: ready to deploy"], readiness

    lab.client.clear_log()
    second = run_steps(lab, range(4, 11), hybrid_join_devices=devices, hybrid_join_device_users=users)
    assert not any(result.get("changed") or result["failed"] for result in second), second
    assert writes(lab.client.requests()) == []


def test_steps_4_and_9_say_why_they_were_skipped(lab):
    results = run_steps(lab, (4, 9))
    messages = {result["_task"].rsplit(" : ", 1)[-1]: result.get("msg", "") for result in results}
    assert "hybrid_join_device_csv_files" in messages["Step 4 - say why it was skipped"], messages
    assert "hybrid_join_device_users" in messages["Step 9 - say why it was skipped"], messages
    assert not [e for e in lab.client.requests() if "DeviceIdentities" in e["path"] or "windowsAutopilotSettings" in e["path"]]


def delegated_sign_in(lab):
    """The lab's seeded admin user (lab/graph/seed.json), as step 1 needs a user's token."""
    app = graph_auth(lab)
    return dict(auth_source="username_password", tenant_id=app["tenant_id"], client_id=app["client_id"],
                username="admin@lab.example", password="lab-admin-password", graph_endpoint=lab.url,
                authority_host=lab.url, ca_path=lab.ca)


def mdm_scope(lab):
    (policy,) = [p for p in lab.client.state()["mobileDeviceManagementPolicies"] if p["displayName"] == "Microsoft Intune"]
    return policy["appliesTo"]


def test_step_1_sets_the_mdm_user_scope_with_a_user_sign_in_and_a_second_run_sends_no_write(lab):
    assert mdm_scope(lab) == "none"
    first = run_steps(lab, (1,), hybrid_join_delegated_auth=delegated_sign_in(lab))
    assert not any(result["failed"] for result in first), first
    assert mdm_scope(lab) == "all"
    lab.client.clear_log()
    second = run_steps(lab, (1,), hybrid_join_delegated_auth=delegated_sign_in(lab))
    assert not any(result.get("changed") or result["failed"] for result in second), second
    assert writes(lab.client.requests()) == []


def test_step_1_refuses_application_credentials_before_any_write_and_says_why_when_skipped(lab):
    refused = run_steps(lab, (1,), hybrid_join_delegated_auth=graph_auth(lab))
    failure, run_failure = [result for result in refused if result["failed"]]
    assert run_failure["msg"].startswith("Step 1 failed") and "only to a signed-in user" in run_failure["msg"], run_failure
    assert "automatic Intune enrollment" in failure["_task"] and "only to a signed-in user" in failure["msg"], failure
    assert writes(lab.client.requests()) == [] and mdm_scope(lab) == "none"

    skipped = run_steps(lab, (1,))
    (message,) = [result.get("msg", "") for result in skipped if result["_task"].endswith("Step 1 - say why it was skipped")]
    assert "hybrid_join_delegated_auth" in message


def test_step_2_stops_the_role_before_step_3_when_no_connector_can_serve_or_warns_when_told(lab):
    lab.client.seed({"domainJoinConnectors": []}, replace=["domainJoinConnectors"])
    lab.client.clear_log()

    stopped = run_tasks([role_task(lab)])

    # The step's failure, then the role's own at its end (after the report): the run still fails.
    failure, run_failure = [result for result in stopped if result["failed"]]
    assert run_failure["msg"].startswith("Step 2 failed (Stop before step 3"), run_failure
    assert failure["_task"].endswith("Stop before step 3 when the connector cannot serve hybrid join"), failure
    assert "hybrid_join_connector_check_fatal" in failure["msg"], failure
    assert writes(lab.client.requests()) == []  # nothing after step 2 ran

    warned = run_tasks([role_task(lab, hybrid_join_connector_check_fatal=False)])
    assert not any(result["failed"] for result in warned), warned
    (warning,) = [result["msg"] for result in warned if result["_task"].endswith("Warn instead when told to")]
    assert warning.startswith("WARNING: the Intune Connector") and lab.client.state()["windowsAutopilotDeploymentProfiles"]
