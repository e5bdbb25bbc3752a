# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot_device_info against the Graph lab: the step 10 chain of devices imported with autopilot_device,
link by link as the lab clock plays Intune's import, sync, Entra device, group evaluation and profile
assignment, then a deployment; devices never imported or refused; a profile of the wrong join type; waits
that end and waits that time out. Every claim about what was read (and that nothing was written) comes from
the lab's request log."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import pytest

from module_runner import graph_auth, run_module, sent, writes

from lab.graph.resources.timeline import DELAYS

IDENTITIES = "/beta/deviceManagement/windowsAutopilotDeviceIdentities"
GROUP = "Autopilot-HAADJ-Devices"
ZTD_RULE = '(device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]"))'
PROFILE = "Autopilot hybrid join user driven"
ESP = "Autopilot hybrid join ESP"
DOMAIN_JOIN = "Autopilot hybrid join domain join"
HYBRID = "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile"
ENTRA_JOIN = "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"
ALL_DEVICES = {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}


def hardware_hash(serial):
    return base64.b64encode(("hash of %s " % serial).encode() * 8).decode()


def info(lab, check=False, **args):
    return run_module("autopilot_device_info", dict(graph_auth(lab), **args), check=check)


def import_devices(lab, *serials, **args):
    devices = [dict(serial_number=serial, hardware_hash=hardware_hash(serial)) for serial in serials]
    return run_module("autopilot_device", dict(graph_auth(lab), devices=devices, **args))


def group_target(group_id):
    return {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group_id}


def stored(assignment_type, target):
    """An assignment in the form the lab stores (a seed takes that form)."""
    return {"@odata.type": "#microsoft.graph." + assignment_type, "id": "%s_%s" % (assignment_type, target.get("groupId", "all")),
            "target": target, "source": "direct"}


def seed_tenant(lab, profile_type=HYBRID, profile_target=None, rule=ZTD_RULE):
    """Steps 5 to 8 as the tutorial leaves them: the dynamic group, and the profile, ESP and domain join profile
    assigned to it. Returns the group's id."""
    (group_id,) = lab.client.seed({"groups": [{
        "displayName": GROUP, "mailEnabled": False, "mailNickname": "autopilothaadjdevices", "securityEnabled": True,
        "groupTypes": ["DynamicMembership"], "membershipRule": rule, "membershipRuleProcessingState": "On"}]})["added"]["groups"]
    target = profile_target or group_target(group_id)
    lab.client.seed({
        "windowsAutopilotDeploymentProfiles": [{
            "@odata.type": profile_type, "displayName": PROFILE if profile_type == HYBRID else "Entra join profile",
            "outOfBoxExperienceSetting": {"deviceUsageType": "singleUser"}, "assignments": [stored("windowsAutopilotDeploymentProfileAssignment", target)]}],
        "deviceEnrollmentConfigurations": [{
            "@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration", "displayName": ESP,
            "assignments": [stored("enrollmentConfigurationAssignment", group_target(group_id))]}],
        "deviceConfigurations": [{
            "@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration", "displayName": DOMAIN_JOIN,
            "computerNameStaticPrefix": "HAADJ-", "computerNameSuffixRandomCharCount": 9,
            "activeDirectoryDomainName": "lab.example", "assignments": [stored("deviceConfigurationAssignment", ALL_DEVICES)]}],
    })
    return group_id


def chain_of(result, serial=None):
    """{link: (state, ok, fix_step)} of one device (the only one, or by serial)."""
    devices = result["devices"]
    device = devices[0] if serial is None else next(entry for entry in devices if entry["serial_number"] == serial)
    return {entry["link"]: (entry["state"], entry["ok"], entry["fix_step"]) for entry in device["chain"]}


def reason(result, name, serial=None):
    devices = result["devices"]
    device = devices[0] if serial is None else next(entry for entry in devices if entry["serial_number"] == serial)
    return next(entry["reason"] for entry in device["chain"] if entry["link"] == name)


@pytest.fixture
def frozen(lab):
    """The lab's clock stands still but for the modules' own waits, so Intune's delays are exact."""
    lab.client.advance_clock(0, freeze=True)
    return lab


FULL = dict(device_group=GROUP, profile=PROFILE, esp=ESP, domain_join_profile=DOMAIN_JOIN)


