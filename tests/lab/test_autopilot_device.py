# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot_device against the Graph lab: the import state machine to its end, its errors and faults,
the sync's 409 and 429, updates of registered devices, absent, and re-runs that write nothing. Every
claim about what was sent is read from the lab's request log."""

from __future__ import annotations

import base64
import codecs
import json

import pytest

from module_runner import graph_auth, run_module, writes

STAGING = "/beta/deviceManagement/importedWindowsAutopilotDeviceIdentities"
IDENTITIES = "/beta/deviceManagement/windowsAutopilotDeviceIdentities"
SYNC = "/beta/deviceManagement/windowsAutopilotSettings/sync"
HEADER = "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User"
USER = "adele.vance@lab.example"


def hardware_hash(serial):
    """A base64 value as long as the lab wants a hash to be (100 bytes or more), one per serial."""
    return base64.b64encode(("hash of %s " % serial).encode() * 8).decode()


def device(serial, **fields):
    return dict(serial_number=serial, hardware_hash=hardware_hash(serial), **fields)


def run(lab, check=False, diff=False, **args):
    return run_module("autopilot_device", dict(graph_auth(lab), **args), check=check, diff=diff)


def graph_writes(lab):
    return [(entry["method"], entry["path"]) for entry in writes(lab.client.requests())]


def identities(lab):
    return {identity["serialNumber"]: identity for identity in lab.client.state().get("windowsAutopilotDeviceIdentities", [])}


def staging(lab):
    return lab.client.state().get("importedWindowsAutopilotDeviceIdentities", [])


def seed_identity(lab, serial, **fields):
    lab.client.seed({"windowsAutopilotDeviceIdentities": [dict(serialNumber=serial, **fields)]})


@pytest.fixture
def frozen(lab):
    """The lab's clock stands still but for the module's own waits, so its delays are exact."""
    lab.client.advance_clock(0, freeze=True)
    return lab


def test_import_follows_each_batch_deletes_its_rows_and_syncs_once(frozen):
    lab = frozen
    devices = [device("LAB-%04d" % n, group_tag="Pilot") for n in range(5)]

    result = run(lab, devices=devices, batch_size=2, cleanup="all")

    assert result["changed"] and not result["failed"], result
    assert result["counts"] == dict(imported=5, updated=0, unchanged=0, deleted=0, skipped=0, failed=0)
    assert result["sync"]["status"] == "completed"
    sent = graph_writes(lab)
    imports = [entry for entry in sent if entry == ("POST", STAGING + "/import")]
    deletes = [entry for entry in sent if entry[0] == "DELETE"]
    assert len(imports) == 3 and len(deletes) == 5 and sent.count(("POST", SYNC)) == 1
    assert sent[-1] == ("POST", SYNC) and len(sent) == 9
    # Each batch is finished (its rows deleted) before the next is sent.
    assert [method for method, _path in sent[:-1]] == ["POST", "DELETE", "DELETE", "POST", "DELETE", "DELETE", "POST", "DELETE"]
    assert staging(lab) == []
    registered = identities(lab)
    assert sorted(registered) == ["LAB-%04d" % n for n in range(5)]
    assert {identity["groupTag"] for identity in registered.values()} == {"Pilot"}
    assert result["progress"][:2] == ["5 devices named: 0 registered, 0 with an import under way, 5 to import in batches of 2",
                                  "Batch 1 of 3: 2 devices sent"]

    lab.client.clear_log()
    again = run(lab, devices=devices, batch_size=2)
    assert not again["changed"] and again["counts"]["unchanged"] == 5, again
    assert graph_writes(lab) == []
    # Two listings (identities, staging rows), one page each.
    assert len(lab.client.requests()) == 2


