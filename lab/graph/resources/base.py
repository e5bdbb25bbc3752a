"""Building blocks for resource modules: the request/response objects, and CollectionSpec, which
registers the standard list/get/create/update/delete routes of one Graph collection with Graph's
paging, query options, body validation and error codes."""

import copy
import functools
from dataclasses import dataclass, field, replace

from .. import schema
from ..core import Permission, new_id
from ..errors import GraphError
from ..odata import QuerySupport, decode_skiptoken, next_link, parse_filter


# The schema is fixed once imported, so what a listing asks of it per object is answered once per type and
# version: at thousands of objects per collection these lookups were most of a page's time (README, "What the
# lab costs").
@functools.lru_cache(maxsize=None)
def listed_in(type_name, version):
    """Whether objects of this type ('#microsoft.graph.x' or 'x') exist in this API version."""
    return schema.SCHEMA[schema.short_name(type_name)].in_version(version)


@functools.lru_cache(maxsize=None)
def properties(type_name, version):
    """schema.properties ('#microsoft.graph.x' or 'x'), once per type and version; callers only read the dict."""
    return schema.properties(schema.short_name(type_name), version)


@functools.lru_cache(maxsize=None)
def selectable(type_name, version):
    """The properties $select may name on a collection of type_name: those of the type and its derived types."""
    return frozenset(name for derived in schema.SCHEMA if schema.is_derived(derived, type_name)
                     for name in properties(derived, version))


def copied(value):
    """A value as handed out: containers copied (a caller must not alter the store), scalars as they are."""
    return value if value is None or isinstance(value, (str, int, float, bool)) else copy.deepcopy(value)


@dataclass
class Request:
    lab: object
    method: str
    version: str
    path: str                 # without query string, e.g. /beta/groups
    params: dict              # path template values
    query: dict               # parsed query string
    body: object              # parsed JSON or None
    headers: dict
    principal: dict           # verified token claims summary


@dataclass
class Response:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)


# Intune and the directory (Entra) use different error codes for the same failures.
STYLES = {
    "intune": {"bad": "BadRequest", "missing": "ResourceNotFound", "patch_status": 200},
    "directory": {"bad": "Request_BadRequest", "missing": "Request_ResourceNotFound", "patch_status": 204},
}


