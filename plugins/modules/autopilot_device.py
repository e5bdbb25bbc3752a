#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: autopilot_device
short_description: Register Windows Autopilot devices by hardware hash and assign their users (tutorial steps 4 and 9)
version_added: 0.1.0
description:
  - Manages Windows Autopilot device identities as a set, named by the portal's CSV files (O(csv_files)), by a
    list (O(devices)), or both. Devices are matched by serial number, case-insensitively, as Intune matches them.
  - Every row is checked before anything is sent (CSV header and format, serial number, base64 hash, UPN,
    duplicates); a bad row fails the task naming its file and line (or C(devices[index])), and nothing is written.
  - With O(state=present), devices already registered are left alone, or their group tag, assigned user and the
    user's display name are updated where they differ (UPNs compared case-insensitively) with one
    C(updateDeviceProperties) action per device (C(unassignUserFromDevice) to unassign). A registered
    device needs no hash. The others are imported in batches of O(batch_size); each batch is followed until
    Intune has finished it (by its staging rows, not device by device), each outcome is mapped to a
    reason and a fix, and the staging rows are kept or deleted as O(cleanup) says. Then one Autopilot sync makes the new devices appear
    (see O(sync)); the new devices are looked for whatever became of the sync, and those found get what their
    import could not carry (the user's display name).
  - A device whose hardware hash Intune reports as already registered in this tenant (C(ZtdDeviceAlreadyAssigned),
    806) counts as present, unless after a sync of the module's no device has its serial number, which fails naming
    both causes Intune gives 806 for (the hash registered under another serial number, or a record of the device
    Intune holds without an Autopilot registration). A device registered to another tenant, a hash given twice in one
    import (C(ZtdDeviceDuplicated)) or a hash Intune refuses fails, with what to do.
  - A hardware hash given without its base64 padding (as a device reports it; Graph refuses the whole import for
    one) is padded before it is sent, and RV(padded_hashes) says which.
  - An import whose answer was lost is looked for among the staging rows by its import ID before anything is
    sent again, and a run finds the staging rows of imports an earlier run left unfinished (by serial number) and
    follows them instead of importing again, so a device is never imported twice. A finished row says nothing of
    now, as its registration may have been deleted since, so a device with one but not registered is imported
    again, and Intune answers C(ZtdDeviceAlreadyAssigned) if it is still registered.
  - The task fails when any named device failed, B(after) the other devices were done; C(failed_devices) says
    which and why.
  - With O(state=absent) the named devices' Autopilot registrations are deleted, except those enrolled in
    Intune, which are skipped with the reason. Devices not named are never touched.
  - A long run is not silent. While the task runs, the job log shows a line per batch sent and per batch
    finished, and for the sync (see O(progress_file)); RV(progress) lists them afterwards and O(report_file) holds
    every device's outcome.
author:
  - intune.autopilot developers (!UNKNOWN)
extends_documentation_fragment:
  - intune.autopilot.graph
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the tenant and reports what would be imported, updated or deleted; sends no write.
  diff_mode:
    support: full
    details: Per device that would change, its group tag, user and display name before and after.
  platform:
    platforms: all
options:
  csv_files:
    description:
      - Paths to CSV files in the format of the Intune portal's import, on the controller. Relative paths are
        looked up as M(ansible.builtin.copy) looks up C(src) (the role's or playbook's C(files/) directory, then
        the playbook directory) and, for a playbook of this collection started by name, then in the working directory.
      - "The first line names the columns, case-sensitive, in any order: C(Device Serial Number), C(Windows Product ID)
        and C(Hardware Hash) are required (an empty product ID is fine), C(Group Tag) and C(Assigned User) optional.
        An unknown or repeated column is refused, naming it. The portal's header
        C(Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User) is one such line; so is the
        header of tutorial step 9, which adds Assigned User right after Hardware Hash:
        C(Device Serial Number,Windows Product ID,Hardware Hash,Assigned User)."
      - Each row has exactly as many values as the header, without quotes.
      - "Encodings read, decided from the byte order mark before the file is split into lines: UTF-16 LE or BE with a
        byte order mark (what C(Get-WindowsAutopilotInfo -OutputFile) writes in Windows PowerShell 5.1, through
        C(Out-File)), UTF-8 with or without one, and ANSI (Windows-1252). A file in none of them (UTF-16 without its
        byte order mark, UTF-32, bytes neither UTF-8 nor ANSI) is refused naming the encoding problem and the line."
      - An empty Group Tag or Assigned User cell leaves that property of a registered device as it is. To clear a
        tag or unassign a user use O(devices).
      - The portal refuses files of more than 500 rows; this module does not, since that is a limit of the
        portal's upload and Graph's import documents none. Every input is imported in batches of O(batch_size).
    type: list
    elements: path
  devices:
    description:
      - Devices given as a list, with the CSV's fields.
    type: list
    elements: dict
    suboptions:
      serial_number:
        description: The device's serial number.
        type: str
        required: true
      hardware_hash:
        description:
          - The 4K hardware hash, base64, as C(Get-WindowsAutopilotInfo) reports it. Needed only to import a
            device that is not registered yet.
        type: str
      product_key:
        description: The Windows product ID, sent with the import only.
        type: str
      group_tag:
        description:
          - The group tag (C(OrderID) in dynamic group rules). Omitted or null leaves it as it is; V("") clears it.
        type: str
      assigned_user:
        description:
          - The UPN of the user to assign (tutorial step 9). Omitted or null leaves the assignment as it is;
            V("") unassigns the user. Intune validates only the UPN's domain, so a wrong user can block the device.
        type: str
      assigned_user_display_name:
        description:
          - The user's friendly name shown during setup (C(addressableUserName)); needs O(devices[].assigned_user).
          - Compared only when given. Assigning a different user without a display name clears the previous user's.
        type: str
  state:
    description:
      - V(present) registers and updates the named devices; V(absent) deletes their registrations (not enrolled ones).
    type: str
    choices: [present, absent]
    default: present
  batch_size:
    description:
      - Devices per import request, 1 to 500 (the portal's limit per file, and what Microsoft recommends per batch).
        Each batch is finished before the next is sent.
    type: int
    default: 500
  import_timeout:
    description:
      - Seconds each wait may last, 1 to 7200, B(per batch) while Intune imports it and once more for the sync.
      - Devices still importing when it runs out fail with that reason; their staging rows are kept and the
        next run follows them instead of importing them again. Later batches are then not sent.
    type: int
    default: 1800
  cleanup:
    description:
      - Which import staging rows (C(importedWindowsAutopilotDeviceIdentities)) to delete once their import has ended,
        V(none), V(failed) (rows whose import failed, including those Intune refused as already registered), or V(all).
      - Only rows of the devices this run names are deleted - those it imported, those of earlier imports it followed,
        and those earlier runs left for these devices - never other rows.
      - "Defaults to V(none): no Microsoft source requires deleting the rows; Microsoft's own C(Get-WindowsAutopilotInfo -Online)
        adds rows and never deletes them (only the community WindowsAutopilotIntune module does, a DELETE per row), and
        each DELETE is a write against Intune's budget of 100 writes per 20 seconds per app: at 10,000 devices the deletes,
        not the imports, take most of the run. A failed row kept is what M(intune.autopilot.autopilot_device_info) reads
        to say why a device is not imported. Rows left behind never slow a later run: it follows its own rows by id
        when the listing grows long."
    type: str
    choices: [none, failed, all]
    default: none
  sync:
    description:
      - Start one Autopilot sync after devices were imported, and wait (within O(import_timeout)) for it to end, so
        the devices appear in Intune and a re-run finds them. Then the imported devices are looked for, and those
        found get what their import could not carry (the user's display name).
      - Intune runs one sync at a time (409) and at most one per 10 minutes (429), and may sync by itself after an
        import (unsettled, since C(Get-WindowsAutopilotInfo) waits for the devices without a sync). While a sync runs the
        module waits for it; if it brought the devices, no sync of the module's is sent, else the module starts its
        own. A 429 is waited out only while its C(Retry-After) fits in O(max_retry_wait); beyond that the module waits
        as long for the devices to appear by themselves, and what it found is in RV(sync). Devices still not
        listed are named in a warning (they appear after the next sync, so run the task again then). Neither fails the task.
      - V(false) sends no sync; the imported devices are looked for once, and appear only after a sync.
    type: bool
    default: true
  report_file:
    description:
      - A path on the controller where the outcome of every named device is written, one line each, in input order
        (C(serial_number), C(source), C(outcome), C(reason), C(fix)); CSV when the name ends in C(.csv), else JSON
        lines. In the CSV, a value starting with C(=), C(+), C(-), C(@), a tab or a carriage return gets a leading C(')
        so that spreadsheet programs show it as text rather than run it as a formula.
        Written in check mode too, as the plan. Relative paths are relative to the playbook directory
        (the working directory for a playbook of this collection started by name).
    type: path
  progress_file:
    description:
      - A path on the controller to which a line is appended at each step while the task runs (a batch sent, a
        batch's imports finished and how long they took, the sync); RV(progress) holds the same lines.
      - The action plugin sets it to a private temporary file and shows each line in the job log as it comes, so a
        long run is not silent. Set it yourself only to follow a run from elsewhere (C(tail -f)).
    type: path
notes:
  - Graph permission C(DeviceManagementServiceConfig.ReadWrite.All) (C(DeviceManagementServiceConfig.Read.All)
    for check mode).
  - "Cost per run, by design: one paged listing of the identities and one of the import staging rows (pages of
    999, only the compared fields); per batch one import request and a few polls of its rows while Intune works
    (a listing of the staging rows, or this run's rows by id in batches of 20 when rows left by earlier runs or other
    tools make the listing the longer read); one DELETE per staging row O(cleanup) removes; one sync; one request per
    device that differs. A run with nothing to do only reads."
  - Graph does not return a registered device's hash, so a registered device is recognised by its serial number
    alone and its hash is never sent again.
seealso:
  - name: Manually register devices with Windows Autopilot
    description: The portal's CSV format and import errors.
    link: https://learn.microsoft.com/autopilot/add-devices
"""

EXAMPLES = r"""
# AutopilotHWID.csv as Get-WindowsAutopilotInfo -OutputFile writes it (UTF-16 with a byte order mark), with the
# Assigned User column tutorial step 9 adds after Hardware Hash:
#   Device Serial Number,Windows Product ID,Hardware Hash,Assigned User
#   PF3ABCDE,,T0FBQUFBQUFBQUFB...,jane.doe@contoso.com
- name: Register the devices of Get-WindowsAutopilotInfo's file, each with its user (tutorial steps 4 and 9)
  intune.autopilot.autopilot_device:
    csv_files:
      - AutopilotHWID.csv
    tenant_id: 00000000-0000-0000-0000-000000000000
    client_id: 00000000-0000-0000-0000-000000000000
    client_certificate_path: /etc/ansible/intune-app.pem
  register: registered_with_users

- name: Register the devices from the OEM's CSV files (tutorial step 4)
  intune.autopilot.autopilot_device:
    csv_files:
      - autopilot-devices-batch1.csv
      - autopilot-devices-batch2.csv
    report_file: autopilot-import-report.csv
    # Remove the staging rows of imports that failed (the result and the report name the failures); keep the others.
    cleanup: failed
    tenant_id: 00000000-0000-0000-0000-000000000000
    client_id: 00000000-0000-0000-0000-000000000000
    client_certificate_path: /etc/ansible/intune-app.pem
  register: registered

- name: Tag a registered device and assign its user (tutorial step 9)
  intune.autopilot.autopilot_device:
    devices:
      - serial_number: PF3ABCDE
        group_tag: HAADJ-Pilot
        assigned_user: jane.doe@contoso.com
        assigned_user_display_name: Jane Doe
    tenant_id: 00000000-0000-0000-0000-000000000000
    client_id: 00000000-0000-0000-0000-000000000000
    client_certificate_path: /etc/ansible/intune-app.pem

- name: Unassign the user of a device
  intune.autopilot.autopilot_device:
    devices:
      - serial_number: PF3ABCDE
        assigned_user: ""
    tenant_id: 00000000-0000-0000-0000-000000000000
    client_id: 00000000-0000-0000-0000-000000000000
    client_certificate_path: /etc/ansible/intune-app.pem

- name: Deregister retired devices (enrolled ones are skipped and named)
  intune.autopilot.autopilot_device:
    devices:
      - serial_number: PF3OLD01
      - serial_number: PF3OLD02
    state: absent
    tenant_id: 00000000-0000-0000-0000-000000000000
    client_id: 00000000-0000-0000-0000-000000000000
    client_certificate_path: /etc/ansible/intune-app.pem
"""

RETURN = r"""
counts:
  description:
    - Named devices per outcome. C(imported) (in check mode, would be), C(updated) (group tag or user changed),
      C(unchanged) (as asked already, or already registered here), C(deleted), C(skipped) (enrolled, with
      O(state=absent)), C(failed).
  returned: always
  type: dict
  sample: {imported: 480, updated: 12, unchanged: 7, deleted: 0, skipped: 0, failed: 1}
failed_devices:
  description:
    - The failed devices (bad rows included), at most 100; O(report_file) has them all.
  returned: always
  type: list
  elements: dict
  sample:
    - serial_number: PF3XYZ12
      source: autopilot-devices-batch1.csv:14
      reason: The device is registered to another organisation's tenant.
      fix: Have that organisation (or the reseller or OEM that registered it) deregister the device, then run again.
skipped_devices:
  description:
    - With O(state=absent), the devices not deleted because they are enrolled in Intune, with the reason and what
      to do; at most 100 (O(report_file) has them all).
  returned: always
  type: list
  elements: dict
  sample:
    - serial_number: PF3OLD02
      source: devices[1]
      reason: The device is enrolled in Intune; its Autopilot registration cannot be deleted while it is.
      fix: Delete (or retire) its managed device in Intune first, then run again.
failed_devices_total:
  description: How many devices failed, even when RV(failed_devices) shows only the first 100.
  returned: always
  type: int
  sample: 1
sync:
  description:
    - The Autopilot sync.
    - C(request) is what became of the module's sync request, V(accepted), V(refused_in_progress) (409, a sync ran,
      and brought the devices or a second request was refused too), V(refused_throttled) (429 within 10 minutes
      of the last sync), V(not_needed) (no device was registered), V(disabled) (O(sync=false)) or V(check_mode).
    - C(status) is how the sync ended, V(completed), V(running) (not ended within O(import_timeout)), V(failed),
      V(throttled) (refused within 10 minutes of the last one), or as C(request) for the last three.
    - C(identities) counts the devices registered by this run that are listed as Autopilot devices (C(found)) and
      those not listed yet (C(missing)); C(msg) says what to do when some are missing. C(waits) lists the waits.
  returned: always
  type: dict
  sample:
    request: accepted
    status: completed
    identities: {found: 480, missing: 0}
    waits: [{waited_for: the Autopilot sync, seconds: 121.0, polls: 8, done: true}]
padded_hashes:
  description:
    - The hardware hashes given without their base64 padding, which were padded before they were sent (Graph
      refuses an unpadded one), with C(total) and the C(sources) (file and line, or C(devices[index])) of the first 100.
  returned: when a hash was padded
  type: dict
  sample: {total: 1, sources: [autopilot-devices-batch1.csv:7]}
progress:
  description: What the run did, in order (batches sent, imports finished and how long they took, the sync).
  returned: always
  type: list
  elements: str
  sample: ["Batch 1 of 2: 500 devices sent", "Imports finished: 500 of 500, after 181 s", "Autopilot sync completed"]
report_file:
  description: The path the per-device report was written to.
  returned: when O(report_file) is set
  type: str
  sample: /home/admin/playbooks/autopilot-import-report.csv
"""

import os

from ansible_collections.intune.autopilot.plugins.module_utils._graph.autopilot_device_input import (
    EncodingError,
    RowError,
    check_devices,
    from_list,
    parse_csv,
    read_lines,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph.autopilot_device_report import write_report
from ansible_collections.intune.autopilot.plugins.module_utils._graph.autopilot_devices import RESULT_FAILED_CAP, DeviceRun
from ansible_collections.intune.autopilot.plugins.module_utils._graph.module import GraphModule
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import GraphError

ARGUMENT_SPEC = dict(
    csv_files=dict(type="list", elements="path"),
    devices=dict(type="list", elements="dict", options=dict(
        serial_number=dict(type="str", required=True),
        hardware_hash=dict(type="str"),
        product_key=dict(type="str", no_log=False),
        group_tag=dict(type="str"),
        assigned_user=dict(type="str"),
        assigned_user_display_name=dict(type="str"),
    )),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    batch_size=dict(type="int", default=500),
    import_timeout=dict(type="int", default=1800),
    cleanup=dict(type="str", choices=["none", "failed", "all"], default="none"),
    sync=dict(type="bool", default=True),
    report_file=dict(type="path"),
    progress_file=dict(type="path"),
)
BOUNDS = {"batch_size": (1, 500), "import_timeout": (1, 7200)}


def read_input(params):
    """The named devices and the bad rows among them, files first, in order."""
    devices, errors = [], []
    for path in params["csv_files"] or []:
        try:
            with open(path, "rb") as handle:
                file_devices, file_errors = parse_csv(read_lines(handle), path)
        except OSError as exc:
            errors.append(RowError(path, "Cannot read the file: %s." % exc.strerror, "Check the path in csv_files."))
            continue
        except EncodingError as exc:
            errors.append(RowError("%s:%d" % (path, exc.line), exc.reason, exc.fix))
            continue
        devices.extend(file_devices)
        errors.extend(file_errors)
    devices.extend(from_list(params["devices"] or []))
    return devices, errors + check_devices(devices)


def main():
    module = GraphModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, required_one_of=[("csv_files", "devices")])
    params = module.params
    for option, (low, high) in BOUNDS.items():
        if not low <= params[option] <= high:
            module.fail_json(msg="%s: give %d to %d, not %d." % (option, low, high, params[option]))
    devices, errors = read_input(params)
    run = DeviceRun(module, devices)

    def finish(errors=(), sync=None, failure=None, **extra):
        failed = [error.as_dict() for error in errors] or list(run.listed("failed"))
        result = dict(
            changed=run.writes > 0 or (module.check_mode and any(run.counts()[name] for name in ("imported", "updated", "deleted"))),
            counts=run.counts(), failed_devices=failed[:RESULT_FAILED_CAP], failed_devices_total=len(failed),
            skipped_devices=list(run.listed("skipped"))[:RESULT_FAILED_CAP],
            sync=sync or {"status": "not_needed", "request": "not_needed"}, progress=run.progress, **extra)
        padded = [device.source for device in devices if device.hash_padded]
        if padded:
            result["padded_hashes"] = dict(total=len(padded), sources=padded[:RESULT_FAILED_CAP])
        if errors:
            result["counts"]["failed"] = len(failed)
        if module._diff:
            result["diff"] = run.diff
        if params["report_file"]:
            try:
                write_report(params["report_file"], devices, run.outcomes, errors)
            except OSError as exc:
                failure = "%s%s" % (failure + "; and " if failure else "", "report_file: cannot write %s: %s" % (params["report_file"], exc.strerror))
            else:
                result["report_file"] = os.path.abspath(params["report_file"])
        if failure:
            module.fail_json(msg=failure, **result)
        if failed:
            module.fail_json(msg="%d of %d named devices failed (the others were done): %s" % (
                len(failed), len(devices), "; ".join("%s %s" % (entry["source"], entry["reason"]) for entry in failed[:3])), **result)
        module.exit_json(**result)

    if errors:
        finish(errors, failure="%d bad rows; nothing was sent. First: %s" % (len(errors), errors[0]))

    def work():
        try:
            tenant_errors = run.run(params["state"])
            if tenant_errors:
                finish(tenant_errors, failure="%d devices cannot be imported; nothing was sent. First: %s" % (len(tenant_errors), tenant_errors[0]))
            sync = None
            if module.check_mode and params["sync"] and run.counts()["imported"]:
                sync = {"status": "check_mode", "request": "check_mode"}
            elif params["state"] == "present" and run.registered_now:
                sync = run.sync(requested=params["sync"])
                if sync.get("msg"):
                    module.warn(sync["msg"])
            finish(sync=sync)
        except GraphError as exc:
            details = {key: value for key, value in exc.details().items() if value is not None}
            finish(failure="%s (the devices done before it are in counts; run the task again to finish)" % exc, **details)

    module.run_guarded(work)


if __name__ == "__main__":
    main()
