"""Step 8: /deviceManagement/deviceConfigurations (the domain join profile is a
windowsDomainJoinConfiguration here, beta only) with assign."""

import copy

from .. import schema
from ..core import new_id
from ..odata import QuerySupport
from ..permissions import CONFIGURATION_READ, CONFIGURATION_WRITE
from .base import AssignmentSupport, CollectionSpec, fill_defaults

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


def seed(lab, obj):
    obj.setdefault("version", 1)
    return fill_defaults(obj, schema.short_name(obj["@odata.type"]), DEFAULTS)


SPEC = CollectionSpec(
    key=KEY, path="deviceManagement/deviceConfigurations", type_name="deviceConfiguration",
    read=CONFIGURATION_READ, write=CONFIGURATION_WRITE, polymorphic=True,
    # `displayName eq` is what Microsoft365DSC sends (README, "Query options"); other filters are unknown: 400.
    query=QuerySupport(filter={"displayName": ("eq",)}, top=True),
    on_create=on_create, on_update=on_update, seed=seed,
    # No GET of a single assignment here: the lab never served it for this collection.
    assignments=AssignmentSupport(item_type=ASSIGNMENT, style="assign_action", body_key="assignments",
                                  defaults={"intent": "apply"}, assign_returns_set=True, get_item=False))


def register(registry):
    SPEC.register(registry)
