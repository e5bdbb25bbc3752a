"""Entra devices and users (v1.0 and beta, read-only). Each Autopilot device identity gets a device
object whose physicalIds carry "[ZTDId]:<identity id>" and "[OrderId]:<group tag>"; dynamic groups read
them (dynamic_membership.py). Users answer GET by id or by userPrincipalName, as Graph does."""

from .. import schema
from ..core import new_id
from ..odata import QuerySupport
from ..permissions import DEVICE_READ, DEVICE_WRITE, USER_READ, USER_WRITE
from .base import CollectionSpec, fill_defaults
from .timeline import DEVICES, IDENTITIES, delay, schedule, stamp

USERS = "users"
# physicalIds entries the Autopilot service owns (prefixes compared case-insensitively).
AUTOPILOT_PREFIXES = ("[ztdid]:", "[orderid]:", "[purchaseorderid]:")
DEVICE_DEFAULTS = {"physicalIds": [], "systemLabels": [], "alternativeSecurityIds": []}


def autopilot_physical_ids(identity):
    ids = [f"[ZTDId]:{identity['id']}"]
    if identity.get("groupTag"):
        ids.append(f"[OrderId]:{identity['groupTag']}")
    if identity.get("purchaseOrderIdentifier"):
        ids.append(f"[PurchaseOrderId]:{identity['purchaseOrderIdentifier']}")
    return ids


def set_physical_ids(lab, device, identity, at):
    """Replace the Autopilot entries of device.physicalIds with the identity's (none when it is gone);
    dynamic groups see the change after the membership delay."""
    kept = [p for p in device["physicalIds"] if not p.lower().startswith(AUTOPILOT_PREFIXES)]
    wanted = kept + (autopilot_physical_ids(identity) if identity is not None else [])
    if wanted != device["physicalIds"]:
        device["physicalIds"] = wanted
        device["_membershipDueAt"] = at + delay(lab, "membership")
        schedule(lab, device["_membershipDueAt"])


def create_autopilot_device(lab, identity, at):
    """The Entra device object the Autopilot service pre-creates for an identity (named by serial)."""
    device = fill_defaults({"id": new_id(), "deviceId": new_id(), "displayName": identity["serialNumber"],
                            "accountEnabled": True, "operatingSystem": "Windows",
                            "registrationDateTime": stamp(at), "_ztdId": identity["id"]}, "device",
                           DEVICE_DEFAULTS)
    lab.objects.setdefault(DEVICES, {})[device["id"]] = device
    identity["_entraId"] = device["id"]
    identity["azureActiveDirectoryDeviceId"] = identity["azureAdDeviceId"] = device["deviceId"]
    set_physical_ids(lab, device, identity, at)
    return device


def advance(lab, now, due):
    """Create or update the Entra devices of identities whose device work is due; detach deleted ones."""
    devices = lab.objects.get(DEVICES, {})
    for identity in lab.objects.get(IDENTITIES, {}).values():
        at = identity.get("_deviceDueAt")
        if at is None:
            continue
        if at > now:
            due.append(at)
            continue
        del identity["_deviceDueAt"]
        device = devices.get(identity.get("_entraId"))
        if device is None:
            create_autopilot_device(lab, identity, at)
        else:
            set_physical_ids(lab, device, identity, at)
    for device in devices.values():
        at = device.get("_detachDueAt")
        if at is None:
            continue
        if at > now:
            due.append(at)
            continue
        del device["_detachDueAt"]
        set_physical_ids(lab, device, None, at)


def seed(lab, key, obj):
    if key == DEVICES:
        fill_defaults(obj, "device", DEVICE_DEFAULTS)
        obj["_membershipDueAt"] = lab.clock.now()   # seeded devices are settled: evaluated at once
        schedule(lab, obj["_membershipDueAt"])
    elif key == USERS:
        fill_defaults(obj, "user")
    return obj


DEVICES_SPEC = CollectionSpec(
    key=DEVICES, path="devices", type_name="device", versions=(schema.V1, schema.BETA), style="directory",
    read=DEVICE_READ, write=DEVICE_WRITE, operations=("list", "get"),
    query=QuerySupport(filter={"id": ("eq", "in"), "deviceId": ("eq", "in"), "displayName": ("eq", "in", "startswith"),
                               "physicalIds": ("any",), "trustType": ("eq",), "accountEnabled": ("eq",),
                               "operatingSystem": ("eq", "startswith")}))

USERS_SPEC = CollectionSpec(
    key=USERS, path="users", type_name="user", versions=(schema.V1, schema.BETA), style="directory",
    read=USER_READ, write=USER_WRITE, operations=("list",),
    query=QuerySupport(filter={"id": ("eq", "in"), "userPrincipalName": ("eq", "in", "startswith"),
                               "mail": ("eq", "startswith"), "displayName": ("eq", "startswith"),
                               "accountEnabled": ("eq",)}))


def find_user(lab, key):
    """A user by object id or by userPrincipalName (case-insensitive), as /users/{id | upn} resolves."""
    user = lab.get(USERS, key)
    if user is None:
        wanted = key.lower()
        user = next((u for u in lab.all(USERS) if (u.get("userPrincipalName") or "").lower() == wanted), None)
    return user


def get_user(req):
    user = find_user(req.lab, req.params["id"])
    if user is None:
        raise USERS_SPEC.missing(req.params["id"])
    req.params["id"] = user["id"]
    return USERS_SPEC.get(req)


def register(registry):
    DEVICES_SPEC.register(registry)
    USERS_SPEC.register(registry)
    registry.route("GET", "users/{id}", get_user, versions=USERS_SPEC.versions, permission=USER_READ)
    registry.seed_hooks.append(seed)
