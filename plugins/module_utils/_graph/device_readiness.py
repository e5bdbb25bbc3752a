# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Is each Autopilot device ready to deploy (tutorial step 10)? The chain the tutorial walks by hand, read
from Graph: imported -> Entra device with [ZTDId] -> member of the step 5 group -> hybrid user-driven
deployment profile assigned -> ESP and domain join profile targeting it -> enrolled. Never writes.

What one evaluation costs Graph, by design: pages, not devices (issue 23). One paged listing of the identities
(`$select`, pages of 999); the staging rows once, only when a named serial has no identity; the step 5 group's
members cast to devices (`members/microsoft.graph.device`, pages of 999), which gives both the membership and the
Entra device of every member; which profile each assigned device has from the profiles' `assignedDevices` (one
listing of the profiles, then each candidate's assigned devices in pages of 999, the named or hybrid user-driven
ones first, until every assigned device is placed); each other group's members once; the ESPs and the domain join
profiles once each when named; the Autopilot events once when any device is enrolled. Per device only what no
listing gives, sent in JSON batches of 20 (`/$batch`): the Entra devices of identities outside the step 5 group,
15 ids per `$filter` (no listing holds only those: the directory's listing of Autopilot devices by physicalIds is
an advanced query, served from an eventually consistent index), and the managed devices of enrolled ones (the
tenant's managed devices are many more than its Autopilot ones).

The hybrid join window: a deployed hybrid device has two Entra objects, the Autopilot one (Entra joined) and the
hybrid one AD sync brings, and Intune moves the managed device to the hybrid one only after the user's first
sign-in (MicrosoftDocs/memdocs PR #2408). What managedDevice.joinType reads meanwhile is not recorded anywhere,
so the window is told from what is read anyway: the managed device still names the identity's (Autopilot)
Entra device, and the deployment was a hybrid one (its join type says so, or its Autopilot event's enrollment
type, or failing an event the hybrid profile assigned). Such a device is enrolled but not ready until the
user signs in; a managed device that names another object is judged by its join type.
"""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.module_utils._graph import waiter
from ansible_collections.intune.autopilot.plugins.module_utils._graph.autopilot_devices import (
    IDENTITIES,
    IMPORT_ERRORS,
    _import_status,
    paged,
    staging_rows,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph.batch import batched_get
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import IDS_PER_FILTER
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_targets import target_key
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_autopilot_esp import ESP
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_domain_join_profile import PROFILE as DOMAIN_JOIN
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import GraphError

IDENTITY_FIELDS = ("id,serialNumber,groupTag,azureAdDeviceId,deploymentProfileAssignmentStatus,"
                   "deploymentProfileAssignmentDetailedStatus,deploymentProfileAssignedDateTime,enrollmentState,managedDeviceId")
DEVICE_FIELDS = "id,deviceId,physicalIds"
PROFILES = "deviceManagement/windowsAutopilotDeploymentProfiles"
EVENT_FIELDS = "id,deviceSerialNumber,eventDateTime,deploymentState,enrollmentType,enrollmentFailureDetails"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
# Graph's "never" for a DateTimeOffset it has not set.
NEVER_PREFIX = "0001-01-01"
ASSIGNED = ("assignedInSync", "assignedOutOfSync", "assignedUnkownSyncState")  # sic: Graph's spelling
HYBRID_PROFILE = "microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile"
HYBRID_JOIN_TYPE = "hybridAzureADJoined"
# Autopilot events' enrollmentType of a hybrid (offline domain join) deployment.
HYBRID_ENROLLMENT_TYPES = ("offlineDomainJoined", "offlineDomainJoinedWithWhiteGlove", "offlineDomainJoinedWithOfflineAutopilotProfile")
# deployment_profile link states that name a hybrid join profile.
HYBRID_PROFILE_STATES = ("assigned", "not_user_driven", "other_profile")
FIRST_SIGN_IN = "hybrid_join_pending"
POLL_CAP = 30  # seconds between polls of a wait at most: Intune's steps take minutes

LINKS = ("imported", "entra_device", "group_member", "deployment_profile", "esp", "domain_join_profile", "enrolled")
# The links "ready to deploy" needs; esp and domain_join_profile only when named (else not_checked).
READY_LINKS = LINKS[:-1]


def link(name, state, ok, reason="", fix_step=None):
    return dict(link=name, state=state, ok=ok, reason=reason, fix_step=fix_step)


class Readiness:
    """One evaluation of the chain for the selected devices; `evaluate()` may be called again while waiting."""

    def __init__(self, graph, serial_numbers=None, group_tag=None, device_group_id=None, device_group_name=None,
                 profile=None, esp=None, domain_join_profile=None):
        self.graph = graph
        self.serial_numbers = serial_numbers
        self.group_tag = group_tag
        self.device_group_id = device_group_id
        self.device_group_name = device_group_name or device_group_id
        self.profile = profile
        self.esp_name = esp
        self.domain_join_name = domain_join_profile
        self._members = {}
        # identity id (lower case) -> its assigned deployment profile, read from the profiles' assignedDevices.
        self._profiles = {}
        self._managed = {}

    # -- reading ----------------------------------------------------------------------------------

    def identities(self):
        """[identity] of the selected devices (the named serials, a group tag, or all), from one listing."""
        wanted = {serial.lower() for serial in self.serial_numbers or ()}
        tag = (self.group_tag or "").casefold()
        found = []
        for identity in paged(self.graph, IDENTITIES, IDENTITY_FIELDS):
            serial = (identity.get("serialNumber") or "").lower()
            if self.serial_numbers is not None and serial not in wanted:
                continue
            if self.group_tag is not None and (identity.get("groupTag") or "").casefold() != tag:
                continue
            found.append(identity)
        return found

    def entra_devices(self, device_ids):
        """{deviceId: Entra device} for the identities' azureAdDeviceIds: the step 5 group's device members from
        their paged listing, the others (not members yet) looked up 15 per request."""
        found = self.group_devices(self.device_group_id) if self.device_group_id else {}
        found.update(self.devices_by_id(device_ids - set(found)))
        return found

    def group_devices(self, group_id):
        """{deviceId: Entra device} of the group's device members, in pages of 999 (its membership too, read once)."""
        devices = {}
        for device in paged(self.graph, "groups/%s/members/microsoft.graph.device" % group_id, DEVICE_FIELDS, api="v1.0"):
            devices[(device.get("deviceId") or "").lower()] = device
        self._members[group_id] = {device["id"].lower() for device in devices.values()}
        return devices

    def devices_by_id(self, device_ids):
        """{deviceId: Entra device} looked up by deviceId, 15 per filter, 20 filters per batch."""
        ordered = sorted(device_ids)
        select = {"$select": DEVICE_FIELDS}
        chunks = [ordered[start:start + IDS_PER_FILTER] for start in range(0, len(ordered), IDS_PER_FILTER)]
        try:
            answers = batched_get(self.graph, [("devices", dict(select, **{"$filter": "deviceId in (%s)" % ", ".join(
                "'%s'" % device_id for device_id in chunk)})) for chunk in chunks], api="v1.0")
        except GraphError as exc:
            if exc.status != 400:
                raise
            # Graph documents eq on deviceId; `in` is the directory's general rule. A refusal asks one by one.
            answers = batched_get(self.graph, [("devices", dict(select, **{"$filter": "deviceId eq '%s'" % device_id}))
                                               for device_id in ordered], api="v1.0")
        return {(device.get("deviceId") or "").lower(): device for answer in answers if answer for device in answer.get("value") or ()}

    def managed_devices(self, identities):
        """{managed device id: managed device, or None when Graph has none} of the enrolled identities, in batches."""
        ids = sorted({identity["managedDeviceId"].lower() for identity in identities
                      if identity.get("enrollmentState") == "enrolled" and _set_guid(identity.get("managedDeviceId"))})
        answers = batched_get(self.graph, [("deviceManagement/managedDevices/%s" % managed_id, None) for managed_id in ids], api="beta")
        return dict(zip(ids, answers))

    def assigned_profiles(self, identities):
        """{identity id: deployment profile} of the identities Intune reports assigned: one listing of the profiles,
        then their assignedDevices in pages (a beta navigation), the likeliest first, until every one is placed."""
        waiting = {identity["id"].lower() for identity in identities if assignment_settled(identity)}
        found = {}
        if not waiting:
            return found
        for profile in self.candidates(self.graph.list(PROFILES)):
            for device in paged(self.graph, "%s/%s/assignedDevices" % (PROFILES, profile["id"]), "id"):
                key = device["id"].lower()
                if key in waiting:
                    found[key] = profile
                    waiting.discard(key)
            if not waiting:
                break
        return found

    def candidates(self, profiles):
        """The profiles, the one named by `profile` first, then hybrid user-driven ones, each by age (the oldest wins
        a device that several target), so the usual tenant is placed by one listing."""
        def rank(profile):
            named = bool(self.profile) and (profile.get("displayName") or "").casefold() == self.profile.casefold()
            return (not named, not is_hybrid_user_driven(profile), profile.get("createdDateTime") or "", profile.get("id"))
        return sorted(profiles, key=rank)

    def members(self, group_id):
        """Object ids of a group's direct members (a dynamic group's devices are direct members), read once per evaluation."""
        if group_id not in self._members:
            listed = self.graph.list("groups/%s/members" % group_id, api="v1.0", params={"$select": "id", "$top": "999"})
            self._members[group_id] = {member["id"].lower() for member in listed}
        return self._members[group_id]

    def named_object(self, resource, name):
        """(object with assignments, reason when not exactly one) of the resource named `name`."""
        matches = [obj for obj in self.graph.list(resource.collection, api=resource.api, params={"$expand": "assignments"})
                   if resource.is_type(obj) and resource.key_matches(obj, name)]
        if len(matches) == 1:
            return matches[0], ""
        if not matches:
            return None, "No %s is named '%s'." % (resource.noun, name)
        return None, "%d %ss are named '%s'; rename all but one." % (len(matches), resource.noun, name)

    # -- the chain --------------------------------------------------------------------------------

    def evaluate(self):
        """[device report] in the order of serial_numbers (else of the listing)."""
        self._members = {}  # a wait evaluates again because memberships change
        identities = self.identities()
        by_serial = {}
        for identity in identities:
            by_serial.setdefault(identity["serialNumber"].lower(), []).append(identity)
        if self.serial_numbers is not None:
            missing = [serial for serial in self.serial_numbers if serial.lower() not in by_serial]
            staging = staging_rows(self.graph, {serial.lower() for serial in missing}) if missing else {}
            order = [(serial, by_serial.get(serial.lower(), [])) for serial in self.serial_numbers]
        else:
            staging = {}
            order = [(found[0]["serialNumber"], found) for found in by_serial.values()]
        device_ids = {identity["azureAdDeviceId"].lower() for identity in identities if _set_guid(identity.get("azureAdDeviceId"))}
        entra = self.entra_devices(device_ids) if device_ids else {}
        self._profiles = self.assigned_profiles(identities)
        self._managed = self.managed_devices(identities)
        esp = self.named_object(ESP, self.esp_name) if self.esp_name else None
        domain_join = self.named_object(DOMAIN_JOIN, self.domain_join_name) if self.domain_join_name else None
        reports = [self.chain(serial, found, staging.get(serial.lower(), []), entra, esp, domain_join) for serial, found in order]
        self.settle_enrolments(reports)
        return [self.close(report) for report in reports]

    def chain(self, serial, found, rows, entra, esp, domain_join):
        links = []
        report = dict(serial_number=serial, ready=False, enrolled=False, chain=links)
        if len(found) != 1:
            links.append(self.not_imported(rows) if not found else link(
                "imported", "duplicate", False, "%d Autopilot devices have this serial number: delete the stale ones in Intune "
                "(Devices > Windows > Enrollment > Devices)." % len(found), 4))
            return report
        identity = found[0]
        report["id"] = identity["id"]
        links.append(link("imported", "registered", True))
        device = entra.get((identity.get("azureAdDeviceId") or "").lower())
        links.append(self.entra_link(identity, device))
        if not links[-1]["ok"]:
            return report
        object_id = device["id"].lower()
        links.append(self.group_link(object_id))
        links.append(self.profile_link(identity))
        links.append(self.targeting_link("esp", ESP.noun, esp, object_id, 6))
        links.append(self.targeting_link("domain_join_profile", DOMAIN_JOIN.noun, domain_join, object_id, 8))
        links.append(self.enrolled_link(identity, report))
        report["_identity"] = identity
        return report

    @staticmethod
    def close(report):
        """The links the chain did not reach, and the verdicts."""
        reached = {entry["link"] for entry in report["chain"]}
        report["chain"] += [link(name, "not_reached", None, "An earlier link is broken.") for name in LINKS if name not in reached]
        by_name = {entry["link"]: entry for entry in report["chain"]}
        report["hybrid_join_pending"] = by_name["enrolled"]["state"] == FIRST_SIGN_IN
        # A link that was not checked (an option left out) does not hold readiness back; one not reached does.
        # A device in the hybrid join window is enrolled, but ready only once the user signed in.
        report["ready"] = not report["hybrid_join_pending"] and all(
            by_name[name]["ok"] is not False and by_name[name]["state"] != "not_reached" for name in READY_LINKS)
        report["enrolled"] = by_name["enrolled"]["ok"] is True
        report["verdict"] = verdict(report)
        return report

    @staticmethod
    def not_imported(rows):
        if not rows:
            return link("imported", "missing", False, "No Autopilot device has this serial number and no import of it is under way: "
                        "import it; one imported already appears after the next Autopilot sync.", 4)
        status = {_import_status(row) for row in rows}
        if "complete" in status:
            return link("imported", "awaiting_sync", False,
                        "Intune registered the device; it appears after the next Autopilot sync.", 4)
        if status - {"error", "partial"}:
            return link("imported", "importing", False, "Intune is still importing the device (minutes).", 4)
        state = rows[-1].get("state") or {}
        name = state.get("deviceErrorName") or ""
        reason, fix = IMPORT_ERRORS.get(name, ("Intune refused the import: %s (code %s)." % (name or "no error name", state.get("deviceErrorCode")),
                                               "Check the serial number and hash, then import it again."))
        return link("imported", "import_failed", False, "%s %s" % (reason, fix), 4)

    @staticmethod
    def entra_link(identity, device):
        if not _set_guid(identity.get("azureAdDeviceId")):
            return link("entra_device", "pending", False,
                        "Intune has not created the device's Entra device yet (minutes after the sync).", 4)
        if device is None:
            return link("entra_device", "missing", False,
                        "The Entra device %s the Autopilot device names does not exist (deleted?)." % identity["azureAdDeviceId"], 4)
        if not any((entry or "").lower().startswith("[ztdid]") for entry in device.get("physicalIds") or ()):
            return link("entra_device", "no_ztdid", False,
                        "The Entra device has no [ZTDId] entry yet, so the step 5 rule cannot match it (Intune adds it minutes after the sync).", 4)
        return link("entra_device", "present", True)

    def group_link(self, object_id):
        if not self.device_group_id:
            return link("group_member", "not_checked", None, "device_group was not given.")
        if object_id in self.members(self.device_group_id):
            return link("group_member", "member", True)
        return link("group_member", "not_member", False,
                    "Not a member of '%s' yet: dynamic membership is evaluated minutes after the device's [ZTDId] (or group tag) "
                    "appears; check the group's rule matches the device." % self.device_group_name, 5)

    def profile_link(self, identity):
        status = identity.get("deploymentProfileAssignmentStatus") or "unknown"
        if status == "pending":
            return link("deployment_profile", "pending", False, "Intune is assigning a deployment profile (it can take a while).", 7)
        if status == "notAssigned":
            return link("deployment_profile", "not_assigned", False,
                        "No deployment profile targets the device: assign the hybrid join profile to its group.", 7)
        if status not in ASSIGNED:
            detail = identity.get("deploymentProfileAssignmentDetailedStatus") or "none"
            return link("deployment_profile", status, False, "Intune reports the profile assignment as %s%s." % (
                status, "" if detail == "none" else " (%s)" % detail), 7)
        if not assignment_settled(identity):
            return link("deployment_profile", "pending", False, "Intune reports the profile assigned but not when; it is still settling.", 7)
        profile = self._profiles.get(identity["id"].lower())
        if profile is None:
            return link("deployment_profile", "pending", False, "Intune reports a profile assigned but returns none yet.", 7)
        name = profile.get("displayName") or profile.get("id")
        if (profile.get("@odata.type") or "").lstrip("#") != HYBRID_PROFILE:
            return link("deployment_profile", "wrong_join_type", False,
                        "The assigned profile '%s' joins devices to Entra ID only, not hybrid: assign the hybrid join profile "
                        "(when several target a device the oldest-created wins)." % name, 7)
        if not is_user_driven(profile):
            return link("deployment_profile", "not_user_driven", False, "The assigned profile '%s' is self-deploying, not user-driven." % name, 7)
        if self.profile and name.casefold() != self.profile.casefold():
            return link("deployment_profile", "other_profile", False,
                        "The assigned profile is '%s', not '%s' (when several target a device the oldest-created wins)." % (name, self.profile), 7)
        return link("deployment_profile", "assigned", True, "'%s'" % name)

    def targeting_link(self, name, noun, named, object_id, step):
        if named is None:
            return link(name, "not_checked", None, "%s was not given." % name)
        obj, problem = named
        if obj is None:
            return link(name, "missing", False, problem, step)
        keys = [target_key(assignment.get("target") or {}) for assignment in obj.get("assignments") or ()]
        if any(self.device_in(group_id, object_id) for kind, group_id in keys if kind == "exclude"):
            return link(name, "excluded", False, "The device is in a group the %s '%s' excludes." % (noun, obj.get("displayName")), step)
        if any(kind == "all_devices" for kind, _group_id in keys) or \
                any(self.device_in(group_id, object_id) for kind, group_id in keys if kind == "include"):
            return link(name, "targeted", True)
        return link(name, "not_targeted", False, "The %s '%s' targets no group the device is in%s." % (
            noun, obj.get("displayName"), " (assign it to '%s')" % self.device_group_name if self.device_group_id else ""), step)

    def device_in(self, group_id, object_id):
        return bool(group_id) and object_id in self.members(group_id)

    def enrolled_link(self, identity, report):
        """The enrolment as far as the identity and its managed device tell; settle_enrolments judges the join."""
        state = identity.get("enrollmentState") or "unknown"
        if state != "enrolled" or not _set_guid(identity.get("managedDeviceId")):
            if state in ("failed", "blocked"):
                return link("enrolled", state, False, "Intune reports the enrollment %s." % state, 10)
            return link("enrolled", "not_enrolled", False, "Not deployed yet: start the device on the corporate network (step 10).", 10)
        managed = self._managed.get(identity["managedDeviceId"].lower())
        if managed is None:
            return link("enrolled", "missing", False, "Intune names a managed device that does not exist (retired or deleted).", 10)
        report["_managed"] = managed
        return link("enrolled", "enrolled", True)

    def settle_enrolments(self, reports):
        """Judge the join of each device with a managed device, with its latest Autopilot event (one listing of
        the events, only when any device has a managed device)."""
        enrolled = {report["serial_number"].lower(): report for report in reports if "_managed" in report}
        latest = {}
        if enrolled:
            for event in paged(self.graph, "deviceManagement/autopilotEvents", EVENT_FIELDS):
                key = (event.get("deviceSerialNumber") or "").lower()
                if key in enrolled and (event.get("eventDateTime") or "") >= (latest.get(key, {}).get("eventDateTime") or ""):
                    latest[key] = event
        for key, report in enrolled.items():
            event = latest.get(key)
            by_name = {entry["link"]: entry for entry in report["chain"]}
            entry = join_link(report["_identity"], report.pop("_managed"), event, by_name["deployment_profile"]["state"])
            report["chain"][-1] = entry
            if event is None:
                if entry["state"] == "enrolled":
                    entry["reason"] = "No Autopilot event (Intune keeps them 30 days)."
                continue
            entry["deployment_state"] = event.get("deploymentState")
            entry["event_time"] = event.get("eventDateTime")
            if entry["state"] == "enrolled" and event.get("deploymentState") not in ("success", "successWithTimeout", "successOnRetry"):
                entry["reason"] = "The last Autopilot deployment ended %s: %s" % (
                    event.get("deploymentState"), event.get("enrollmentFailureDetails") or "no details")
        for report in reports:
            report.pop("_identity", None)


def join_link(identity, managed, event, profile_state):
    """The enrolled link of a managed device: hybrid joined, in the hybrid join window, or of the wrong join type."""
    join_type = managed.get("joinType") or "unknown"
    device_id = managed.get("azureADDeviceId")
    on_autopilot_object = _set_guid(device_id) and device_id.lower() == (identity.get("azureAdDeviceId") or "").lower()
    enrollment_type = (event or {}).get("enrollmentType") or "unknown"
    hybrid_deployment = (enrollment_type in HYBRID_ENROLLMENT_TYPES if enrollment_type != "unknown"
                         else profile_state in HYBRID_PROFILE_STATES)
    if (on_autopilot_object and (join_type == HYBRID_JOIN_TYPE or hybrid_deployment)) or \
            (hybrid_deployment and join_type != HYBRID_JOIN_TYPE and not _set_guid(device_id)):
        return link("enrolled", FIRST_SIGN_IN, True,
                    "Enrolled and joined to the domain, but Intune still manages the device through its Autopilot (Entra joined) "
                    "device object (join type reads %s); it moves to the hybrid joined object after the user's first sign-in. "
                    "Sign in once on the device with the user's domain account, on the corporate network or VPN." % join_type, 10)
    if join_type == HYBRID_JOIN_TYPE:
        return link("enrolled", "enrolled", True)
    return link("enrolled", "wrong_join_type", False, "The managed device is %s, not hybrid joined%s." % (
        join_type if join_type != "unknown" else "of unknown join type",
        " (its Autopilot deployment was %s)" % enrollment_type if enrollment_type != "unknown" else ""), 10)


def assignment_settled(identity):
    """Intune reports a profile assigned, and when."""
    return (identity.get("deploymentProfileAssignmentStatus") in ASSIGNED
            and not (identity.get("deploymentProfileAssignedDateTime") or NEVER_PREFIX).startswith(NEVER_PREFIX))


def is_user_driven(profile):
    return ((profile.get("outOfBoxExperienceSetting") or {}).get("deviceUsageType") or "singleUser") == "singleUser"


def is_hybrid_user_driven(profile):
    return (profile.get("@odata.type") or "").lstrip("#") == HYBRID_PROFILE and is_user_driven(profile)


def verdict(report):
    """The device's state in one line, for a job log: what holds it back and the step that fixes it."""
    if report["hybrid_join_pending"]:
        return "enrolled, hybrid join pending the user's first sign-in - sign in once on the device with the user's domain account"
    if report["enrolled"]:
        return "enrolled"
    if report["ready"]:
        return "ready to deploy"
    broken = next(entry for entry in report["chain"] if entry["ok"] is False or entry["state"] == "not_reached")
    return "not ready: %s %s - %s%s" % (broken["link"], broken["state"], broken["reason"],
                                        " (fix: step %s)" % broken["fix_step"] if broken["fix_step"] else "")


def summary(reports):
    counts = dict(total=len(reports), ready=0, enrolled=0, not_ready=0, hybrid_join_pending=0, broken_at={})
    for report in reports:
        counts["ready"] += report["ready"]
        counts["enrolled"] += report["enrolled"]
        counts["hybrid_join_pending"] += report["hybrid_join_pending"]
        if not report["ready"]:
            counts["not_ready"] += 1
        if not report["ready"] and not report["hybrid_join_pending"]:
            first = next((entry["link"] for entry in report["chain"] if entry["ok"] is False), "unknown")
            counts["broken_at"][first] = counts["broken_at"].get(first, 0) + 1
    return counts


def reached(reports, target):
    """Whether every device reached the target (`ready` or `enrolled`); no device at all is not."""
    return bool(reports) and all(report[target] for report in reports)


def wait(readiness, target, timeout, note):
    """Evaluate until every device reached `target`; (reports, Wait). `note` gets a line per poll."""
    last = {}

    def check():
        reports = readiness.evaluate()
        last["reports"] = reports
        counts = summary(reports)
        note("%d of %d devices %s%s%s" % (
            counts[target], counts["total"], target,
            "; not ready at: " + ", ".join("%s %d" % item for item in sorted(counts["broken_at"].items())) if counts["broken_at"] else "",
            "; hybrid join pending first sign-in: %d" % counts["hybrid_join_pending"] if counts["hybrid_join_pending"] else ""))
        return True if reached(reports, target) else None

    result = waiter.wait_for(check, timeout=timeout, waited_for="every device %s" % target, max_delay=POLL_CAP)
    return last["reports"], result


def _set_guid(value):
    return bool(value) and value != EMPTY_GUID
