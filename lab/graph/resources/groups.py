"""Step 5: /groups (v1.0 and beta). Membership is stored on the group as a list of object ids
("members"), so dynamic-membership evaluation can be added as a tick hook without touching this file."""

import re

from .. import schema
from ..core import new_id
from ..errors import GraphError
from ..odata import QuerySupport
from ..permissions import GROUP_CREATE, GROUP_READ, GROUP_WRITE
from .base import CollectionSpec, Response, fill_defaults
from .directory import DEVICES_SPEC
from .timeline import DEVICES

KEY = "groups"
DYNAMIC = "DynamicMembership"
# Characters Entra refuses in mailNickname (besides non-ASCII and space); "." is allowed (see README).
_NICKNAME_FORBIDDEN = set('@()\\[]";:<>, ')
MEMBER_COLLECTIONS = (("users", "user"), ("devices", "device"), ("groups", "group"))


def _bind_ids(req, body, name):
    """'members@odata.bind' / 'owners@odata.bind': a list of directoryObject URLs -> ids."""
    urls = body.pop(f"{name}@odata.bind", None)
    if urls is None:
        return []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise SPEC.bad(f"'{name}@odata.bind' must be an array of URLs.")
    if len(urls) > 20:
        raise SPEC.bad("At most 20 relationships can be added in the same request that creates a group.")
    ids = []
    for url in urls:
        match = re.search(r"/(?:directoryObjects|users|devices|groups)/([0-9a-fA-F-]{36})$", url)
        if not match or _member_type(req.lab, match.group(1)) is None:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{url}' does not exist or one of its "
                                                              "queried reference-property objects are not present.")
        ids.append(match.group(1))
    return ids


def _member_type(lab, obj_id):
    for key, type_name in MEMBER_COLLECTIONS:
        if lab.get(key, obj_id) is not None:
            return type_name
    return None


_RULE_QUOTED = re.compile(r'"(?:`.|[^"`])*("?)', re.DOTALL)   # ` escapes the next character in a value
_RULE_PROPERTY = re.compile(r"\b(user|device)\.[A-Za-z]", re.IGNORECASE)


def _rule_problem(rule):
    """Why Entra's rule parser would refuse the rule, for the shapes the lab can tell: an unclosed value,
    unpaired parentheses, user and device properties in one rule (a group holds users or devices)."""
    if any(not value.group(1) for value in _RULE_QUOTED.finditer(rule)):
        return "Unterminated string literal."
    bare = _RULE_QUOTED.sub('""', rule)
    depth = 0
    for char in bare:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        return "Parentheses are not balanced."
    if len({match.group(1).lower() for match in _RULE_PROPERTY.finditer(bare)}) > 1:
        return "A rule cannot mix user and device properties."
    return None


def _check_rules(obj):
    nickname = obj.get("mailNickname") or ""
    if not nickname or any(c in _NICKNAME_FORBIDDEN or ord(c) > 127 for c in nickname):
        raise SPEC.bad("Invalid value specified for property 'mailNickname' of resource 'Group'.")
    group_types = obj.get("groupTypes") or []
    unknown = [t for t in group_types if t not in ("Unified", DYNAMIC)]
    if unknown:
        raise SPEC.bad(f"Invalid value specified for property 'groupTypes' of resource 'Group': {unknown[0]}.")
    dynamic = DYNAMIC in group_types
    if dynamic and not obj.get("membershipRule"):
        raise SPEC.bad("A dynamic group requires a membershipRule.")
    problem = _rule_problem(obj["membershipRule"]) if dynamic and obj.get("membershipRule") else None
    if problem:
        raise SPEC.bad(f"Dynamic membership rule validation error: {problem}")
    if not dynamic and obj.get("membershipRule"):
        raise SPEC.bad("The membershipRule can only be set on a group whose groupTypes contain "
                       "'DynamicMembership'.")
    state = obj.get("membershipRuleProcessingState")
    if state is not None and state not in ("On", "Paused"):
        raise SPEC.bad("Invalid value specified for property 'membershipRuleProcessingState': expected 'On' "
                       "or 'Paused'.")
    if dynamic and obj.get("isAssignableToRole"):
        raise SPEC.bad("A group that can be assigned to roles cannot have dynamic membership.")
    if obj.get("mailEnabled") and "Unified" not in group_types:
        raise SPEC.bad("Cannot create a mail-enabled security groups and or distribution list.")


def _complete(lab, obj):
    now = lab.clock.now_iso()
    dynamic = DYNAMIC in (obj.get("groupTypes") or [])
    obj.setdefault("createdDateTime", now)
    obj.setdefault("renewedDateTime", now)
    obj.setdefault("securityIdentifier", "S-1-12-1-" + "-".join(str(int(p, 16)) for p in (
        obj["id"].replace("-", "")[i:i + 8] for i in range(0, 32, 8))))
    obj.setdefault("members", [])
    obj.setdefault("owners", [])
    obj.setdefault("membershipRuleProcessingState", "On" if dynamic else None)
    obj.setdefault("membershipRuleProcessingStatus",
                   {"status": "Succeeded", "lastMembershipUpdated": now} if dynamic else None)
    return fill_defaults(obj, "group", {"groupTypes": [], "proxyAddresses": [], "infoCatalogs": [],
                                        "resourceBehaviorOptions": [], "resourceProvisioningOptions": []})


