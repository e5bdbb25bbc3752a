# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The desired-state engine behind every Graph resource module.

A module describes its resource declaratively (`Resource` with its `Prop`s and `Assignments`); the
engine finds the object, compares only what the user set, builds the diff, and creates, updates
(PATCH of only what differs), deletes and assigns. Check mode sends no write.

Conventions
- An option left unset is not compared. On create, a property takes the tutorial's value
  (`Prop.create_default`) when the user left it unset.
- A create-only property that differs fails naming the option, unless `recreate: true`: the
  replacement is created first under the same name, the assignments move to it, and only then is the
  old object deleted. A recreate stopped half-way leaves both objects and says so; the next run with
  `recreate: true` recognises the pair (one conforms to the options, one does not) and finishes.
- Assignments take `add` / `remove` / `set`; targets the user did not name are kept.
- Names are matched case-insensitively, as Graph's `$filter ... eq` matches group names; a name that
  differs only in case is renamed.
- An object is found by name reading the least: a listing of id and name only (`list_light`: `$select`,
  `$top` of `LIST_PAGE_SIZE`, a server-side name filter where the collection takes one), then a read by id
  of each match, whole and with its assignments.
- A create whose answer was lost is looked for, not re-sent: see `CREATE_CONFIRM_WINDOW`. After every create the
  name is looked up again: of two runs that created it at once, the object made first is kept (engine_create.py).
