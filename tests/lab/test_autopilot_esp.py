# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot_esp (tutorial step 6) against the Graph lab: every claim is proven from the lab's request
log and state, not from what the module says about itself."""

from __future__ import annotations

import uuid

import pytest

from module_runner import graph_auth, run_module, writes

MODULE = "autopilot_esp"
ESP_TYPE = "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration"
ASSIGNMENT_TYPE = "#microsoft.graph.enrollmentConfigurationAssignment"
GROUP_TARGET = "#microsoft.graph.groupAssignmentTarget"
EXCLUDE_TARGET = "#microsoft.graph.exclusionGroupAssignmentTarget"
ALL_DEVICES = "#microsoft.graph.allDevicesAssignmentTarget"
COLLECTION = "/beta/deviceManagement/deviceEnrollmentConfigurations"
DEFAULT_ESP_NAME = "All users and all devices"
PILOT = "7e1ab000-0000-4000-8000-00000000b001"  # Lab-Pilot-Devices
KIOSK = "7e1ab000-0000-4000-8000-00000000b002"  # Lab-Kiosk-Devices
FILTER_ID = "9f0e1d2c-3b4a-4958-8776-a5b4c3d2e1f0"
APP = "4a1f9a6e-2f55-4b8e-9a53-0c7e7f6e1a01"

# The tutorial's values, as Graph holds them (what the module sends on create when nothing is set).
TUTORIAL_VALUES = {
    "showInstallationProgress": True,
    "installProgressTimeoutInMinutes": 60,
    "allowLogCollectionOnInstallFailure": True,
    "trackInstallProgressForAutopilotOnly": True,  # the portal's "Only show page to devices provisioned by OOBE": Yes
    "disableUserStatusTrackingAfterFirstUser": True,  # no portal control; CIPP and Microsoft365DSC send true
    "installQualityUpdates": False,
    "blockDeviceSetupRetryByUser": False,  # the portal's "Block device use until all apps and profiles are installed": Yes
    "allowDeviceResetOnInstallFailure": False,
    "allowDeviceUseOnInstallFailure": False,
    "selectedMobileAppIds": [],
    "allowNonBlockingAppInstallation": False,
    "roleScopeTagIds": ["0"],
}
# The same settings as the options a playbook (the hybrid_join role) passes every run.
TUTORIAL_OPTIONS = dict(
    show_app_and_profile_progress=True,
    error_timeout_minutes=60,
    custom_error_message="",
    allow_log_collection=True,
    only_show_page_to_oobe_devices=True,
    install_quality_updates=False,
    block_device_until_complete=True,
    allow_reset_on_failure=False,
    allow_use_on_failure=False,
    blocking_apps=[],
    allow_non_blocking_app_installation=False,
    scope_tags=["0"],
)


def esp_args(lab, name="Autopilot hybrid join - ESP", **options):
    return dict(graph_auth(lab), display_name=name, **options)


def configurations(lab):
    return lab.client.state()["deviceEnrollmentConfigurations"]


def custom_esps(lab):
    return {obj["displayName"]: obj for obj in configurations(lab)
            if obj["@odata.type"] == ESP_TYPE and not obj["deviceEnrollmentConfigurationType"].startswith("default")}


def default_esp(lab):
    return next(obj for obj in configurations(lab)
                if obj["deviceEnrollmentConfigurationType"] == "defaultWindows10EnrollmentCompletionPageConfiguration")


def group_target(group_id, **filter_fields):
    return dict({"@odata.type": GROUP_TARGET, "groupId": group_id}, **filter_fields)


def seed_esp(lab, name, assigned=(), **values):
    """An existing ESP with the tutorial's values (plus `values`), assigned to the `assigned` targets."""
    esp_id = "%s_Windows10EnrollmentCompletionPageConfiguration" % uuid.uuid4()
    obj = dict(TUTORIAL_VALUES, **{"@odata.type": ESP_TYPE, "id": esp_id, "displayName": name}, **values)
    obj["assignments"] = [
        {"@odata.type": ASSIGNMENT_TYPE, "id": "%s_%s" % (esp_id, target.get("groupId")), "source": "direct",
         "sourceId": esp_id, "target": target}
        for target in assigned
    ]
    lab.client.seed({"deviceEnrollmentConfigurations": [obj]})
    lab.client.clear_log()
    return esp_id