def on_create(req, body, concrete):
    members = _bind_ids(req, body, "members")
    owners = _bind_ids(req, body, "owners")
    obj = {"id": new_id(), **body, "members": members, "owners": owners,
           "createdByAppId": req.principal["app_id"]}
    _check_rules(obj)
    if DYNAMIC in (obj.get("groupTypes") or []) and members:
        raise SPEC.bad("Members cannot be added to a group with dynamic membership.")
    return _complete(req.lab, obj)


def on_update(req, obj, changes):
    merged = dict(obj, **changes)
    _check_rules(merged)
    obj.update(changes)
    if DYNAMIC in obj["groupTypes"] and obj.get("membershipRuleProcessingState") is None:
        obj["membershipRuleProcessingState"] = "On"


def seed(lab, key, obj):
    return _complete(lab, obj) if key == KEY else obj


def list_members(req):
    """Direct members, paged like any directory listing ($top <= 999, default page 100): group-list-members."""
    group = SPEC.find(req)
    if "$filter" in req.query or "$expand" in req.query:
        raise SPEC.bad("Only $select, $top and $skiptoken are modelled on members.")
    members = [(member_id, _member_type(req.lab, member_id)) for member_id in group["members"]]
    return SPEC.page(req, [(member_id, type_name) for member_id, type_name in members if type_name], "directoryObjects",
                     render=lambda member: {"@odata.type": schema.odata_type(member[1]), "id": member[0]})


def list_device_members(req):
    """The members that are devices, as devices (the OData cast `members/microsoft.graph.device`, group-list-members
    "OData cast"), with $select and paged: what step 10 reads instead of looking devices up by id."""
    group = SPEC.find(req)
    select = DEVICES_SPEC.navigation_options(req)
    devices = [device for device in (req.lab.get(DEVICES, member_id) for member_id in group["members"]) if device is not None]
    return DEVICES_SPEC.page(req, devices, "devices", select)


def add_member_ref(req):
    group = SPEC.find(req)
    if DYNAMIC in group["groupTypes"]:
        raise SPEC.bad("Insufficient privileges to complete the operation: the group has dynamic membership.")
    body = req.body if isinstance(req.body, dict) else {}
    url = body.get("@odata.id")
    match = re.search(r"/(?:directoryObjects|users|devices|groups)/([0-9a-fA-F-]{36})$", url or "")
    if set(body) != {"@odata.id"} or not match:
        raise SPEC.bad("The request body must be {\"@odata.id\": \"<directoryObject URL>\"}.")
    member_id = match.group(1)
    if _member_type(req.lab, member_id) is None:
        raise SPEC.missing(member_id)
    if member_id in group["members"]:
        raise SPEC.bad("One or more added object references already exist for the following modified "
                       "properties: 'members'.")
    group["members"].append(member_id)
    return Response(204)


def remove_member_ref(req):
    group = SPEC.find(req)
    if DYNAMIC in group["groupTypes"]:
        raise SPEC.bad("Members of a group with dynamic membership cannot be removed.")
    if req.params["member_id"] not in group["members"]:
        raise SPEC.missing(req.params["member_id"])
    group["members"].remove(req.params["member_id"])
    return Response(204)


SPEC = CollectionSpec(
    key=KEY, path="groups", type_name="group", versions=(schema.V1, schema.BETA), style="directory",
    read=GROUP_READ, write=GROUP_WRITE, create_permission=GROUP_CREATE,
    query=QuerySupport(filter={"displayName": ("eq", "ne", "in", "startswith"), "id": ("eq", "in"),
                               "mailNickname": ("eq", "in", "startswith"), "securityEnabled": ("eq", "ne"),
                               "mailEnabled": ("eq", "ne"), "groupTypes": ("any",),
                               "description": ("eq", "startswith")}),
    on_create=on_create, on_update=on_update, bindable=("members", "owners"))


def register(registry):
    SPEC.register(registry)
    registry.seed_hooks.append(seed)
    versions = SPEC.versions
    registry.route("GET", "groups/{id}/members", list_members, versions=versions, permission=GROUP_READ)
    registry.route("GET", "groups/{id}/members/microsoft.graph.device", list_device_members, versions=versions, permission=GROUP_READ)
    registry.route("POST", "groups/{id}/members/$ref", add_member_ref, versions=versions, permission=GROUP_WRITE)
    registry.route("DELETE", "groups/{id}/members/{member_id}/$ref", remove_member_ref, versions=versions,
                   permission=GROUP_WRITE)


