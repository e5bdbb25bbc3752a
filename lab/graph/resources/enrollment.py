"""Step 6: /deviceManagement/deviceEnrollmentConfigurations (the Enrollment Status Page lives here,
next to enrollment limits and platform restrictions), with assign and setPriority."""

import copy

from .. import schema
from ..core import new_id
from ..odata import QuerySupport
from ..permissions import SERVICE_CONFIG_READ, SERVICE_CONFIG_WRITE
from .base import AssignmentSupport, CollectionSpec, Response, fill_defaults

KEY = "deviceEnrollmentConfigurations"
ASSIGNMENT = "enrollmentConfigurationAssignment"
# The deviceEnrollmentConfigurationType the service stamps on a configuration created through Graph.
CREATED_KIND = {
    "windows10EnrollmentCompletionPageConfiguration": "windows10EnrollmentCompletionPageConfiguration",
    "deviceEnrollmentLimitConfiguration": "limit",
    "deviceEnrollmentPlatformRestrictionsConfiguration": "platformRestrictions",
}
# The portal shows these four only under "Block device use until all apps and profiles are installed: Yes",
# which Graph stores as blockDeviceSetupRetryByUser false. What the service does with them under true is
# undocumented; Microsoft365DSC drops them then, and the lab stores them off (see README).
BLOCKING_ONLY = {"allowDeviceResetOnInstallFailure": False, "allowDeviceUseOnInstallFailure": False,
                 "selectedMobileAppIds": [], "allowNonBlockingAppInstallation": False}
ESP = "windows10EnrollmentCompletionPageConfiguration"
TYPE_DEFAULTS = {
    "windows10EnrollmentCompletionPageConfiguration": {"installProgressTimeoutInMinutes": 60,
                                                       "selectedMobileAppIds": [], "roleScopeTagIds": ["0"]},
    "deviceEnrollmentLimitConfiguration": {"limit": 15, "roleScopeTagIds": ["0"]},
    "deviceEnrollmentPlatformRestrictionsConfiguration": {"roleScopeTagIds": ["0"]},
}


def is_default(obj):
    return (obj.get("deviceEnrollmentConfigurationType") or "").startswith("default")


def _siblings(lab, obj):
    """Non-default configurations that share obj's priority list (same type), in priority order."""
    same = [o for o in lab.objects.get(KEY, {}).values()
            if o["@odata.type"] == obj["@odata.type"] and not is_default(o)]
    return sorted(same, key=lambda o: o["priority"])


def _id_for(guid, kind):
    """Graph's ids here are "<guid>_<Kind>", not bare GUIDs as in the other Intune collections:
    "…_Windows10EnrollmentCompletionPageConfiguration", "…_DefaultWindows10EnrollmentCompletionPageConfiguration", "…_Limit"."""
    return f"{guid}_{kind[0].upper()}{kind[1:]}"


def _drop_blocking_only(obj, type_name):
    if type_name == ESP and obj.get("blockDeviceSetupRetryByUser"):
        obj.update(copy.deepcopy(BLOCKING_ONLY))


def _renumber(ordered):
    for position, item in enumerate(ordered, start=1):
        item["priority"] = position


def on_create(req, body, concrete):
    now = req.lab.clock.now_iso()
    kind = CREATED_KIND[concrete]
    body.pop("priority", None)   # the service assigns it; setPriority moves it
    obj = {"id": _id_for(new_id(), kind), **body, "createdDateTime": now, "lastModifiedDateTime": now,
           "version": 1, "deviceEnrollmentConfigurationType": kind, "assignments": []}
    fill_defaults(obj, concrete, TYPE_DEFAULTS.get(concrete))
    _drop_blocking_only(obj, concrete)
    obj["priority"] = len(_siblings(req.lab, {"@odata.type": schema.odata_type(concrete)})) + 1
    return obj


def on_update(req, obj, changes):
    obj.update(changes)
    _drop_blocking_only(obj, schema.short_name(obj["@odata.type"]))
    obj["version"] += 1
    obj["lastModifiedDateTime"] = req.lab.clock.now_iso()


def before_delete(req, obj):
    if is_default(obj):
        raise SPEC.bad("The default enrollment configuration cannot be deleted.")
    _renumber([o for o in _siblings(req.lab, obj) if o is not obj])


def seed(lab, obj):
    concrete = schema.short_name(obj["@odata.type"])
    obj.setdefault("version", 1)
    obj.setdefault("deviceEnrollmentConfigurationType", CREATED_KIND.get(concrete, "unknown"))
    if "_" not in obj["id"]:  # a seed without an id got a bare GUID; give it the form Graph uses
        obj["id"] = _id_for(obj["id"], obj["deviceEnrollmentConfigurationType"])
    if "priority" not in obj:
        obj["priority"] = 0 if is_default(obj) else len(_siblings(lab, obj)) + 1
    return fill_defaults(obj, concrete, TYPE_DEFAULTS.get(concrete))


def before_assign(req, obj):
    if is_default(obj):
        raise SPEC.bad("The default enrollment configuration applies to all users and devices and cannot be "
                       "assigned.")


def set_priority(req):
    obj = SPEC.find(req)
    body = SPEC.action_body(req, ("priority",))
    priority = body.get("priority")
    if "priority" not in body or isinstance(priority, bool) or not isinstance(priority, int):
        raise SPEC.bad("The parameter 'priority' is required and must be an Edm.Int32.")
    if is_default(obj):
        raise SPEC.bad("The priority of the default enrollment configuration cannot be changed.")
    if priority < 1:
        raise SPEC.bad("Priority must be 1 or greater.")
    if priority == obj.get("priority"):
        # Graph answers a generic error rather than a no-op here (Microsoft365DSC PR #4295).
        raise SPEC.bad("An error has occurred - the configuration already has this priority.")
    ordered = [o for o in _siblings(req.lab, obj) if o is not obj]
    ordered.insert(min(priority, len(ordered) + 1) - 1, obj)
    _renumber(ordered)
    return Response(204)


SPEC = CollectionSpec(
    key=KEY, path="deviceManagement/deviceEnrollmentConfigurations", type_name="deviceEnrollmentConfiguration",
    read=SERVICE_CONFIG_READ, write=SERVICE_CONFIG_WRITE, polymorphic=True,
    # The two filters clients run against tenants (lab/graph/README.md, "Query options on the Intune collections").
    query=QuerySupport(filter={"displayName": ("eq",), "deviceEnrollmentConfigurationType": ("eq",)}, top=True),
    on_create=on_create, on_update=on_update, before_delete=before_delete, seed=seed,
    assignments=AssignmentSupport(item_type=ASSIGNMENT, style="assign_action",
                                  body_key="enrollmentConfigurationAssignments", before_assign=before_assign))


def register(registry):
    SPEC.register(registry)
    registry.route("POST", SPEC.path + "/{id}/setPriority", set_priority, versions=SPEC.versions,
                   permission=SERVICE_CONFIG_WRITE)
