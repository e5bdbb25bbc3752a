# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Creating, for the desired-state engine (engine.py). Only a run that creates (or recreates) imports this.

Graph does not keep names unique for these objects, and a look-up by name then a POST leaves a window: two runs
on one tenant (two hosts of a play, two jobs) can both find nothing and both create. So after every create the
name is looked up again, once Graph lists the new object; of several objects with the name, the oldest (created
time, then id) is the one to keep. The run that made a newer one deletes it before giving it anything (settings
written by action, assignments) and makes the older one as its options say; a newer one another run made is left
to that run, and reported. Graph lists new objects after a delay: waiting until the listing shows this run's
object means an object created before it (an earlier run's create whose answer was lost, another run's) is
listed too, as far as Graph lists objects in the order it made them, which is what it is seen to do and what the
lab's consistency_delay plays; `create_settle_time` is the look before a create for anyone who would not rely on it.

Groups: Graph has an upsert keyed on `uniqueName` (PATCH /groups(uniqueName='...') with Prefer: create-if-missing,
v1.0 group-upsert, and uniqueName is on group in the v1.0 metadata), which would close the window for groups in
Graph itself. It is not used: groups made in the portal, by peers or by earlier versions of this collection have no
uniqueName, so the look-up by display name must still come first and decide; uniqueName cannot change while the
display name can, so an upsert keyed on an old name would write to a renamed group; and the sources do not settle
what a uniqueName may hold or which application permission the upsert needs (the English page names
Group.ReadWrite.All, the translated ones Group.Create), nor show it run by a peer tool against a tenant.
"""

from __future__ import annotations

import re

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import EngineError, set_path
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_changes import write_actions
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_targets import target_key
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import WriteOutcomeUnknown
from ansible_collections.intune.autopilot.plugins.module_utils._graph.waiter import wait_for

# The wait the failure after a lost create names: Graph documents no bound on how late it lists a new object (its
# lists are seen to lag by seconds to tens of seconds; Entra's "Designing for eventual consistency" gives no figure),
# so five minutes, well past what is seen, for a run that follows a failure.
LOST_CREATE_SETTLE_TIME = 300
CREATED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?")


def create(engine, body, replacing=None):
    """POST the object and return it; when the answer is lost, find what Graph made instead of sending it twice.
    Then look again by name (`keep_the_oldest`): the object returned may be an older one another run made."""
    try:
        created = engine.write("POST", engine.collection, body)
    except WriteOutcomeUnknown as exc:
        found = confirm_created(engine, replacing)
        if found is not None:
            return found
        resource = engine.resource
        raise EngineError(
            "%s The %s '%s' did not appear within %.0f s, so the create was not sent again (that could make two). Graph may "
            "still list it later: run the task again in %d s or later, or now with create_settle_time: %d, which looks for "
            "the %s that long before creating it. A run that creates it anyway keeps the older of the two and deletes its own."
            % (exc, resource.noun, engine.params.get(resource.key_option), settle_window(engine), LOST_CREATE_SETTLE_TIME,
               LOST_CREATE_SETTLE_TIME, resource.noun),
            waits=engine.waits, create_settle_time=LOST_CREATE_SETTLE_TIME, **exc.details()
        ) from None
    if created is None:  # check mode
        return None
    return keep_the_oldest(engine, created, replacing)


def settle_window(engine):
    """How long a new object is looked for: the window for a lost create, or create_settle_time when longer."""
    return max(engine.confirm_window(), engine.params.get("create_settle_time") or 0)


def look_before_create(engine):
    """The object with the name once Graph had `create_settle_time` seconds to list it, or None (create_settle_time)."""
    name = engine.params.get(engine.resource.key_option)
    wait = wait_for(engine.find, engine.params["create_settle_time"],
                    "the %s '%s' to be listed before creating it" % (engine.resource.noun, name))
    engine.waits.append(wait.report())
    return wait.value


def confirm_created(engine, replacing=None):
    """The object a create whose answer was lost made, looked for over `settle_window()` seconds, or None."""
    name = engine.params.get(engine.resource.key_option)

    def created():
        found = [obj for obj in engine.matches_by_key() if replacing is None or obj["id"] != replacing["id"]]
        if len(found) > 1:
            raise EngineError(
                "The answer to creating the %s '%s' was lost, and now %d of them exist (ids %s). Delete the extra one, "
                "then run the task again." % (engine.resource.noun, name, len(found), ", ".join(sorted(obj["id"] for obj in found)))
            )
        return found[0] if found else None

    wait = wait_for(created, settle_window(engine), "the %s '%s' created without an answer" % (engine.resource.noun, name))
    engine.waits.append(wait.report())
    if wait.done:
        wait.value.pop("assignments", None)
    return wait.value


def creation_order(row):
    """Oldest first: created time (Graph writes 0 to 7 decimals), then id; an object without a created time last."""
    match = CREATED.match(row.get("createdDateTime") or "")
    if not match:
        return (1, "", "", row["id"].lower())
    return (0, match.group(1), (match.group(2) or "").ljust(9, "0"), row["id"].lower())


def namesakes_listed(engine, created, replacing):
    """Objects of the resource with the name (not the one being replaced), once the listing shows `created`; else None."""
    resource = engine.resource
    name = engine.params.get(resource.key_option)

    def owned(row):
        if resource.owns(row) or "@odata.type" in row:
            return resource.owns(row)
        # Graph left @odata.type out under $select: the read by id tells (as in matches_by_key).
        return resource.owns(engine.graph.get_or_none(engine.item_path(row["id"]), api=resource.api) or {})

    rows = [row for row in engine.list_keys(("createdDateTime",)) if resource.key_matches(row, name)
            and not (replacing and row["id"] == replacing["id"])]
    if not any(row["id"] == created["id"] for row in rows):
        return None
    return [row for row in rows if row["id"] == created["id"] or owned(row)]


def keep_the_oldest(engine, created, replacing=None):
    """`created`, or the older object of its name another run made (`engine.adopted`), this run's one deleted."""
    resource = engine.resource
    name = engine.params.get(resource.key_option)
    wait = wait_for(lambda: namesakes_listed(engine, created, replacing), settle_window(engine),
                    "Graph to list the new %s '%s', to see whether another run created one too" % (resource.noun, name))
    if wait.polls > 1:
        engine.waits.append(wait.report())
    if not wait.done:
        engine.module.warn(
            "Graph did not list the new %s '%s' (id %s) within %.0f s, so whether another run created one at the same time "
            "could not be checked. Should a later run find two, keep the older one: delete the other, or set id."
            % (resource.noun, name, created["id"], wait.seconds))
        return created
    rows = sorted(wait.value, key=creation_order)
    if len(rows) == 1:
        return created
    oldest = rows[0]
    others = [row["id"] for row in rows[1:] if row["id"] != created["id"]]
    if oldest["id"] == created["id"]:
        engine.duplicates = dict(kept=created["id"], deleted=[], left=others)
        return created
    # Nothing was given to this run's object yet: deleting it loses nothing.
    engine.write("DELETE", engine.item_path(created["id"]))
    engine.duplicates = dict(kept=oldest["id"], deleted=[created["id"]], left=others)
    kept = engine.graph.get_or_none(engine.item_path(oldest["id"]), api=resource.api, params=engine.read_params)
    if kept is None:
        raise EngineError(
            "Another run created the %s '%s' (id %s) at the same time as this one, so this run deleted its own (id %s); "
            "then %s was gone too. Run the task again." % (resource.noun, name, oldest["id"], created["id"], oldest["id"]),
            duplicates=engine.duplicates)
    engine.adopted = True
    return kept