def assign_calls(requests):
    return [entry for entry in writes(requests) if entry["path"].endswith("/assign")]


def targets(assign_call):
    items = assign_call["body"]["enrollmentConfigurationAssignments"]
    assert all(item["@odata.type"] == ASSIGNMENT_TYPE for item in items)
    return sorted((item["target"]["@odata.type"], item["target"].get("groupId")) for item in items)


def stored_targets(esp):
    return sorted((a["target"]["@odata.type"], a["target"].get("groupId")) for a in esp["assignments"])


# -- create, idempotency, update -------------------------------------------------------------------

def test_create_sends_the_tutorial_values_and_a_rerun_writes_nothing(lab):
    before_default = default_esp(lab)
    args = esp_args(lab, assignments={"set": [{"group": "Lab-Pilot-Devices"}]})

    created = run_module(MODULE, args)
    assert created["changed"] and not created.get("failed"), created
    log = lab.client.requests()
    calls = writes(log)
    assert [(c["method"], c["path"]) for c in calls] == [
        ("POST", COLLECTION), ("POST", "%s/%s/assign" % (COLLECTION, created["id"]))]
    assert calls[0]["body"] == dict(TUTORIAL_VALUES, **{"@odata.type": ESP_TYPE, "displayName": "Autopilot hybrid join - ESP"})
    assert targets(calls[1]) == [(GROUP_TARGET, PILOT)]
    assert created["esp"]["installProgressTimeoutInMinutes"] == 60
    assert created["assignments"] == [{"group": "Lab-Pilot-Devices", "exclude": False}]

    lab.client.clear_log()
    again = run_module(MODULE, dict(args, **TUTORIAL_OPTIONS))
    assert not again["changed"] and not again.get("failed"), again
    assert writes(lab.client.requests()) == []
    assert again["id"] == created["id"]

    # Neither run addressed or changed the default ESP that shares the collection.
    log += lab.client.requests()
    assert not [entry for entry in log if before_default["id"] in entry["path"]]
    assert default_esp(lab) == before_default


def test_one_changed_setting_is_the_only_thing_patched(lab):
    apps = ["AAAAAAAA-1111-4111-8111-111111111111", "bbbbbbbb-2222-4222-8222-222222222222"]
    esp_id = seed_esp(lab, "ESP to change", customErrorMessage=None, selectedMobileAppIds=apps)

    # Same apps in another order and case, "" against Graph's null message: only the timeout differs.
    options = {**TUTORIAL_OPTIONS, "error_timeout_minutes": 90, "blocking_apps": [app.swapcase() for app in reversed(apps)]}
    result = run_module(MODULE, esp_args(lab, "ESP to change", **options))

    assert result["changed"] and not result.get("failed"), result
    calls = writes(lab.client.requests())
    assert [(c["method"], c["path"]) for c in calls] == [("PATCH", "%s/%s" % (COLLECTION, esp_id))]
    assert calls[0]["body"] == {"@odata.type": ESP_TYPE, "installProgressTimeoutInMinutes": 90}
    assert custom_esps(lab)["ESP to change"]["installProgressTimeoutInMinutes"] == 90


# -- what Intune does differently ---------------------------------------------------------------------

BLOCKING_ONLY_OFF = {"allowDeviceResetOnInstallFailure": False, "allowDeviceUseOnInstallFailure": False,
                     "selectedMobileAppIds": [], "allowNonBlockingAppInstallation": False}