def test_each_import_error_names_the_device_the_reason_and_the_fix_after_the_others_are_done(frozen):
    lab = frozen
    short_hash = base64.b64encode(b"too short").decode()
    devices = [device("NEW-0001"), device("OTHER-TENANT-0001"), dict(serial_number="BADHASH-1", hardware_hash=short_hash)]

    result = run(lab, devices=devices)

    assert result["failed"] and result["changed"]
    assert result["counts"] == dict(imported=1, updated=0, unchanged=0, deleted=0, skipped=0, failed=2)
    failed = {entry["serial_number"]: entry for entry in result["failed_devices"]}
    assert failed["OTHER-TENANT-0001"]["source"] == "devices[1]"
    assert "another organisation's tenant" in failed["OTHER-TENANT-0001"]["reason"]
    assert "deregister" in failed["OTHER-TENANT-0001"]["fix"]
    assert "refused the hardware hash" in failed["BADHASH-1"]["reason"] and "Get-WindowsAutopilotInfo" in failed["BADHASH-1"]["fix"]
    assert "2 of 3 named devices failed" in result["msg"]
    # By default no staging row is deleted (cleanup: none), and the one good device still gets its sync.
    assert len(staging(lab)) == 3 and "NEW-0001" in identities(lab)
    assert [method for method, _path in graph_writes(lab)] == ["POST", "POST"]


def test_a_device_registered_but_not_yet_synced_counts_as_present(frozen):
    lab = frozen
    first = run(lab, devices=[device("WAIT-0001")], sync=False)
    assert first["counts"]["imported"] == 1 and first["sync"]["status"] == "disabled"
    assert "after the next Autopilot sync" in first["warnings"][0]
    assert "WAIT-0001" not in identities(lab)

    lab.client.clear_log()
    second = run(lab, devices=[device("WAIT-0001")])

    # Intune answers ZtdDeviceAlreadyAssigned; the device is here, and the sync makes it appear. Both rows are kept (cleanup none).
    assert not second["failed"] and second["counts"]["unchanged"] == 1, second
    assert second["sync"]["status"] == "completed" and "WAIT-0001" in identities(lab)
    assert graph_writes(lab) == [("POST", STAGING + "/import"), ("POST", SYNC)] and len(staging(lab)) == 2


def test_an_import_that_outlives_import_timeout_fails_keeps_its_rows_and_the_next_run_follows_them(frozen):
    lab = frozen
    devices = [device("SLOW-%04d" % n) for n in range(3)]

    slow = run(lab, devices=devices, batch_size=2, import_timeout=30)

    assert slow["failed"] and slow["counts"]["failed"] == 3
    reasons = {entry["serial_number"]: entry["reason"] for entry in slow["failed_devices"]}
    assert "still importing it after import_timeout (30 s)" in reasons["SLOW-0000"]
    assert "Not sent: an earlier batch" in reasons["SLOW-0002"]
    assert graph_writes(lab) == [("POST", STAGING + "/import")]
    assert len(staging(lab)) == 2

    lab.client.clear_log()
    finished = run(lab, devices=devices, batch_size=2)

    assert not finished["failed"] and finished["counts"]["imported"] == 3, finished
    sent = graph_writes(lab)
    # The two rows of the first run are followed, not imported again; only the third device is sent.
    assert sent.count(("POST", STAGING + "/import")) == 1
    (import_request,) = [entry for entry in lab.client.requests() if entry["path"] == STAGING + "/import"]
    assert [item["serialNumber"] for item in import_request["body"]["importedWindowsAutopilotDeviceIdentities"]] == ["SLOW-0002"]
    assert sorted(identities(lab)) == ["SLOW-0000", "SLOW-0001", "SLOW-0002"] and len(staging(lab)) == 3


def test_a_lost_import_answer_is_found_by_its_import_id_not_sent_twice(frozen):
    lab = frozen
    lab.client.fault("drop_after", method="POST", path="/import$", count=1)

    result = run(lab, devices=[device("LOST-0001"), device("LOST-0002")])

    assert not result["failed"] and result["counts"]["imported"] == 2, result
    assert graph_writes(lab).count(("POST", STAGING + "/import")) == 1
    assert sorted(identities(lab)) == ["LOST-0001", "LOST-0002"]


