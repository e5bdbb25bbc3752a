# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot_profile (tutorial step 7) against the Graph lab: every claim is proven from the lab's
request log and state, not from the module's return values alone."""

from __future__ import annotations

from module_runner import graph_auth, run_module, writes

MODULE = "autopilot_profile"
KEY = "windowsAutopilotDeploymentProfiles"
COLLECTION = "/beta/deviceManagement/windowsAutopilotDeploymentProfiles"
HYBRID = "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile"
ENTRA = "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"
ASSIGNMENT = "#microsoft.graph.windowsAutopilotDeploymentProfileAssignment"
INCLUDE = "#microsoft.graph.groupAssignmentTarget"
EXCLUDE = "#microsoft.graph.exclusionGroupAssignmentTarget"
PILOT = "7e1ab000-0000-4000-8000-00000000b001"  # Lab-Pilot-Devices
KIOSK = "7e1ab000-0000-4000-8000-00000000b002"  # Lab-Kiosk-Devices
NAME = "Autopilot hybrid join user driven"  # no hyphen: Intune answers a bare 500 for one
ALL_DEVICES = "#microsoft.graph.allDevicesAssignmentTarget"
DEPRECATED_TWINS = ("language", "outOfBoxExperienceSettings", "extractHardwareHash", "enableWhiteGlove")
TUTORIAL_BODY = {
    "@odata.type": HYBRID,
    "displayName": NAME,
    "locale": "os-default",
    "deviceNameTemplate": "",
    "deviceType": "windowsPc",
    "hardwareHashExtractionEnabled": True,
    "preprovisioningAllowed": False,
    "hybridAzureADJoinSkipConnectivityCheck": False,
    "roleScopeTagIds": ["0"],
    "outOfBoxExperienceSetting": {
        "deviceUsageType": "singleUser",
        "userType": "standard",
        "privacySettingsHidden": True,
        "eulaHidden": True,
        "keyboardSelectionPageSkipped": True,
        "escapeLinkHidden": True,
    },
}


def run(lab, check=False, diff=False, **args):
    return run_module(MODULE, dict(graph_auth(lab), **args), check=check, diff=diff)


def profiles(lab):
    return lab.client.state().get(KEY, [])


def only_profile(lab):
    found = profiles(lab)
    assert len(found) == 1, found
    return found[0]


def targets(profile):
    """(target type, group id) of each assignment the lab holds for the profile."""
    return sorted((a["target"]["@odata.type"], a["target"].get("groupId")) for a in profile.get("assignments", []))


def graph_writes(lab):
    return [(entry["method"], entry["path"]) for entry in writes(lab.client.requests())]


def create(lab, **args):
    """Create the tutorial's profile and start the log afresh, so a test sees only its own requests."""
    result = run(lab, display_name=NAME, **args)
    assert result["changed"] and not result.get("failed"), result
    lab.client.clear_log()
    return result


def test_create_writes_the_tutorial_body_and_a_rerun_writes_nothing(lab):
    args = dict(display_name=NAME, assignments={"add": [{"group": "Lab-Pilot-Devices"}]})

    planned = run(lab, check=True, diff=True, **args)
    assert planned["changed"] and planned["id"] is None
    assert planned["diff"]["before"] == {}
    assert planned["diff"]["after"]["deployment_mode"] == "user_driven"
    assert planned["diff"]["after"]["assignments"] == [{"group": "Lab-Pilot-Devices", "exclude": False}]
    assert graph_writes(lab) == [] and profiles(lab) == []

    created = run(lab, **args)
    assert created["changed"]
    posts = [entry for entry in writes(lab.client.requests()) if entry["method"] == "POST"]
    assert [entry["path"] for entry in posts] == [COLLECTION, "%s/%s/assignments" % (COLLECTION, created["id"])]
    assert posts[0]["body"] == TUTORIAL_BODY  # current property names only: no deprecated twin is ever sent
    assert posts[1]["body"] == {"@odata.type": ASSIGNMENT, "target": {"@odata.type": INCLUDE, "groupId": PILOT}}
    stored = only_profile(lab)
    assert stored["id"] == created["id"] and stored["@odata.type"] == HYBRID
    assert targets(stored) == [(INCLUDE, PILOT)]

    lab.client.clear_log()
    again = run(lab, **args)
    assert not again["changed"]
    assert graph_writes(lab) == []
    assert again["assignments"] == [{"group": "Lab-Pilot-Devices", "exclude": False}]


