#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: autopilot_device_info
short_description: Tell whether each Windows Autopilot device is ready to deploy (tutorial step 10)
version_added: 0.1.0
description:
  - Walks, for each selected device, the chain the tutorial checks by hand before a device is handed to a user,
    and reports each link with its state and, when it is broken, the reason and the tutorial step that fixes it.
  - "The links, in order: C(imported) (an Autopilot device identity has the serial number; when none does, the
    import staging rows say whether the import is under way, waits for a sync, or failed and why), C(entra_device)
    (the identity's Entra device exists and carries a C([ZTDId]) physical ID, which the step 5 rule matches),
    C(group_member) (a member of O(device_group)), C(deployment_profile) (assignment status assigned, an assignment
    date, and the assigned profile is a hybrid join, user-driven one, named O(profile) when given), C(esp) and
    C(domain_join_profile) (the profiles named by O(esp) and O(domain_join_profile) target the device: all devices,
    or a group it is a member of, and no group that excludes it), C(enrolled) (a managed device that is hybrid
    joined, with its latest Autopilot event)."
  - "The hybrid join window: a deployed device has two Entra devices, its Autopilot one (Entra joined) and the
    hybrid joined one AD sync brings, and Intune moves the device to the hybrid one only after the user's first
    sign-in. Until then the device is reported enrolled with the C(enrolled) link V(hybrid_join_pending): not
    ready, and not of the wrong join type. It is told from what the module reads anyway (the managed device
    still names the Autopilot Entra device, and the deployment was a hybrid one), whichever join type Intune
    shows meanwhile; no source records that, so both are handled."
  - A device is B(ready) when every link up to C(domain_join_profile) holds. Links whose option is not given
    (O(device_group), O(esp), O(domain_join_profile)) are reported as C(not_checked) and do not hold a device
    back. C(enrolled) is reported, not needed for ready; a device in the hybrid join window (C(enrolled) link
    V(hybrid_join_pending)) is not ready until the user signed in once.
  - Read-only; it never writes, and check mode runs the same reads.
  - It fails only when asked, with O(fail_unless_ready), or on a Graph error; a wait that times out otherwise
    returns with a warning.
author:
  - intune.autopilot developers (!UNKNOWN)
extends_documentation_fragment:
  - intune.autopilot.graph
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module never writes; check mode runs the same reads.
  diff_mode:
    support: N/A
  platform:
    platforms: all
options:
  serial_numbers:
    description:
      - The devices, by serial number (compared case-insensitively, as Intune compares them). A serial number no
        Autopilot device has is reported with the reason.
      - Leave out O(serial_numbers), O(csv_files) and O(group_tag) for every Autopilot device of the tenant.
    type: list
    elements: str
  csv_files:
    description:
      - The devices of the Intune portal's import CSV files (the files M(intune.autopilot.autopilot_device) imports),
        by their serial numbers, after those of O(serial_numbers). Relative paths are looked up as
        M(ansible.builtin.copy) looks up C(src) (for a playbook of this collection started by name, then in the working
        directory).
      - The header and each row's format are checked as M(intune.autopilot.autopilot_device) checks them; a bad row
        fails the task before any request, naming its file and line. The hashes are not read.
    type: list
    elements: path
  group_tag:
    description:
      - The devices with this group tag (C(OrderID) in dynamic group rules), compared case-insensitively; V("")
        selects the devices without one. Cannot be combined with O(serial_numbers) or O(csv_files).
    type: str
  device_group:
    description:
      - The tutorial step 5 device group, by display name or ID; the C(group_member) link checks each device is a
        direct member (a dynamic group's devices are). Left out, that link is C(not_checked).
    type: str
  profile:
    description:
      - The display name of the deployment profile (step 7) the devices should have, compared case-insensitively.
        Left out, any hybrid join user-driven profile will do.
    type: str
  esp:
    description:
      - The display name of the Enrollment Status Page (step 6) that should target the devices. Left out, the C(esp)
        link is C(not_checked).
    type: str
  domain_join_profile:
    description:
      - The display name of the domain join profile (step 8) that should target the devices. Left out, the
        C(domain_join_profile) link is C(not_checked).
    type: str
  wait_for:
    description:
      - Poll until every device is V(ready) or V(enrolled), at most O(wait_timeout) seconds (polls 1, 2, 4 ...
        seconds apart, at most 30). Left out, the chain is read once.
      - A deployed device that waits for the user's first sign-in is enrolled, but ready only after that sign-in.
      - The job log shows a line per poll while the task runs (see O(progress_file)); RV(waits) reports the wait.
    type: str
    choices: [ready, enrolled]
  wait_timeout:
    description:
      - Seconds O(wait_for) may wait, 1 to 14400. Intune's chain (sync, Entra device, group evaluation, profile
        assignment) takes minutes to hours.
    type: int
    default: 3600
  fail_unless_ready:
    description:
      - Fail when a device is not ready (with O(wait_for=enrolled), not enrolled) once the read, or the wait, is
        over. The message names the first devices and why; the result is returned as well.
    type: bool
    default: false
  progress_file:
    description:
      - A path on the controller to which a line is appended per poll of O(wait_for); RV(progress) holds the same
        lines. The action plugin sets it to a private temporary file and shows each line in the job log as it
        comes. Set it yourself only to follow a wait from elsewhere (C(tail -f)).
    type: path
notes:
  - "Graph permissions: C(DeviceManagementServiceConfig.Read.All) (Autopilot devices, profiles, ESPs),
    C(Device.Read.All) (Entra devices), C(GroupMember.Read.All) (group members, and O(device_group) by name),
    C(DeviceManagementConfiguration.Read.All) (with O(domain_join_profile)),
    C(DeviceManagementManagedDevices.Read.All) (managed devices, Autopilot events)."
  - "Reads per evaluation (each poll of O(wait_for) is one), pages rather than devices: one paged listing of the
    Autopilot devices (pages of 999, only the fields the chain needs); the import staging rows once, only when a named
    serial number has no Autopilot device; the members of O(device_group) that are devices, in pages of 999, which
    give their Entra devices too; the deployment profiles once and the assigned devices of as many of them as it
    takes to place every device Intune reports assigned (the one named by O(profile) first, in pages of 999);
    each other group's members once; the ESPs and the domain join profiles once each when named; the Autopilot
    events once when any device is enrolled. What no listing gives is read in JSON batches of 20 (C($batch)): the
    Entra devices of devices outside O(device_group) (15 per filter, 300 per batch) and the managed devices of
    enrolled ones (20 per batch). Graph still counts each read in a batch against its throttling limits."
  - The ESP that applies to a device is the one of highest priority among those targeting it; this module checks
    that the named one targets it, not that no ESP of higher priority does.
seealso:
  - module: intune.autopilot.autopilot_device
  - module: intune.autopilot.autopilot_profile
  - name: Verify the device has a profile (tutorial step 7)
    description: The portal's view of what this module reads.
    link: https://learn.microsoft.com/autopilot/tutorial/user-driven/hybrid-azure-ad-join-autopilot-profile
"""

EXAMPLES = r"""
- name: Are the devices of the order ready to deploy?
  intune.autopilot.autopilot_device_info:
    group_tag: HAADJ-Pilot
    device_group: Autopilot-HAADJ-Devices
    profile: Autopilot hybrid join user driven
    esp: Autopilot hybrid join ESP
    domain_join_profile: Autopilot hybrid join domain join
    tenant_id: 00000000-0000-0000-0000-000000000000
    client_id: 00000000-0000-0000-0000-000000000000
    client_certificate_path: /etc/ansible/intune-app.pem
  register: readiness

- name: Show what holds each device back
  ansible.builtin.debug:
    msg: "{{ item.serial_number }}: {{ item.chain | rejectattr('ok', 'ne', false) | map(attribute='reason') | list }}"
  loop: "{{ readiness.devices | rejectattr('ready') | list }}"

- name: After importing the CSV files (step 4), wait until their devices are ready; stop the play if they are not within an hour
  intune.autopilot.autopilot_device_info:
    csv_files:
      - autopilot-devices-batch1.csv
      - autopilot-devices-batch2.csv
    device_group: Autopilot-HAADJ-Devices
    wait_for: ready
    wait_timeout: 3600
    fail_unless_ready: true
    tenant_id: 00000000-0000-0000-0000-000000000000
    client_id: 00000000-0000-0000-0000-000000000000
    client_certificate_path: /etc/ansible/intune-app.pem
"""

RETURN = r"""
devices:
  description:
    - One entry per device, in the order of O(serial_numbers) (else as Graph lists them).
    - C(chain) holds every link in order (C(imported), C(entra_device), C(group_member), C(deployment_profile), C(esp),
      C(domain_join_profile), C(enrolled)), each with C(state), C(ok) (V(true), V(false), or V(null) when not checked
      or not reached), C(reason) and C(fix_step) (the tutorial step that fixes a broken link).
    - "States: C(imported): V(registered), V(missing), V(importing), V(awaiting_sync), V(import_failed), V(duplicate);
      C(entra_device): V(present), V(pending), V(missing), V(no_ztdid); C(group_member): V(member), V(not_member);
      C(deployment_profile): V(assigned), V(pending), V(not_assigned), V(wrong_join_type), V(not_user_driven),
      V(other_profile), or Intune's status (V(failed), V(unknown)); C(esp) and C(domain_join_profile): V(targeted),
      V(not_targeted), V(excluded), V(missing); C(enrolled): V(enrolled), V(not_enrolled), V(failed), V(blocked),
      V(missing), V(wrong_join_type), V(hybrid_join_pending) (enrolled, waiting for the user's first sign-in: the
      reason says what to do); any link: V(not_checked), V(not_reached)."
    - The C(enrolled) link of an enrolled device adds C(deployment_state) and C(event_time) of its latest Autopilot
      event.
    - C(hybrid_join_pending) is V(true) for a device in the hybrid join window (enrolled, not ready).
    - C(verdict) says the same in one line for a job log - V(enrolled), V(ready to deploy), C(enrolled, hybrid join
      pending the user's first sign-in) with what to do, or C(not ready) with the first broken link, its reason and
      the step that fixes it.
  returned: always
  type: list
  elements: dict
  sample:
    - serial_number: PF3ABCDE
      id: 5e8f0a2c-0000-4000-8000-000000000001
      ready: false
      enrolled: false
      hybrid_join_pending: false
      verdict: "not ready: deployment_profile pending - Intune is assigning a deployment profile (it can take a while). (fix: step 7)"
      chain:
        - {link: imported, state: registered, ok: true, reason: "", fix_step: null}
        - {link: entra_device, state: present, ok: true, reason: "", fix_step: null}
        - {link: group_member, state: member, ok: true, reason: "", fix_step: null}
        - {link: deployment_profile, state: pending, ok: false, reason: Intune is assigning a deployment profile (it can take a while)., fix_step: 7}
        - {link: esp, state: not_checked, ok: null, reason: esp was not given., fix_step: null}
        - {link: domain_join_profile, state: not_checked, ok: null, reason: domain_join_profile was not given., fix_step: null}
        - {link: enrolled, state: not_enrolled, ok: false, reason: "Not deployed yet: start the device on the corporate network (step 10).", fix_step: 10}
summary:
  description:
    - How many devices there are, are ready, enrolled and not ready, how many of them are enrolled but wait for the
      user's first sign-in (C(hybrid_join_pending), counted as not ready), and per link how many devices it is the
      first broken link of.
  returned: always
  type: dict
  sample: {total: 5, ready: 3, enrolled: 2, not_ready: 2, hybrid_join_pending: 1, broken_at: {deployment_profile: 1}}
ready:
  description: Whether every device is ready to deploy (false when no device was found).
  returned: always
  type: bool
  sample: true
enrolled:
  description: Whether every device is enrolled, including devices waiting for the user's first sign-in (false when no device was found).
  returned: always
  type: bool
  sample: false
waits:
  description: The wait of O(wait_for), what it waited for, how long, how many polls and whether it ended in time.
  returned: always
  type: list
  elements: dict
  sample: [{waited_for: every device ready, seconds: 905.0, polls: 36, done: true}]
progress:
  description: A line per poll of O(wait_for).
  returned: always
  type: list
  elements: str
  sample: ["0 of 2 devices ready; not ready at: deployment_profile 2", "2 of 2 devices ready"]
"""

from ansible_collections.intune.autopilot.plugins.module_utils._graph import device_readiness
from ansible_collections.intune.autopilot.plugins.module_utils._graph.autopilot_device_input import (
    EncodingError,
    control_characters,
    parse_csv,
    read_lines,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_groups import GroupResolver
from ansible_collections.intune.autopilot.plugins.module_utils._graph.module import GraphModule

ARGUMENT_SPEC = dict(
    serial_numbers=dict(type="list", elements="str"),
    csv_files=dict(type="list", elements="path"),
    group_tag=dict(type="str"),
    device_group=dict(type="str"),
    profile=dict(type="str"),
    esp=dict(type="str"),
    domain_join_profile=dict(type="str"),
    wait_for=dict(type="str", choices=["ready", "enrolled"]),
    wait_timeout=dict(type="int", default=3600),
    fail_unless_ready=dict(type="bool", default=False),
    progress_file=dict(type="path"),
)
WAIT_TIMEOUT_BOUNDS = (1, 14400)
# How many not-ready devices a failure message names, and how many input errors.
NAMED_IN_MESSAGE = 3
ERRORS_IN_MESSAGE = 5


def named_serials(params):
    """(serial numbers of serial_numbers and csv_files in order, or None for a selection by group tag or all;
    what is wrong with them), found before any request."""
    if params["serial_numbers"] is None and params["csv_files"] is None:
        return None, []
    named, errors = [], []  # named: (serial, where it is named)
    for index, serial in enumerate(params["serial_numbers"] or []):
        if not serial.strip():
            errors.append("serial_numbers[%d] is empty; remove it." % index)
        named.append((serial.strip(), "serial_numbers[%d]" % index))
    for path in params["csv_files"] or []:
        try:
            with open(path, "rb") as handle:
                devices, rows = parse_csv(read_lines(handle), path)
        except OSError as exc:
            errors.append("csv_files: cannot read %s: %s." % (path, exc.strerror))
            continue
        except EncodingError as exc:
            errors.append("csv_files: %s:%d: %s %s" % (path, exc.line, exc.reason, exc.fix))
            continue
        errors.extend("csv_files: %s" % row for row in rows)
        named.extend((device.serial_number, device.source) for device in devices)
    for serial, source in named:
        found = control_characters(serial)
        if found:
            where = source if source.startswith("serial_numbers[") else "csv_files: " + source
            errors.append("%s: the serial number %r holds the control character%s %s, which no device reports: give it as "
                          "Get-WindowsAutopilotInfo reports it." % (where, serial, "s" if len(found) > 1 else "", " ".join(found)))
    if not named and not errors:
        errors.append("serial_numbers, csv_files: name at least one device, or leave both out for every device.")
    first = {}
    for serial, source in named:
        earlier = first.setdefault(serial.lower(), source)
        if serial and earlier != source:
            errors.append("%s names %s again (named at %s; serial numbers compare case-insensitively): name it once." % (source, serial, earlier))
    return [serial for serial, _source in named], errors


def input_errors(params):
    """What is wrong with the options other than the devices, found before any request."""
    errors = []
    low, high = WAIT_TIMEOUT_BOUNDS
    if not low <= params["wait_timeout"] <= high:
        errors.append("wait_timeout: give %d to %d seconds, not %d." % (low, high, params["wait_timeout"]))
    for option in ("device_group", "profile", "esp", "domain_join_profile"):
        if params[option] is not None and not params[option].strip():
            errors.append("%s: give a name, or leave %s out to skip its check." % (option, option))
    return errors


def not_ready_message(reports, target):
    lagging = [report for report in reports if not report[target]]
    if not reports:
        return "No Autopilot device matches the selection."
    described = []
    for report in lagging[:NAMED_IN_MESSAGE]:
        broken = next((entry for entry in report["chain"] if entry["ok"] is False or entry["state"] == device_readiness.FIRST_SIGN_IN), {})
        step = " (step %s)" % broken["fix_step"] if broken.get("fix_step") else ""
        described.append("%s at %s: %s%s" % (report["serial_number"], broken.get("link"), broken.get("reason"), step))
    return "%d of %d devices are not %s. %s" % (len(lagging), len(reports), target, "; ".join(described))


def main():
    module = GraphModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                         mutually_exclusive=[("serial_numbers", "group_tag"), ("csv_files", "group_tag")])
    params = module.params
    serials, errors = named_serials(params)
    errors += input_errors(params)
    if errors:
        more = len(errors) - ERRORS_IN_MESSAGE
        module.fail_json(msg=" ".join(errors[:ERRORS_IN_MESSAGE]) + (" (and %d more)" % more if more > 0 else ""))
    progress = []

    def note(line):
        progress.append(line)
        if params["progress_file"]:
            with open(params["progress_file"], "a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def run():
        group_id = None
        if params["device_group"]:
            try:
                group_id = GroupResolver(module.graph).resolve(params["device_group"].strip(), known_ids=set())
            except ValueError as exc:
                module.fail_json(msg=str(exc).replace("assignments: ", "device_group: ", 1))
        readiness = device_readiness.Readiness(
            module.graph, serial_numbers=serials,
            group_tag=params["group_tag"], device_group_id=group_id, device_group_name=params["device_group"],
            profile=params["profile"], esp=params["esp"], domain_join_profile=params["domain_join_profile"])
        target = params["wait_for"] or "ready"
        waits = []
        if params["wait_for"]:
            reports, wait = device_readiness.wait(readiness, target, params["wait_timeout"], note)
            waits.append(wait.report())
        else:
            reports = readiness.evaluate()
        result = dict(changed=False, devices=reports, summary=device_readiness.summary(reports),
                      ready=device_readiness.reached(reports, "ready"), enrolled=device_readiness.reached(reports, "enrolled"),
                      waits=waits, progress=progress)
        if not device_readiness.reached(reports, target):
            message = not_ready_message(reports, target)
            if params["wait_for"]:
                message = "After waiting %d s: %s" % (params["wait_timeout"], message)
            if params["fail_unless_ready"]:
                module.fail_json(msg=message, **result)
            if params["wait_for"]:
                module.warn(message)
        module.exit_json(**result)

    module.run_guarded(run)


if __name__ == "__main__":
    main()