def test_block_device_until_complete_is_graphs_inverse_and_a_rerun_converges(lab):
    # Portal Yes is blockDeviceSetupRetryByUser false: the settings under it are kept only then, so sending
    # true with them (as the module once did) would have Intune drop them and every run PATCH them again.
    args = esp_args(lab, "ESP blocking", block_device_until_complete=True, allow_reset_on_failure=True)
    created = run_module(MODULE, args)
    assert created["changed"] and not created.get("failed"), created
    (create,) = [c for c in writes(lab.client.requests()) if c["path"] == COLLECTION]
    assert (create["body"]["blockDeviceSetupRetryByUser"], create["body"]["allowDeviceResetOnInstallFailure"]) == (False, True)
    assert custom_esps(lab)["ESP blocking"]["allowDeviceResetOnInstallFailure"] is True

    lab.client.clear_log()
    again = run_module(MODULE, args)
    assert not again["changed"] and not again.get("failed"), again
    assert writes(lab.client.requests()) == []

    # Portal No: a profile that does not block is left alone by block_device_until_complete: false, and moved back by true.
    esp_id = seed_esp(lab, "ESP not blocking", blockDeviceSetupRetryByUser=True, **BLOCKING_ONLY_OFF)
    kept = run_module(MODULE, esp_args(lab, "ESP not blocking", block_device_until_complete=False))
    assert not kept["changed"] and not kept.get("failed"), kept
    assert writes(lab.client.requests()) == []
    blocked = run_module(MODULE, esp_args(lab, "ESP not blocking", block_device_until_complete=True))
    assert blocked["changed"] and not blocked.get("failed"), blocked
    assert [(c["method"], c["path"], c["body"]) for c in writes(lab.client.requests())] == [
        ("PATCH", "%s/%s" % (COLLECTION, esp_id), {"@odata.type": ESP_TYPE, "blockDeviceSetupRetryByUser": False})]


def test_a_profile_that_does_not_block_is_created_without_the_settings_that_need_blocking(lab):
    args = esp_args(lab, "ESP for kiosks", block_device_until_complete=False)
    created = run_module(MODULE, args)
    assert created["changed"] and not created.get("failed"), created
    (create,) = writes(lab.client.requests())
    assert create["body"]["blockDeviceSetupRetryByUser"] is True
    assert not set(BLOCKING_ONLY_OFF) & set(create["body"])

    lab.client.clear_log()
    again = run_module(MODULE, args)
    assert not again["changed"] and not again.get("failed"), again
    assert writes(lab.client.requests()) == []


@pytest.mark.parametrize("options, named", [
    (dict(allow_reset_on_failure=True), "allow_reset_on_failure"),
    (dict(blocking_apps=[APP], allow_use_on_failure=True, allow_non_blocking_app_installation=False),
     "allow_use_on_failure, blocking_apps"),
], ids=["reset", "apps-and-use"])
def test_settings_under_blocking_with_blocking_off_fail_before_any_request(lab, options, named):
    result = run_module(MODULE, esp_args(lab, block_device_until_complete=False, **options))

    message = "%s: true or a non-empty app list applies only when block_device_until_complete is true" % named
    assert result.get("failed") and message in result["msg"], result
    assert lab.client.requests() == []


# The Terraform provider's minimal ESP acceptance test (tests/terraform/acceptance/resource_minimal.tf), which a
# tenant accepted: device use not blocked, and the settings that exist only under blocking written off.
BLOCKING_OFF_WRITTEN_OFF = dict(block_device_until_complete=False, allow_reset_on_failure=False, allow_use_on_failure=False,
                                allow_non_blocking_app_installation=False, blocking_apps=[])