def test_a_changed_setting_is_patched_alone_with_the_complex_value_it_lives_in(lab):
    created = create(lab, language="en-US")
    path = "%s/%s" % (COLLECTION, created["id"])

    planned = run(lab, check=True, display_name=NAME, hide_privacy_settings=False)
    assert planned["changed"]
    assert graph_writes(lab) == []
    assert only_profile(lab)["outOfBoxExperienceSetting"]["privacySettingsHidden"] is True

    changed = run(lab, diff=True, display_name=NAME, hide_privacy_settings=False, language="en-us")
    assert changed["changed"]
    assert changed["diff"] == {
        "before": {"display_name": NAME, "hide_privacy_settings": True, "language": "en-US"},
        "after": {"display_name": NAME, "hide_privacy_settings": False, "language": "en-US"},
    }
    (patch,) = writes(lab.client.requests())
    assert (patch["method"], patch["path"]) == ("PATCH", path)
    # Graph replaces a complex value, so it goes whole; locale matched case-insensitively is not sent.
    assert patch["body"] == {
        "@odata.type": HYBRID,
        "outOfBoxExperienceSetting": dict(TUTORIAL_BODY["outOfBoxExperienceSetting"], privacySettingsHidden=False),
    }
    stored = only_profile(lab)
    assert stored["outOfBoxExperienceSetting"]["privacySettingsHidden"] is False
    assert stored["locale"] == "en-US"

    lab.client.clear_log()
    top_level = run(lab, display_name=NAME, allow_pre_provisioning=True, language="user_select")
    assert top_level["changed"]
    (patch,) = writes(lab.client.requests())
    assert patch["body"] == {"@odata.type": HYBRID, "preprovisioningAllowed": True, "locale": "user-select"}
    assert not set(DEPRECATED_TWINS) & set(patch["body"])

    lab.client.clear_log()
    assert not run(lab, display_name=NAME, allow_pre_provisioning=True, language="user_select")["changed"]
    assert graph_writes(lab) == []


def locale_patches(lab):
    return [entry["body"]["locale"] for entry in writes(lab.client.requests()) if entry["method"] == "PATCH"]


def test_language_spellings_of_other_tools_are_aliases_sent_as_explicit_values(lab):
    # os-default (the Terraform provider) and user-select (CIPP) are Graph's own values; "" is what older tools write,
    # which the service stores as os-default (Terraform's construct.go, CIPP#5761): the module sends that explicitly.
    create(lab, language="os-default")
    assert only_profile(lab)["locale"] == "os-default"
    for spelling, then, graph in (("user-select", "user_select", "user-select"), ("", "os_default", "os-default")):
        changed = run(lab, display_name=NAME, language=spelling)
        assert changed["changed"] and not changed.get("failed"), changed
        assert locale_patches(lab) == [graph]
        lab.client.clear_log()
        for same in (spelling, then):
            again = run(lab, display_name=NAME, language=same)
            assert not again["changed"] and not again.get("failed") and not again.get("warnings"), again
        assert writes(lab.client.requests()) == []


# One key of each form among the locales the portal offers (IntuneManagement's copy of the portal's strings,
# Documentation/Strings-en.json "Languages", 197 keys), in the portal's own case.
PORTAL_LOCALE_FORMS = ["af", "fil", "ar-aE", "quz-bO", "az-cyrl", "en-cabn", "sr-Latn-rS", "es-es-tradnl"]