def test_a_lost_import_never_seen_fails_its_devices_and_the_next_run_imports_them(frozen):
    lab = frozen
    lab.client.fault("drop_before", method="POST", path="/import$", count=1)

    lost = run(lab, devices=[device("GONE-0001")], max_retry_wait=8)

    assert lost["failed"] and "answer to its import was lost" in lost["failed_devices"][0]["reason"]
    again = run(lab, devices=[device("GONE-0001")])
    assert not again["failed"] and again["counts"]["imported"] == 1 and "GONE-0001" in identities(lab)


def test_a_running_sync_is_waited_for_then_ours_runs(frozen):
    lab = frozen
    lab.client.fault("status", method="POST", path="/sync$", status=409, count=1)

    result = run(lab, devices=[device("SYNC-0001")])

    assert not result["failed"] and result["sync"]["status"] == "completed", result
    # No sync ran behind the 409 (a fault): the devices are not listed after it, so ours is sent.
    assert result["sync"]["request"] == "accepted" and result["sync"]["identities"] == {"found": 1, "missing": 0}
    assert graph_writes(lab).count(("POST", SYNC)) == 2
    assert "SYNC-0001" in identities(lab)


def test_a_sync_within_ten_minutes_of_the_last_is_reported_throttled_not_failed(frozen):
    lab = frozen
    assert run(lab, devices=[device("FIRST-0001")])["sync"]["status"] == "completed"
    lab.client.clear_log()

    result = run(lab, devices=[device("SECOND-0001")])

    assert not result["failed"] and result["counts"]["imported"] == 1, result
    assert result["sync"]["status"] == "throttled" and "10 minutes" in result["sync"]["msg"]
    assert any("10 minutes" in warning for warning in result["warnings"])
    # Retry-After (~8 minutes) is longer than max_retry_wait (300 s): one try, no storm.
    assert graph_writes(lab).count(("POST", SYNC)) == 1
    assert "SECOND-0001" not in identities(lab)


def test_a_sync_throttled_for_less_than_max_retry_wait_is_waited_out(frozen):
    lab = frozen
    assert run(lab, devices=[device("FIRST-0001")])["sync"]["status"] == "completed"
    lab.client.advance_clock(500)

    result = run(lab, devices=[device("SECOND-0001")])

    assert result["sync"]["status"] == "completed" and "SECOND-0001" in identities(lab), result


def test_check_mode_reads_only_and_reports_the_plan(frozen):
    lab = frozen
    seed_identity(lab, "KEEP-0001", groupTag="Old")

    planned = run(lab, check=True, diff=True, devices=[device("PLAN-0001", group_tag="Pilot"), dict(serial_number="KEEP-0001", group_tag="New")])

    assert planned["changed"] and planned["counts"]["imported"] == 1 and planned["counts"]["updated"] == 1, planned
    assert planned["sync"]["status"] == "check_mode"
    assert planned["diff"]["before"] == {"KEEP-0001": {"groupTag": "Old", "userPrincipalName": "", "addressableUserName": ""}}
    assert planned["diff"]["after"]["KEEP-0001"]["groupTag"] == "New"
    assert planned["diff"]["after"]["PLAN-0001"]["groupTag"] == "Pilot"
    assert graph_writes(lab) == []