def test_blocking_off_with_the_blocking_settings_written_off_is_accepted_and_a_rerun_writes_nothing(lab):
    args = esp_args(lab, "ESP minimal", **BLOCKING_OFF_WRITTEN_OFF)
    created = run_module(MODULE, args)
    assert created["changed"] and not created.get("failed"), created
    (create,) = writes(lab.client.requests())
    assert create["body"]["blockDeviceSetupRetryByUser"] is True
    assert {key: create["body"][key] for key in BLOCKING_ONLY_OFF} == BLOCKING_ONLY_OFF

    lab.client.clear_log()
    again = run_module(MODULE, args)
    assert not again["changed"] and not again.get("failed"), again
    assert writes(lab.client.requests()) == []

    # On a profile that does not block, the same values without block_device_until_complete change nothing either.
    seed_esp(lab, "ESP not blocking", blockDeviceSetupRetryByUser=True, **BLOCKING_ONLY_OFF)
    options = {key: value for key, value in BLOCKING_OFF_WRITTEN_OFF.items() if key != "block_device_until_complete"}
    kept = run_module(MODULE, esp_args(lab, "ESP not blocking", **options))
    assert not kept["changed"] and not kept.get("failed"), kept
    assert writes(lab.client.requests()) == []


def test_settings_under_blocking_on_a_profile_that_does_not_block_fail_before_any_write(lab):
    esp_id = seed_esp(lab, "ESP not blocking", blockDeviceSetupRetryByUser=True, **BLOCKING_ONLY_OFF)
    result = run_module(MODULE, esp_args(lab, "ESP not blocking", allow_use_on_failure=True))

    assert result.get("failed"), result
    assert "allow_use_on_failure" in result["msg"] and esp_id in result["msg"] and "block_device_until_complete: true" in result["msg"]
    assert writes(lab.client.requests()) == []


def test_only_show_page_to_oobe_devices_is_track_install_progress_for_autopilot_only(lab):
    esp_id = seed_esp(lab, "ESP for every enrollment", trackInstallProgressForAutopilotOnly=False)
    result = run_module(MODULE, esp_args(lab, "ESP for every enrollment", only_show_page_to_oobe_devices=True))

    assert result["changed"] and not result.get("failed"), result
    assert [(c["method"], c["path"], c["body"]) for c in writes(lab.client.requests())] == [
        ("PATCH", "%s/%s" % (COLLECTION, esp_id), {"@odata.type": ESP_TYPE, "trackInstallProgressForAutopilotOnly": True})]
    # disableUserStatusTrackingAfterFirstUser has no portal control: sent on create only, never changed.
    assert custom_esps(lab)["ESP for every enrollment"]["disableUserStatusTrackingAfterFirstUser"] is True


def test_an_esp_is_managed_by_the_id_graph_gives_it(lab):
    esp_id = seed_esp(lab, "ESP old name")
    assert esp_id.endswith("_Windows10EnrollmentCompletionPageConfiguration")
    args = dict(graph_auth(lab), id=esp_id, display_name="ESP new name", error_timeout_minutes=45)

    renamed = run_module(MODULE, args)
    assert renamed["changed"] and not renamed.get("failed"), renamed
    assert renamed["id"] == esp_id
    assert [(c["method"], c["path"], c["body"]) for c in writes(lab.client.requests())] == [
        ("PATCH", "%s/%s" % (COLLECTION, esp_id),
         {"@odata.type": ESP_TYPE, "displayName": "ESP new name", "installProgressTimeoutInMinutes": 45})]

    lab.client.clear_log()
    again = run_module(MODULE, args)
    assert not again["changed"] and not again.get("failed"), again
    assert writes(lab.client.requests()) == []


# -- check mode and diff -----------------------------------------------------------------------------

def test_check_mode_create_sends_no_write_and_shows_what_would_be_created(lab):
    args = esp_args(lab, error_timeout_minutes=120, assignments={"set": [{"group": "Lab-Pilot-Devices"}]})
    result = run_module(MODULE, args, check=True, diff=True)

    assert result["changed"] and not result.get("failed"), result
    assert writes(lab.client.requests()) == []
    assert "Autopilot hybrid join - ESP" not in custom_esps(lab)
    assert result["diff"]["before"] == {}
    after = result["diff"]["after"]
    assert after["error_timeout_minutes"] == 120
    assert after["show_app_and_profile_progress"] is True and after["block_device_until_complete"] is True
    assert after["assignments"] == [{"group": "Lab-Pilot-Devices", "exclude": False}]