def run_create(engine, desired, desired_keys):
    """Create the object the options describe (desired: its Graph values), then its write-action values and assignments."""
    body = engine.create_body(desired)
    created = create(engine, body)
    if engine.adopted:
        # Another run created it first and this run deleted its own copy: the older one is made as the options say,
        # its assignments planned again from what it has.
        engine.refuse_by_guard(created)
        current_assignments = engine.assignments_of(created) if engine.resource.assignments else []
        current_keys = [target_key(a.get("target") or {}) for a in current_assignments]
        return engine.run_update(created, current_assignments, current_keys, engine.plan_assignments(current_keys, created))
    engine.final_keys = desired_keys or []
    if created is None:  # check mode: nothing was sent, so nothing to act on
        obj = dict(body, id=None)
    else:
        obj = created
        write_actions(engine, created["id"], engine.differences(created, desired), desired)
        if engine.final_keys:
            engine.apply_assignments(created["id"], [], engine.final_keys)
    engine.diff_before = {}
    engine.diff_after = created_view(engine, obj, desired)
    return obj


def created_view(engine, obj, desired):
    """What the diff shows of a new object; the result shows write-action values as written."""
    for prop in engine.resource.props:
        if prop.write_action and prop.graph in desired:
            set_path(obj, prop.graph, desired[prop.graph])
    return engine.with_assignments(engine.option_view(obj, desired), engine.final_keys)