def test_group_tag_user_and_display_name_are_set_where_they_differ_then_left_alone(frozen):
    lab = frozen
    seed_identity(lab, "EDIT-0001", groupTag="Old", userPrincipalName=USER.upper())
    seed_identity(lab, "EDIT-0002", groupTag="Same")
    (first, second) = sorted(identities(lab).values(), key=lambda identity: identity["serialNumber"])
    wanted = [dict(serial_number="EDIT-0001", group_tag="New", assigned_user=USER, assigned_user_display_name="Adele Vance"),
              dict(serial_number="EDIT-0002", group_tag="Same")]
    lab.client.clear_log()

    result = run(lab, devices=wanted)

    assert result["changed"] and result["counts"]["updated"] == 1 and result["counts"]["unchanged"] == 1, result
    (update,) = [entry for entry in writes(lab.client.requests())]
    assert update["path"] == "%s/%s/updateDeviceProperties" % (IDENTITIES, first["id"])
    # The UPN matches case-insensitively, so only the tag and the display name are sent.
    assert update["body"] == {"groupTag": "New", "addressableUserName": "Adele Vance"}
    assert identities(lab)["EDIT-0001"]["addressableUserName"] == "Adele Vance"

    lab.client.clear_log()
    again = run(lab, devices=wanted)
    assert not again["changed"] and graph_writes(lab) == []
    assert second["groupTag"] == "Same"


def test_a_refused_page_size_lists_the_identities_again_without_it(frozen):
    lab = frozen
    seed_identity(lab, "PAGE-0001", groupTag="Same")
    lab.client.clear_log()
    lab.client.fault("status", method="GET", path="^%s$" % IDENTITIES, count=1, status=400)

    result = run(lab, devices=[dict(serial_number="PAGE-0001", group_tag="Same")])

    assert not result["changed"] and not result.get("failed") and result["counts"]["unchanged"] == 1, result
    listings = [entry for entry in lab.client.requests() if entry["method"] == "GET" and entry["path"] == IDENTITIES]
    assert [(entry["status"], "%24top" in entry["query"]) for entry in listings] == [(400, True), (200, False)], listings
    assert graph_writes(lab) == []


def test_a_new_device_gets_its_user_display_name_after_the_sync(frozen):
    lab = frozen
    result = run(lab, devices=[device("NAMED-0001", assigned_user=USER, assigned_user_display_name="Adele Vance")])

    assert not result["failed"] and result["counts"]["imported"] == 1, result
    registered = identities(lab)["NAMED-0001"]
    assert registered["userPrincipalName"] == USER and registered["addressableUserName"] == "Adele Vance"
    assert graph_writes(lab)[-1] == ("POST", "%s/%s/updateDeviceProperties" % (IDENTITIES, registered["id"]))


def test_unassign_and_an_empty_tag_clear_them(frozen):
    lab = frozen
    seed_identity(lab, "USER-0001", groupTag="Tag", userPrincipalName=USER, addressableUserName="Adele")
    lab.client.clear_log()

    result = run(lab, devices=[dict(serial_number="USER-0001", assigned_user="", group_tag="")])

    assert result["changed"] and result["counts"]["updated"] == 1, result
    identity = identities(lab)["USER-0001"]
    assert [path.rsplit("/", 1)[1] for _method, path in graph_writes(lab)] == ["unassignUserFromDevice", "updateDeviceProperties"]
    assert identity["userPrincipalName"] == "" and identity["addressableUserName"] == "" and identity["groupTag"] == ""
    lab.client.clear_log()
    assert not run(lab, devices=[dict(serial_number="USER-0001", assigned_user="", group_tag="")])["changed"]
    assert graph_writes(lab) == []


def test_absent_deletes_what_is_named_skips_enrolled_devices_and_touches_nothing_else(frozen):
    lab = frozen
    seed_identity(lab, "GO-0001")
    seed_identity(lab, "ENROLLED-1", enrollmentState="enrolled")
    seed_identity(lab, "BYSTANDER-1")
    lab.client.clear_log()

    result = run(lab, state="absent", devices=[dict(serial_number="GO-0001"), dict(serial_number="ENROLLED-1"), dict(serial_number="NEVER-1")])

    assert result["changed"] and not result["failed"], result
    assert result["counts"] == dict(imported=0, updated=0, unchanged=1, deleted=1, skipped=1, failed=0)
    assert [method for method, _path in graph_writes(lab)] == ["DELETE"]
    assert sorted(identities(lab)) == ["BYSTANDER-1", "ENROLLED-1"]
    (skipped,) = result["skipped_devices"]
    assert skipped["serial_number"] == "ENROLLED-1" and skipped["source"] == "devices[1]"
    assert "enrolled in Intune" in skipped["reason"] and "managed device" in skipped["fix"]

    lab.client.clear_log()
    again = run(lab, state="absent", devices=[dict(serial_number="GO-0001")])
    assert not again["changed"] and graph_writes(lab) == []


