"""Step 10 (verification): deviceManagement/managedDevices (v1.0, beta; joinType beta only) and
deviceManagement/autopilotEvents (beta only), both read-only and seedable, plus the admin hooks
POST /_lab/autopilot/enroll, which plays a user-driven hybrid join deployment of one Autopilot device, and
POST /_lab/autopilot/sign_in, the user's first sign-in on it, which ends the hybrid join window: until then
Intune keeps the device on its Autopilot (Entra joined) device object (config hybrid_join_window says how
Graph shows that; README "The hybrid join window")."""

from .. import schema
from ..core import new_id
from ..odata import QuerySupport
from ..permissions import MANAGED_DEVICES_READ, MANAGED_DEVICES_WRITE
from .autopilot_devices import ASSIGNED
from .base import CollectionSpec, fill_defaults
from .directory import DEVICE_DEFAULTS
from .timeline import DEVICES, GROUPS, IDENTITIES, PROFILES, stamp

MANAGED = "managedDevices"
EVENTS = "autopilotEvents"
ENROLLMENT_CONFIGURATIONS = "deviceEnrollmentConfigurations"
HYBRID_PROFILE = "activeDirectoryWindowsAutopilotDeploymentProfile"
OS_VERSION = "10.0.26100.1742"
EVENT_DEFAULTS = {"accountSetupDuration": "PT0S", "deploymentDuration": "PT0S", "deploymentTotalDuration": "PT0S",
                  "deviceSetupDuration": "PT0S", "accountSetupStatus": "unknown", "deploymentState": "unknown",
                  "deviceSetupStatus": "unknown", "enrollmentState": "unknown", "enrollmentType": "unknown"}


def _enrollment_status_page(lab, device_id):
    """The ESP that applies to a device: the lowest priority number among custom ESPs assigned to one of
    its groups, else the default one."""
    in_groups = {g["id"] for g in lab.all(GROUPS) if device_id in g["members"]}
    pages = [c for c in lab.all(ENROLLMENT_CONFIGURATIONS)
             if schema.short_name(c["@odata.type"]) == "windows10EnrollmentCompletionPageConfiguration"
             and (c["priority"] == 0 or any(a["target"].get("groupId") in in_groups for a in c["assignments"]))]
    return min(pages, key=lambda c: c["priority"] or float("inf"), default=None)   # the default (0) comes last