def test_the_chain_link_by_link_as_intune_works_through_an_import(frozen):
    lab = frozen
    seed_tenant(lab)
    # An import that has not finished within import_timeout keeps its staging row: Intune is still at it.
    started = import_devices(lab, "CHAIN-0001", import_timeout=1)
    assert started["failed"], started

    importing = info(lab, serial_numbers=["CHAIN-0001"], **FULL)
    assert not importing["failed"] and not importing["changed"]
    assert chain_of(importing)["imported"] == ("importing", False, 4)
    assert chain_of(importing)["entra_device"] == ("not_reached", None, None)
    assert not importing["ready"] and importing["summary"]["broken_at"] == {"imported": 1}

    lab.client.advance_clock(DELAYS["import_done"])
    registered = info(lab, serial_numbers=["CHAIN-0001"], **FULL)
    assert chain_of(registered)["imported"] == ("awaiting_sync", False, 4)
    assert "after the next Autopilot sync" in reason(registered, "imported")

    # The second run follows the row and syncs (the module's waits move the lab clock).
    assert not import_devices(lab, "CHAIN-0001")["failed"]
    synced = info(lab, serial_numbers=["chain-0001"], **FULL)
    assert synced["devices"][0]["serial_number"] == "chain-0001"
    assert chain_of(synced)["imported"] == ("registered", True, None)
    assert chain_of(synced)["entra_device"] == ("pending", False, 4)

    lab.client.advance_clock(DELAYS["device_object"])
    with_device = info(lab, serial_numbers=["CHAIN-0001"], **FULL)
    links = chain_of(with_device)
    assert links["entra_device"] == ("present", True, None)
    assert links["group_member"] == ("not_member", False, 5) and GROUP in reason(with_device, "group_member")
    assert links["deployment_profile"] == ("not_assigned", False, 7)
    # The ESP targets the group the device is not in yet; the domain join profile targets all devices.
    assert links["esp"] == ("not_targeted", False, 6) and links["domain_join_profile"] == ("targeted", True, None)

    lab.client.advance_clock(DELAYS["membership"])
    member = info(lab, serial_numbers=["CHAIN-0001"], **FULL)
    links = chain_of(member)
    assert links["group_member"] == ("member", True, None) and links["esp"] == ("targeted", True, None)
    assert links["deployment_profile"] == ("pending", False, 7) and not member["ready"]
    assert member["summary"] == dict(total=1, ready=0, enrolled=0, not_ready=1, hybrid_join_pending=0, broken_at={"deployment_profile": 1})
    verdict = member["devices"][0]["verdict"]
    assert verdict.startswith("not ready: deployment_profile pending - ") and verdict.endswith("(fix: step 7)"), verdict

    lab.client.advance_clock(DELAYS["profile_assignment"])
    lab.client.clear_log()
    ready = info(lab, serial_numbers=["CHAIN-0001"], **FULL)
    links = chain_of(ready)
    assert links["deployment_profile"] == ("assigned", True, None) and PROFILE in reason(ready, "deployment_profile")
    assert links["enrolled"] == ("not_enrolled", False, 10)
    assert ready["ready"] and ready["devices"][0]["ready"] and not ready["enrolled"]
    assert ready["summary"] == dict(total=1, ready=1, enrolled=0, not_ready=0, hybrid_join_pending=0, broken_at={})
    assert ready["devices"][0]["verdict"] == "ready to deploy"
    assert writes(lab.client.requests()) == []

    lab.client.enroll_device("CHAIN-0001")
    lab.client.first_sign_in("CHAIN-0001")
    enrolled = info(lab, serial_numbers=["CHAIN-0001"], **FULL)
    (device,) = enrolled["devices"]
    assert device["enrolled"] and enrolled["enrolled"] and enrolled["summary"]["enrolled"] == 1
    assert device["chain"][-1]["state"] == "enrolled" and device["chain"][-1]["deployment_state"] == "success"
    assert device["verdict"] == "enrolled"