@dataclass
class AssignmentSupport:
    """Group assignments held in each object's "assignments" list. Declaring it on a CollectionSpec
    gives GET {id}/assignments, GET {id}/assignments/{aid} (unless get_item is false),
    `$expand=assignments`, an empty list on seeded objects, and the way they are written:
    style "assign_action": POST {id}/assign {body_key: [...]} replaces the set (204, or 200 with the new
    set when assign_returns_set); style "per_item": POST {id}/assignments adds one (201) and
    DELETE {id}/assignments/{aid} removes one. Targeted groups must exist; a set may not name one target
    twice. Resource rules come in through the hooks, which may raise GraphError."""
    item_type: str                   # e.g. "deviceConfigurationAssignment"
    style: str = "assign_action"     # or "per_item"
    body_key: str = "assignments"    # the /assign parameter holding the list (assign_action)
    defaults: dict = None            # stored defaults of a new assignment (e.g. {"intent": "apply"})
    assign_returns_set: bool = False  # /assign answers 200 {"value": [...]} instead of 204
    get_item: bool = True            # GET {id}/assignments/{aid}
    before_assign: object = None     # fn(req, obj) before an /assign body's set is built
    before_add: object = None        # fn(req, obj, assignment) before a per-item POST stores it

    def __post_init__(self):
        if self.style not in ("assign_action", "per_item"):
            raise ValueError(f"unknown assignment style {self.style!r}")

    def register(self, spec, registry):
        item = spec.path + "/{id}"
        routes = [("GET", "/assignments", self.list, spec.read)]
        if self.get_item or self.style == "per_item":
            routes.append(("GET", "/assignments/{assignment_id}", self.get, spec.read))
        if self.style == "assign_action":
            routes.append(("POST", "/assign", self.assign, spec.write))
        else:
            routes += [("POST", "/assignments", self.add, spec.write),
                       ("DELETE", "/assignments/{assignment_id}", self.remove, spec.write)]
        for method, suffix, handler, permission in routes:
            registry.route(method, item + suffix, self._bound(spec, handler), versions=spec.versions,
                           permission=permission)

    @staticmethod
    def _bound(spec, handler):
        return lambda req: handler(spec, req)

    @staticmethod
    def _find(spec, obj, assignment_id):
        for assignment in obj["assignments"]:
            if assignment["id"] == assignment_id:
                return assignment
        raise spec.missing(assignment_id)

    def build(self, req, spec, obj, items):
        return build_assignments(req, spec, items, self.item_type, obj["id"], defaults=self.defaults)

    # --- handlers (spec bound at registration) --------------------------------------------------------
    def list(self, spec, req):
        obj = spec.find(req)
        return Response(200, {"@odata.context": f"{req.lab.url}/{req.version}/$metadata#{spec.path}('{obj['id']}')/assignments",
                              "value": render_assignments(req, obj)})

    def get(self, spec, req):
        obj = spec.find(req)
        return Response(200, render_assignment(req, self._find(spec, obj, req.params["assignment_id"])))

    def assign(self, spec, req):
        obj = spec.find(req)
        body = spec.action_body(req, (self.body_key,))
        if self.before_assign:
            self.before_assign(req, obj)
        obj["assignments"] = self.build(req, spec, obj, body.get(self.body_key) or [])
        if not self.assign_returns_set:
            return Response(204)
        return Response(200, {"@odata.context": f"{req.lab.url}/{req.version}/$metadata#Collection("
                                                f"{schema.NAMESPACE}{self.item_type})",
                              "value": render_assignments(req, obj)})

    def add(self, spec, req):
        obj = spec.find(req)
        (assignment,) = self.build(req, spec, obj, [req.body])
        if self.before_add:
            self.before_add(req, obj, assignment)
        obj["assignments"].append(assignment)
        return Response(201, render_assignment(req, assignment))

    def remove(self, spec, req):
        obj = spec.find(req)
        obj["assignments"].remove(self._find(spec, obj, req.params["assignment_id"]))
        return Response(204)