def enroll(lab, body):
    """Body: {"serialNumber", "userPrincipalName"?, "deviceName"?}. The identity must have an assigned
    profile. Creates the hybrid-joined Entra device and the managed device, marks the identity enrolled
    and adds a successful autopilotEvent. Returns their ids."""
    serial = body["serialNumber"]
    identity = next((i for i in lab.objects.get(IDENTITIES, {}).values()
                     if i["serialNumber"].lower() == str(serial).lower()), None)
    if identity is None:
        raise ValueError(f"no Autopilot device with serial number {serial!r}")
    if identity["deploymentProfileAssignmentStatus"] not in ASSIGNED:
        raise ValueError(f"{serial!r} has no deployment profile assigned "
                         f"({identity['deploymentProfileAssignmentStatus']}); Autopilot would not run")
    profile = lab.get(PROFILES, identity["_assignedProfileId"])
    hybrid = schema.short_name(profile["@odata.type"]) == HYBRID_PROFILE
    now, name = lab.clock.now(), body.get("deviceName") or serial
    upn = body.get("userPrincipalName") or identity["userPrincipalName"] or None
    # The device joins Entra ID through the object Autopilot pre-created for it; a hybrid one is then joined
    # to AD, and AD sync brings a second, hybrid (ServerAd) object (HYB: two device objects).
    autopilot_object = lab.objects.get(DEVICES, {}).get(identity.get("_entraId"))
    if autopilot_object is not None:
        autopilot_object.update(trustType="AzureAd", isManaged=True, enrollmentProfileName=profile["displayName"])
    joined = autopilot_object
    if hybrid or joined is None:
        joined = fill_defaults({"id": new_id(), "deviceId": new_id(), "displayName": name, "accountEnabled": True,
                                "operatingSystem": "Windows", "operatingSystemVersion": OS_VERSION,
                                "trustType": "ServerAd" if hybrid else "AzureAd", "registrationDateTime": stamp(now),
                                "isManaged": True, "enrollmentProfileName": profile["displayName"]}, "device",
                               DEVICE_DEFAULTS)
        lab.objects.setdefault(DEVICES, {})[joined["id"]] = joined
    window = lab.config["hybrid_join_window"]
    # Until the user's first sign-in Intune syncs with the Autopilot object only (memdocs PR #2408).
    pending = hybrid and autopilot_object is not None and window != "switched"
    managed = {"id": new_id(), "deviceName": name, "serialNumber": identity["serialNumber"],
               "joinType": "hybridAzureADJoined" if hybrid and window != "entra_joined" else "azureADJoined",
               "autopilotEnrolled": True, "enrollmentProfileName": profile["displayName"],
               "azureADDeviceId": autopilot_object["deviceId"] if pending else joined["deviceId"],
               "userPrincipalName": upn, "operatingSystem": "Windows", "osVersion": OS_VERSION,
               "enrolledDateTime": stamp(now), "lastSyncDateTime": stamp(now), "managedDeviceOwnerType": "company",
               "complianceState": "compliant", "manufacturer": identity["manufacturer"], "model": identity["model"]}
    if pending:
        managed["_hybridDeviceId"] = joined["deviceId"]
    lab.objects.setdefault(MANAGED, {})[managed["id"]] = managed
    identity.update(enrollmentState="enrolled", managedDeviceId=managed["id"], lastContactedDateTime=stamp(now))
    esp = _enrollment_status_page(lab, identity.get("_entraId")) or {}
    event = fill_defaults({
        "id": new_id(), "deviceId": managed["id"], "deviceSerialNumber": identity["serialNumber"],
        "eventDateTime": stamp(now), "deviceRegisteredDateTime": stamp(now), "enrollmentStartDateTime": stamp(now),
        "deploymentStartDateTime": stamp(now), "deploymentEndDateTime": stamp(now), "deploymentState": "success",
        "deviceSetupStatus": "success", "accountSetupStatus": "success", "enrollmentState": "enrolled",
        "enrollmentType": "offlineDomainJoined" if hybrid else "azureADJoinedWithAutopilotProfile",
        "managedDeviceName": name, "osVersion": OS_VERSION, "userPrincipalName": upn,
        "windowsAutopilotDeploymentProfileDisplayName": profile["displayName"],
        "windows10EnrollmentCompletionPageConfigurationDisplayName": esp.get("displayName"),
        "windows10EnrollmentCompletionPageConfigurationId": esp.get("id")},
        "deviceManagementAutopilotEvent", EVENT_DEFAULTS)
    lab.objects.setdefault(EVENTS, {})[event["id"]] = event
    return {"managedDeviceId": managed["id"], "deviceId": joined["id"], "azureADDeviceId": joined["deviceId"],
            "autopilotEventId": event["id"], "firstSignInPending": pending}


def first_sign_in(lab, body):
    """Body: {"serialNumber"}. The user signs in on the deployed device for the first time: Intune moves its
    managed device to the hybrid joined object. 400 when the device has no managed device waiting for it."""
    serial = str(body["serialNumber"]).lower()
    identity = next((i for i in lab.objects.get(IDENTITIES, {}).values() if i["serialNumber"].lower() == serial), None)
    managed = lab.objects.get(MANAGED, {}).get((identity or {}).get("managedDeviceId"))
    if managed is None or "_hybridDeviceId" not in managed:
        raise ValueError(f"{body['serialNumber']!r} is not a hybrid joined device waiting for its first sign-in")
    managed.update(azureADDeviceId=managed.pop("_hybridDeviceId"), joinType="hybridAzureADJoined",
                   lastSyncDateTime=stamp(lab.clock.now()))
    return {"managedDeviceId": managed["id"], "azureADDeviceId": managed["azureADDeviceId"]}


def seed(lab, key, obj):
    if key == MANAGED:
        fill_defaults(obj, "managedDevice")
    elif key == EVENTS:
        fill_defaults(obj, "deviceManagementAutopilotEvent", EVENT_DEFAULTS)
    return obj


MANAGED_SPEC = CollectionSpec(
    key=MANAGED, path="deviceManagement/managedDevices", type_name="managedDevice", versions=(schema.V1, schema.BETA),
    read=MANAGED_DEVICES_READ, write=MANAGED_DEVICES_WRITE, operations=("list", "get"),
    query=QuerySupport(filter={"serialNumber": ("eq",), "deviceName": ("eq",), "azureADDeviceId": ("eq",)}))

EVENTS_SPEC = CollectionSpec(
    key=EVENTS, path="deviceManagement/autopilotEvents", type_name="deviceManagementAutopilotEvent",
    read=MANAGED_DEVICES_READ, write=MANAGED_DEVICES_WRITE, operations=("list", "get"))


def register(registry):
    MANAGED_SPEC.register(registry)
    EVENTS_SPEC.register(registry)
    registry.seed_hooks.append(seed)
    registry.admin_route("POST", "/_lab/autopilot/enroll", enroll)
    registry.admin_route("POST", "/_lab/autopilot/sign_in", first_sign_in)