@pytest.mark.parametrize("window", ["entra_joined", "hybrid_join_type"])
def test_a_deployed_device_waits_for_the_users_first_sign_in_then_is_ready(frozen, window):
    """The hybrid join window (memdocs PR #2408): until the user signs in, Intune keeps the device on its Autopilot
    (Entra joined) object. Whether joinType reads azureADJoined or already hybridAzureADJoined then is unsettled
    (the lab's hybrid_join_window): either way the device is enrolled, pending first sign-in, neither ready nor of
    the wrong join type, and that costs no request more than an enrolled device."""
    lab = frozen
    lab.client.config(hybrid_join_window=window)
    seed_tenant(lab)
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "WINDOW-0001"}]})
    lab.client.advance_clock(DELAYS["profile_assignment"])
    lab.client.enroll_device("WINDOW-0001", device_name="HAADJ-WINDOW1")
    lab.client.clear_log()

    pending = info(lab, serial_numbers=["WINDOW-0001"], **FULL)

    (device,) = pending["devices"]
    assert chain_of(pending)["enrolled"] == ("hybrid_join_pending", True, 10)
    assert "first sign-in" in reason(pending, "enrolled") and "Sign in once on the device" in reason(pending, "enrolled")
    assert device["enrolled"] and device["hybrid_join_pending"] and not device["ready"]
    assert device["verdict"].startswith("enrolled, hybrid join pending the user's first sign-in")
    assert device["chain"][-1]["deployment_state"] == "success"
    assert pending["summary"] == dict(total=1, ready=0, enrolled=1, not_ready=1, hybrid_join_pending=1, broken_at={})
    assert not pending["ready"] and pending["enrolled"]
    paths = [entry["path"] for entry in lab.client.requests()]
    # The Entra device comes with the group's device members, not from a look-up of its own.
    assert len([path for path in paths if "/managedDevices/" in path]) == 1 and paths.count("/v1.0/devices") == 0
    assert len([path for path in paths if path.endswith("/members/microsoft.graph.device")]) == 1
    assert paths.count("/beta/deviceManagement/autopilotEvents") == 1 and len(paths) == 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1
    refused = info(lab, serial_numbers=["WINDOW-0001"], fail_unless_ready=True, **FULL)
    assert refused["failed"] and "WINDOW-0001 at enrolled: Enrolled and joined to the domain" in refused["msg"]
    assert not info(lab, serial_numbers=["WINDOW-0001"], wait_for="enrolled", fail_unless_ready=True, **FULL)["failed"]

    lab.client.first_sign_in("WINDOW-0001")
    signed_in = info(lab, serial_numbers=["WINDOW-0001"], **FULL)
    assert chain_of(signed_in)["enrolled"] == ("enrolled", True, None)
    assert signed_in["ready"] and signed_in["enrolled"] and signed_in["devices"][0]["verdict"] == "enrolled"


def test_a_view_already_switched_to_the_hybrid_object_is_simply_enrolled(frozen):
    lab = frozen
    lab.client.config(hybrid_join_window="switched")
    seed_tenant(lab)
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "SWITCHED-0001"}]})
    lab.client.advance_clock(DELAYS["profile_assignment"])
    lab.client.enroll_device("SWITCHED-0001")

    result = info(lab, serial_numbers=["SWITCHED-0001"], **FULL)

    assert chain_of(result)["enrolled"] == ("enrolled", True, None) and result["ready"]
    assert result["devices"][0]["hybrid_join_pending"] is False


def test_a_device_deployed_with_an_entra_join_profile_is_of_the_wrong_join_type(frozen):
    """On its Autopilot object and azureADJoined, as a hybrid device in the window may read: its Autopilot event
    (an Entra join) tells them apart."""
    lab = frozen
    seed_tenant(lab, profile_type=ENTRA_JOIN, profile_target=ALL_DEVICES)
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "ENTRA-0001"}]})
    lab.client.advance_clock(DELAYS["profile_assignment"])
    lab.client.enroll_device("ENTRA-0001")

    result = info(lab, serial_numbers=["ENTRA-0001"])

    assert chain_of(result)["enrolled"] == ("wrong_join_type", False, 10)
    assert reason(result, "enrolled") == ("The managed device is azureADJoined, not hybrid joined "
                                          "(its Autopilot deployment was azureADJoinedWithAutopilotProfile).")
    assert result["devices"][0]["hybrid_join_pending"] is False and not result["enrolled"]