def test_bad_rows_fail_by_file_and_line_before_any_request(frozen, tmp_path):
    lab = frozen
    good = "%s\nCSV-0001,,%s,Pilot,\n" % (HEADER, hardware_hash("CSV-0001"))
    bad = "%s\nCSV-0002,,not base64!,,\n\"CSV-0003\",,%s,,\nCSV-0004,,%s\nCSV-0001,,%s,,\n" % (
        HEADER, hardware_hash("x"), hardware_hash("y"), hardware_hash("z"))
    (tmp_path / "good.csv").write_text(good)
    (tmp_path / "bad.csv").write_text(bad)
    report = tmp_path / "report.jsonl"

    result = run(lab, csv_files=[str(tmp_path / "good.csv"), str(tmp_path / "bad.csv")],
                 devices=[dict(serial_number="NOHASH-1")], report_file=str(report))

    assert result["failed"] and "nothing was sent" in result["msg"]
    sources = [(entry["source"].rsplit("/", 1)[-1], entry["reason"]) for entry in result["failed_devices"]]
    assert [source for source, _reason in sources] == ["bad.csv:3", "bad.csv:4", "bad.csv:2", "bad.csv:5"]
    assert "quote" in sources[0][1] and "fields" in sources[1][1] and "base64" in sources[2][1] and "good.csv:2" in sources[3][1]
    assert lab.client.requests() == []
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [line["outcome"] for line in lines if line["source"].endswith("bad.csv:2")] == ["failed"]

    # Valid rows, but a device the tenant does not know has no hash: still nothing is written.
    (tmp_path / "bad.csv").write_text(HEADER + "\n")
    nohash = run(lab, csv_files=[str(tmp_path / "good.csv")], devices=[dict(serial_number="NOHASH-1")])
    assert nohash["failed"] and nohash["failed_devices"][0]["source"] == "devices[0]"
    assert "no hardware hash" in nohash["failed_devices"][0]["reason"] and graph_writes(lab) == []


def test_a_lab_restart_mid_import_loses_nothing_and_the_next_run_finishes(tmp_path):
    from lab.graph.testing import running_lab  # pylint: disable=import-outside-toplevel

    state, data_dir = tmp_path / "state.json", tmp_path / "data"
    devices = [device("RESTART-%04d" % n) for n in range(3)]
    with running_lab(state=state, data_dir=data_dir) as first_lab:
        stopped = run(first_lab, devices=devices, import_timeout=5)
        assert stopped["failed"] and stopped["counts"]["failed"] == 3
    with running_lab(state=state, data_dir=data_dir) as second_lab:
        assert len(staging(second_lab)) == 3  # the rows survived the restart
        finished = run(second_lab, devices=devices)
        assert not finished["failed"] and finished["counts"]["imported"] == 3, finished
        assert graph_writes(second_lab).count(("POST", STAGING + "/import")) == 0
        assert sorted(identities(second_lab)) == ["RESTART-0000", "RESTART-0001", "RESTART-0002"]
        assert len(staging(second_lab)) == 3 and not [method for method, _path in graph_writes(second_lab) if method == "DELETE"]