- Every refusal is an `EngineError`, turned into `fail_json` once, in `run_resource_module`.
- What only some runs do lives next to this file and is imported when a run does it, so a task with nothing
  to change imports (and compiles from its AnsiballZ zip) no more than it needs: creating (engine_create.py),
  writing changes and deleting (engine_changes.py), assignment writes (engine_assignments.py), recreate and
  namesakes (engine_recreate.py), group names and the assignment plan (engine_groups.py, when a task manages
  assignments). Assignment targets as Graph and the option spell them are in engine_targets.py.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_targets import (
    KIND_OPTIONS,
    assignments_argument_spec,
    describe_target,
    target_key,
    target_kind,
    type_name,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph.module import GraphModule
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import GraphError

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
# After a create whose answer was lost (timeout, dropped connection, 5xx), how long to look for the
# object before giving up; Graph's lists can lag a create by tens of seconds. Bounded by max_retry_wait.
# The create is never sent again: if the object does not show, the task fails and a re-run (which
# finds it, or creates it) is the safe retry.
CREATE_CONFIRM_WINDOW = 60.0
# The most `create_settle_time` takes: as long as the longest wait the transport takes (max_retry_wait).
MAX_CREATE_SETTLE_TIME = 1800
# Graph's names are limited; 200 is the deployment profile's documented limit and the most any of
# these resources is known to take.
MAX_NAME_LENGTH = 200
# Graph accepts at most 15 values in one `id in (...)` filter.
IDS_PER_FILTER = 15
# In the run's group cache: a group a check-mode device_group task would create. Later check-mode tasks plan
# their assignments to it; a task that writes never trusts it (it looks the name up).
PLANNED_GROUP_ID = ""
# The page size asked for ($top) when listing a collection to find an object by name. Graph documents no
# maximum for the Intune collections; 999 is the most Graph takes anywhere it documents one (directory
# objects), and Intune's own default page is 1000 (lab/graph/README.md, "Query options", has the sources).
# A listing refused with 400 is sent again without $top, so a lower limit costs one request, not the run.
LIST_PAGE_SIZE = 999


class EngineError(Exception):
    """A refusal or failure with what the user must know; `details` become extra result keys."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = {key: value for key, value in details.items() if value is not None}


@dataclass(frozen=True)
class Prop:
    """One managed property: the Ansible option, the Graph property (dotted inside complex values)."""

    option: str
    graph: str
    spec: dict = field(default_factory=lambda: {"type": "str"})
    choices: dict | None = None  # option value -> Graph value
    normalize: Callable[[Any], Any] | None = None  # applied to both sides before comparing
    create_only: bool = False
    create_default: Any = None  # option value (or params -> value) used on create when the user left it unset
    write_action: str | None = None  # written by POST {id}/<action> {leaf: value} instead of PATCH
    required_on_create: bool = False

    def option_spec(self):
        spec = dict(self.spec)
        if self.choices:
            spec["choices"] = list(self.choices)
        return spec

    def to_graph(self, value):
        return self.choices[value] if (self.choices and value is not None) else value

    def from_graph(self, value):
        if not self.choices:
            return value
        for option_value, graph_value in self.choices.items():
            if graph_value == value:
                return option_value
        return value

    def comparable(self, value):
        if value is None and self.spec.get("type") == "list":
            value = []  # Graph may answer null for an empty collection
        return self.normalize(value) if (self.normalize and value is not None) else value


@dataclass(frozen=True)
class Assignments:
    """How a resource is assigned to groups.

    `assign_action`: POST {id}/assign with the whole set (Graph replaces it), under `body_key`.
    `per_item`: POST {id}/assignments one target at a time, DELETE {id}/assignments/{aid}.
    """

    style: str
    item_type: str
    body_key: str | None = None
    kinds: tuple = ("include", "exclude", "all_devices", "all_users")


@dataclass(frozen=True)
class Resource:
    noun: str
    collection: str
    odata_type: str
    props: tuple
    return_key: str
    api: str = "beta"
    key_option: str = "display_name"
    kin_types: tuple = ()  # other @odata.types in the same key space: a name clash with one is a create-only change
    type_option: str = "type"  # how to name a change of @odata.type in messages
    assignments: Assignments | None = None
    validate: Callable[[dict], list] | None = None  # params -> error messages, checked before any request
    guard: Callable[[dict, dict], str | None] | None = None  # (existing, params) -> refusal, before any write
    # (graph, existing or None, its target keys, desired target keys) -> refusal, before any write; for rules across objects
    check_assignments: Callable[[Any, dict | None, list, list], str | None] | None = None
    tidy_description: Callable[[dict], None] | None = None  # drops from describe() what the module would refuse
    max_name_length: int = MAX_NAME_LENGTH
    list_page_size: int | None = LIST_PAGE_SIZE  # $top of the name look-up; None sends none (Graph's default page)
    # Graph takes `$filter=<key> eq '...'` on the collection: the look-up asks for the name only, and lists
    # the collection when Graph refuses the filter (400).
    filter_by_key: bool = False

    @property
    def key_prop(self):
        return self.prop(self.key_option)

    def prop(self, option):
        return next(prop for prop in self.props if prop.option == option)

    def is_type(self, obj):
        """Whether obj is of the very type the module manages (not a kin type it would replace)."""
        return type_name(obj) == self.odata_type.lstrip("#")

    def owns(self, obj):
        return type_name(obj) in {odata_type.lstrip("#") for odata_type in (self.odata_type,) + self.kin_types}

    def key_matches(self, obj, wanted):
        """Whether obj carries the key value `wanted`; names compare case-insensitively, as Graph's filters do."""
        key = self.key_prop
        have, want = key.comparable(get_path(obj, key.graph)), key.comparable(wanted)
        if isinstance(have, str) and isinstance(want, str):
            return have.casefold() == want.casefold()
        return have == want

    def input_errors(self, params):
        """Everything wrong with the options that can be known before any request."""
        errors = []
        name = params.get(self.key_option)
        if name is not None and not (name.strip() and len(name) <= self.max_name_length):
            errors.append(
                "%s: give 1 to %d characters, not only spaces (got %d characters)." % (self.key_option, self.max_name_length, len(name))
            )
        settle = params.get("create_settle_time") or 0
        if not 0 <= settle <= MAX_CREATE_SETTLE_TIME:
            errors.append("create_settle_time: give 0 to %d seconds (got %d)." % (MAX_CREATE_SETTLE_TIME, settle))
        if not params.get("id") and name is None:
            errors.append("%s or id is required, to say which %s to %s." % (
                self.key_option, self.noun, "delete" if params.get("state") == "absent" else "manage"))
        for mode, entries in sorted((params.get("assignments") or {}).items()):
            for entry in entries or []:
                try:
                    kind = target_kind(entry)
                except ValueError as exc:
                    errors.append("assignments.%s: %s" % (mode, exc))
                    continue
                if self.assignments and kind not in self.assignments.kinds:
                    errors.append("assignments.%s: a %s cannot be assigned with %s; use %s." % (
                        mode, self.noun, KIND_OPTIONS[kind], ", ".join(KIND_OPTIONS[k] for k in self.assignments.kinds)))
        return errors + (self.validate(params) if self.validate else [])


# -- argument specs ------------------------------------------------------------------------------------

def engine_argument_spec(resource):
    spec = {prop.option: prop.option_spec() for prop in resource.props}
    spec.update(
        id=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        recreate=dict(type="bool", default=False),
        create_settle_time=dict(type="int", default=0),
    )
    if resource.assignments:
        spec["assignments"] = assignments_argument_spec()
        spec["group_ids"] = dict(type="dict")
    return spec


# -- nested values -------------------------------------------------------------------------------------

def get_path(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def set_path(obj, path, value):
    parts = path.split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def without_annotations(value):
    if isinstance(value, dict):
        return {key: without_annotations(item) for key, item in value.items() if not key.startswith("@odata.")}
    return value


def list_light(graph, resource, fields, filter_text=None):
    """Only `fields` of every object in the resource's collection (Graph adds the @odata.type of derived types in
    a polymorphic collection), in pages of `list_page_size`, narrowed by `filter_text` when given. Graph's support
    of $filter and $top differs per collection and is not all documented, so a 400 sends the listing again without
    the filter, then without $top: a refusal costs a request, not the run."""
    selected = {"$select": ",".join(fields)}
    paged = dict(selected, **({"$top": str(resource.list_page_size)} if resource.list_page_size else {}))
    listings = ([dict(paged, **{"$filter": filter_text})] if filter_text else []) + [paged]
    if paged != selected:
        listings.append(selected)
    for params in listings[:-1]:
        try:
            return graph.list(resource.collection, api=resource.api, params=params)
        except GraphError as exc:
            if exc.status != 400:
                raise
    return graph.list(resource.collection, api=resource.api, params=listings[-1])


# -- the engine ------------------------------------------------------------------------------------

class DesiredStateEngine:
    def __init__(self, module, resource):
        self.module = module
        self.resource = resource
        self.params = module.params
        self.graph = module.graph
        self.changed = False
        self.diff_before = {}
        self.diff_after = {}
        self.group_names = {}  # group id -> the display name the user gave, for results and diffs
        self.predecessor = None  # the old object of a recreate that stopped half-way, when finishing it
        self.final_keys = []  # the assignment targets the object has after the run
        self.waits = []  # what the run waited for, reported in the result
        self.resolved_groups = {}  # group names this run looked up, for the action plugin's run cache
        self.adopted = False  # the create found an older namesake another run made: that one is the task's object
        self.duplicates = None  # what the look after a create found besides the new object, reported in the result

    # reading --------------------------------------------------------------------------------------

    @property
    def collection(self):
        return self.resource.collection

    def item_path(self, object_id, *rest):
        return "/".join((self.collection, object_id) + rest)

    @property
    def read_params(self):
        # Assignments come with the object: one read per object instead of two on every run.
        return {"$expand": "assignments"} if self.resource.assignments else None

    def find(self):
        """The object the options name: by `id` if given, else the one object whose key matches."""
        resource = self.resource
        if self.params.get("id"):
            obj = self.graph.get_or_none(self.item_path(self.params["id"]), api=resource.api, params=self.read_params)
            if obj is None:
                raise EngineError("id: no %s with id %s exists. Leave id out to find it by %s." % (resource.noun, self.params["id"], resource.key_option))
            if not resource.owns(obj):
                raise EngineError("id: %s is a %s, not a %s." % (self.params["id"], type_name(obj), resource.noun))
            return obj
        return self.find_by_key()

    def list_light(self, fields, filter_text=None):
        return list_light(self.graph, self.resource, fields, filter_text)

    def list_keys(self, extra_fields=()):
        """id, key (and `extra_fields`) and @odata.type of the objects the name look-up must consider: those the name
        filter lets through where Graph takes one (key_matches still decides, as Graph may ignore a filter), else all."""
        resource = self.resource
        key = resource.key_prop.graph
        wanted = self.params.get(resource.key_option)
        filter_text = None
        if resource.filter_by_key and isinstance(wanted, str):
            filter_text = "%s eq '%s'" % (key.replace(".", "/"), wanted.replace("'", "''"))
        return self.list_light(("id", key.split(".", 1)[0]) + tuple(extra_fields), filter_text)

    def matches_by_key(self):
        """Every object of the resource's types with the key, each read whole (with its assignments) by id."""
        resource = self.resource
        wanted = self.params.get(resource.key_option)
        # Should Graph leave @odata.type out under $select, the read by id below still tells the type: an object
        # of ours must never go unseen, or the run would create it again.
        ids = list(dict.fromkeys(obj["id"] for obj in self.list_keys()
                                 if (resource.owns(obj) or "@odata.type" not in obj) and resource.key_matches(obj, wanted)))
        matches = []
        for object_id in ids:
            # None: deleted between the listing and this read.
            obj = self.graph.get_or_none(self.item_path(object_id), api=resource.api, params=self.read_params)
            if obj is not None and resource.owns(obj) and resource.key_matches(obj, wanted):
                matches.append(obj)
        return matches

    def find_by_key(self):
        """The one object with the key; with `recreate: true`, the replacement of a recreate that stopped half-way."""
        matches = self.matches_by_key()
        if len(matches) <= 1:
            return matches[0] if matches else None
        from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine_recreate  # pylint: disable=import-outside-toplevel

        return engine_recreate.one_of_namesakes(self, matches)

    def list_assignments(self, object_id):
        return self.graph.list(self.item_path(object_id, "assignments"), api=self.resource.api)

    def assignments_of(self, obj):
        """The object's assignments: expanded with it when Graph did, else read separately."""
        if "assignments" in obj:
            return obj.pop("assignments") or []
        return self.list_assignments(obj["id"])

    # desired values -------------------------------------------------------------------------------

    def desired_values(self, base=None):
        """{graph path: value} for what the user set. With `base` (create), unset props get their
        value from `base` (an object being re-created) or else from the tutorial's default."""
        desired = {}
        for prop in self.resource.props:
            value = self.params.get(prop.option)
            if value is not None:
                desired[prop.graph] = prop.to_graph(value)
            elif base is not None:
                current = get_path(base, prop.graph)
                if current is not None:
                    desired[prop.graph] = current
                else:
                    default = prop.create_default(self.params) if callable(prop.create_default) else prop.create_default
                    if default is not None:
                        desired[prop.graph] = prop.to_graph(default)
        return desired

    def differences(self, current, desired):
        return [
            prop for prop in self.resource.props
            if prop.graph in desired and prop.comparable(desired[prop.graph]) != prop.comparable(get_path(current, prop.graph))
        ]

    def create_body(self, desired):
        body = {"@odata.type": self.resource.odata_type}
        for prop in self.resource.props:
            if prop.graph in desired and not prop.write_action:
                set_path(body, prop.graph, desired[prop.graph])
        return body

    def option_view(self, obj, paths=None):
        """What the diff shows of obj: {option: value as the option takes it} for the props at the Graph `paths`
        (every managed prop Graph holds a value for when None, as on a delete), so no server field shows. A Graph
        property two options write (a helper option such as membership) shows under the first, which holds any value."""
        view, shown = {}, set()
        for prop in self.resource.props:
            if prop.graph in shown or (paths is not None and prop.graph not in paths):
                continue
            shown.add(prop.graph)
            value = get_path(obj, prop.graph)
            if paths is not None or value is not None:
                view[prop.option] = prop.from_graph(value)
        return view

    # writing --------------------------------------------------------------------------------------

    def write(self, method, path, body=None, idempotent=None):
        """Every write goes through here, so check mode can never send one."""
        self.changed = True
        if self.module.check_mode:
            return None
        return self.graph.request(method, path, api=self.resource.api, body=body, idempotent=idempotent)

    def create(self, body, replacing=None):
        from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine_create  # pylint: disable=import-outside-toplevel

        return engine_create.create(self, body, replacing)

    def confirm_window(self):
        return min(CREATE_CONFIRM_WINDOW, self.params.get("max_retry_wait") or CREATE_CONFIRM_WINDOW)

    # assignments ----------------------------------------------------------------------------------

    def plan_assignments(self, current_keys, existing=None):
        """Desired target keys, or None when the user did not ask to manage assignments (engine_groups.py)."""
        if not self.resource.assignments or not self.params.get("assignments"):
            return None
        from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine_groups  # pylint: disable=import-outside-toplevel

        return engine_groups.plan_assignments(self, current_keys, existing)

    def apply_assignments(self, object_id, current, desired_keys):
        current_keys = [target_key(a.get("target") or {}) for a in current]
        if sorted(current_keys, key=str) == sorted(desired_keys, key=str):
            return
        from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine_assignments  # pylint: disable=import-outside-toplevel

        engine_assignments.write_assignments(self, object_id, current, current_keys, desired_keys)

    def describe_assignments(self, keys):
        return [describe_target(key, self.group_names) for key in keys]

    def diff_assignments(self, keys):
        """Assignments as the diff shows them: a group by the name this task gave it, else by the name an earlier task of
        the run resolved (group_ids), the same in before and after; by id only where no name is known (nothing is read)."""
        known = {group_id.lower(): name for name, group_id in (self.params.get("group_ids") or {}).items() if group_id}
        return [describe_target(key, dict(known, **self.group_names)) for key in keys]

    def with_assignments(self, view, keys):
        return dict(view, assignments=self.diff_assignments(keys)) if self.resource.assignments else view

    # the run --------------------------------------------------------------------------------------

    def run(self):
        resource, params = self.resource, self.params
        errors = resource.input_errors(params)
        if errors:
            raise EngineError(" ".join(errors))

        existing = self.find()
        if existing is None and params["state"] == "present" and params.get("create_settle_time"):
            from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine_create  # pylint: disable=import-outside-toplevel

            existing = engine_create.look_before_create(self)
        if existing:
            self.refuse_by_guard(existing)
        current_assignments = self.assignments_of(existing) if (existing and resource.assignments) else []
        current_keys = [target_key(a.get("target") or {}) for a in current_assignments]

        if params["state"] == "absent":
            return self.run_absent(existing, current_assignments, current_keys)

        if existing is None:
            missing = [prop.option for prop in resource.props if prop.required_on_create and params.get(prop.option) is None]
            if missing:
                raise EngineError("%s required to create the %s '%s'." % (", ".join(missing), resource.noun, params.get(resource.key_option)))
            from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine_create  # pylint: disable=import-outside-toplevel

            obj = engine_create.run_create(self, self.desired_values(base={}), self.plan_assignments([]))
        elif self.predecessor is not None:
            obj = self.run_finish_recreate(existing, current_assignments, current_keys)
        else:
            obj = self.run_update(existing, current_assignments, current_keys, self.plan_assignments(current_keys, existing))
        return self.result(obj, self.final_keys)

    def refuse_by_guard(self, existing):
        refusal = self.resource.guard(existing, self.params) if self.resource.guard else None
        if refusal:
            raise EngineError(refusal)

    def run_absent(self, existing, current_assignments, current_keys):
        if existing:
            from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine_changes  # pylint: disable=import-outside-toplevel

            self.diff_before = self.with_assignments(self.option_view(existing), current_keys)
            engine_changes.delete(self, existing, current_assignments)
        return self.result(None, [])

    def run_update(self, existing, current_assignments, current_keys, desired_keys):
        resource = self.resource
        desired = self.desired_values()
        changed_props = self.differences(existing, desired)
        blocked = [prop for prop in changed_props if prop.create_only]
        type_changed = not resource.is_type(existing)
        if blocked or type_changed:
            return self.run_recreate(existing, current_assignments, current_keys, desired_keys, blocked, type_changed)

        self.final_keys = desired_keys if desired_keys is not None else current_keys
        self.diff_before = self.option_view(existing, desired)
        obj = copy.deepcopy(existing)
        if changed_props:
            from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine_changes  # pylint: disable=import-outside-toplevel

            engine_changes.update(self, existing, obj, desired, changed_props)
        self.diff_after = self.option_view(obj, desired)
        if desired_keys is not None:
            self.apply_assignments(existing["id"], current_assignments, desired_keys)
            self.diff_before["assignments"] = self.diff_assignments(current_keys)
            self.diff_after["assignments"] = self.diff_assignments(desired_keys)
        return obj

    # recreate (engine_recreate.py) -----------------------------------------------------------------

    def run_recreate(self, existing, current_assignments, current_keys, desired_keys, blocked, type_changed):
        from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine_recreate  # pylint: disable=import-outside-toplevel

        return engine_recreate.recreate(self, existing, current_assignments, current_keys, desired_keys, blocked, type_changed)

    def run_finish_recreate(self, replacement, replacement_assignments, replacement_keys):
        from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine_recreate  # pylint: disable=import-outside-toplevel

        return engine_recreate.finish_recreate(self, replacement, replacement_assignments, replacement_keys)

    def result(self, obj, keys):
        result = dict(changed=self.changed, id=obj.get("id") if obj else None)
        result[self.resource.return_key] = without_annotations(obj) if obj else {}
        if obj is not None:
            result[self.resource.return_key]["@odata.type"] = obj.get("@odata.type")
        if self.resource.assignments:
            result["assignments"] = self.describe_assignments(keys)
        if self.module._diff:
            result["diff"] = dict(before=self.diff_before, after=self.diff_after)
        if self.waits:
            result["waits"] = self.waits
        if self.resolved_groups:
            result["resolved_groups"] = self.resolved_groups
        if self.duplicates:
            result["duplicates"] = self.duplicates
        return result


def error_message(exc):
    return exc.msg if isinstance(exc, EngineError) else str(exc)


def error_details(exc):
    return dict(exc.details) if isinstance(exc, EngineError) else exc.details()


def run_resource_module(resource, engine=None):
    """main() of a resource module: its options from `resource`, the engine (a subclass where the resource
    needs one), failures reported clearly."""
    module = GraphModule(argument_spec=engine_argument_spec(resource), supports_check_mode=True)

    def run():
        try:
            result = (engine or DesiredStateEngine)(module, resource).run()
        except EngineError as exc:
            module.fail_json(msg=exc.msg, **exc.details)
        module.exit_json(**result)

    module.run_guarded(run)