def test_reads_are_bounded_and_nothing_is_written_in_check_mode_either(frozen):
    lab = frozen
    seed_tenant(lab)
    serials = ["BOUND-%04d" % number for number in range(20)]
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": serial, "groupTag": "Bound"} for serial in serials]})
    lab.client.advance_clock(DELAYS["profile_assignment"])
    lab.client.enroll_device("BOUND-0000")
    lab.client.first_sign_in("BOUND-0000")
    lab.client.clear_log()

    result = info(lab, check=True, group_tag="bound", **FULL)

    assert result["ready"] and result["summary"]["total"] == 20 and result["summary"]["enrolled"] == 1
    requests = lab.client.requests()
    assert writes(requests) == []
    paths = [entry["path"] for entry in requests]
    assert paths.count(IDENTITIES) == 1
    assert not [path for path in paths if path.endswith("/deploymentProfile")]  # no read per device
    assert len([path for path in paths if path.endswith("/assignedDevices")]) == 1  # the hybrid profile's, placing all 20
    assert len([path for path in paths if "/managedDevices/" in path]) == 1
    assert len([path for path in paths if "/members" in path]) == 1  # the group, read once for 20 devices
    assert paths.count("/v1.0/devices") == 0  # every Entra device came with the group's members
    # The group's name, the identities, the group's devices, the profiles and the hybrid one's assigned devices, ESPs,
    # domain join profiles, events, and the one enrolled device's managed device.
    assert len(requests) == 1 + 1 + 1 + 2 + 1 + 1 + 1 + 1


def test_a_device_never_imported_and_one_intune_refused(frozen):
    lab = frozen
    lab.client.seed({"importedWindowsAutopilotDeviceIdentities": [{
        "serialNumber": "OTHER-TENANT-0001", "hardwareIdentifier": hardware_hash("OTHER-TENANT-0001"),
        "state": {"deviceImportStatus": "error", "deviceErrorName": "ZtdDeviceAssignedToOtherTenant", "deviceErrorCode": 808,
                  "deviceRegistrationId": ""}}]})

    result = info(lab, serial_numbers=["NEVER-0001", "OTHER-TENANT-0001"])

    assert not result["failed"] and not result["ready"]
    assert chain_of(result, "NEVER-0001")["imported"] == ("missing", False, 4)
    assert chain_of(result, "OTHER-TENANT-0001")["imported"] == ("import_failed", False, 4)
    assert "another organisation's tenant" in reason(result, "imported", "OTHER-TENANT-0001")
    assert [device["serial_number"] for device in result["devices"]] == ["NEVER-0001", "OTHER-TENANT-0001"]
    assert result["summary"] == dict(total=2, ready=0, enrolled=0, not_ready=2, hybrid_join_pending=0, broken_at={"imported": 2})

    refused = info(lab, serial_numbers=["NEVER-0001", "OTHER-TENANT-0001"], fail_unless_ready=True)
    assert refused["failed"] and refused["msg"].startswith("2 of 2 devices are not ready. NEVER-0001 at imported: No Autopilot device")
    assert refused["devices"] == result["devices"]


def test_an_entra_join_profile_is_not_ready_and_names_what_to_fix(frozen):
    lab = frozen
    seed_tenant(lab, profile_type=ENTRA_JOIN, profile_target=ALL_DEVICES)
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "WRONG-0001"}]})
    lab.client.advance_clock(DELAYS["profile_assignment"])

    result = info(lab, serial_numbers=["WRONG-0001"], device_group=GROUP)

    assert chain_of(result)["deployment_profile"] == ("wrong_join_type", False, 7)
    assert "Entra join profile" in reason(result, "deployment_profile") and "not hybrid" in reason(result, "deployment_profile")
    assert not result["ready"]
    # Links whose options are left out are not checked and do not hold the device back.
    assert chain_of(result)["esp"] == ("not_checked", None, None)


def test_another_profile_than_the_one_named(frozen):
    lab = frozen
    seed_tenant(lab)
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "OTHER-0001"}]})
    lab.client.advance_clock(DELAYS["profile_assignment"])

    result = info(lab, serial_numbers=["OTHER-0001"], profile="Autopilot kiosk")

    assert chain_of(result)["deployment_profile"] == ("other_profile", False, 7)
    assert "'%s', not 'Autopilot kiosk'" % PROFILE in reason(result, "deployment_profile")


def test_wait_for_ready_polls_until_intune_has_assigned_the_profile(frozen):
    lab = frozen
    seed_tenant(lab)
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "WAIT-0001"}, {"serialNumber": "WAIT-0002"}]})

    result = info(lab, serial_numbers=["WAIT-0001", "WAIT-0002"], wait_for="ready", wait_timeout=3600, fail_unless_ready=True, **FULL)

    assert not result["failed"] and result["ready"], result
    (wait,) = result["waits"]
    assert wait["done"] and DELAYS["profile_assignment"] <= wait["seconds"] < 3600 and wait["polls"] > 1
    assert result["progress"][0] == "0 of 2 devices ready; not ready at: deployment_profile 2"
    assert result["progress"][-1] == "2 of 2 devices ready"
    assert writes(lab.client.requests()) == []