@dataclass
class CollectionSpec:
    key: str                      # store key, also the key used by /_lab/seed and /_lab/state
    path: str                     # e.g. "deviceManagement/deviceEnrollmentConfigurations"
    type_name: str                # declared (possibly abstract) item type
    read: Permission
    write: Permission
    versions: tuple = (schema.BETA,)
    create_permission: Permission = None  # defaults to write
    style: str = "intune"
    polymorphic: bool = False     # items carry "@odata.type" and POST must name a concrete type
    query: QuerySupport = field(default_factory=QuerySupport)
    operations: tuple = ("list", "get", "create", "update", "delete")
    on_create: object = None      # fn(req, body, concrete_type) -> stored object (id etc. assigned)
    on_update: object = None      # fn(req, stored, body) -> None (mutates stored)
    before_delete: object = None  # fn(req, stored) -> None, may raise GraphError
    expanders: dict = field(default_factory=dict)  # nav -> fn(req, obj) -> list of rendered objects
    bindable: tuple = ()          # navs that may be set on create with "<nav>@odata.bind"
    assignments: AssignmentSupport = None  # routes, $expand and seeding of the objects' assignments
    seed: object = None           # fn(lab, obj) -> obj completes a seeded object of this collection

    def __post_init__(self):
        if self.assignments:
            self.expanders.setdefault("assignments", render_assignments)
            if "assignments" not in self.query.expand:
                self.query = replace(self.query, expand=self.query.expand + ("assignments",))

    # --- errors --------------------------------------------------------------------------------------
    def bad(self, message):
        return GraphError(400, STYLES[self.style]["bad"], message)

    def action_body(self, req, parameters):
        """The JSON object body of an action that takes only these parameters."""
        body = req.body if req.body is not None else {}
        if not isinstance(body, dict):
            raise self.bad("The request body must be a JSON object.")
        for name in body:
            if name not in parameters:
                raise self.bad(f"The parameter '{name}' in the request payload is not a valid parameter for the "
                               "operation.")
        return body

    def missing(self, obj_id):
        if self.style == "directory":
            return GraphError(404, "Request_ResourceNotFound", f"Resource '{obj_id}' does not exist or one of "
                                                               "its queried reference-property objects are not "
                                                               "present.")
        return GraphError(404, "ResourceNotFound", f"Resource not found: {self.type_name} with key '{obj_id}'.")

    # --- objects -------------------------------------------------------------------------------------
    def type_of(self, obj):
        return schema.short_name(obj["@odata.type"]) if self.polymorphic else self.type_name

    def stored_type(self, obj):
        """The object's type as stored ('#microsoft.graph.x' when polymorphic), for the cached lookups above."""
        return obj["@odata.type"] if self.polymorphic else self.type_name

    def in_version(self, obj, version):
        return listed_in(self.stored_type(obj), version)

    def find(self, req, obj_id=None):
        obj_id = obj_id or req.params["id"]
        obj = req.lab.get(self.key, obj_id)
        if obj is None or not self.in_version(obj, req.version):
            raise self.missing(obj_id)
        return obj

    def validate(self, req, body, declared, creating):
        if creating and self.bindable and isinstance(body, dict):
            body = {k: v for k, v in body.items()
                    if not (k.endswith("@odata.bind") and k.removesuffix("@odata.bind") in self.bindable)}
        try:
            return schema.validate_object(body, declared, req.version, creating=creating)
        except schema.ValidationError as exc:
            raise self.bad(str(exc)) from None

    def render(self, req, obj, select=None, expand=()):
        props = properties(self.stored_type(obj), req.version)
        out = {}
        if self.polymorphic:
            out["@odata.type"] = obj["@odata.type"]
        for name, value in obj.items():
            if name in props and (select is None or name in select or name == "id"):
                out[name] = copied(value)
        for nav in expand:
            out[nav] = self.expanders[nav](req, obj)
        return out

    # --- query options -------------------------------------------------------------------------------
    def _query_options(self, req, listing):
        allowed = {"$select", "$expand"}
        if listing:
            allowed |= {"$skiptoken"}
            if self.query.filter:
                allowed.add("$filter")
            if self.query.top:
                allowed.add("$top")
        for key in req.query:
            if key.startswith("$") and key not in allowed:
                raise self.bad(f"Query option '{key}' is not supported on this resource.")
        select = None
        if "$select" in req.query:
            if not self.query.select:
                raise self.bad("Query option '$select' is not supported on this resource.")
            select = {s.strip() for s in req.query["$select"].split(",") if s.strip()}
            known = selectable(self.type_name, req.version)
            for name in select:
                if name not in known:
                    raise self.bad(f"Could not find a property named '{name}' on type "
                                   f"'{schema.NAMESPACE}{self.type_name}'.")
        expand = ()
        if "$expand" in req.query:
            expand = tuple(e.strip() for e in req.query["$expand"].split(",") if e.strip())
            for nav in expand:
                if nav not in self.query.expand:
                    raise self.bad(f"Could not find a navigation property named '{nav}' that can be expanded "
                                   f"on type '{schema.NAMESPACE}{self.type_name}'.")
        return select, expand

    # --- handlers ------------------------------------------------------------------------------------
    def list(self, req):
        select, expand = self._query_options(req, listing=True)
        predicate = parse_filter(req.query["$filter"], self.query.filter, self.bad) if "$filter" in req.query else None
        items = req.lab.all(self.key)
        if predicate is not None:
            items = [o for o in items if predicate(o)]
        if self.polymorphic:
            items = [o for o in items if listed_in(o["@odata.type"], req.version)]
        elif not listed_in(self.type_name, req.version):
            items = []
        return self.page(req, items, self.path, select, expand)

    def page(self, req, items, context, select=None, expand=(), render=None):
        """One page of `items` rendered as this collection's objects ($top, $skiptoken, nextLink): the listing
        itself, and navigations that list this collection's objects elsewhere (assignedDevices, members)."""
        page_size = req.lab.config["page_size"]
        if "$top" in req.query:
            top = req.query["$top"]
            if not top.isdigit() or not 1 <= int(top) <= self.query.max_top:
                raise self.bad(f"Invalid page size specified: '{top}'. Must be between 1 and "
                               f"{self.query.max_top} inclusive.")
            page_size = int(top)
        offset = decode_skiptoken(req.query["$skiptoken"]) if "$skiptoken" in req.query else 0
        page = items[offset:offset + page_size]
        body = {"@odata.context": f"{req.lab.url}/{req.version}/$metadata#{context}",
                "value": [render(o) if render else self.render(req, o, select, expand) for o in page]}
        if offset + page_size < len(items):
            body["@odata.nextLink"] = next_link(req.lab.url, req.path, req.query, offset + page_size)
        return Response(200, body)

    def navigation_options(self, req):
        """$select (and $top, $skiptoken) of a navigation listing this collection's objects; no $filter."""
        if "$filter" in req.query:
            raise self.bad("Query option '$filter' is not supported on this navigation.")
        select, _expand = self._query_options(req, listing=True)
        return select

    def get(self, req):
        select, expand = self._query_options(req, listing=False)
        return Response(200, self.render(req, self.find(req), select, expand))

    def create(self, req):
        concrete = self.validate(req, req.body, self.type_name, creating=True)
        body = {k: v for k, v in req.body.items() if k != "@odata.type"}
        obj = self.on_create(req, body, concrete) if self.on_create else dict(body, id=new_id())
        if self.polymorphic:
            obj = {"@odata.type": schema.odata_type(concrete), **obj}
        req.lab.insert(self.key, obj)
        return Response(201, self.render(req, obj))

    def update(self, req):
        obj = self.find(req)
        self.validate(req, req.body, self.type_of(obj), creating=False)
        changes = {k: v for k, v in req.body.items() if k != "@odata.type"}
        if self.on_update:
            self.on_update(req, obj, changes)
        else:
            obj.update(changes)
        if STYLES[self.style]["patch_status"] == 204:
            return Response(204)
        return Response(200, self.render(req, obj))

    def delete(self, req):
        obj = self.find(req)
        if self.before_delete:
            self.before_delete(req, obj)
        req.lab.delete(self.key, obj["id"])
        return Response(204)

    def register(self, registry):
        registry.collections[self.key] = self
        routes = {"list": ("GET", "", self.read), "create": ("POST", "", self.create_permission or self.write),
                  "get": ("GET", "/{id}", self.read), "update": ("PATCH", "/{id}", self.write),
                  "delete": ("DELETE", "/{id}", self.write)}
        for operation in self.operations:
            method, suffix, permission = routes[operation]
            registry.route(method, self.path + suffix, getattr(self, operation), versions=self.versions,
                           permission=permission)
        if self.assignments:
            self.assignments.register(self, registry)
        if self.assignments or self.seed:
            registry.seed_hooks.append(self.seed_object)

    def seed_object(self, lab, key, obj):
        """The seed hook: complete a seeded object of this collection (others pass through)."""
        if key != self.key:
            return obj
        if self.assignments:
            stamp_seeded_assignable(lab, obj)
        return self.seed(lab, obj) if self.seed else obj


