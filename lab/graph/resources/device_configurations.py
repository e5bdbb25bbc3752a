"""Step 8: /deviceManagement/deviceConfigurations (the domain join profile is a
windowsDomainJoinConfiguration here, beta only) with assign."""

import copy

from .. import schema
from ..core import new_id
from ..odata import QuerySupport
from ..permissions import CONFIGURATION_READ, CONFIGURATION_WRITE
from .base import CollectionSpec, Response, assignment_list_route, build_assignments, fill_defaults, render_assignments, stamp_seeded_assignable

KEY = "deviceConfigurations"
ASSIGNMENT = "deviceConfigurationAssignment"
DEFAULTS = {"roleScopeTagIds": ["0"], "supportsScopeTags": True}


def on_create(req, body, concrete):
    now = req.lab.clock.now_iso()
    obj = {"id": new_id(), **copy.deepcopy(body), "createdDateTime": now, "lastModifiedDateTime": now,
           "version": 1, "assignments": []}
    return fill_defaults(obj, concrete, DEFAULTS)


def on_update(req, obj, changes):
    obj.update(copy.deepcopy(changes))
    obj["version"] += 1
    obj["lastModifiedDateTime"] = req.lab.clock.now_iso()


def seed(lab, key, obj):
    if key != KEY:
        return obj
    stamp_seeded_assignable(lab, obj)
    obj.setdefault("version", 1)
    return fill_defaults(obj, schema.short_name(obj["@odata.type"]), DEFAULTS)


def assign(req):
    obj = SPEC.find(req)
    body = req.body if req.body is not None else {}
    if not isinstance(body, dict):
        raise SPEC.bad("The request body must be a JSON object.")
    for name in body:
        if name not in ("assignments",):
            raise SPEC.bad(f"The parameter '{name}' in the request payload is not a valid parameter for the "
                           "operation.")
    obj["assignments"] = build_assignments(req, SPEC, body.get("assignments") or [], ASSIGNMENT, obj["id"],
                                           defaults={"intent": "apply"})
    return Response(200, {"@odata.context": f"{req.lab.url}/{req.version}/$metadata#Collection("
                                            f"{schema.NAMESPACE}{ASSIGNMENT})",
                          "value": render_assignments(req, obj)})


SPEC = CollectionSpec(
    key=KEY, path="deviceManagement/deviceConfigurations", type_name="deviceConfiguration",
    read=CONFIGURATION_READ, write=CONFIGURATION_WRITE, polymorphic=True,
    query=QuerySupport(expand=("assignments",), top=True),
    on_create=on_create, on_update=on_update,
    expanders={"assignments": render_assignments})


def register(registry):
    SPEC.register(registry)
    registry.seed_hooks.append(seed)
    item = SPEC.path + "/{id}"
    registry.route("GET", item + "/assignments", assignment_list_route(SPEC), versions=SPEC.versions,
                   permission=CONFIGURATION_READ)
    registry.route("POST", item + "/assign", assign, versions=SPEC.versions, permission=CONFIGURATION_WRITE)