def test_every_form_of_locale_the_portal_offers_is_accepted_and_compared_case_insensitively(lab):
    create(lab)
    for locale in PORTAL_LOCALE_FORMS:
        changed = run(lab, display_name=NAME, language=locale)
        assert changed["changed"] and not changed.get("failed"), changed
        again = run(lab, display_name=NAME, language=locale.swapcase())
        assert not again["changed"] and not again.get("failed"), again
        assert locale_patches(lab) == [locale]
        lab.client.clear_log()
    assert only_profile(lab)["locale"] == "es-es-tradnl"


def test_a_stored_empty_locale_is_ambiguous_said_so_and_made_explicit_once(lab):
    # Tenants hold "" from older tools and the portal: the Terraform provider and IntuneManagement read it as User select,
    # CIPP as the OS default. The module picks neither: it warns, shows it, and writes what language asks, once.
    (profile_id,) = lab.client.seed({KEY: [dict(TUTORIAL_BODY, locale="")]})["added"][KEY]
    lab.client.clear_log()
    untouched = run(lab, display_name=NAME, hide_privacy_settings=True)
    assert not untouched["changed"] and not untouched.get("failed"), untouched
    (note,) = untouched["warnings"]
    assert "User select" in note and "operating system default" in note and profile_id in note and "left it" in note
    listed = run_module("autopilot_config_info", dict(graph_auth(lab), kinds=["autopilot_profile"]))
    assert [(p["id"], p["language"]) for p in listed["autopilot_profiles"]] == [(profile_id, "")]
    assert writes(lab.client.requests()) == []

    planned = run(lab, check=True, diff=True, display_name=NAME, language="os_default")
    assert planned["changed"] and planned["diff"] == {"before": {"display_name": NAME, "language": ""},
                                                      "after": {"display_name": NAME, "language": "os_default"}}, planned
    assert "would write locale 'os-default'" in planned["warnings"][0]
    assert writes(lab.client.requests()) == []

    written = run(lab, display_name=NAME, language="os_default")
    assert written["changed"] and "wrote locale 'os-default'" in written["warnings"][0], written
    assert [entry["body"] for entry in writes(lab.client.requests())] == [{"@odata.type": HYBRID, "locale": "os-default"}]
    lab.client.clear_log()
    again = run(lab, display_name=NAME, language="os_default")
    assert not again["changed"] and not again.get("warnings"), again
    assert writes(lab.client.requests()) == []


def test_a_recreate_does_not_carry_an_ambiguous_locale_over(lab):
    lab.client.seed({KEY: [dict(TUTORIAL_BODY, locale="")]})
    lab.client.clear_log()
    refused = run(lab, display_name=NAME, skip_ad_connectivity_check=True, recreate=True)
    assert refused.get("failed") and refused["msg"].startswith("language: "), refused
    assert writes(lab.client.requests()) == []

    recreated = run(lab, display_name=NAME, skip_ad_connectivity_check=True, recreate=True, language="user_select")
    assert recreated["changed"] and not recreated.get("failed"), recreated
    (post,) = [entry for entry in writes(lab.client.requests()) if entry["path"] == COLLECTION]
    assert post["body"]["locale"] == "user-select"
    assert only_profile(lab)["locale"] == "user-select"


def test_assignments_add_remove_and_set_send_only_the_calls_that_differ(lab):
    created = create(lab, assignments={"set": [{"group": "Lab-Pilot-Devices"}]})
    assignments_path = "%s/%s/assignments" % (COLLECTION, created["id"])

    added = run(lab, display_name=NAME, assignments={"add": [{"group": "Lab-Kiosk-Devices", "exclude": True}]})
    assert added["changed"]
    assert graph_writes(lab) == [("POST", assignments_path)]
    # Lab-Pilot-Devices, not named by `add`, survives.
    assert targets(only_profile(lab)) == sorted([(INCLUDE, PILOT), (EXCLUDE, KIOSK)])

    lab.client.clear_log()
    pilot_assignment = next(a["id"] for a in only_profile(lab)["assignments"] if a["target"].get("groupId") == PILOT)
    removed = run(lab, display_name=NAME, assignments={"remove": [{"group": PILOT}]})
    assert removed["changed"]
    assert graph_writes(lab) == [("DELETE", "%s/%s" % (assignments_path, pilot_assignment))]
    assert targets(only_profile(lab)) == [(EXCLUDE, KIOSK)]

    lab.client.clear_log()
    wanted = {"set": [{"group": "Lab-Pilot-Devices"}, {"group": "Lab-Kiosk-Devices", "exclude": True}]}
    replaced = run(lab, diff=True, display_name=NAME, assignments=wanted)
    assert replaced["changed"]
    assert graph_writes(lab) == [("POST", assignments_path)]
    assert replaced["diff"]["before"]["assignments"] == [{"group": "Lab-Kiosk-Devices", "exclude": True}]
    assert targets(only_profile(lab)) == sorted([(INCLUDE, PILOT), (EXCLUDE, KIOSK)])

    lab.client.clear_log()
    same = run(lab, display_name=NAME, assignments=wanted)
    assert not same["changed"]
    assert graph_writes(lab) == []


