# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Recreate, for the desired-state engine (engine.py): replacing an object whose create-only settings or type
must change. The replacement is created before anything is deleted, so a failure at any point leaves the old
object (settings and assignments) in place; the next run with recreate: true finishes the move. Only a run
that replaces an object imports this.
"""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import (
    EngineError,
    error_details,
    error_message,
    get_path,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_assignments import add_assignment
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_changes import delete, write_actions
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_create import created_view
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_targets import target_key, type_name
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import GraphError


def recreate(engine, existing, current_assignments, current_keys, desired_keys, blocked, type_changed):
    resource = engine.resource
    if not engine.params.get("recreate"):
        reasons = [
            "%s cannot change on an existing %s (Graph property %s: current %r, requested %r)"
            % (prop.option, resource.noun, prop.graph, prop.from_graph(get_path(existing, prop.graph)), engine.params.get(prop.option))
            for prop in blocked
        ]
        if type_changed:
            reasons.append(
                "the existing %s '%s' (id %s) has %s %s, and this module manages %s"
                % (resource.noun, existing.get(resource.key_prop.graph), existing["id"], resource.type_option,
                   type_name(existing), resource.odata_type.lstrip("#"))
            )
        raise EngineError("; ".join(reasons) + ". Set recreate: true to create it again with these settings; its assignments "
                          "move to the new %s before the old one is deleted." % resource.noun)
    engine.final_keys = desired_keys if desired_keys is not None else current_keys
    desired = engine.desired_values(base=existing)
    before = engine.with_assignments(engine.option_view(existing), current_keys)
    body = engine.create_body(desired)
    try:
        created = engine.create(body, replacing=existing)
    except (GraphError, EngineError) as exc:
        raise EngineError(
            "recreate of the %s '%s' stopped before anything changed: creating its replacement failed: %s The old %s (id %s) "
            "is untouched." % (resource.noun, engine.params.get(resource.key_option), error_message(exc), resource.noun, existing["id"]),
            **error_details(exc)
        ) from None
    if engine.adopted:
        # Another run's replacement was created first: the move is that run's to make.
        raise EngineError(
            "recreate of the %s '%s' stopped: another run replaced it at the same time, and its replacement (id %s) was "
            "created first, so this run deleted its own (id %s). The old %s (id %s) is left to that run; run the task again "
            "with recreate: true to finish whatever it has not."
            % (resource.noun, engine.params.get(resource.key_option), created["id"], engine.duplicates["deleted"][0], resource.noun,
               existing["id"]),
            duplicates=engine.duplicates)
    if created is None:  # check mode
        obj = dict(body, id=None)
    else:
        obj = created
        try:
            write_actions(engine, created["id"], engine.differences(created, desired), desired)
            move_assignments(engine, existing, current_assignments, created, [], engine.final_keys)
        except (GraphError, EngineError) as exc:
            raise recreate_stopped(engine, existing, created, exc) from None
    engine.diff_before = before
    engine.diff_after = created_view(engine, obj, desired)
    return obj


def finish_recreate(engine, replacement, replacement_assignments, replacement_keys):
    """Finish a recreate that stopped half-way: settings on the replacement, every assignment moved, old deleted."""
    old = engine.predecessor
    old_assignments = engine.assignments_of(old) if engine.resource.assignments else []
    carried = list(dict.fromkeys(replacement_keys + [target_key(a.get("target") or {}) for a in old_assignments]))
    desired_keys = engine.plan_assignments(carried, old)
    obj = engine.run_update(replacement, replacement_assignments, replacement_keys, None)
    engine.final_keys = desired_keys if desired_keys is not None else carried
    try:
        move_assignments(engine, old, old_assignments, replacement, replacement_assignments, engine.final_keys)
    except (GraphError, EngineError) as exc:
        raise recreate_stopped(engine, old, replacement, exc) from None
    engine.diff_before = dict(engine.diff_before, assignments=engine.diff_assignments(carried), replaces=old["id"])
    engine.diff_after = dict(engine.diff_after, assignments=engine.diff_assignments(engine.final_keys))
    return obj


def move_assignments(engine, old, old_assignments, new, new_assignments, keys):
    """Give `new` the targets `keys`, then delete `old` with its assignments.

    Graph lets only one deployment profile target all devices, so that target leaves the old object right
    before the new one takes it, and goes back if the new one cannot take it."""
    all_devices = ("all_devices", None)
    moving = None
    if engine.resource.assignments and engine.resource.assignments.style == "per_item" and all_devices in keys:
        moving = next((a for a in old_assignments if target_key(a.get("target") or {}) == all_devices), None)
    if moving is None:
        engine.apply_assignments(new["id"], new_assignments, keys)
    else:
        engine.apply_assignments(new["id"], new_assignments, [key for key in keys if key != all_devices])
        engine.write("DELETE", engine.item_path(old["id"], "assignments", moving["id"]))
        old_assignments = [a for a in old_assignments if a is not moving]
        try:
            add_assignment(engine, new["id"], all_devices)
        except GraphError as exc:
            try:
                add_assignment(engine, old["id"], all_devices)
            except GraphError:
                raise EngineError(
                    "%s The all devices target was taken off %s to give it to %s, and could not be put back: neither "
                    "targets all devices now. Add all_devices: true to the assignments of the task and run it again."
                    % (error_message(exc), old["id"], new["id"]), **error_details(exc)
                ) from None
            raise
    delete(engine, old, old_assignments)


def recreate_stopped(engine, old, new, exc):
    resource = engine.resource
    return EngineError(
        "recreate of the %s '%s' stopped half-way: %s Nothing was lost: the old %s (id %s) still exists, with whatever "
        "assignments have not moved yet, next to its replacement (id %s) with the requested settings. Run the task again "
        "with recreate: true to finish: it moves the remaining assignments to %s and deletes %s."
        % (resource.noun, engine.params.get(resource.key_option), error_message(exc), resource.noun, old["id"], new["id"], new["id"], old["id"]),
        recreate=dict(old_id=old["id"], new_id=new["id"], finished=False),
        **error_details(exc)
    )


def one_of_namesakes(engine, matches):
    """Of several objects with the key: with `recreate: true`, the replacement of a recreate that stopped half-way (the
    old one becomes the engine's predecessor); else the refusal, saying when it looks like such a recreate."""
    resource = engine.resource
    pair = interrupted_recreate(engine, matches)
    if pair and engine.params.get("recreate") and engine.params["state"] == "present":
        replacement, engine.predecessor = pair
        return replacement
    msg = "%s: %d %ss are named '%s' (ids %s). Set id to choose one." % (
        resource.key_option, len(matches), resource.noun, engine.params.get(resource.key_option), ", ".join(sorted(obj["id"] for obj in matches)))
    if pair:
        msg += (" This looks like a recreate that stopped half-way: %s has the requested settings and %s does not. Run the task "
                "again with recreate: true to move the assignments to %s and delete %s." % (pair[0]["id"], pair[1]["id"], pair[0]["id"], pair[1]["id"]))
    raise EngineError(msg)


def conforms(engine, obj):
    """Whether obj has the type and the create-only values the options ask for."""
    if not engine.resource.is_type(obj):
        return False
    return not [prop for prop in engine.differences(obj, engine.desired_values()) if prop.create_only]


def interrupted_recreate(engine, matches):
    """(replacement, old) when two objects share the key and exactly one conforms to the options."""
    conforming = [obj for obj in matches if conforms(engine, obj)]
    if len(matches) != 2 or len(conforming) != 1:
        return None
    return conforming[0], next(obj for obj in matches if obj is not conforming[0])
