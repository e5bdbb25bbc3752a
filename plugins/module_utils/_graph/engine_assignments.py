# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The assignment writes of the desired-state engine (engine.py): only a run that changes assignments imports them."""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import EngineError, error_details, error_message
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_targets import build_target, target_key
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import GraphError, WriteOutcomeUnknown
from ansible_collections.intune.autopilot.plugins.module_utils._graph.waiter import wait_for


def write_assignments(engine, object_id, current, current_keys, desired_keys):
    """Write what differs between `current` (with their `current_keys`) and `desired_keys`."""
    style = engine.resource.assignments
    if style.style == "assign_action":
        by_key = {target_key(a.get("target") or {}): a["target"] for a in current}
        items = [{"@odata.type": style.item_type, "target": by_key.get(key) or build_target(key)} for key in desired_keys]
        post_assignment(engine, engine.item_path(object_id, "assign"), {style.body_key: items}, idempotent=True)
        return
    for assignment, key in zip(current, current_keys):
        if key not in desired_keys:
            engine.write("DELETE", engine.item_path(object_id, "assignments", assignment["id"]))
    for key in desired_keys:
        if key not in current_keys:
            add_assignment(engine, object_id, key)


def add_assignment(engine, object_id, key):
    body = {"@odata.type": engine.resource.assignments.item_type, "target": build_target(key)}
    try:
        post_assignment(engine, engine.item_path(object_id, "assignments"), body)
    except WriteOutcomeUnknown:
        if key not in [target_key(a.get("target") or {}) for a in engine.list_assignments(object_id)]:
            post_assignment(engine, engine.item_path(object_id, "assignments"), body)


def post_assignment(engine, path, body, idempotent=None):
    """POST an assignment. Intune may not know a group Entra made moments ago (replication: a new group
    can answer 404 in assignment calls), as when step 5 creates the group steps 6-8 assign to; a 404 is
    sent again (it was not applied) within the window a lost create is looked for, then fails."""
    refusals = []

    def accepted():
        try:
            engine.write("POST", path, body, idempotent=idempotent)
            return True
        except GraphError as exc:
            if exc.status != 404:
                raise
            refusals.append(exc)
            return None

    wait = wait_for(accepted, engine.confirm_window(), "Intune to know the assigned groups")
    if refusals:
        engine.waits.append(wait.report())
    if not wait.done:
        raise EngineError(
            "%s Intune did not find a group of these assignments for %.0f s. A group created moments ago can take "
            "longer to reach Intune: run the task again in a few minutes. Otherwise check that the group exists."
            % (error_message(refusals[-1]), wait.seconds), waits=engine.waits, **error_details(refusals[-1])
        )