def fill_defaults(obj, type_name, overrides=None):
    """Give every property Graph would return a value: the override, else Graph's default for the type
    (false, 0, [], the first enum member) when not nullable, else null."""
    for name, prop in schema.properties(type_name, schema.BETA).items():
        if name in obj:
            continue
        if overrides and name in overrides:
            obj[name] = copy.deepcopy(overrides[name])
        elif prop.nullable:
            obj[name] = None
        elif schema.collection_item(prop.type):
            obj[name] = []
        elif prop.type == "Edm.Boolean":
            obj[name] = False
        elif prop.type in ("Edm.Int32", "Edm.Int64"):
            obj[name] = 0
        elif prop.type in schema.SCHEMA and schema.SCHEMA[prop.type].kind == "enum":
            obj[name] = schema.SCHEMA[prop.type].members[0]
        else:
            obj[name] = None
    return obj


# Intune's virtual group ids for the "all" targets (they appear in assignment ids).
ALL_DEVICES_ID = "adadadad-808e-44e2-905a-0b7873a8a531"
ALL_USERS_ID = "acacacac-9df4-4c7d-9d50-4ef0226f57a9"


def target_key(target):
    """What makes two assignment targets the same: their type and group."""
    return schema.short_name(target["@odata.type"]), target.get("groupId")


