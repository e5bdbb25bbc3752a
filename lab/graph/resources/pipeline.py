"""One tick for the whole Autopilot pipeline: its stages run in causal order (import -> sync -> Entra
device -> dynamic membership -> profile assignment), each from the lab time its cause happened, so a
single large clock advance plays the chain through. Writes to groups and profiles note when targeting
inputs changed."""

from . import autopilot_devices, directory, dynamic_membership
from .timeline import WAKE, retarget_all

STAGES = (autopilot_devices.advance_imports, autopilot_devices.advance_sync, directory.advance,
          dynamic_membership.advance, autopilot_devices.advance_targeting)


def tick(lab):
    if lab.asleep(WAKE):
        return
    now, due = lab.clock.now(), []
    lab.wakes[WAKE] = float("inf")   # stages lower it (schedule) for work they create
    for stage in STAGES:
        stage(lab, now, due)
    lab.wake(WAKE, min(due, default=float("inf")))


def on_write(lab, req):
    now = lab.clock.now()
    segments = req.path.split("/")
    if segments[2:3] == ["groups"]:
        dynamic_membership.note_rule_changes(lab, now)
        retarget_all(lab, now)    # members, deletion: any may change which profile targets a device
    elif "windowsAutopilotDeploymentProfiles" in segments:
        retarget_all(lab, now)


def register(registry):
    registry.on_tick(tick)
    registry.on_write(on_write)
