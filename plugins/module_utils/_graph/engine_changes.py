# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Writing what differs, for the desired-state engine (engine.py): the PATCH of changed properties, the properties
written by action, and the delete. Only a run that changes or deletes an object imports this.
"""

from __future__ import annotations

import copy

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import without_annotations, set_path


def update(engine, existing, obj, desired, changed_props):
    """PATCH what differs and write the action-written properties; obj (a copy of existing) takes what was written."""
    patch = patch_body(engine, existing, desired, changed_props)
    if len(patch) > 1:
        engine.write("PATCH", engine.item_path(existing["id"]), patch)
    write_actions(engine, existing["id"], changed_props, desired)
    # Only what was written: a value equal after normalizing (case, order) stays as Graph holds it.
    for prop in changed_props:
        set_path(obj, prop.graph, desired[prop.graph])


def patch_body(engine, current, desired, changed_props):
    """Only what differs; a complex value is sent whole (Graph replaces it), current values kept."""
    body = {"@odata.type": engine.resource.odata_type}
    for prop in changed_props:
        if prop.write_action:
            continue
        top = prop.graph.split(".", 1)[0]
        if "." in prop.graph and top not in body:
            body[top] = without_annotations(copy.deepcopy(current.get(top) or {}))
            for path, value in desired.items():
                if path.startswith(top + "."):
                    set_path(body, path, value)
        elif "." not in prop.graph:
            body[top] = desired[prop.graph]
    return body


def write_actions(engine, object_id, changed_props, desired):
    for prop in changed_props:
        if prop.write_action:
            leaf = prop.graph.rsplit(".", 1)[-1]
            engine.write("POST", engine.item_path(object_id, prop.write_action), {leaf: desired[prop.graph]}, idempotent=True)


def delete(engine, obj, assignments):
    if engine.resource.assignments and engine.resource.assignments.style == "per_item":
        # Graph refuses to delete an object that still has per-item assignments.
        for assignment in assignments:
            engine.write("DELETE", engine.item_path(obj["id"], "assignments", assignment["id"]))
    engine.write("DELETE", engine.item_path(obj["id"]))