def test_check_mode_update_diff_shows_only_the_changed_settings(lab):
    seed_esp(lab, "ESP to preview", assigned=[group_target(KIOSK)])
    args = esp_args(lab, "ESP to preview", error_timeout_minutes=45, custom_error_message="Call the service desk.",
                    allow_log_collection=True, assignments={"add": [{"group": "Lab-Pilot-Devices"}]})
    result = run_module(MODULE, args, check=True, diff=True)

    assert result["changed"] and not result.get("failed"), result
    assert writes(lab.client.requests()) == []
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert before["error_timeout_minutes"] == 60 and after["error_timeout_minutes"] == 45
    assert before["custom_error_message"] is None and after["custom_error_message"] == "Call the service desk."
    assert before["allow_log_collection"] is after["allow_log_collection"] is True
    assert {k for k in before if before[k] != after[k]} == {"error_timeout_minutes", "custom_error_message", "assignments"}
    assert before["assignments"] == [{"group": KIOSK, "exclude": False}]
    assert sorted(after["assignments"], key=str) == sorted([{"group": KIOSK, "exclude": False},
                                                           {"group": "Lab-Pilot-Devices", "exclude": False}], key=str)


# -- priority ---------------------------------------------------------------------------------------------

def test_priority_goes_through_set_priority_only_when_it_differs(lab):
    seed_esp(lab, "ESP first")
    second = seed_esp(lab, "ESP second")
    assert custom_esps(lab)["ESP second"]["priority"] == 2

    moved = run_module(MODULE, esp_args(lab, "ESP second", priority=1, error_timeout_minutes=30))
    assert moved["changed"] and not moved.get("failed"), moved
    calls = writes(lab.client.requests())
    assert [(c["method"], c["path"], c["body"]) for c in calls] == [
        ("PATCH", "%s/%s" % (COLLECTION, second), {"@odata.type": ESP_TYPE, "installProgressTimeoutInMinutes": 30}),
        ("POST", "%s/%s/setPriority" % (COLLECTION, second), {"priority": 1}),
    ]
    esps = custom_esps(lab)
    assert (esps["ESP second"]["priority"], esps["ESP first"]["priority"]) == (1, 2)

    # Graph rejects setPriority to the current value: a re-run must not send it.
    lab.client.clear_log()
    again = run_module(MODULE, esp_args(lab, "ESP second", priority=1))
    assert not again["changed"] and not again.get("failed"), again
    assert writes(lab.client.requests()) == []

    # On create, priority is never in the body; setPriority follows only if Intune's choice differs.
    lab.client.clear_log()
    created = run_module(MODULE, esp_args(lab, "ESP third", priority=1))
    assert created["changed"] and not created.get("failed"), created
    calls = writes(lab.client.requests())
    assert [(c["method"], c["path"]) for c in calls] == [
        ("POST", COLLECTION), ("POST", "%s/%s/setPriority" % (COLLECTION, created["id"]))]
    assert "priority" not in calls[0]["body"] and calls[1]["body"] == {"priority": 1}
    assert created["esp"]["priority"] == 1
    assert custom_esps(lab)["ESP first"]["priority"] == 3