def test_a_wait_from_just_after_the_sync_follows_every_link_to_ready(frozen):
    lab = frozen
    seed_tenant(lab)
    assert not import_devices(lab, "FOLLOW-0001")["failed"]

    result = info(lab, serial_numbers=["FOLLOW-0001"], wait_for="ready", **FULL)

    assert result["ready"], result
    # The Entra device, the group's evaluation and the profile assignment come one after the other, each seen by a poll.
    seen = [line.split("at: ")[1] for line in result["progress"] if "at: " in line]
    assert seen[0] == "entra_device 1" and "group_member 1" in seen and seen[-1] == "deployment_profile 1"
    waited = result["waits"][0]["seconds"]
    assert DELAYS["device_object"] + DELAYS["membership"] + DELAYS["profile_assignment"] <= waited < 3600


def test_a_wait_that_times_out_says_why_and_fails_only_when_asked(frozen):
    lab = frozen
    seed_tenant(lab)
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "SLOW-0001"}]})

    failed = info(lab, serial_numbers=["SLOW-0001"], wait_for="ready", wait_timeout=60, fail_unless_ready=True, **FULL)

    assert failed["failed"] and not failed["ready"]
    assert failed["msg"].startswith("After waiting 60 s: 1 of 1 devices are not ready. SLOW-0001 at deployment_profile")
    assert "(step 7)" in failed["msg"] and failed["waits"][0]["done"] is False

    warned = info(lab, serial_numbers=["SLOW-0001"], wait_for="enrolled", wait_timeout=30, **FULL)
    assert not warned["failed"] and "are not enrolled" in warned["warnings"][0]


CSV_HEADER = "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag"


def test_the_devices_of_the_portals_csv_files_after_the_serial_numbers(frozen, tmp_path):
    lab = frozen
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "CSV-0001"}, {"serialNumber": "CSV-0002"}]})
    csv_file = tmp_path / "devices.csv"
    csv_file.write_text("%s\nCSV-0002,,%s,Pilot\nCSV-0003,,%s,Pilot\n" % (CSV_HEADER, hardware_hash("CSV-0002"), hardware_hash("CSV-0003")))

    result = info(lab, serial_numbers=["CSV-0001"], csv_files=[str(csv_file)])

    assert [device["serial_number"] for device in result["devices"]] == ["CSV-0001", "CSV-0002", "CSV-0003"]
    assert chain_of(result, "CSV-0003")["imported"] == ("missing", False, 4)


def test_the_csv_windows_powershell_writes_is_read_and_a_file_of_no_read_encoding_is_named(frozen, tmp_path):
    # Get-WindowsAutopilotInfo -OutputFile in Windows PowerShell 5.1: Out-File's UTF-16LE with a BOM, CRLF, the
    # tutorial's step-9 header (Assigned User after Hardware Hash).
    lab = frozen
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "PS-0001"}]})
    out_file = tmp_path / "AutopilotHWID.csv"
    text = "Device Serial Number,Windows Product ID,Hardware Hash,Assigned User\r\nPS-0001,,%s,\r\n" % hardware_hash("PS-0001")
    out_file.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    utf32 = tmp_path / "utf32.csv"
    utf32.write_bytes(b"\xff\xfe\x00\x00" + text.encode("utf-32-le"))

    read = info(lab, csv_files=[str(out_file)])
    lab.client.clear_log()
    refused = info(lab, csv_files=[str(utf32)])

    assert [device["serial_number"] for device in read["devices"]] == ["PS-0001"], read
    assert refused["failed"] and refused["msg"].startswith("csv_files: %s:1: The file is UTF-32" % utf32), refused["msg"]
    assert "neither UTF-8 nor ANSI" not in refused["msg"]
    assert lab.client.requests() == []


