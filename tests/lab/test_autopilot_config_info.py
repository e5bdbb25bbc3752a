# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot_config_info against the Graph lab: what it lists can be handed back to the modules unchanged."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from module_runner import graph_auth, run_module, writes

ESP = dict(display_name="Adopt me - ESP", error_timeout_minutes=90,
           assignments={"set": [{"group": "Lab-Pilot-Devices"}, {"group": "Lab-Kiosk-Devices", "exclude": True}]})
PROFILE = dict(display_name="Adopt me profile", language="en-US", user_account_type="administrator",
               assignments={"set": [{"group": "Lab-Pilot-Devices"}]})
DOMAIN_JOIN = dict(display_name="Adopt me - domain join", computer_name_prefix="ADP-", domain="lab.example",
                   organizational_unit="OU=Autopilot,DC=lab,DC=example", assignments={"set": [{"all_devices": True}]})
ESP_TYPE = "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration"
MODULE_OF = {"esps": "autopilot_esp", "autopilot_profiles": "autopilot_profile", "domain_join_profiles": "domain_join_profile"}


@pytest.fixture
def configured(lab):
    auth = graph_auth(lab)
    for module, args in (("autopilot_esp", ESP), ("autopilot_profile", PROFILE), ("domain_join_profile", DOMAIN_JOIN)):
        result = run_module(module, dict(auth, **args))
        assert result["changed"] is True, result
    lab.client.clear_log()
    return auth


def test_lists_each_kind_in_the_modules_shape_with_group_names_and_sends_no_write(lab, configured):
    info = run_module("autopilot_config_info", configured)
    assert not info["failed"], info
    assert writes(lab.client.requests()) == []
    (esp,) = info["esps"]
    assert esp["display_name"] == "Adopt me - ESP" and esp["error_timeout_minutes"] == 90
    assert esp["assignments"] == {"set": [{"group": "Lab-Pilot-Devices", "exclude": False}, {"group": "Lab-Kiosk-Devices", "exclude": True}]}
    assert info["default_esp"]["display_name"] == "All users and all devices"
    (profile,) = info["autopilot_profiles"]
    assert profile["language"] == "en-US" and profile["user_account_type"] == "administrator"
    assert profile["deployment_mode"] == "user_driven"
    (domain_join,) = info["domain_join_profiles"]
    assert domain_join["computer_name_prefix"] == "ADP-" and domain_join["assignments"] == {"set": [{"all_devices": True}]}


def test_every_listed_object_handed_back_to_its_module_changes_nothing(lab, configured):
    info = run_module("autopilot_config_info", configured)
    lab.client.clear_log()
    results = [run_module(MODULE_OF[key], dict(configured, **obj)) for key in MODULE_OF for obj in info[key]]
    assert len(results) == 3
    assert [(result["changed"], result["failed"]) for result in results] == [(False, False)] * 3, results
    assert writes(lab.client.requests()) == []


def test_kinds_and_display_name_narrow_the_listing(lab, configured):
    info = run_module("autopilot_config_info", dict(configured, kinds=["domain_join_profile"], display_name="Adopt me - domain join",
                                                    resolve_group_names=False))
    assert [obj["display_name"] for obj in info["domain_join_profiles"]] == ["Adopt me - domain join"]
    assert "esps" not in info and "autopilot_profiles" not in info
    # Graph's name filter, then the one match read with its assignments.
    requested = [(entry["path"], parse_qs(entry["query"])) for entry in lab.client.requests()]
    (listing, listed_query), (read, read_query) = requested
    assert listing == "/beta/deviceManagement/deviceConfigurations" and listed_query["$filter"] == ["displayName eq 'Adopt me - domain join'"]
    assert read == "%s/%s" % (listing, info["domain_join_profiles"][0]["id"]) and read_query == {"$expand": ["assignments"]}


def test_thousands_of_other_configurations_cost_pages_of_ids_not_pages_of_assignments(lab, configured):
    unrelated = [{"@odata.type": "#microsoft.graph.windows10CustomConfiguration", "displayName": "Other %04d" % index}
                 for index in range(1500)]
    lab.client.seed({"deviceConfigurations": unrelated})
    lab.client.clear_log()

    info = run_module("autopilot_config_info", dict(configured, kinds=["domain_join_profile"], resolve_group_names=False))

    assert [obj["display_name"] for obj in info["domain_join_profiles"]] == ["Adopt me - domain join"]
    requested = [(entry["path"], parse_qs(entry["query"])) for entry in lab.client.requests()]
    listings = [query for path, query in requested if path == "/beta/deviceManagement/deviceConfigurations"]
    assert len(listings) == 2 and all(query["$select"] == ["id,displayName"] for query in listings), listings  # 999 a page
    assert len(requested) == len(listings) + 1  # and the one domain join profile, read by id


def test_group_ids_stay_ids_when_names_are_not_resolved(lab, configured):
    info = run_module("autopilot_config_info", dict(configured, kinds=["autopilot_profile"], resolve_group_names=False))
    pilot = next(group for group in lab.client.state()["groups"] if group["displayName"] == "Lab-Pilot-Devices")
    assert info["autopilot_profiles"][0]["assignments"] == {"set": [{"group": pilot["id"], "exclude": False}]}