def test_a_create_only_change_is_refused_then_done_with_recreate(lab):
    created = create(lab, language="de-DE", assignments={"add": [{"group": "Lab-Pilot-Devices"}]})
    old_path = "%s/%s" % (COLLECTION, created["id"])
    old_assignment = only_profile(lab)["assignments"][0]["id"]

    refused = run(lab, display_name=NAME, skip_ad_connectivity_check=True)
    assert refused.get("failed")
    assert "skip_ad_connectivity_check" in refused["msg"] and "recreate: true" in refused["msg"]
    assert graph_writes(lab) == []

    recreated = run(lab, display_name=NAME, skip_ad_connectivity_check=True, recreate=True)
    assert recreated["changed"] and recreated["id"] != created["id"]
    new_path = "%s/%s" % (COLLECTION, recreated["id"])
    # The replacement first, then its assignments, and only then is the old profile taken apart.
    assert graph_writes(lab) == [
        ("POST", COLLECTION),
        ("POST", new_path + "/assignments"),
        ("DELETE", "%s/assignments/%s" % (old_path, old_assignment)),
        ("DELETE", old_path),
    ]
    stored = only_profile(lab)
    assert stored["id"] == recreated["id"]
    assert stored["hybridAzureADJoinSkipConnectivityCheck"] is True
    assert stored["locale"] == "de-DE"  # the settings of the old profile are carried over
    assert targets(stored) == [(INCLUDE, PILOT)]


def test_join_type_and_deployment_mode_cannot_change_in_place(lab):
    entra = dict(TUTORIAL_BODY, **{"@odata.type": ENTRA})
    del entra["hybridAzureADJoinSkipConnectivityCheck"]
    shared = dict(TUTORIAL_BODY, displayName="Shared kiosks")
    shared["outOfBoxExperienceSetting"] = dict(shared["outOfBoxExperienceSetting"], deviceUsageType="shared")
    seeded = lab.client.seed({KEY: [entra, shared]})["added"][KEY]

    mode = run(lab, display_name="Shared kiosks", deployment_mode="user_driven")
    assert mode.get("failed") and "deployment_mode" in mode["msg"] and "self_deploying" in mode["msg"]
    join = run(lab, display_name=NAME)
    assert join.get("failed") and "join type" in join["msg"] and "azureADWindowsAutopilotDeploymentProfile" in join["msg"]
    assert graph_writes(lab) == []

    recreated = run(lab, display_name=NAME, recreate=True)
    assert recreated["changed"]
    assert graph_writes(lab) == [("POST", COLLECTION), ("DELETE", "%s/%s" % (COLLECTION, seeded[0]))]
    hybrid = [p for p in profiles(lab) if p["displayName"] == NAME]
    assert [(p["id"], p["@odata.type"]) for p in hybrid] == [(recreated["id"], HYBRID)]