def test_a_bad_csv_row_or_a_device_named_twice_fails_before_any_request(lab, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Device Serial Number,Hardware Hash\nPF1,abc\n")
    good = tmp_path / "good.csv"
    good.write_text("%s\nPF1,,%s,\n" % (CSV_HEADER, hardware_hash("PF1")))
    lab.client.clear_log()

    escape = tmp_path / "escape.csv"
    escape.write_text("%s\nPF1,,%s,\nPF\x1b2,,%s,\n" % (CSV_HEADER, hardware_hash("PF1"), hardware_hash("PF2")))
    header = info(lab, csv_files=[str(bad)])
    control = info(lab, csv_files=[str(escape)])
    twice = info(lab, serial_numbers=["pf1"], csv_files=[str(good)])

    assert header["failed"] and header["msg"].startswith("csv_files: %s:1: The header lacks the column 'Windows Product ID'" % bad)
    assert control["failed"] and control["msg"].startswith("csv_files: %s:3: the serial number 'PF\\x1b2' holds the control "
                                                           "character '\\x1b'" % escape)
    assert twice["failed"] and twice["msg"] == "%s:2 names PF1 again (named at serial_numbers[0]; serial numbers compare " \
        "case-insensitively): name it once." % good
    assert lab.client.requests() == []


def test_bad_options_fail_before_any_request(lab):
    lab.client.clear_log()
    for args, message in [
        (dict(serial_numbers=[]), "serial_numbers, csv_files: name at least one device"),
        (dict(serial_numbers=["PF1", "pf1"]), "serial_numbers[1] names pf1 again (named at serial_numbers[0]"),
        (dict(serial_numbers=["PF1", " "]), "serial_numbers[1] is empty"),
        (dict(serial_numbers=["PF1", "PF\x002"]), "serial_numbers[1]: the serial number 'PF\\x002' holds the control character '\\x00'"),
        (dict(csv_files=["/no/such.csv"]), "csv_files: cannot read /no/such.csv"),
        (dict(wait_timeout=0), "wait_timeout: give 1 to 14400"),
        (dict(esp=""), "esp: give a name"),
        (dict(serial_numbers=["PF1"], group_tag="x"), "mutually exclusive"),
    ]:
        result = info(lab, **args)
        assert result["failed"] and message in result["msg"], (args, result)
    assert lab.client.requests() == []


def test_an_unknown_device_group_is_named(lab):
    result = info(lab, device_group="No-Such-Group")
    assert result["failed"] and result["msg"].startswith("device_group: no group named 'No-Such-Group'")


def test_every_device_when_none_is_named(frozen):
    lab = frozen
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "ALL-0001"}, {"serialNumber": "ALL-0002", "groupTag": "X"}]})
    result = info(lab)
    assert sorted(device["serial_number"] for device in result["devices"]) == ["ALL-0001", "ALL-0002"]
    assert chain_of(result, "ALL-0001")["deployment_profile"] == ("not_assigned", False, 7)
    untagged = info(lab, group_tag="")
    assert [device["serial_number"] for device in untagged["devices"]] == ["ALL-0001"]


def test_entra_devices_are_read_one_by_one_when_graph_refuses_the_in_filter(frozen):
    lab = frozen
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "IN-0001"}, {"serialNumber": "IN-0002"}]})
    lab.client.fault("status", method="GET", path="^/v1.0/devices$", status=400, count=1)
    lab.client.clear_log()

    result = info(lab, serial_numbers=["IN-0001", "IN-0002"])

    assert [chain_of(result, serial)["entra_device"] for serial in ("IN-0001", "IN-0002")] == [("present", True, None)] * 2
    filters = [parse_qs(entry["query"])["$filter"][0] for entry in lab.client.requests() if entry["path"] == "/v1.0/devices"]
    assert len(filters) == 3 and filters[0].startswith("deviceId in (") and all(text.startswith("deviceId eq '") for text in filters[1:])


def test_the_permissions_the_readme_names_read_the_whole_chain(frozen):
    lab = frozen
    seed_tenant(lab)
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "LEAST-0001"}]})
    lab.client.advance_clock(DELAYS["profile_assignment"])
    lab.client.enroll_device("LEAST-0001")
    lab.client.first_sign_in("LEAST-0001")
    token = lab.client.mint_token(kind="app", app=lab.apps["lab-reader"]["client_id"], roles=[
        "DeviceManagementServiceConfig.Read.All", "Device.Read.All", "GroupMember.Read.All",
        "DeviceManagementManagedDevices.Read.All", "DeviceManagementConfiguration.Read.All"])

    result = run_module("autopilot_device_info", dict(graph_auth(lab), access_token=token, serial_numbers=["LEAST-0001"], **FULL))

    assert not result["failed"] and result["ready"] and result["enrolled"], result