def test_an_import_graph_refuses_stops_the_run_and_counts_only_what_was_done(frozen, tmp_path):
    lab = frozen
    devices = [device("STOP-%04d" % n) for n in range(4)]
    # The first import goes through; the second is refused as a whole.
    lab.client.fault("latency", method="POST", path="/import$", latency_ms=1, count=1)
    lab.client.fault("status", method="POST", path="/import$", status=400, count=1)
    report = tmp_path / "report.csv"

    result = run(lab, devices=devices, batch_size=2, report_file=str(report))

    assert result["failed"] and result["changed"] and "HTTP 400" in result["msg"], result
    assert result["counts"]["imported"] == 2 and result["counts"]["failed"] == 2
    assert [entry["serial_number"] for entry in result["failed_devices"]] == ["STOP-0002", "STOP-0003"]
    assert "the run stopped before it" in result["failed_devices"][0]["reason"]
    assert sorted(identities(lab)) == []  # no sync after a failure: the next run syncs
    lines = report.read_text().splitlines()
    assert lines[0] == "serial_number,source,outcome,reason,fix" and lines[1].startswith("STOP-0000,devices[0],imported")

    lab.client.clear_log()
    again = run(lab, devices=devices, batch_size=2)
    assert not again["failed"] and again["counts"] == dict(imported=2, updated=0, unchanged=2, deleted=0, skipped=0, failed=0), again
    assert sorted(identities(lab)) == ["STOP-0000", "STOP-0001", "STOP-0002", "STOP-0003"]


def test_a_hash_registered_under_another_serial_fails_after_the_sync_instead_of_passing_as_present(frozen):
    lab = frozen
    run(lab, devices=[device("REAL-0001")])
    lab.client.advance_clock(600)  # past the sync throttle

    result = run(lab, devices=[dict(serial_number="TYPO-0001", hardware_hash=hardware_hash("REAL-0001"))])

    assert result["failed"] and result["sync"]["status"] == "completed", result
    (failed,) = result["failed_devices"]
    assert failed["serial_number"] == "TYPO-0001" and "registered under another serial number" in failed["reason"]
    assert sorted(identities(lab)) == ["REAL-0001"]


# -- issue 19: the CSV Microsoft's procedure writes, the step-9 header, the sync as a tenant answers it ------------

STEP9_HEADER = "Device Serial Number,Windows Product ID,Hardware Hash,Assigned User"
ENCODINGS = {
    # Get-WindowsAutopilotInfo -OutputFile in Windows PowerShell 5.1: Out-File, UTF-16LE with a BOM, CRLF.
    "out-file-utf-16-le": lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    "utf-8-bom": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    "ansi": lambda text: text.encode("cp1252"),
}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_a_csv_in_each_encoding_read_with_the_step_9_header_imports_and_assigns(frozen, tmp_path, encoding):
    lab = frozen
    text = "%s,Group Tag\r\nENC-0001,,%s,%s,Z\u00fcrich\r\n" % (STEP9_HEADER, hardware_hash("ENC-0001"), USER)
    (tmp_path / "hwid.csv").write_bytes(ENCODINGS[encoding](text))

    result = run(lab, csv_files=[str(tmp_path / "hwid.csv")])

    assert not result["failed"] and result["counts"]["imported"] == 1, result
    registered = identities(lab)["ENC-0001"]
    assert (registered["userPrincipalName"], registered["groupTag"]) == (USER, "Z\u00fcrich")


def test_a_file_in_no_encoding_read_fails_naming_its_encoding_before_any_request(frozen, tmp_path):
    lab = frozen
    # UTF-16 without its byte order mark: once refused as a garbled header.
    (tmp_path / "nobom.csv").write_bytes(("%s\r\nNOBOM-1,,%s,\r\n" % (STEP9_HEADER, hardware_hash("x"))).encode("utf-16-le"))
    (tmp_path / "columns.csv").write_text("%s,Order ID\nCOL-1,,%s,,PO-1\n" % (STEP9_HEADER, hardware_hash("y")))

    result = run(lab, csv_files=[str(tmp_path / "nobom.csv"), str(tmp_path / "columns.csv")])

    assert result["failed"] and "nothing was sent" in result["msg"]
    (encoding, header) = result["failed_devices"]
    assert encoding["source"].endswith("nobom.csv:1") and "UTF-16 without a byte order mark" in encoding["reason"]
    assert "header" not in encoding["reason"] and "Out-File" in encoding["fix"]
    assert header["source"].endswith("columns.csv:1") and "unknown column 'Order ID'" in header["reason"]
    assert lab.client.requests() == []


