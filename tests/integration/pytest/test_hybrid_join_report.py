# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hybrid_join role's readiness report (roles/hybrid_join/tasks/report.yml) against the Graph lab."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness import graph_auth, run_tasks
from test_hybrid_join_role import ROLE_VARS, delegated_sign_in, fake_hash, role_task

from lab.graph.resources.timeline import DELAYS

SERIALS = ("REPORTPC01", "REPORTPC02")
HOSTILE = '<script>alert("report")</script> & <b>bold</b>'
STEP_TITLES = ("Windows automatic Intune enrollment", "Intune Connector for Active Directory",
               "Computer-object rights on the domain join OU", "Register devices", "Autopilot device group",
               "Enrollment Status Page", "Hybrid join Autopilot deployment profile", "Domain join profile",
               "Assign users to devices", "Verify the devices are ready to deploy")


def imported(task, **import_role):
    """The role task imported (static), as a playbook's roles: section runs it, so --tags selects its tasks."""
    task = dict(task)
    del task["ansible.builtin.include_role"]
    task["ansible.builtin.import_role"] = dict(name="intune.autopilot.hybrid_join", **import_role)
    return task


def run_role_and_report(lab, report_dir, check=False, extra_args=(), **variables):
    """The role with a report directory: its last task (main.yml, tagged always) writes the report."""
    role = imported(role_task(lab, hybrid_join_report_dir=str(report_dir), **variables))
    results = run_tasks([role], check=check, extra_args=extra_args)
    assert not [result for result in results if result["failed"]], [result for result in results if result["failed"]]
    return results


class TextAndTags(HTMLParser):
    """The visible text and the tags of an HTML document; fails on what html.parser cannot take."""

    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(html):
    parser = TextAndTags()
    parser.feed(html)
    parser.close()
    return parser.tags, " ".join(" ".join(parser.text).split())


def devices():
    return [{"serial_number": serial, "hardware_hash": fake_hash(serial)} for serial in SERIALS]


@pytest.fixture(name="report_dir")
def fixture_report_dir(tmp_path):
    return tmp_path / "reports"


def test_report_holds_every_step_the_connector_checks_and_each_device_verdict(lab, report_dir):
    lab.client.config(delay_scale=0)  # the import finishes at once, so the devices are ready in this run
    results = run_role_and_report(lab, report_dir, hybrid_join_devices=devices(),
                                  hybrid_join_delegated_auth=delegated_sign_in(lab))

    html_path, markdown_path = report_dir / "hybrid_join_localhost.html", report_dir / "hybrid_join_localhost.md"
    (where,) = [result["msg"] for result in results if result["_task"].endswith("Report - where it is")]
    assert str(html_path) in where and str(markdown_path) in where
    tags, text = parse(html_path.read_text())
    assert "script" not in tags and "link" not in tags and "img" not in tags  # self-contained, nothing to fetch
    for number, title in enumerate(STEP_TITLES, start=1):
        assert title in text, (number, title)
    assert "connector_recent_contact passed" in text
    assert "hybrid_join_ldap_server is not set" in text  # step 3 skipped, and why
    assert "2 of 2 devices ready to deploy" in text
    markdown = markdown_path.read_text()
    for serial in SERIALS:
        assert "%s: ready to deploy" % serial in text
        assert "| %s | ready to deploy |" % serial in markdown
        assert "### %s: ready to deploy" % serial in markdown
    assert "| 1 | Windows automatic Intune enrollment | changed | MDM user scope before: none; MDM user scope after: all" in markdown
    assert "| 4 | Register devices | changed | Imported: 2;" in markdown
    # Step 4's sync outcome (report_sync.j2): the request's fate and whether the devices are listed.
    assert "## Step 4: the Autopilot sync\n\nIntune accepted the sync; the sync completed; 2 of 2 devices" in markdown
    assert "Intune accepted the sync; the sync completed; 2 of 2 devices the run registered are listed" in text
    for secret in (graph_auth(lab)["client_secret"], delegated_sign_in(lab)["password"]):
        assert secret not in html_path.read_text() and secret not in markdown