def test_a_failed_assignment_carries_intunes_detailed_status(frozen):
    lab = frozen
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{
        "serialNumber": "FAILED-0001", "deploymentProfileAssignmentStatus": "failed",
        "deploymentProfileAssignmentDetailedStatus": "hardwareRequirementsNotMet"}]})

    result = info(lab, serial_numbers=["FAILED-0001"])

    assert chain_of(result)["deployment_profile"] == ("failed", False, 7)
    assert reason(result, "deployment_profile") == "Intune reports the profile assignment as failed (hardwareRequirementsNotMet)."


def test_each_poll_of_a_wait_reads_pages_not_devices(frozen):
    lab = frozen
    seed_tenant(lab)
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "POLL-%04d" % number} for number in range(30)]})
    lab.client.advance_clock(DELAYS["profile_assignment"])
    lab.client.clear_log()

    result = info(lab, group_tag="", wait_for="enrolled", wait_timeout=60, device_group=GROUP)

    polls = result["waits"][0]["polls"]
    assert result["ready"] and not result["enrolled"] and polls > 3
    paths = [entry["path"] for entry in lab.client.requests()]
    # Per poll: the identities, the group's devices, the profiles and the hybrid profile's assigned devices; once: the group's name.
    assert len(paths) == 1 + 4 * polls
    for suffix in (IDENTITIES, "/members/microsoft.graph.device", "/windowsAutopilotDeploymentProfiles", "/assignedDevices"):
        assert len([path for path in paths if path.endswith(suffix)]) == polls


def test_an_esp_not_found_and_a_domain_join_profile_that_excludes_the_group(frozen):
    lab = frozen
    group_id = seed_tenant(lab)
    lab.client.seed({"deviceConfigurations": [{
        "@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration", "displayName": "Excluding domain join",
        "computerNameStaticPrefix": "EXC-", "computerNameSuffixRandomCharCount": 9, "activeDirectoryDomainName": "lab.example",
        "assignments": [stored("deviceConfigurationAssignment", {
            "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": group_id})]}]})
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "EXCL-0001"}]})
    lab.client.advance_clock(DELAYS["profile_assignment"])

    result = info(lab, serial_numbers=["EXCL-0001"], device_group=GROUP, esp="No such ESP", domain_join_profile="excluding DOMAIN join")

    links = chain_of(result)
    assert links["deployment_profile"] == ("assigned", True, None)
    assert links["esp"] == ("missing", False, 6) and reason(result, "esp") == "No Enrollment Status Page profile is named 'No such ESP'."
    assert links["domain_join_profile"] == ("excluded", False, 8)
    assert "excludes" in reason(result, "domain_join_profile") and not result["ready"]


def test_two_autopilot_devices_with_one_serial_number(frozen):
    lab = frozen
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": "TWICE-0001"}, {"serialNumber": "twice-0001"}]})

    result = info(lab, serial_numbers=["TWICE-0001"])

    assert chain_of(result)["imported"] == ("duplicate", False, 4)
    assert reason(result, "imported").startswith("2 Autopilot devices have this serial number: delete the stale ones")


FLEET, SPARE, DEPLOYED = 300, 100, 25