def test_an_unpadded_hash_is_padded_sent_and_said(frozen):
    lab = frozen
    unpadded = base64.b64encode(b"PAD-0001 hash " * 22).decode().rstrip("=")  # 308 bytes: 2 padding characters
    assert len(unpadded) % 4

    result = run(lab, devices=[dict(serial_number="PAD-0001", hardware_hash=unpadded)])

    assert not result["failed"] and result["counts"]["imported"] == 1, result
    assert result["padded_hashes"] == {"total": 1, "sources": ["devices[0]"]}
    (sent,) = [entry for entry in lab.client.requests() if entry["path"] == STAGING + "/import"]
    assert sent["body"]["importedWindowsAutopilotDeviceIdentities"][0]["hardwareIdentifier"] == unpadded + "=" * (-len(unpadded) % 4)


def test_with_auto_sync_the_running_sync_brings_the_devices_and_none_of_ours_is_sent_again(frozen):
    lab = frozen
    lab.client.config(auto_sync=True)

    result = run(lab, devices=[device("AUTO-0001", assigned_user=USER, assigned_user_display_name="Adele Vance")])

    assert not result["failed"] and not result.get("warnings"), result
    assert (result["sync"]["request"], result["sync"]["status"]) == ("refused_in_progress", "completed")
    assert result["sync"]["identities"] == {"found": 1, "missing": 0}
    assert graph_writes(lab).count(("POST", SYNC)) == 1
    assert identities(lab)["AUTO-0001"]["addressableUserName"] == "Adele Vance"


def test_a_throttled_sync_still_finds_devices_intune_synced_by_itself_and_names_them(frozen):
    lab = frozen
    lab.client.config(auto_sync=True)
    lab.client.fault("status", method="POST", path="/sync$", status=429, retry_after=600, count=1)

    result = run(lab, devices=[device("AUTO-0002", assigned_user=USER, assigned_user_display_name="Adele Vance")])

    assert not result["failed"] and not result.get("warnings"), result
    assert (result["sync"]["request"], result["sync"]["status"]) == ("refused_throttled", "throttled")
    assert result["sync"]["identities"] == {"found": 1, "missing": 0}
    assert identities(lab)["AUTO-0002"]["addressableUserName"] == "Adele Vance"


def test_a_throttled_sync_without_a_sync_of_intunes_own_says_what_is_not_listed(frozen):
    lab = frozen
    assert run(lab, devices=[device("FIRST-0002")])["sync"]["request"] == "accepted"
    lab.client.clear_log()

    result = run(lab, devices=[device("SECOND-0002", assigned_user=USER, assigned_user_display_name="Adele Vance")])

    assert not result["failed"] and result["sync"]["request"] == "refused_throttled", result
    assert result["sync"]["identities"] == {"found": 0, "missing": 1}
    (warning,) = result["warnings"]
    assert "were not listed after waiting 300 s" in warning and "display names" in warning
    assert graph_writes(lab).count(("POST", SYNC)) == 1


def test_already_assigned_for_a_record_intune_holds_fails_naming_both_causes(frozen):
    lab = frozen
    lab.client.seed({"intuneDeviceRecords": [{"hardwareIdentifier": hardware_hash("HELD-0001")}]})

    result = run(lab, devices=[device("HELD-0001")])

    assert result["failed"] and result["sync"]["request"] == "accepted", result
    assert result["sync"]["identities"] == {"found": 0, "missing": 0}  # failed: not still to come
    (failed,) = result["failed_devices"]
    assert "ZtdDeviceAlreadyAssigned" in failed["reason"] and "registered under another serial number" in failed["reason"]
    assert "record of the device" in failed["reason"] and "delete the device's record in Intune" in failed["fix"]


