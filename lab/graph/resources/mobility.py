"""Step 1: /policies/mobileDeviceManagementPolicies (beta, delegated permissions only): the MDM user
scope. appliesTo is PATCHed alone; groups are added and removed through includedGroups/$ref."""

import re

from .. import schema
from ..errors import GraphError
from ..odata import QuerySupport
from ..permissions import MOBILITY_READ, MOBILITY_WRITE
from . import groups
from .base import CollectionSpec, Response

KEY = "mobileDeviceManagementPolicies"
URL_PROPERTIES = {"complianceUrl", "discoveryUrl", "termsOfUseUrl"}
# A group reference: Graph's docs write https://graph.microsoft.com/beta/groups/<id>; CIPP and Microsoft365DSC, run
# against tenants, send https://graph.microsoft.com/odata/groups('<id>'). Both are taken.
GROUP_REF = re.compile(r"/groups(?:/([0-9a-fA-F-]{36})|\('([0-9a-fA-F-]{36})'\))$")


def _require_valid(obj):
    # mobilityManagementPolicy.isValid: "Whether policy is valid. Invalid policies may not be updated and should be deleted."
    if obj.get("isValid") is False:
        raise SPEC.bad("The policy is not valid (isValid is false) and cannot be updated.")


def on_update(req, obj, changes):
    _require_valid(obj)
    if "appliesTo" in changes:
        if set(changes) & URL_PROPERTIES:
            # The service's own words (CIPP-API Invoke-CIPPStandardMDMScope).
            raise SPEC.bad("Simultaneous patch requests on both the appliesTo and URL properties are currently not "
                           "supported.")
        if len(changes) > 1:
            raise SPEC.bad("appliesTo cannot be updated together with other properties.")
        if changes["appliesTo"] not in ("all", "none"):
            raise SPEC.bad("appliesTo can only be set to 'all' or 'none'; add groups through "
                           "includedGroups/$ref to scope the policy to selected groups.")
        obj["includedGroups"] = []   # Graph drops the included groups when the scope becomes all/none
    obj.update(changes)


def _render_groups(req, obj):
    rendered = []
    for group_id in obj["includedGroups"]:
        group = req.lab.get(groups.KEY, group_id)
        if group is not None:
            rendered.append(groups.SPEC.render(req, group))
    return rendered


def list_included_groups(req):
    obj = SPEC.find(req)
    return Response(200, {"@odata.context": f"{req.lab.url}/{req.version}/$metadata#groups",
                          "value": _render_groups(req, obj)})


def add_included_group(req):
    obj = SPEC.find(req)
    _require_valid(obj)
    body = req.body if isinstance(req.body, dict) else {}
    match = GROUP_REF.search(body.get("@odata.id") or "")
    if set(body) != {"@odata.id"} or not match:
        raise SPEC.bad("The request body must be {\"@odata.id\": \"https://graph.microsoft.com/beta/groups/<id>\"}.")
    group_id = match.group(1) or match.group(2)
    if req.lab.get(groups.KEY, group_id) is None:
        raise GraphError(404, "ResourceNotFound", f"Group '{group_id}' was not found.")
    if group_id in obj["includedGroups"]:
        raise SPEC.bad("One or more added object references already exist for the following modified "
                       "properties: 'includedGroups'.")
    obj["includedGroups"].append(group_id)
    obj["appliesTo"] = "selected"
    return Response(204)


def remove_included_group(req):
    obj = SPEC.find(req)
    _require_valid(obj)
    group_id = req.params["group_id"]
    if group_id not in obj["includedGroups"]:
        raise GraphError(404, "ResourceNotFound", f"Group '{group_id}' is not included in this policy.")
    obj["includedGroups"].remove(group_id)
    return Response(204)


def seed(lab, key, obj):
    if key == KEY:
        obj.setdefault("includedGroups", [])
    return obj


SPEC = CollectionSpec(
    key=KEY, path="policies/mobileDeviceManagementPolicies", type_name="mobilityManagementPolicy",
    read=MOBILITY_READ, write=MOBILITY_WRITE, operations=("list", "get", "update"),
    query=QuerySupport(filter={"displayName": ("eq",)}, expand=("includedGroups",), top=False),
    on_update=on_update, expanders={"includedGroups": _render_groups})


def register(registry):
    SPEC.register(registry)
    registry.seed_hooks.append(seed)
    item = SPEC.path + "/{id}/includedGroups"
    registry.route("GET", item, list_included_groups, versions=(schema.BETA,), permission=MOBILITY_READ)
    registry.route("POST", item + "/$ref", add_included_group, versions=(schema.BETA,), permission=MOBILITY_WRITE)
    registry.route("DELETE", item + "/{group_id}/$ref", remove_included_group, versions=(schema.BETA,),
                   permission=MOBILITY_WRITE)