def request_budget(devices):
    """Issue 23's target for one readiness check: three paged listings of 999 and a dozen requests besides."""
    return 3 * -(-devices // 999) + 12


def test_a_readiness_check_of_hundreds_of_devices_reads_pages_not_devices(frozen, tmp_path):
    """Issue 23 item 1 at 400 devices, seeded through the admin API (settled): 300 tagged Fleet, members of the group
    (its rule matches the tag) with the hybrid profile assigned, 25 of them deployed; 100 tagged Spare, outside the
    group. By group tag, by serial numbers and a CSV file, and per poll of a wait, the check costs at most
    3 x ceil(N/999) + 12 HTTP requests. The old chain sent 436 here: a deploymentProfile read per assigned device,
    an Entra look-up per 15 devices, a managed device read per deployed one."""
    lab = frozen
    seed_tenant(lab, rule='(device.devicePhysicalIds -any (_ -eq "[OrderID]:Fleet"))')
    fleet = ["FLEET-%04d" % number for number in range(FLEET)]
    spare = ["SPARE-%04d" % number for number in range(SPARE)]
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": serial, "groupTag": "Fleet"} for serial in fleet] +
                     [{"serialNumber": serial, "groupTag": "Spare"} for serial in spare]})
    lab.client.advance_clock(DELAYS["profile_assignment"])
    for serial in fleet[:DEPLOYED]:
        lab.client.enroll_device(serial)
        lab.client.first_sign_in(serial)
    everyone = fleet + spare
    csv_file = tmp_path / "devices.csv"
    csv_file.write_text(CSV_HEADER + "\n" + "".join("%s,,%s,\n" % (serial, hardware_hash(serial)) for serial in everyone[200:]))

    lab.client.clear_log()
    by_tag = info(lab, group_tag="fleet", **FULL)
    assert by_tag["ready"] and by_tag["summary"]["total"] == FLEET and by_tag["summary"]["enrolled"] == DEPLOYED, by_tag["summary"]
    assert len(sent(lab.client.requests())) <= request_budget(FLEET), [entry["path"] for entry in sent(lab.client.requests())]

    lab.client.clear_log()
    named = info(lab, serial_numbers=everyone[:200], csv_files=[str(csv_file)], **FULL)
    summary = named["summary"]
    assert (summary["total"], summary["ready"], summary["enrolled"], summary["broken_at"]) == (FLEET + SPARE, FLEET, DEPLOYED, {"group_member": SPARE})
    assert chain_of(named, "SPARE-0000")["entra_device"] == ("present", True, None)
    requests = lab.client.requests()
    assert writes(requests) == []
    assert len(sent(requests)) <= request_budget(FLEET + SPARE), [entry["path"] for entry in sent(requests)]
    # Read inside batches: the spare devices' Entra devices, 15 a filter, and the deployed devices' managed devices.
    inside = [entry["path"] for entry in requests if entry.get("batch")]
    assert inside.count("/v1.0/devices") == -(-SPARE // 15) and len(inside) == -(-SPARE // 15) + DEPLOYED

    lab.client.clear_log()
    waited = info(lab, group_tag="fleet", wait_for="ready", device_group=GROUP, profile=PROFILE)
    assert waited["ready"] and waited["waits"][0]["polls"] == 1
    assert len(sent(lab.client.requests())) <= request_budget(FLEET)


def test_a_read_throttled_inside_a_batch_is_sent_again_on_its_own(frozen):
    """JSON batching answers each request on its own: a 429 inside the batch does not fail the batch, and the read is
    sent again alone through the transport's retry policy (Retry-After honoured)."""
    lab = frozen
    seed_tenant(lab)
    serials = ["BATCH-%04d" % number for number in range(3)]
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": serial} for serial in serials]})
    lab.client.advance_clock(DELAYS["profile_assignment"])
    for serial in serials:
        lab.client.enroll_device(serial)
        lab.client.first_sign_in(serial)
    lab.client.fault("status", method="GET", path="/managedDevices/", status=429, retry_after="3", count=1)
    lab.client.clear_log()

    result = info(lab, serial_numbers=serials, **FULL)

    assert result["enrolled"] and result["summary"]["enrolled"] == 3, result["summary"]
    reads = [entry for entry in lab.client.requests() if "/managedDevices/" in entry["path"]]
    assert [(entry.get("batch", False), entry["status"]) for entry in reads] == [(True, 429), (True, 200), (True, 200), (False, 200)]
    assert reads[-1]["path"] == reads[0]["path"]


def test_a_read_refused_inside_a_batch_fails_as_the_read_alone_does(frozen):
    """A refusal inside the batch is sent again alone, so the task fails with the transport's own message for it (the
    permission the read needs), not a bare status from the batch."""
    lab = frozen
    seed_tenant(lab)
    serials = ["DENY-%04d" % number for number in range(3)]
    lab.client.seed({"windowsAutopilotDeviceIdentities": [{"serialNumber": serial} for serial in serials]})
    lab.client.advance_clock(DELAYS["profile_assignment"])
    for serial in serials:
        lab.client.enroll_device(serial)
        lab.client.first_sign_in(serial)
    lab.client.fault("status", method="GET", path="/managedDevices/", status=403, count=10)
    lab.client.clear_log()

    result = info(lab, serial_numbers=serials, **FULL)

    assert result["failed"] and "HTTP 403" in result["msg"] and "DeviceManagementManagedDevices.Read" in result["msg"], result["msg"]
    reads = [entry for entry in lab.client.requests() if "/managedDevices/" in entry["path"]]
    assert [(entry.get("batch", False), entry["status"]) for entry in reads][-1] == (False, 403)