def test_a_device_not_ready_shows_its_broken_link_with_the_reason_and_the_step_that_fixes_it(lab, report_dir):
    lab.client.config(delay_scale=0)
    # Steps 6 to 8 left out: the devices are registered and in the group, but no profile targets them.
    run_role_and_report(lab, report_dir, extra_args=["--tags", "step4,step5,step10"], hybrid_join_devices=devices())

    _, text = parse((report_dir / "hybrid_join_localhost.html").read_text())
    markdown = (report_dir / "hybrid_join_localhost.md").read_text()
    assert "0 of 2 devices ready to deploy" in text
    for serial in SERIALS:
        assert "### %s: not ready: deployment_profile not_assigned" % serial in markdown, markdown
    unassigned = "| deployment profile | BROKEN: not assigned | No deployment profile targets the device"
    assert [line for line in markdown.splitlines() if line.startswith(unassigned) and line.endswith("| 7 |")], markdown
    assert "No deployment profile targets the device" in text


def seed_deployed_device(lab, serial):
    """Steps 5 to 8 as the role leaves them (by its default names), and a device Autopilot deployed: the lab keeps it
    in the hybrid join window (on its Autopilot, Entra joined object) until the user's first sign-in."""
    (group_id,) = lab.client.seed({"groups": [{
        "displayName": "Autopilot-HAADJ-Devices", "mailEnabled": False, "mailNickname": "autopilothaadj", "securityEnabled": True,
        "groupTypes": ["DynamicMembership"], "membershipRuleProcessingState": "On",
        "membershipRule": '(device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]"))'}]})["added"]["groups"]
    target = {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group_id}

    def assigned(kind, to=target):
        return [{"@odata.type": "#microsoft.graph." + kind, "id": kind, "target": to, "source": "direct"}]
    lab.client.seed({
        "windowsAutopilotDeploymentProfiles": [{
            "@odata.type": "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile",
            "displayName": "Autopilot hybrid join user driven", "outOfBoxExperienceSetting": {"deviceUsageType": "singleUser"},
            "assignments": assigned("windowsAutopilotDeploymentProfileAssignment")}],
        "deviceEnrollmentConfigurations": [{
            "@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration", "displayName": "Autopilot hybrid join - ESP",
            "assignments": assigned("enrollmentConfigurationAssignment")}],
        "deviceConfigurations": [{
            "@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration", "displayName": "Autopilot hybrid join - domain join",
            "computerNameStaticPrefix": "HAADJ-", "computerNameSuffixRandomCharCount": 9, "activeDirectoryDomainName": "lab.example",
            "organizationalUnit": ROLE_VARS["hybrid_join_domain_join_ou"], "assignments": assigned("deviceConfigurationAssignment", {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"})}],
        "windowsAutopilotDeviceIdentities": [{"serialNumber": serial}]})
    lab.client.advance_clock(DELAYS["membership"] + DELAYS["profile_assignment"])
    lab.client.enroll_device(serial, device_name="HAADJ-REPORT1")


def test_a_device_waiting_for_its_users_first_sign_in_is_neither_ready_nor_broken(lab, report_dir):
    """Step 10 only (with the preflight and the report, tagged always): the hybrid join window shows as its own state
    with what the admin does next. About 30 s on a busy 2-core machine."""
    seed_deployed_device(lab, SERIALS[0])
    results = run_role_and_report(lab, report_dir, extra_args=["--tags", "step10"],
                                  hybrid_join_devices=[{"serial_number": SERIALS[0], "hardware_hash": fake_hash(SERIALS[0])}])

    (readiness,) = [result for result in results if result["_task"].endswith("Readiness of each device")]
    assert "0 of 1 devices ready to deploy, 1 enrolled and waiting for the user's first sign-in" in readiness["msg"][0]
    assert readiness["msg"][1].startswith("%s: enrolled, hybrid join pending the user's first sign-in" % SERIALS[0])
    markdown = (report_dir / "hybrid_join_localhost.md").read_text()
    assert "Waiting for the user's first sign-in: 1" in markdown
    assert "1 enrolled but waiting for the user's first sign-in to finish the hybrid join" in markdown
    assert "| enrolled | WAITING: hybrid join pending | Enrolled and joined to the domain" in markdown
    assert "BROKEN" not in markdown and "wrong join type" not in markdown
    html = (report_dir / "hybrid_join_localhost.html").read_text()
    assert '<strong class="waiting">0 of 1 devices ready to deploy</strong>' in html
    assert '<td class="state waiting">hybrid join pending</td>' in html


def test_a_run_that_changes_nothing_rewrites_an_earlier_report_writes_a_missing_one_and_still_changes_nothing(converged_lab, report_dir):
    # The tenant as a first run leaves it (a snapshot), an earlier run's HTML report, its Markdown one deleted.
    report_dir.mkdir(parents=True)
    (report_dir / "hybrid_join_localhost.html").write_text("<p>an earlier run's report</p>")
    second = run_role_and_report(converged_lab, report_dir)
    assert not any(result.get("changed") for result in second), second
    assert "| 5 | Autopilot device group | no change |" in (report_dir / "hybrid_join_localhost.md").read_text()
    assert "earlier run" not in (report_dir / "hybrid_join_localhost.html").read_text()


def test_report_escapes_what_it_shows_and_holds_no_secret(lab, report_dir):
    run_role_and_report(lab, report_dir, hybrid_join_device_group_description=HOSTILE)

    html = (report_dir / "hybrid_join_localhost.html").read_text()
    tags, text = parse(html)
    assert "script" not in tags and "b" not in tags
    assert HOSTILE in text  # shown as text, exactly as Graph holds it
    assert "&lt;script&gt;alert(&#34;report&#34;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    secret = graph_auth(lab)["client_secret"]
    for path in report_dir.iterdir():
        assert secret not in path.read_text(), path


def test_steps_skipped_or_left_out_by_tags_say_why_and_check_mode_still_reports(lab, report_dir):
    # --check: the report is a local file, written so a dry run shows what would change.
    run_role_and_report(lab, report_dir, check=True, extra_args=["--tags", "step4,step5,step10"])

    _, text = parse((report_dir / "hybrid_join_localhost.html").read_text())
    markdown = (report_dir / "hybrid_join_localhost.md").read_text()
    assert "Check mode: nothing was changed" in text
    assert "| 5 | Autopilot device group | would change |" in markdown
    assert "| 4 | Register devices | skipped | no devices named: set hybrid_join_device_csv_files" in markdown
    assert "| 7 | Hybrid join Autopilot deployment profile | not run | not part of this run (left out by --tags). |" in markdown
    assert "No device was checked: step 10 had no devices." in text
    assert "Step 2 did not run." in text


def test_no_report_without_a_report_dir(lab):
    results = run_role_and_report(lab, "", extra_args=["--tags", "step5"])
    report_tasks = [result for result in results if " Report - " in result["_task"]]
    assert report_tasks and all(result["_status"] == "skipped" for result in report_tasks), report_tasks


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is not installed (CI does not install it); "
                    "the screenshot is a by-eye check of the report's layout")
def test_screenshot_of_the_report_in_a_headless_browser(lab, report_dir, tmp_path):
    lab.client.config(delay_scale=0)
    run_role_and_report(lab, report_dir, hybrid_join_devices=devices())
    screenshot = tmp_path / "report.png"
    # The flags keep Chromium from reaching out to Google's hosts, which a closed network refuses.
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--user-data-dir=%s" % (tmp_path / "chromium"), "--hide-scrollbars", "--window-size=1280,2200",
                    "--screenshot=%s" % screenshot, (report_dir / "hybrid_join_localhost.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one
    print("Screenshot of the report, to look at: %s" % screenshot)
