# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Group names and ids, and the assignment targets a run wants, for the desired-state engine (engine.py) and the
modules that name groups. Only a run that resolves a group imports this: the engine when the task manages assignments.
"""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import GUID_RE, IDS_PER_FILTER, PLANNED_GROUP_ID, EngineError
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_targets import target_kind


class GroupResolver:
    """Group display names and ids -> ids, checked before any write.

    `known`: {display name: id} that earlier tasks of the same run resolved (the action plugin keeps them
    with the run's token), trusted without asking Graph again; `looked_up` holds what this run asked for.
    With `check_mode`, a name known as PLANNED_GROUP_ID (a group a check-mode task would create) resolves to
    a stand-in id naming it, so a whole run in check mode can plan assignments to a group it has not made.
    """

    def __init__(self, graph, known=None, check_mode=False):
        self.graph = graph
        self.names = {}  # id -> display name, for output
        self.known = {name.casefold(): group_id.lower() for name, group_id in (known or {}).items()
                      if group_id != PLANNED_GROUP_ID or check_mode}
        self.looked_up = {}  # display name -> id, resolved here

    def resolve(self, value, known_ids):
        if GUID_RE.match(value):
            group_id = value.lower()
            if group_id not in known_ids and self.graph.get_or_none("groups/%s" % group_id, api="v1.0", params={"$select": "id,displayName"}) is None:
                raise ValueError("assignments: no group with id %s exists. Check the id, or name the group by its display name." % value)
            return group_id
        if value.casefold() in self.known:
            group_id = self.known[value.casefold()] or "(the group '%s' this run would create)" % value
            self.names[group_id] = value
            return group_id
        quoted = value.replace("'", "''")
        found = self.graph.list("groups", api="v1.0", params={"$filter": "displayName eq '%s'" % quoted, "$select": "id,displayName"})
        if not found:
            raise ValueError("assignments: no group named '%s'. Create it first (step 5) or give its id." % value)
        if len(found) > 1:
            raise ValueError(
                "assignments: %d groups are named '%s' (ids %s). Give the group id instead of the name."
                % (len(found), value, ", ".join(sorted(group["id"] for group in found)))
            )
        group_id = found[0]["id"].lower()
        self.names[group_id] = value
        self.looked_up[value] = group_id
        return group_id

    def names_of(self, group_ids):
        """{id: display name} of existing groups, read in batches of the most ids one filter takes."""
        names = {}
        ordered = sorted(group_ids)
        for start in range(0, len(ordered), IDS_PER_FILTER):
            quoted = ", ".join("'%s'" % group_id for group_id in ordered[start:start + IDS_PER_FILTER])
            for group in self.graph.list("groups", api="v1.0", params={"$filter": "id in (%s)" % quoted, "$select": "id,displayName"}):
                names[group["id"].lower()] = group["displayName"]
        return names


def plan_assignments(engine, current_keys, existing=None):
    """The target keys the `assignments` option asks for, groups resolved, checked against the resource's rules."""
    spec = engine.params["assignments"]
    resolver = GroupResolver(engine.graph, engine.params.get("group_ids"), check_mode=engine.module.check_mode)
    known_ids = {group_id for _kind, group_id in current_keys if group_id}
    try:
        if spec.get("set") is not None:
            desired = requested_keys(spec["set"], resolver, known_ids)
        else:
            added = requested_keys(spec.get("add"), resolver, known_ids)
            removed = requested_keys(spec.get("remove"), resolver, known_ids)
            desired = [key for key in current_keys + [k for k in added if k not in current_keys] if key not in removed]
    except ValueError as exc:
        raise EngineError(str(exc)) from None
    engine.group_names.update(resolver.names)
    engine.resolved_groups.update(resolver.looked_up)
    resource = engine.resource
    refusal = resource.check_assignments(engine.graph, existing, current_keys, desired) if resource.check_assignments else None
    if refusal:
        raise EngineError(refusal)
    return desired


def requested_keys(entries, resolver, known_ids):
    """Target keys of checked entries (see Resource.input_errors), group names resolved."""
    keys = []
    for entry in entries or []:
        kind = target_kind(entry)
        key = (kind, resolver.resolve(entry["group"], known_ids) if kind in ("include", "exclude") else None)
        if key not in keys:
            keys.append(key)
    return keys