def test_a_priority_past_the_last_place_is_the_last_place_and_a_rerun_sends_nothing(lab):
    first = seed_esp(lab, "ESP first")
    seed_esp(lab, "ESP second")

    moved = run_module(MODULE, esp_args(lab, "ESP first", priority=5))
    assert moved["changed"] and not moved.get("failed"), moved
    # Graph would put it last for 5 as well; the module asks for the place Graph will store.
    assert [(c["method"], c["path"], c["body"]) for c in writes(lab.client.requests())] == [
        ("POST", "%s/%s/setPriority" % (COLLECTION, first), {"priority": 2})]
    assert moved["esp"]["priority"] == 2
    assert (custom_esps(lab)["ESP first"]["priority"], custom_esps(lab)["ESP second"]["priority"]) == (2, 1)

    lab.client.clear_log()
    again = run_module(MODULE, esp_args(lab, "ESP first", priority=5))
    assert not again["changed"] and not again.get("failed"), again
    assert writes(lab.client.requests()) == []

    # A new profile comes last, so a priority past the last place needs no setPriority at all.
    created = run_module(MODULE, esp_args(lab, "ESP third", priority=9))
    assert created["changed"] and not created.get("failed"), created
    assert [(c["method"], c["path"]) for c in writes(lab.client.requests())] == [("POST", COLLECTION)]
    assert custom_esps(lab)["ESP third"]["priority"] == 3
    lab.client.clear_log()
    assert not run_module(MODULE, esp_args(lab, "ESP third", priority=9))["changed"]
    assert writes(lab.client.requests()) == []


# -- the built-in default ESP -----------------------------------------------------------------------

@pytest.mark.parametrize("request_options, refusal", [
    (dict(state="absent"), "Refusing to delete"),
    (dict(priority=3), "Refusing to set the priority"),
    (dict(assignments={"add": [{"group": "Lab-Pilot-Devices"}]}), "Refusing to change the assignments"),
], ids=["delete", "priority", "assign"])
def test_default_esp_named_explicitly_refuses_what_intune_forbids_before_any_write(lab, request_options, refusal):
    before_default = default_esp(lab)
    result = run_module(MODULE, esp_args(lab, DEFAULT_ESP_NAME, **request_options))

    assert result.get("failed") and refusal in result["msg"], result
    assert before_default["id"] in result["msg"]
    assert writes(lab.client.requests()) == []
    assert default_esp(lab) == before_default


def test_default_esp_settings_change_only_when_it_is_named(lab):
    default_id = default_esp(lab)["id"]
    # A run naming another ESP never addresses the default, even though it lists the same collection.
    run_module(MODULE, esp_args(lab, "ESP beside the default", priority=1))
    assert not [entry for entry in lab.client.requests() if default_id in entry["path"]]

    lab.client.clear_log()
    result = run_module(MODULE, dict(graph_auth(lab), id=default_id, show_app_and_profile_progress=True))
    assert result["changed"] and not result.get("failed"), result
    assert [(c["method"], c["path"], c["body"]) for c in writes(lab.client.requests())] == [
        ("PATCH", "%s/%s" % (COLLECTION, default_id), {"@odata.type": ESP_TYPE, "showInstallationProgress": True})]
    assert default_esp(lab)["priority"] == 0


def test_default_esp_with_the_priority_and_target_it_has_changes_nothing(lab):
    # What a tenant's default ESP holds, as Microsoft365DSC's example of it shows (exported from a tenant): priority 0 and
    # an All Devices target. Asking for exactly that is accepted; asking for a change is refused, before any write.
    default = default_esp(lab)
    all_devices = {"@odata.type": ASSIGNMENT_TYPE, "id": default["id"] + "_all", "source": "direct", "sourceId": default["id"],
                   "target": {"@odata.type": ALL_DEVICES}}
    lab.client.seed({"deviceEnrollmentConfigurations": [dict(default, assignments=[all_devices])]})
    lab.client.clear_log()
    described = dict(priority=0, show_app_and_profile_progress=default["showInstallationProgress"],
                     assignments={"set": [{"all_devices": True}]})

    by_name = run_module(MODULE, esp_args(lab, DEFAULT_ESP_NAME, **described))
    by_id = run_module(MODULE, dict(graph_auth(lab), id=default["id"], priority=0, assignments={"add": [{"all_devices": True}]}))
    for result in (by_name, by_id):
        assert not result["changed"] and not result.get("failed"), result
        assert result["assignments"] == [{"all_devices": True}]
    assert writes(lab.client.requests()) == []

    moved = run_module(MODULE, esp_args(lab, DEFAULT_ESP_NAME, priority=1))
    narrowed = run_module(MODULE, esp_args(lab, DEFAULT_ESP_NAME, assignments={"set": [{"group": "Lab-Pilot-Devices"}]}))
    assert moved.get("failed") and "Refusing to set the priority" in moved["msg"], moved
    assert narrowed.get("failed") and "Refusing to change the assignments" in narrowed["msg"], narrowed
    assert writes(lab.client.requests()) == []
    assert stored_targets(default_esp(lab)) == [(ALL_DEVICES, None)]