def test_block_device_use_is_read_as_graphs_inverse_and_both_kinds_are_adopted_unchanged(lab):
    auth = graph_auth(lab)
    lab.client.seed({"deviceEnrollmentConfigurations": [
        {"@odata.type": ESP_TYPE, "displayName": "Blocks", "blockDeviceSetupRetryByUser": False,
         "allowDeviceResetOnInstallFailure": True},
        {"@odata.type": ESP_TYPE, "displayName": "Does not block", "blockDeviceSetupRetryByUser": True}]})
    info = run_module("autopilot_config_info", dict(auth, kinds=["esp"]))
    esps = {esp["display_name"]: esp for esp in info["esps"]}

    assert esps["Blocks"]["block_device_until_complete"] is True and esps["Blocks"]["allow_reset_on_failure"] is True
    assert esps["Does not block"]["block_device_until_complete"] is False
    # The settings that exist only while the device is blocked are left out, as the module refuses them then.
    assert not {"allow_reset_on_failure", "allow_use_on_failure", "blocking_apps", "allow_non_blocking_app_installation"} & set(esps["Does not block"])
    assert all(esp["id"].endswith("_Windows10EnrollmentCompletionPageConfiguration") for esp in esps.values())

    lab.client.clear_log()
    results = [run_module("autopilot_esp", dict(auth, **esp)) for _name, esp in sorted(esps.items())]
    assert [(result["changed"], result["failed"]) for result in results] == [(False, False)] * 2, results
    assert writes(lab.client.requests()) == []


def test_device_groups_are_the_dynamic_groups_whose_rule_selects_autopilot_devices_and_go_back_unchanged(lab):
    auth = graph_auth(lab)
    for name, membership in (("Adopt-Tagged", {"group_tag": "Sales"}), ("Adopt-Ordered", {"purchase_order": "PO-7"}),
                             ("Adopt-All", {"all_autopilot_devices": True})):
        assert run_module("device_group", dict(auth, display_name=name, membership=membership))["changed"] is True
    windows = run_module("device_group", dict(auth, display_name="Adopt-Windows", membership_rule='(device.deviceOSType -eq "Windows")'))
    assert windows["changed"] is True
    lab.client.clear_log()

    info = run_module("autopilot_config_info", dict(auth, kinds=["device_group"]))
    assert not info["failed"], info
    by_name = {group["display_name"]: group for group in info["device_groups"] if group["display_name"].startswith("Adopt-")}
    assert sorted(by_name) == ["Adopt-All", "Adopt-Ordered", "Adopt-Tagged"], info["device_groups"]
    assert by_name["Adopt-Tagged"]["membership_rule"] == '(device.devicePhysicalIds -any _ -eq "[OrderID]:Sales")'
    assert "esps" not in info and "membership" not in by_name["Adopt-Tagged"]
    lab.client.clear_log()
    results = [run_module("device_group", dict(auth, **group)) for group in by_name.values()]
    assert [(result["changed"], result["failed"]) for result in results] == [(False, False)] * 3, results
    assert writes(lab.client.requests()) == []


def test_one_task_reads_each_kind_by_its_own_name_and_what_is_on_all_devices_each_object_once(lab, configured):
    """The role's preflight (issue 23): names per kind and the profiles on all devices in one task, where the same
    domain join profile is both named and on all devices, and an Entra join namesake is reported, not read."""
    entra = {"@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile", "displayName": "Adopt me profile",
             "locale": "os-default", "deviceType": "windowsPc", "outOfBoxExperienceSetting": {"deviceUsageType": "singleUser"}}
    other_on_all = dict(DOMAIN_JOIN, display_name="Someone else's domain join", computer_name_prefix="OTH-")
    assert run_module("domain_join_profile", dict(configured, **other_on_all))["changed"] is True
    lab.client.seed({"windowsAutopilotDeploymentProfiles": [entra]})
    lab.client.clear_log()

    info = run_module("autopilot_config_info", dict(configured, display_names={
        "esp": "Adopt me - ESP", "autopilot_profile": "Adopt me profile", "domain_join_profile": "Adopt me - domain join"},
        also_on_all_devices=["domain_join_profile", "autopilot_profile"]))

    assert not info["failed"], info
    assert [esp["display_name"] for esp in info["esps"]] == ["Adopt me - ESP"] and "default_esp" not in info
    assert [profile["display_name"] for profile in info["autopilot_profiles"]] == ["Adopt me profile"]
    assert sorted(dj["display_name"] for dj in info["domain_join_profiles"]) == ["Adopt me - domain join", "Someone else's domain join"]
    (namesake,) = info["other_join_type_profiles"]
    assert namesake["type"] == "microsoft.graph.azureADWindowsAutopilotDeploymentProfile"
    assert info["esps"][0]["assignments"]["set"][0]["group"] == "Lab-Pilot-Devices"
    requested = [entry["path"] + "?" + entry["query"] for entry in lab.client.requests()]
    # Each collection listed once, each object read once, the groups of all three kinds resolved in one read.
    assert len(requested) == len(set(requested)) == 3 + 4 + 1, requested
    assert sum("/groups" in request for request in requested) == 1
    assert not any(namesake["id"] in request for request in requested)


def test_display_names_names_only_kinds(lab, configured):
    info = run_module("autopilot_config_info", dict(configured, display_names={"esps": "Adopt me - ESP"}))
    assert info["failed"] and info["msg"].startswith("display_names: esps is not a kind"), info
