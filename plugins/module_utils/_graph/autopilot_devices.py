# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Windows Autopilot device identities as a set (tutorial steps 4 and 9): import by hardware hash in
batches, follow each batch to its end, clean up the staging rows as `cleanup` says, sync once (or find that
Intune synced by itself), and update group tags and assigned users only where they differ.

What a run costs Graph, by design: one paged listing of the identities and one of the staging rows
(`$select`, pages of 999); per batch one import POST, a few polls of its rows while Intune works (the
listing, or this run's rows by id in batches of 20 when leftovers of earlier runs or other tools make the
listing the longer read), one DELETE per staging row only when `cleanup` asks; one sync; one write per
device that differs. A run with nothing to do reads the two listings and writes nothing.

Cleanup defaults to none: no Microsoft source requires deleting staging rows; Microsoft's own
Get-WindowsAutopilotInfo -Online adds rows, polls them and never deletes them; only the community
WindowsAutopilotIntune module does, one DELETE per row, and each DELETE is a write against Intune's budget of
100 writes per 20 s per app (reference, step 4). A failed row kept is what autopilot_device_info reads to say
why a device is not imported.
"""

from __future__ import annotations

import datetime
import uuid

from ansible_collections.intune.autopilot.plugins.module_utils._graph.autopilot_device_input import RowError
from ansible_collections.intune.autopilot.plugins.module_utils._graph.batch import BATCH_SIZE, batched_get
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import (
    GraphError,
    GraphThrottled,
    WriteOutcomeUnknown,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph import waiter

IDENTITIES = "deviceManagement/windowsAutopilotDeviceIdentities"
STAGING = "deviceManagement/importedWindowsAutopilotDeviceIdentities"
SETTINGS = "deviceManagement/windowsAutopilotSettings"
IDENTITY_FIELDS = "id,serialNumber,groupTag,userPrincipalName,addressableUserName,enrollmentState"
STAGING_FIELDS = "id,serialNumber,importId,state"
PAGE_SIZE = 999
# How long a batch whose import answer was lost is looked for among the staging rows (Graph lists new
# rows after a delay), as the engine looks for a lost create.
LOST_IMPORT_LOOK = 60
# Polls of a long wait are at most this far apart: imports and syncs take minutes.
POLL_CAP = 30
FINISHED_IMPORT = ("complete", "error", "partial")
# What failed devices the result lists; report_file has them all.
RESULT_FAILED_CAP = 100
OUTCOMES = ("imported", "updated", "unchanged", "deleted", "skipped", "failed")

ALREADY_HERE = "ZtdDeviceAlreadyAssigned"
OTHER_TENANT = ("The device is registered to another organisation's tenant.",
                "Have that organisation (or the reseller or OEM that registered it) deregister the device, then run again.")
IMPORT_ERRORS = {
    # Microsoft's page spells it ...ToAnotherTenant, the service and community scripts ...ToOtherTenant.
    "ZtdDeviceAssignedToOtherTenant": OTHER_TENANT,
    "ZtdDeviceAssignedToAnotherTenant": OTHER_TENANT,
    # Keyed on the hash: "duplicate hardware hashes in the CSV file" (reference, step 4).
    "ZtdDeviceDuplicated": ("Intune saw this hardware hash twice in one import and processed only the first row with it.",
                            "Give each device its own hash (a copied hash belongs to another device), then run again."),
    "InvalidZtdHardwareHash": ("Intune refused the hardware hash.",
                               "Capture the 4K hash again on the device (Get-WindowsAutopilotInfo) and run again."),
    "StorageError": ("Intune could not store the device (a service error).", "Run the task again."),
}


def paged(graph, path, fields, api="beta"):
    """Items of a collection, page by page (pages of 999; the whole listing is never held)."""
    try:
        # The first page is asked for here, so that a refused $top is known before anything is yielded.
        pages = graph.items(path, api=api, params={"$select": fields, "$top": str(PAGE_SIZE)})
        first = next(pages, None)
    except GraphError as exc:
        if exc.status != 400:
            raise
        # The largest page Intune takes is not documented: a refused $top sends the listing without it.
        pages = graph.items(path, api=api, params={"$select": fields})
        first = next(pages, None)
    if first is not None:
        yield first
        yield from pages


def staging_rows(graph, keys, counted=None):
    """{device key: [staging row, ...]} for the devices whose keys are given; `counted` (a list) gets an entry per row listed."""
    found = {}
    for row in paged(graph, STAGING, STAGING_FIELDS):
        if counted is not None:
            counted.append(None)
        key = (row.get("serialNumber") or "").lower()
        if key in keys:
            found.setdefault(key, []).append(row)
    return found


class DeviceRun:
    """One autopilot_device task: plan from two listings, then write (unless check mode)."""

    def __init__(self, module, devices):
        self.module = module
        self.graph = module.graph
        self.devices = devices
        self.check_mode = module.check_mode
        self.batch_size = module.params["batch_size"]
        self.import_timeout = module.params["import_timeout"]
        self.cleanup = module.params["cleanup"]
        self.staging_count = 0  # rows the staging collection holds, as last listed: what a listing of it costs
        self.progress_file = module.params["progress_file"]
        self.outcomes = {}  # device key -> (outcome, reason, fix)
        self.writes = 0
        self.progress = []
        self.want_diff = module._diff
        self.diff = {"before": {}, "after": {}}
        # key -> device whose import ended registered: its identity comes with the sync
        self.registered_now = {}

    # -- reading ----------------------------------------------------------------------------------

    def identities(self, keys):
        """{device key: [identity, ...]} for the named devices only."""
        found = {}
        for identity in paged(self.graph, IDENTITIES, IDENTITY_FIELDS):
            key = (identity.get("serialNumber") or "").lower()
            if key in keys:
                found.setdefault(key, []).append(identity)
        return found

    # -- outcomes ---------------------------------------------------------------------------------

    def settle(self, device, outcome, reason="", fix=""):
        self.outcomes[device.key] = (outcome, reason, fix)

    def note(self, message):
        """A progress line: in the result, and in progress_file at once (the action plugin shows it in the job log)."""
        self.progress.append(message)
        if self.progress_file:
            with open(self.progress_file, "a", encoding="utf-8") as handle:
                handle.write(message + "\n")

    def write(self, method, path, body=None, idempotent=None):
        self.writes += 1
        return self.graph.request(method, path, body=body, idempotent=idempotent)

    # -- present ----------------------------------------------------------------------------------

    def present(self):
        keys = {device.key for device in self.devices}
        identities = self.identities(keys)
        counted = []
        staging = staging_rows(self.graph, keys, counted)
        self.staging_count = len(counted)
        to_update, to_import, adopted, missing_hash, stale = [], [], {}, [], []
        for device in self.devices:
            found = identities.get(device.key, [])
            if len(found) > 1:
                self.settle(device, "failed", "%d Autopilot device identities have this serial number." % len(found),
                            "Delete the stale ones in Intune (Devices > Windows > Enrollment > Devices), then run again.")
            elif found:
                to_update.append((device, found[0]))
                # Rows an earlier run left after the import ended are only clutter now.
                stale.extend(row for row in staging.get(device.key, []) if _import_status(row) in FINISHED_IMPORT)
            else:
                rows = staging.get(device.key, [])
                # A finished row (kept by cleanup, or a lost DELETE) says nothing of now: a registration it made may
                # have been deleted since, so the device is imported again and Intune tells (806 when still here).
                waiting = [row for row in rows if _import_status(row) not in FINISHED_IMPORT]
                if waiting:
                    # An earlier run (or a lost answer) imported it: follow that instead of importing again.
                    adopted.update((row["id"], device) for row in waiting)
                elif device.hardware_hash:
                    to_import.append(device)
                else:
                    missing_hash.append(RowError(device.source, "The device is not registered and has no hardware hash.",
                                                 "Give its Hardware Hash (or hardware_hash) to import it.", device.serial_number))
                # The device is imported anew; finished rows of earlier imports stay unless cleanup removes them.
                stale.extend(row for row in rows if row not in waiting)
        if missing_hash:
            return missing_hash
        self.note("%d devices named: %d registered, %d with an import under way, %d to import in batches of %d"
                  % (len(self.devices), len(to_update), len(set(map(id, adopted.values()))), len(to_import), self.batch_size))
        if not self.check_mode:
            for row in stale:
                self.clean_up(row["id"], _import_status(row))
        for device, identity in to_update:
            self.update(device, identity)
        if adopted:
            self.note("Following %d staging rows an earlier run left" % len(adopted))
            if self.check_mode:
                for device in adopted.values():
                    self.settle(device, "imported", "An earlier run's import is under way; the run would follow it.")
            else:
                self.finish_batch(adopted)
        for device in to_import:
            if self.want_diff:
                self.diff["after"][device.serial_number] = _import_view(device)
            if self.check_mode:
                self.settle(device, "imported")
        if to_import and not self.check_mode:
            self.import_all(to_import)
        return []

    def update(self, device, identity):
        actions = planned_actions(device, identity)
        if not actions:
            self.settle(device, "unchanged")
            return
        if self.want_diff:
            before = _identity_view(identity)
            after = dict(before)
            for _action, body in actions:
                after.update(body or {"userPrincipalName": "", "addressableUserName": ""})
            self.diff["before"][device.serial_number] = before
            self.diff["after"][device.serial_number] = after
        if self.check_mode:
            self.settle(device, "updated")
            return
        try:
            for action, body in actions:
                self.write("POST", "%s/%s/%s" % (IDENTITIES, identity["id"], action), body=body, idempotent=True)
        except GraphError as exc:
            self.settle(device, "failed", "Intune refused the change: %s" % exc,
                        "Check the assigned user's UPN (a user of this tenant licensed for Intune) and the group tag.")
            return
        self.settle(device, "updated")

    # -- import -----------------------------------------------------------------------------------

    def import_all(self, devices):
        batches = [devices[start:start + self.batch_size] for start in range(0, len(devices), self.batch_size)]
        for number, batch in enumerate(batches, start=1):
            rows = self.send_batch(batch)
            self.note("Batch %d of %d: %d devices sent" % (number, len(batches), len(rows)))
            if rows and not self.finish_batch(rows):
                for later in batches[number:]:
                    for device in later:
                        self.settle(device, "failed", "Not sent: an earlier batch did not finish within import_timeout.",
                                    "Run the task again once Intune has caught up, or raise import_timeout.")
                return

    def send_batch(self, batch):
        """{staging row id: device} of one import POST; a lost answer is looked for, never sent twice."""
        import_id = str(uuid.uuid4())
        body = {"importedWindowsAutopilotDeviceIdentities": [_import_item(device, import_id) for device in batch]}
        by_key = {device.key: device for device in batch}
        try:
            answer = self.write("POST", STAGING + "/import", body=body)
            return {row["id"]: by_key[row["serialNumber"].lower()] for row in answer.get("value", [])}
        except WriteOutcomeUnknown:
            pass
        look = waiter.wait_for(lambda: self._rows_of_import(import_id) or None,
                               timeout=min(LOST_IMPORT_LOOK, self.graph.max_retry_wait),
                               waited_for="the rows of an import whose answer was lost", max_delay=POLL_CAP)
        rows = {row["id"]: by_key[row["serialNumber"].lower()] for row in look.value or []}
        found = set(id(device) for device in rows.values())
        for device in batch:
            if id(device) not in found:
                self.settle(device, "failed", "The answer to its import was lost and Intune shows no row for it.",
                            "Run the task again: a run recognises earlier imports by serial number and does not import twice.")
        return rows

    def _rows_of_import(self, import_id):
        return [row for row in paged(self.graph, STAGING, STAGING_FIELDS) if row.get("importId") == import_id]

    def finish_batch(self, rows):
        """Follow staging rows to their end state, settle their devices and delete the rows. False when
        the wait ran out (the rows still importing are kept, for the next run to follow)."""
        states = {}
        self.staging_count += len(rows)

        def check():
            for row in self.rows_now([row_id for row_id in rows if row_id not in states]):
                if row["id"] in rows and _import_status(row) in FINISHED_IMPORT:
                    states[row["id"]] = row["state"]
            return True if len(states) == len(rows) else None

        wait = waiter.wait_for(check, timeout=self.import_timeout, waited_for="the import of %d devices" % len(rows),
                               max_delay=POLL_CAP)
        self.note("Imports finished: %d of %d, after %.0f s" % (len(states), len(rows), wait.seconds))
        for row_id, device in rows.items():
            state = states.get(row_id)
            if state is None:
                self.settle(device, "failed", "Intune was still importing it after import_timeout (%d s)." % self.import_timeout,
                            "Run the task again later: it follows the import instead of sending it again.")
                continue
            self.settle_import(device, state)
            self.clean_up(row_id, state["deviceImportStatus"])
        return wait.done

    def rows_now(self, row_ids):
        """The staging rows with these ids as Graph has them now: by id, 20 to a batch, when that takes fewer requests
        than a listing of the whole collection (leftovers of earlier runs or other tools make it long), else listed."""
        if -(-len(row_ids) // BATCH_SIZE) < -(-self.staging_count // PAGE_SIZE):
            reads = [("%s/%s" % (STAGING, row_id), {"$select": STAGING_FIELDS}) for row_id in row_ids]
            yield from (row for row in batched_get(self.graph, reads, api="beta") if row)
            return
        self.staging_count = 0
        for row in paged(self.graph, STAGING, STAGING_FIELDS):
            self.staging_count += 1
            yield row

    def clean_up(self, row_id, status):
        """Delete a finished staging row when `cleanup` asks for it: all rows, or only failed ones."""
        if self.cleanup == "all" or (self.cleanup == "failed" and status in ("error", "partial")):
            self.delete_staging(row_id)

    def settle_import(self, device, state):
        name = state.get("deviceErrorName") or ""
        if state["deviceImportStatus"] == "complete":
            self.settle(device, "imported")
            self.registered_now[device.key] = device
        elif name == ALREADY_HERE:
            if device.key in self.registered_now:
                return  # a second row of the same device (an earlier import's): this run's outcome stands
            # The hash is registered here already (an earlier import that waits for a sync): present, as asked,
            # unless no identity of this serial shows up after a sync (_settle_identities).
            self.settle(device, "unchanged", "Already registered in this tenant.")
            self.registered_now[device.key] = device
        else:
            reason, fix = IMPORT_ERRORS.get(name, (
                "Intune refused the import: %s (code %s)." % (name or "no error name", state.get("deviceErrorCode")),
                "Check the serial number and hash, then run again; Microsoft's Autopilot import troubleshooting lists the codes."))
            self.settle(device, "failed", reason, fix)

    def delete_staging(self, row_id):
        try:
            self.write("DELETE", "%s/%s" % (STAGING, row_id))
        except GraphError as exc:
            # The registration stands without its staging row; a leftover row is only clutter.
            self.module.warn("Could not delete the import row %s: %s" % (row_id, exc))

    # -- sync -------------------------------------------------------------------------------------

    def sync(self, requested=True):
        """Make the identities of the devices registered now appear, and find them, whatever Intune does with
        the sync: accept it, refuse it while a sync runs (409) or within 10 minutes of the last one (429), or
        (unsettled: reference, step 4) sync by itself after an import. Found identities get what their import
        could not carry. What happened, as a result entry: `request` (what became of the sync request),
        `status` (the sync's end) and `identities` (how many were found)."""
        if not self.registered_now:
            return {"status": "not_needed", "request": "not_needed"}
        if self.check_mode:
            return {"status": "check_mode", "request": "check_mode"}
        report = {"status": "disabled", "request": "disabled", "waits": []}
        look = self._look() if not requested else None
        synced = False  # a sync of ours ended after the imports: an identity not listed now is not coming
        for _attempt in (1, 2) if requested else ():
            report["request"] = self._request_sync(report)
            if report["request"] == "accepted":
                wait = self._wait_for_sync("the Autopilot sync", ours=True)
                report["waits"].append(wait.report())
                report["status"] = "running" if not wait.done else (
                    "failed" if wait.value.get("syncStatus") == "failed" else "completed")
                synced = report["status"] == "completed"
                look = self._look()
                break
            if report["request"] == "refused_throttled":
                # Intune may sync by itself: the identities are waited for as long as a 429 would be waited out.
                report["status"] = "throttled"
                looks = []

                def all_listed():
                    looks.append(self._look())
                    return True if not looks[-1][1] else None
                wait = waiter.wait_for(all_listed, timeout=min(self.import_timeout, self.graph.max_retry_wait),
                                       waited_for="the imported devices, the sync being refused", max_delay=POLL_CAP)
                report["waits"].append(wait.report())
                look = looks[-1]
                break
            # A sync runs, maybe the one Intune started for these imports: if it brings them, none of ours is needed.
            wait = self._wait_for_sync("the running Autopilot sync")
            report["waits"].append(wait.report())
            report["status"] = "completed" if wait.done else "running"
            look = self._look()
            if not wait.done or not look[1]:
                break
        found = len(self.registered_now) - len(look[1])
        missing = self._settle_identities(*look, synced=synced)
        report["identities"] = {"found": found, "missing": missing}
        if missing:
            report["msg"] = self._missing_message(report, missing)
        self.note("Autopilot sync %s (%s); %d of %d devices listed" % (report["status"], report["request"], found, len(self.registered_now)))
        return report

    def _request_sync(self, report):
        """accepted, refused_in_progress (409) or refused_throttled (429 beyond max_retry_wait)."""
        try:
            self.write("POST", SETTINGS + "/sync")
        except GraphThrottled as exc:
            report["refusal"] = str(exc)
            return "refused_throttled"
        except GraphError as exc:
            if exc.status != 409:
                raise
            return "refused_in_progress"
        return "accepted"

    def _wait_for_sync(self, what, ours=False):
        """Wait until no sync runs; for `ours`, until one ended after the last manual trigger (ours): right after
        the trigger Graph may still show the previous sync as completed."""
        def check():
            settings = self.graph.get(SETTINGS) or {}
            if settings.get("syncStatus") == "inProgress":
                return None
            if ours and _instant(settings.get("lastSyncDateTime")) < _instant(settings.get("lastManualSyncTriggerDateTime")):
                return None
            return settings
        return waiter.wait_for(check, timeout=self.import_timeout, waited_for=what, max_delay=POLL_CAP)

    def _look(self):
        """([(device, identity)] of the devices registered now whose identity differs from what was asked,
        {key: device} of those not listed), from one paged listing. Only the identities that differ are kept:
        a large import's are never all held at once."""
        unlisted = dict(self.registered_now)
        differing = []
        for identity in paged(self.graph, IDENTITIES, IDENTITY_FIELDS):
            device = unlisted.pop((identity.get("serialNumber") or "").lower(), None)
            if device is not None and planned_actions(device, identity):
                differing.append((device, identity))
        return differing, unlisted

    def _settle_identities(self, differing, unlisted, synced):
        """Set on the listed identities what their import could not carry (the user's display name, the
        properties of a device registered earlier); how many devices registered now are not listed and not
        failed (they are still to come)."""
        for device, identity in differing:
            imported = self.outcomes[device.key][0] == "imported"
            self.update(device, identity)
            if imported and self.outcomes[device.key][0] != "failed":
                self.settle(device, "imported")  # an import that needed a touch is still an import
        missing = 0
        for device in unlisted.values():
            if self.outcomes[device.key][0] == "imported":
                missing += 1
            elif synced:
                # ZtdDeviceAlreadyAssigned keys on the hash, and also answers for a record Intune holds without an
                # Autopilot identity (reference, step 4): after our sync no device has this serial number.
                self.settle(device, "failed", "Intune says the hardware hash is registered already (ZtdDeviceAlreadyAssigned), yet "
                            "after a sync no Autopilot device has this serial number: the hash is registered under another serial "
                            "number, or Intune holds a record of the device without an Autopilot registration.",
                            "Look for a device with this hash among the Autopilot devices (a mistyped serial number?) and deregister "
                            "the wrong one, or delete the device's record in Intune (Devices > Windows), then run again.")
            else:
                missing += 1
                self.settle(device, "unchanged", "Intune says its hardware hash is registered already (ZtdDeviceAlreadyAssigned); "
                            "it is not listed until Intune's next Autopilot sync.")
        return missing

    def _missing_message(self, report, missing):
        """What to tell of devices registered now that are not listed, by what became of the sync."""
        later = ("they appear after the next Autopilot sync. Sync in the portal (Intune allows one per 10 minutes), or "
                 "run the task again after it: it then sets what their import could not carry (display names).")
        if report["request"] == "refused_throttled":
            return ("Intune refused the Autopilot sync, as it allows one per 10 minutes (%s), and %d registered devices "
                    "were not listed after waiting %.0f s for Intune to sync by itself: %s"
                    % (report["refusal"], missing, report["waits"][-1]["seconds"], later))
        if report["request"] == "disabled":
            return "%d devices were registered and are not listed yet (sync is false): %s" % (missing, later)
        if report["status"] == "running":
            return ("The Autopilot sync was still running after import_timeout; %d registered devices are not listed yet: "
                    "they appear when it ends. Run the task again then to set what their import could not carry." % missing)
        if report["status"] == "failed":
            return ("Intune reports the Autopilot sync failed; %d registered devices are not listed: Sync in the portal, "
                    "or run the task again in 10 minutes." % missing)
        return ("%d registered devices are not listed yet after the Autopilot sync; Intune shows them later. Run the task "
                "again then to set what their import could not carry." % missing)

    # -- absent -----------------------------------------------------------------------------------

    def absent(self):
        identities = self.identities({device.key for device in self.devices})
        for device in self.devices:
            found = identities.get(device.key, [])
            if not found:
                self.settle(device, "unchanged", "Not registered.")
                continue
            enrolled = [identity for identity in found if identity.get("enrollmentState") == "enrolled"]
            if enrolled:
                self.settle(device, "skipped", "The device is enrolled in Intune; its Autopilot registration cannot be deleted while it is.",
                            "Delete (or retire) its managed device in Intune first, then run again.")
                continue
            if self.want_diff:
                self.diff["before"][device.serial_number] = _identity_view(found[0])
            if self.check_mode:
                self.settle(device, "deleted")
                continue
            try:
                for identity in found:
                    self.write("DELETE", "%s/%s" % (IDENTITIES, identity["id"]))
            except GraphError as exc:
                self.settle(device, "failed", "Intune refused the deletion: %s" % exc, "Check the device in Intune, then run again.")
                continue
            self.settle(device, "deleted")

    # -- the run ---------------------------------------------------------------------------------

    def run(self, state):
        """Do the work; returns what is wrong with the input given what the tenant holds (found before
        any write, so nothing was written), else []."""
        if state == "absent":
            self.absent()
            return []
        return self.present()

    def counts(self):
        """Devices per outcome; a device a failure stopped the run before is failed, as listed()."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for device in self.devices:
            counts[self.outcomes.get(device.key, ("failed",))[0]] += 1
        return counts

    def listed(self, wanted="failed"):
        """{serial_number, source, reason, fix} of each device with that outcome, in input order."""
        for device in self.devices:
            outcome, reason, fix = self.outcomes.get(device.key, ("failed", "Not processed: the run stopped before it.", "Run the task again."))
            if outcome == wanted:
                yield dict(serial_number=device.serial_number, source=device.source, reason=reason, fix=fix)


def planned_actions(device, identity):
    """[(action, body)] that bring one identity to what the device entry asks (empty: nothing differs)."""
    actions = []
    current_user = identity.get("userPrincipalName") or ""
    if device.assigned_user == "" and current_user:
        actions.append(("unassignUserFromDevice", None))
    body = {}
    if device.group_tag is not None and device.group_tag != (identity.get("groupTag") or ""):
        body["groupTag"] = device.group_tag
    if device.assigned_user:
        if device.assigned_user.lower() != current_user.lower():
            # A new user's display name replaces the last user's, even when none is given.
            body["userPrincipalName"] = device.assigned_user
            body["addressableUserName"] = device.assigned_user_display_name or ""
        elif device.assigned_user_display_name is not None and \
                device.assigned_user_display_name != (identity.get("addressableUserName") or ""):
            body["addressableUserName"] = device.assigned_user_display_name
    if body:
        # One action sets the tag, the user and the name together (assignUserToDevice sets only the user).
        actions.append(("updateDeviceProperties", body))
    return actions


def _import_item(device, import_id):
    item = {"@odata.type": "#microsoft.graph.importedWindowsAutopilotDeviceIdentity", "serialNumber": device.serial_number,
            "hardwareIdentifier": device.hardware_hash, "importId": import_id}
    if device.product_key:
        item["productKey"] = device.product_key
    if device.group_tag:
        item["groupTag"] = device.group_tag
    if device.assigned_user:
        item["assignedUserPrincipalName"] = device.assigned_user
    return item


def _import_status(row):
    """A staging row's deviceImportStatus; a row without state yet is still being imported."""
    return (row.get("state") or {}).get("deviceImportStatus") or "unknown"


def _instant(value):
    """A Graph timestamp as a datetime (missing or unreadable: the earliest)."""
    try:
        return datetime.datetime.fromisoformat((value or "").replace("Z", "+00:00"))
    except ValueError:
        return datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)


def _identity_view(identity):
    return {name: identity.get(name) or "" for name in ("groupTag", "userPrincipalName", "addressableUserName")}


def _import_view(device):
    return {"groupTag": device.group_tag or "", "userPrincipalName": device.assigned_user or "",
            "addressableUserName": device.assigned_user_display_name or ""}