def test_priority_0_on_a_custom_esp_fails_before_any_write(lab):
    # 0 is the default profile's place: refused for a new profile and for an existing custom one.
    seed_esp(lab, "ESP existing")
    for name in ("ESP new", "ESP existing"):
        result = run_module(MODULE, esp_args(lab, name, priority=0))
        assert result.get("failed") and "priority 0: 1 is the highest priority" in result["msg"], result
    assert writes(lab.client.requests()) == []
    assert "ESP new" not in custom_esps(lab)


# -- assignments ----------------------------------------------------------------------------------------

def test_assign_add_sends_the_full_set_and_keeps_an_unnamed_target(lab):
    kiosk = group_target(KIOSK, deviceAndAppManagementAssignmentFilterId=FILTER_ID,
                         deviceAndAppManagementAssignmentFilterType="include")
    esp_id = seed_esp(lab, "ESP assigned", assigned=[kiosk])
    args = esp_args(lab, "ESP assigned", assignments={"add": [{"group": "Lab-Pilot-Devices"}]})

    added = run_module(MODULE, args)
    assert added["changed"] and not added.get("failed"), added
    calls = writes(lab.client.requests())
    assert [(c["method"], c["path"]) for c in calls] == [("POST", "%s/%s/assign" % (COLLECTION, esp_id))]
    # Graph replaces the whole set, so the Kiosk target the task did not name is sent again, filter and all.
    sent = {item["target"]["groupId"]: item["target"] for item in calls[0]["body"]["enrollmentConfigurationAssignments"]}
    assert set(sent) == {KIOSK, PILOT}
    assert sent[KIOSK] == kiosk
    assert stored_targets(custom_esps(lab)["ESP assigned"]) == sorted([(GROUP_TARGET, KIOSK), (GROUP_TARGET, PILOT)])

    lab.client.clear_log()
    again = run_module(MODULE, args)
    assert not again["changed"] and not again.get("failed"), again
    assert writes(lab.client.requests()) == []

    lab.client.clear_log()
    removed = run_module(MODULE, esp_args(lab, "ESP assigned", assignments={"remove": [{"group": KIOSK}]}))
    assert removed["changed"] and not removed.get("failed"), removed
    assert [targets(call) for call in assign_calls(lab.client.requests())] == [[(GROUP_TARGET, PILOT)]]
    assert removed["assignments"] == [{"group": PILOT, "exclude": False}]


def test_assign_set_replaces_the_targets_and_a_rerun_sends_nothing(lab):
    esp_id = seed_esp(lab, "ESP reassigned", assigned=[group_target(KIOSK), {"@odata.type": ALL_DEVICES}])
    args = esp_args(lab, "ESP reassigned", assignments={"set": [
        {"group": "Lab-Pilot-Devices"}, {"group": "Lab-Kiosk-Devices", "exclude": True}]})

    result = run_module(MODULE, args)
    assert result["changed"] and not result.get("failed"), result
    calls = writes(lab.client.requests())
    assert [(c["method"], c["path"]) for c in calls] == [("POST", "%s/%s/assign" % (COLLECTION, esp_id))]
    assert targets(calls[0]) == sorted([(EXCLUDE_TARGET, KIOSK), (GROUP_TARGET, PILOT)])
    assert stored_targets(custom_esps(lab)["ESP reassigned"]) == sorted([(EXCLUDE_TARGET, KIOSK), (GROUP_TARGET, PILOT)])

    lab.client.clear_log()
    again = run_module(MODULE, args)
    assert not again["changed"] and not again.get("failed"), again
    assert writes(lab.client.requests()) == []