def test_invalid_options_fail_before_any_request(lab):
    invalid = [
        dict(display_name=NAME, deployment_mode="self_deploying"),
        dict(display_name=NAME, language="en_US"),
        dict(display_name=NAME, device_name_template="HAADJ-%SERIAL%"),
        dict(display_name="x" * 201),
        dict(display_name=NAME, description="x" * 1501),
        dict(display_name=NAME, assignments={"add": [{"all_users": True}]}),
        dict(display_name="Autopilot hybrid join - user-driven"),
        dict(display_name="Autopilot (HAADJ) 100%"),
    ]
    results = [run_module(MODULE, dict(graph_auth(lab), **args)) for args in invalid]
    messages = [result.get("msg", "") for result in results]
    assert all(result.get("failed") for result in results), results
    refused = "containing any of - ! # % ^ * ) ( + ; ' > <"
    words = ["user-driven", "en-US", "domain join profile", "200", "1500", "all_users",
             refused + " (it answers only HTTP 500); this one has -. Use spaces or underscores instead, for example "
                       "'Autopilot hybrid join user driven'.",
             "this one has % ) (."]
    for message, word in zip(messages, words):
        assert word in message, messages
    assert lab.client.requests() == []


def test_all_devices_with_exclusions_is_refused_before_any_write(lab):
    create(lab, assignments={"add": [{"group": "Lab-Kiosk-Devices", "exclude": True}]})
    # The exclusion this task does not name is kept, so all devices would come with it: refused, naming it.
    added = run(lab, display_name=NAME, assignments={"add": [{"all_devices": True}]})
    assert added.get("failed") and "cannot exclude groups" in added["msg"] and KIOSK in added["msg"], added
    both = run(lab, display_name=NAME, assignments={"set": [{"all_devices": True}, {"group": "Lab-Pilot-Devices", "exclude": True}]})
    assert both.get("failed") and PILOT in both["msg"], both
    assert graph_writes(lab) == []

    # Without the exclusion it is done, and done once.
    wanted = {"add": [{"all_devices": True}], "remove": [{"group": "Lab-Kiosk-Devices", "exclude": True}]}
    assert run(lab, display_name=NAME, assignments=wanted)["changed"]
    assert targets(only_profile(lab)) == [(ALL_DEVICES, None)]
    lab.client.clear_log()
    assert not run(lab, display_name=NAME, assignments=wanted)["changed"]
    assert graph_writes(lab) == []


def test_a_second_profile_on_all_devices_is_refused_before_any_write_naming_the_first(lab):
    first = create(lab, assignments={"add": [{"all_devices": True}]})
    everyone = {"add": [{"all_devices": True}]}
    for check in (True, False):
        refused = run(lab, check=check, display_name="Autopilot second profile", assignments=everyone)
        assert refused.get("failed"), refused
        assert "only one deployment profile in a tenant may target all devices" in refused["msg"]
        assert "'%s' (id %s)" % (NAME, first["id"]) in refused["msg"]
    assert graph_writes(lab) == []
    assert [p["displayName"] for p in profiles(lab)] == [NAME]

    # The profile that has it keeps it without a write, and without reading every profile's assignments again.
    lab.client.clear_log()
    assert not run(lab, display_name=NAME, assignments=everyone)["changed"]
    assert [e for e in lab.client.requests() if e["path"] == COLLECTION and "expand" in e["query"]] == []
    # Another profile may take groups.
    second = run(lab, display_name="Autopilot second profile", assignments={"add": [{"group": "Lab-Pilot-Devices"}]})
    assert second["changed"] and not second.get("failed"), second
    assert graph_writes(lab) == [("POST", COLLECTION), ("POST", "%s/%s/assignments" % (COLLECTION, second["id"]))]


def test_unknown_or_ambiguous_groups_fail_before_any_write(lab):
    unknown, ambiguous = [run_module(MODULE, dict(graph_auth(lab), display_name=NAME, assignments={"add": [{"group": group}]}))
                          for group in ("No-Such-Group", "Lab-Duplicate")]
    assert unknown.get("failed") and "No-Such-Group" in unknown["msg"]
    assert ambiguous.get("failed") and "2 groups" in ambiguous["msg"] and "Lab-Duplicate" in ambiguous["msg"]
    assert graph_writes(lab) == [] and profiles(lab) == []