def leftover_rows(lab, count, status="unknown"):
    """Staging rows earlier runs or other tools left, of devices this run does not name (seeded: nothing imports them)."""
    lab.client.seed({"importedWindowsAutopilotDeviceIdentities": [
        {"serialNumber": "LEFT-%05d" % number, "hardwareIdentifier": hardware_hash("LEFT-%05d" % number), "importId": "other-tool",
         "state": {"deviceImportStatus": status, "deviceRegistrationId": "", "deviceErrorCode": 0, "deviceErrorName": ""}}
        for number in range(count)]})
    return {row["id"] for row in staging(lab)}


@pytest.mark.parametrize("cleanup, deleted", [(None, set()), ("none", set()), ("failed", {"BADHASH-1"}), ("all", {"GOOD-0001", "GOOD-0002", "BADHASH-1"})])
def test_cleanup_deletes_only_the_rows_it_names_of_this_run(frozen, cleanup, deleted):
    """Issue 23 item 5: cleanup none (the default, as Microsoft's Get-WindowsAutopilotInfo), failed rows, or all of this
    run's rows; the DELETEs the lab logs are exactly those, and rows left by others are never deleted."""
    lab = frozen
    others = leftover_rows(lab, 3)
    short_hash = base64.b64encode(b"too short").decode()
    devices = [device("GOOD-0001"), device("GOOD-0002"), dict(serial_number="BADHASH-1", hardware_hash=short_hash)]

    result = run(lab, devices=devices, **({"cleanup": cleanup} if cleanup else {}))

    assert result["counts"]["imported"] == 2 and result["counts"]["failed"] == 1
    rows = {row["id"]: row["serialNumber"] for row in staging(lab)}
    deletes = [path.rsplit("/", 1)[1] for method, path in graph_writes(lab) if method == "DELETE"]
    assert len(deletes) == len(deleted) and not set(deletes) & set(rows)
    assert sorted(serial for serial in rows.values() if not serial.startswith("LEFT-")) == sorted(
        {"GOOD-0001", "GOOD-0002", "BADHASH-1"} - deleted)
    assert others <= set(rows)


def test_rows_others_left_are_never_polled_the_runs_own_are_followed_by_id(frozen):
    """Issue 23 item 5: 2,500 unfinished rows of another tool in the collection. The run lists the collection once
    (to find earlier imports of its devices), then follows its own rows by id in batches, never waiting on the others."""
    lab = frozen
    others = leftover_rows(lab, 2500)
    lab.client.clear_log()

    result = run(lab, devices=[device("OWN-%04d" % number) for number in range(25)], cleanup="all")

    assert not result["failed"] and result["counts"]["imported"] == 25, result
    requests = lab.client.requests()
    listings = [entry for entry in requests if entry["method"] == "GET" and entry["path"] == STAGING]
    assert len(listings) == 3  # one listing of 2,500 rows at the start, pages of 999; none while Intune imports
    own = {path.rsplit("/", 1)[1] for method, path in graph_writes(lab) if method == "DELETE"}
    polled = [entry["path"].rsplit("/", 1)[1] for entry in requests if entry["method"] == "GET" and entry["path"].startswith(STAGING + "/")]
    assert len(own) == 25 and polled and set(polled) == own
    assert {row["id"] for row in staging(lab)} == others


def test_a_kept_row_of_a_registration_deleted_since_does_not_stop_the_device_coming_back(frozen):
    """With rows kept (cleanup none), a finished row says nothing of now: a device whose registration was deleted after
    its import (state absent here, or an admin in the portal) is imported again, not taken as present."""
    lab = frozen
    assert run(lab, devices=[device("BACK-0001")])["counts"]["imported"] == 1
    assert run(lab, state="absent", devices=[dict(serial_number="BACK-0001")])["counts"]["deleted"] == 1
    assert "BACK-0001" not in identities(lab) and len(staging(lab)) == 1
    lab.client.advance_clock(600)  # Intune allows one sync per 10 minutes

    back = run(lab, devices=[device("BACK-0001")])

    assert not back["failed"] and back["counts"]["imported"] == 1, back
    assert "BACK-0001" in identities(lab)