@pytest.mark.parametrize("group, message", [
    ("Lab-No-Such-Group", "no group named 'Lab-No-Such-Group'"),
    ("Lab-Duplicate", "2 groups are named 'Lab-Duplicate'"),
], ids=["unknown", "ambiguous"])
def test_unknown_or_ambiguous_group_fails_before_any_write(lab, group, message):
    result = run_module(MODULE, esp_args(lab, "ESP never created", assignments={"set": [{"group": group}]}))

    assert result.get("failed") and message in result["msg"], result
    assert writes(lab.client.requests()) == []
    assert "ESP never created" not in custom_esps(lab)


# -- transient failures ------------------------------------------------------------------------------

def test_a_429_storm_is_waited_out(lab):
    lab.client.fault("status", path="deviceEnrollmentConfigurations", count=4, status=429, retry_after="1")
    result = run_module(MODULE, esp_args(lab, "ESP throttled", assignments={"set": [{"group": "Lab-Pilot-Devices"}]}))

    assert result["changed"] and not result.get("failed"), result
    log = lab.client.requests()
    assert len([entry for entry in log if entry["status"] == 429]) == 4
    assert len([c for c in writes(log) if c["path"] == COLLECTION and c["status"] == 201]) == 1
    assert stored_targets(custom_esps(lab)["ESP throttled"]) == [(GROUP_TARGET, PILOT)]


def test_connections_dropped_after_committed_writes_create_no_duplicate_and_lose_no_assignment(lab):
    lab.client.fault("drop_after", method="POST", path=COLLECTION + "$")
    lab.client.fault("drop_after", method="POST", path="/assign$")
    result = run_module(MODULE, esp_args(lab, "ESP dropped", assignments={"set": [{"group": "Lab-Pilot-Devices"}]}))

    assert result["changed"] and not result.get("failed"), result
    log = lab.client.requests()
    assert [(entry["method"], entry["path"].rsplit("/", 1)[-1]) for entry in log if entry["fault"] == "drop_after"] == [
        ("POST", "deviceEnrollmentConfigurations"), ("POST", "assign")]
    creates = [c for c in writes(log) if c["path"] == COLLECTION]
    assert len(creates) == 1  # the module found the committed ESP instead of posting it again
    esps = [obj for obj in configurations(lab) if obj["displayName"] == "ESP dropped"]
    assert len(esps) == 1 and result["id"] == esps[0]["id"]
    assert stored_targets(esps[0]) == [(GROUP_TARGET, PILOT)]


# -- validation -------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    (dict(error_timeout_minutes=0), "error_timeout_minutes 0: Intune accepts 1 to 1440"),
    (dict(error_timeout_minutes=1441), "error_timeout_minutes 1441: Intune accepts 1 to 1440"),
    (dict(custom_error_message="x" * 10001), "custom_error_message is 10001 characters"),
    (dict(blocking_apps=[str(uuid.UUID(int=n)) for n in range(101)]), "blocking_apps lists 101 apps"),
    (dict(blocking_apps=["Company Portal"]), "blocking_apps must be Intune app IDs (GUIDs), not 'Company Portal'"),
    (dict(priority=-1), "priority -1: 1 is the highest priority"),
], ids=["timeout-0", "timeout-1441", "message-too-long", "too-many-apps", "app-not-a-guid", "priority-negative"])
def test_invalid_settings_fail_before_any_request(lab, options, message):
    result = run_module(MODULE, esp_args(lab, **options))

    assert result.get("failed") and message in result["msg"], result
    assert lab.client.requests() == []