def test_a_429_storm_is_ridden_out_without_duplicates(lab):
    lab.client.fault("status", method="POST", path="^%s$" % COLLECTION, count=3, status=429, retry_after="1")
    lab.client.fault("status", method="POST", path="/assignments$", count=2, status=429, retry_after="1")
    lab.client.fault("status", method="GET", path="^%s$" % COLLECTION, count=2, status=429, retry_after="1")

    result = run(lab, display_name=NAME, assignments={"add": [{"group": "Lab-Pilot-Devices"}]})
    assert result["changed"] and not result.get("failed"), result
    statuses = [(entry["method"], entry["status"]) for entry in writes(lab.client.requests())]
    assert statuses == [("POST", 429)] * 3 + [("POST", 201)] + [("POST", 429)] * 2 + [("POST", 201)]
    assert targets(only_profile(lab)) == [(INCLUDE, PILOT)]


def test_a_connection_dropped_after_a_committed_post_creates_no_duplicate(lab):
    lab.client.fault("drop_after", method="POST", path="^%s$" % COLLECTION)
    lab.client.fault("drop_after", method="POST", path="/assignments$")

    result = run(lab, display_name=NAME, assignments={"add": [{"group": "Lab-Pilot-Devices"}]})
    assert result["changed"] and not result.get("failed"), result
    stored = only_profile(lab)
    assert result["id"] == stored["id"]
    assert targets(stored) == [(INCLUDE, PILOT)]
    # Each POST was committed once; the module re-read instead of sending it again.
    assert [(method, path.rsplit("/", 1)[-1]) for method, path in graph_writes(lab)] == [
        ("POST", "windowsAutopilotDeploymentProfiles"), ("POST", "assignments")]

    lab.client.clear_log()
    assert not run(lab, display_name=NAME, assignments={"add": [{"group": "Lab-Pilot-Devices"}]})["changed"]
    assert graph_writes(lab) == []


def test_absent_removes_assignments_then_the_profile(lab):
    created = create(lab, assignments={"add": [{"group": "Lab-Pilot-Devices"}, {"all_devices": True}]})
    path = "%s/%s" % (COLLECTION, created["id"])

    planned = run(lab, check=True, display_name=NAME, state="absent")
    assert planned["changed"] and graph_writes(lab) == [] and len(profiles(lab)) == 1

    removed = run(lab, display_name=NAME, state="absent")
    assert removed["changed"]
    deletes = graph_writes(lab)
    assert [method for method, _path in deletes] == ["DELETE"] * 3
    assert all(p.startswith(path + "/assignments/") for _method, p in deletes[:2]) and deletes[2] == ("DELETE", path)
    assert profiles(lab) == []

    lab.client.clear_log()
    assert not run(lab, display_name=NAME, state="absent")["changed"]
    assert graph_writes(lab) == []


def test_a_group_a_check_mode_run_would_create_is_planned_in_check_mode_and_looked_up_otherwise(lab):
    # What the run's group cache holds after a check-mode device_group task that would create the group.
    planned = {"Lab-Pilot-Devices": ""}
    checked = run(lab, check=True, display_name=NAME, group_ids=planned, assignments={"add": [{"group": "Lab-Pilot-Devices"}]})
    assert checked["changed"] and not checked.get("failed"), checked
    assert checked["assignments"] == [{"group": "Lab-Pilot-Devices", "exclude": False}]
    assert [e for e in lab.client.requests() if "/groups" in e["path"]] == []  # planned, not looked up
    assert graph_writes(lab) == []

    # A task that writes never trusts a plan: it looks the name up and assigns the real group.
    applied = run(lab, display_name=NAME, group_ids=planned, assignments={"add": [{"group": "Lab-Pilot-Devices"}]})
    assert applied["changed"] and not applied.get("failed"), applied
    assert [e for e in lab.client.requests() if e["path"] == "/v1.0/groups"]
    assert targets(only_profile(lab)) == [("#microsoft.graph.groupAssignmentTarget", PILOT)]
