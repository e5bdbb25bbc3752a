"""The lab-clock timings of the Autopilot pipeline (import -> sync -> identity -> Entra device -> dynamic
group -> profile assignment) and what its stages share. Every step stores the absolute lab time at which
it is due; pipeline.py advances them lazily, in causal order, so one large clock advance plays the whole
chain through with the timestamps it would have had."""

import math

from ..core import iso

WAKE = "autopilot-pipeline"

# Lab seconds. Real Graph takes minutes to hours; these keep the order and the shape, and tests move the
# frozen clock past them. config delay_scale multiplies them all (0 = at the next request).
DELAYS = {
    "import_pending": 10,        # imported row: unknown -> pending
    "import_done": 120,          # pending -> complete | error
    "sync": 120,                 # a sync runs this long (409 meanwhile)
    "sync_throttle": 600,        # 429 within 10 minutes of the previous manual sync (reference, step 4)
    "device_object": 300,        # identity -> its Entra device; a group tag change -> physicalIds
    "membership": 300,           # physicalIds or a rule change -> dynamic group members
    "profile_assignment": 600,   # deploymentProfileAssignmentStatus pending -> assignedInSync
}
# Graph's value for a non-nullable date that was never set.
NEVER = "0001-01-01T00:00:00Z"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"

IMPORTED = "importedWindowsAutopilotDeviceIdentities"
IDENTITIES = "windowsAutopilotDeviceIdentities"
DEVICES = "devices"
GROUPS = "groups"
PROFILES = "windowsAutopilotDeploymentProfiles"


def delay(lab, name):
    return DELAYS[name] * lab.config["delay_scale"]


def schedule(lab, at):
    lab.wake(WAKE, at)


def stamp(at):
    return iso(at)


def retry_after(seconds):
    return str(max(1, math.ceil(seconds)))


def retarget(lab, identity_id, at):
    """The profile targeting of this identity may have changed at lab time `at`."""
    identity = lab.objects.get(IDENTITIES, {}).get(identity_id)
    if identity is not None:
        identity["_retargetAt"] = min(identity.get("_retargetAt", at), at)
        schedule(lab, at)


def retarget_all(lab, at):
    for identity_id in lab.objects.get(IDENTITIES, {}):
        retarget(lab, identity_id, at)