def build_assignments(req, spec, items, assignment_type, parent_id, defaults=None):
    """Validate a list of assignment bodies and return them as stored objects (ids assigned).
    Targeted groups must exist (and be visible: a group inside the replication window is 404)."""
    if not isinstance(items, list):
        raise spec.bad("The assignments parameter must be a JSON array.")
    built, seen = [], set()
    for item in items:
        spec.validate(req, item, assignment_type, creating=True)
        target = item["target"]
        key = target_key(target)
        if key in seen:
            raise spec.bad(f"Duplicate assignment target {key[0]} {key[1] or ''}".strip() + ".")
        seen.add(key)
        group_id = target.get("groupId")
        if group_id is not None and req.lab.get("groups", group_id) is None:
            raise GraphError(404, "ResourceNotFound", f"Group '{group_id}' was not found.")
        suffix = group_id or (ALL_DEVICES_ID if key[0] == "allDevicesAssignmentTarget" else ALL_USERS_ID)
        if key[0] == "exclusionGroupAssignmentTarget":
            suffix += "_exclude"
        assignment = {"@odata.type": schema.odata_type(assignment_type), "id": f"{parent_id}_{suffix}",
                      **{k: copy.deepcopy(v) for k, v in item.items() if k != "@odata.type"}}
        assignment["target"] = normalise_target(target)
        fill_defaults(assignment, assignment_type, dict({"source": "direct", "sourceId": parent_id},
                                                        **(defaults or {})))
        built.append(assignment)
    return built


def normalise_target(target):
    """Store a target the way Graph returns it: '#microsoft.graph.x' and the filter fields present."""
    name = schema.short_name(target["@odata.type"])
    out = {"@odata.type": schema.odata_type(name)}
    out.update({k: v for k, v in target.items() if k != "@odata.type"})
    fill_defaults(out, name, {"deviceAndAppManagementAssignmentFilterType": "none"})
    return out


def render_assignment(req, assignment):
    type_name = schema.short_name(assignment["@odata.type"])
    props = properties(type_name, req.version)
    out = {k: copied(v) for k, v in assignment.items() if k == "@odata.type" or k in props}
    if req.version != schema.BETA:
        target_type = schema.short_name(out["target"]["@odata.type"])
        out["target"] = schema.project(out["target"], target_type, req.version)
    return out


def render_assignments(req, obj):
    """An object's assignments as Graph shows them, for `$expand=assignments` and the list route."""
    return [render_assignment(req, assignment) for assignment in obj["assignments"]]


def stamp_seeded_assignable(lab, obj):
    """Server-managed fields a seeded Intune object with assignments lacks (what a create would have set)."""
    now = lab.clock.now_iso()
    obj.setdefault("createdDateTime", now)
    obj.setdefault("lastModifiedDateTime", now)
    obj.setdefault("assignments", [])
    return obj
