"""Steps 4 and 9: importing hardware hashes, the Autopilot sync and the device identities it produces.

importedWindowsAutopilotDeviceIdentities (v1.0, beta) are staging rows: state.deviceImportStatus moves
unknown -> pending -> complete | error on the lab clock. A complete row is registered with the service;
its windowsAutopilotDeviceIdentity (id = state.deviceRegistrationId) appears only when a sync that ends
after the registration finishes (POST beta windowsAutopilotSettings/sync, or, with config auto_sync, the
sync the service starts itself when a registration completes). Deleting the staging row does
not undo the registration. Identities have no PATCH; the actions change them at once (the Entra device
follows a group tag change after a delay). deploymentProfileAssignmentStatus (beta) follows the profile
assignments of the groups the identity's Entra device is in."""

import base64

from .. import schema
from ..core import new_id
from ..errors import GraphError
from ..odata import QuerySupport
from ..permissions import SERVICE_CONFIG_READ, SERVICE_CONFIG_WRITE
from . import profiles
from .base import CollectionSpec, Response, fill_defaults
from .directory import USERS, create_autopilot_device
from .timeline import (DEVICES, EMPTY_GUID, GROUPS, IDENTITIES, IMPORTED, NEVER, PROFILES, delay, retry_after,
                       schedule, stamp)

BOTH = (schema.V1, schema.BETA)
SETTINGS = "windowsAutopilotSettings"
OTHER_TENANT = "otherTenantAutopilotDevices"   # lab-only: serials/hashes registered to another tenant
INTUNE_RECORDS = "intuneDeviceRecords"         # lab-only: hashes of devices Intune holds a record of, no identity
DOMAINS = "domains"                            # lab-only: the tenant's verified domains
# Lab rule: a decoded hash shorter than this is not a hardware hash (real ones are about 4 KB).
MIN_HASH_BYTES = 100
# deviceErrorCode per deviceErrorName. 802/806/808 are the service's (806 and 808: SupportArticles-docs
# import-windows-autopilot-device-csv-files-errors.md); no source gives ZtdDeviceDuplicated's code, so the lab
# reports 0 there (key on deviceErrorName and deviceImportStatus).
IMPORT_ERRORS = {"InvalidZtdHardwareHash": 802, "ZtdDeviceAlreadyAssigned": 806,
                 "ZtdDeviceAssignedToOtherTenant": 808, "ZtdDeviceDuplicated": 0}
IMPORT_FIELDS = ("assignedUserPrincipalName", "groupTag", "hardwareIdentifier", "importId", "productKey",
                 "serialNumber")
IDENTITY_DEFAULTS = {
    "addressableUserName": "", "displayName": "", "groupTag": "", "purchaseOrderIdentifier": "", "productKey": "",
    "resourceName": "", "skuNumber": "", "systemFamily": "", "userPrincipalName": "", "deviceAccountUpn": "",
    "deviceFriendlyName": "", "managedDeviceId": EMPTY_GUID, "azureActiveDirectoryDeviceId": EMPTY_GUID,
    "azureAdDeviceId": EMPTY_GUID, "enrollmentState": "notContacted", "lastContactedDateTime": NEVER,
    "deploymentProfileAssignmentStatus": "notAssigned", "deploymentProfileAssignmentDetailedStatus": "none",
    "deploymentProfileAssignedDateTime": NEVER, "remediationState": "noRemediationRequired",
    "remediationStateLastModifiedDateTime": NEVER, "userlessEnrollmentStatus": "allowed"}
ASSIGNED = ("assignedInSync", "assignedOutOfSync", "assignedUnkownSyncState")


# --- imports -----------------------------------------------------------------------------------------
def _checked_import(req, item):
    IMPORTED_SPEC.validate(req, item, "importedWindowsAutopilotDeviceIdentity", creating=True)
    return _check_values(item)


def _check_values(item):
    if not isinstance(item.get("serialNumber"), str) or not item["serialNumber"].strip():
        raise IMPORTED_SPEC.bad("The property 'serialNumber' must be a non-empty string.")
    if item.get("hardwareIdentifier") is None:
        raise IMPORTED_SPEC.bad("The property 'hardwareIdentifier' must be the base64 hardware hash.")
    return item


def _new_import(lab, item):
    now = lab.clock.now()
    row = {"id": new_id(), **{name: item.get(name) for name in IMPORT_FIELDS},
           "state": {"deviceImportStatus": "unknown", "deviceRegistrationId": "", "deviceErrorCode": 0,
                     "deviceErrorName": ""},
           "_pendingAt": now + delay(lab, "import_pending"), "_doneAt": now + delay(lab, "import_done")}
    schedule(lab, row["_pendingAt"])
    return row


def create_import(req, body, concrete):
    return _new_import(req.lab, _check_values(body))


def import_action(req):
    body = req.body if isinstance(req.body, dict) else {}
    for name in body:
        if name != "importedWindowsAutopilotDeviceIdentities":
            raise IMPORTED_SPEC.bad(f"The parameter '{name}' in the request payload is not a valid parameter for "
                                    "the operation 'import'.")
    items = body.get("importedWindowsAutopilotDeviceIdentities")
    if not isinstance(items, list):
        raise IMPORTED_SPEC.bad("The parameter 'importedWindowsAutopilotDeviceIdentities' must be a JSON array.")
    checked = [_checked_import(req, item) for item in items]   # all or nothing, as one OData action
    rows, seen = [], set()
    for item in checked:
        row = _new_import(req.lab, item)
        # "Duplicate hardware hashes in the CSV file": the first is processed, the rest fail (add-devices.md).
        if item["hardwareIdentifier"] in seen:
            row["_duplicate"] = True
        seen.add(item["hardwareIdentifier"])
        req.lab.insert(IMPORTED, row)
        rows.append(IMPORTED_SPEC.render(req, row))
    return Response(200, {"@odata.context": f"{req.lab.url}/{req.version}/$metadata#Collection(microsoft.graph."
                                            "importedWindowsAutopilotDeviceIdentity)", "value": rows})


class _Known:
    """Hashes registered here or held in an Intune record, and serials (case-insensitive) and hashes registered
    to another tenant."""

    def __init__(self, lab):
        here = list(lab.objects.get(IDENTITIES, {}).values()) + settings(lab)["_registrations"]
        self.hashes = {o.get("_hash") for o in here} - {None}
        self.hashes |= {o.get("hardwareIdentifier") for o in lab.objects.get(INTUNE_RECORDS, {}).values()} - {None}
        elsewhere = list(lab.objects.get(OTHER_TENANT, {}).values())
        self.other_serials = {(o.get("serialNumber") or "").lower() for o in elsewhere} - {""}
        self.other_hashes = {o.get("hardwareIdentifier") for o in elsewhere} - {None}


def _outcome(row, known):
    serial, hardware_hash = row["serialNumber"].lower(), row["hardwareIdentifier"]
    if row.pop("_duplicate", False):
        return "ZtdDeviceDuplicated"
    if len(base64.b64decode(hardware_hash)) < MIN_HASH_BYTES:
        return "InvalidZtdHardwareHash"
    if serial in known.other_serials or hardware_hash in known.other_hashes:
        return "ZtdDeviceAssignedToOtherTenant"
    if hardware_hash in known.hashes:   # keyed on the hash, not the serial (SupportArticles-docs, above)
        return "ZtdDeviceAlreadyAssigned"
    return None


def _settle(lab, row, known):
    at = row.pop("_doneAt")
    del row["_pendingAt"]
    error = _outcome(row, known)
    if error:
        row["state"].update(deviceImportStatus="error", deviceErrorName=error, deviceErrorCode=IMPORT_ERRORS[error])
        return
    registration = {"id": new_id(), "completedAt": at, "serialNumber": row["serialNumber"],
                    "groupTag": row.get("groupTag"), "productKey": row.get("productKey"),
                    "userPrincipalName": row.get("assignedUserPrincipalName"), "_hash": row["hardwareIdentifier"]}
    settings(lab)["_registrations"].append(registration)
    known.hashes.add(row["hardwareIdentifier"])
    if lab.config["auto_sync"] and settings(lab)["syncStatus"] != "inProgress":
        _start_sync(lab, at)
    row["state"].update(deviceImportStatus="complete", deviceRegistrationId=registration["id"])


def advance_imports(lab, now, due):
    ready = []
    for row in lab.objects.get(IMPORTED, {}).values():
        done = row.get("_doneAt")
        if done is None:
            continue
        if done <= now:
            ready.append(row)
        elif row["_pendingAt"] <= now:
            row["state"]["deviceImportStatus"] = "pending"
            due.append(done)
        else:
            due.append(row["_pendingAt"])
    if ready:
        known = _Known(lab)
        for row in sorted(ready, key=lambda r: r["_doneAt"]):   # earlier outcomes decide later ones
            _settle(lab, row, known)


# --- sync --------------------------------------------------------------------------------------------
def settings(lab):
    store = lab.objects.setdefault(SETTINGS, {})
    if not store:   # a custom seed without one
        lab.seed_object(SETTINGS, {})
    return next(iter(store.values()))


def get_settings(req):
    props = schema.properties("windowsAutopilotSettings", req.version)
    body = {k: v for k, v in settings(req.lab).items() if k in props}
    return Response(200, {"@odata.context": f"{req.lab.url}/beta/$metadata#deviceManagement/"
                                            "windowsAutopilotSettings/$entity", **body})


def sync(req):
    if req.body:
        raise IMPORTED_SPEC.bad("The action 'sync' takes no parameters.")
    state, now = settings(req.lab), req.lab.clock.now()
    if state["syncStatus"] == "inProgress":
        raise GraphError(409, "Conflict", "A sync of Windows Autopilot devices is already in progress.")
    next_allowed = state.get("_lastManualSyncAt", float("-inf")) + delay(req.lab, "sync_throttle")
    if now < next_allowed:
        raise GraphError(429, "TooManyRequests", "Windows Autopilot devices can be synced once every 10 minutes.",
                         headers={"Retry-After": retry_after(next_allowed - now)})
    state.update(lastManualSyncTriggerDateTime=stamp(now), _lastManualSyncAt=now)
    _start_sync(req.lab, now)
    return Response(204)


def _start_sync(lab, at):
    """A sync from `at`: a manual one, or (config auto_sync) one the service starts when a registration
    completes; it answers 409 while it runs, but only a manual one starts the 10-minute throttle."""
    state = settings(lab)
    state.update(syncStatus="inProgress", _syncDoneAt=at + delay(lab, "sync"))
    schedule(lab, state["_syncDoneAt"])


def _materialise(lab, registration, at):
    identity = complete_identity({
        "id": registration["id"], "serialNumber": registration["serialNumber"],
        "groupTag": registration["groupTag"] or "", "productKey": registration["productKey"] or "",
        "userPrincipalName": registration["userPrincipalName"] or "", "_hash": registration["_hash"],
        "_deviceDueAt": at + delay(lab, "device_object"), "_retargetAt": at})
    lab.objects.setdefault(IDENTITIES, {})[identity["id"]] = identity
    schedule(lab, at)


def advance_sync(lab, now, due):
    state = settings(lab)
    done = state.get("_syncDoneAt")
    if done is None:
        return
    if done > now:
        due.append(done)
        return
    waiting = []
    for registration in state["_registrations"]:
        if registration["completedAt"] <= done:
            _materialise(lab, registration, done)
        else:
            waiting.append(registration)
    del state["_syncDoneAt"]
    state.update(_registrations=waiting, syncStatus="completed", lastSyncDateTime=stamp(done))
    if waiting and lab.config["auto_sync"]:
        _start_sync(lab, done)   # registrations that completed while it ran get the next one


# --- device identities -------------------------------------------------------------------------------
def complete_identity(obj):
    return fill_defaults(obj, "windowsAutopilotDeviceIdentity", IDENTITY_DEFAULTS)


def before_delete(req, identity):
    if identity["enrollmentState"] == "enrolled":
        raise IDENTITIES_SPEC.bad("The device is enrolled in Intune; delete its managed device first.")
    device = req.lab.objects.get(DEVICES, {}).get(identity.get("_entraId"))
    if device is not None:
        device["_detachDueAt"] = req.lab.clock.now() + delay(req.lab, "device_object")
        schedule(req.lab, device["_detachDueAt"])


def _action_parameters(req, operation, names):
    body = {} if req.body is None else req.body
    if not isinstance(body, dict):
        raise IDENTITIES_SPEC.bad("The request body must be a JSON object.")
    for name, value in body.items():
        if name not in names:
            raise IDENTITIES_SPEC.bad(f"The parameter '{name}' in the request payload is not a valid parameter "
                                      f"for the operation '{operation}'.")
        if value is not None and not isinstance(value, str):
            raise IDENTITIES_SPEC.bad(f"Cannot convert a primitive value to the expected type 'Edm.String' for "
                                      f"parameter '{name}'.")
    return body


def _check_user(lab, upn):
    """Only the domain of the UPN is validated (reference, step 9)."""
    domains = {d["id"].lower() for d in lab.objects.get(DOMAINS, {}).values()}
    domains |= {(u.get("userPrincipalName") or "").rpartition("@")[2].lower() for u in lab.all(USERS)}
    if "@" not in upn or upn.rpartition("@")[2].lower() not in domains:
        raise IDENTITIES_SPEC.bad(f"The userPrincipalName '{upn}' is not in a verified domain of this tenant.")


def assign_user(req):
    identity = IDENTITIES_SPEC.find(req)
    body = _action_parameters(req, "assignUserToDevice", ("userPrincipalName", "addressableUserName"))
    if not body.get("userPrincipalName"):
        raise IDENTITIES_SPEC.bad("The parameter 'userPrincipalName' is required.")
    _check_user(req.lab, body["userPrincipalName"])
    identity["userPrincipalName"] = body["userPrincipalName"]
    identity["addressableUserName"] = body.get("addressableUserName") or ""
    return Response(204)


def unassign_user(req):
    identity = IDENTITIES_SPEC.find(req)
    _action_parameters(req, "unassignUserFromDevice", ())
    identity["userPrincipalName"] = identity["addressableUserName"] = ""
    return Response(204)


def update_properties(req):
    """Parameters left out (or null) keep their value."""
    identity = IDENTITIES_SPEC.find(req)
    body = _action_parameters(req, "updateDeviceProperties",
                              ("userPrincipalName", "addressableUserName", "groupTag", "displayName"))
    changes = {name: value for name, value in body.items() if value is not None}
    if changes.get("userPrincipalName"):
        _check_user(req.lab, changes["userPrincipalName"])
    if "groupTag" in changes and changes["groupTag"] != identity["groupTag"] and "_entraId" in identity:
        identity["_deviceDueAt"] = req.lab.clock.now() + delay(req.lab, "device_object")
        schedule(req.lab, identity["_deviceDueAt"])
    identity.update(changes)
    return Response(204)


def _profile_response(req, profile_id):
    profile = req.lab.get(PROFILES, profile_id) if profile_id else None
    if profile is None:
        raise GraphError(404, "ResourceNotFound", "No deployment profile is assigned to this device.")
    return Response(200, profiles.SPEC.render(req, profile))


def get_deployment_profile(req):
    return _profile_response(req, IDENTITIES_SPEC.find(req).get("_assignedProfileId"))


def get_intended_profile(req):
    return _profile_response(req, IDENTITIES_SPEC.find(req).get("_targetProfileId"))


def list_assigned_devices(req):
    """beta windowsAutopilotDeploymentProfile.assignedDevices (a contained navigation in the beta metadata): the
    identities the profile is assigned to now (deploymentProfile names it), paged, with $select."""
    profile = profiles.SPEC.find(req)
    select = IDENTITIES_SPEC.navigation_options(req)
    assigned = [identity for identity in req.lab.all(IDENTITIES) if identity.get("_assignedProfileId") == profile["id"]]
    return IDENTITIES_SPEC.page(req, assigned, f"{profiles.SPEC.path}('{profile['id']}')/assignedDevices", select)


# --- profile assignment status -----------------------------------------------------------------------
def _profile_for_device(lab):
    """fn(Entra device id or None) -> the id of the profile Autopilot applies, or None. When several
    target the device, the oldest profile wins (Autopilot's documented rule)."""
    plans, wanted = [], set()
    for profile in sorted(lab.all(PROFILES), key=lambda p: p["createdDateTime"]):
        include, exclude, everyone = set(), set(), False
        for assignment in profile["assignments"]:
            target = schema.short_name(assignment["target"]["@odata.type"])
            if target == "allDevicesAssignmentTarget":
                everyone = True
            elif target == "exclusionGroupAssignmentTarget":
                exclude.add(assignment["target"]["groupId"])
            else:
                include.add(assignment["target"]["groupId"])
        plans.append((profile["id"], include, exclude, everyone))
        wanted |= include | exclude
    groups_of = {}
    for group_id in wanted:
        group = lab.get(GROUPS, group_id)
        for member in group["members"] if group else ():
            groups_of.setdefault(member, set()).add(group_id)

    def profile_for(device_id):
        in_groups = groups_of.get(device_id, set())
        for profile_id, include, exclude, everyone in plans:
            if not in_groups & exclude and (everyone or in_groups & include):
                return profile_id
        return None
    return profile_for


def advance_targeting(lab, now, due):
    identities = lab.objects.get(IDENTITIES, {}).values()
    profile_for = None
    for identity in identities:
        at = identity.get("_retargetAt")
        if at is None:
            continue
        if at > now:
            due.append(at)
            continue
        del identity["_retargetAt"]
        profile_for = profile_for or _profile_for_device(lab)
        profile_id = profile_for(identity.get("_entraId"))
        if profile_id == identity.get("_targetProfileId"):
            continue
        identity["_targetProfileId"] = profile_id
        identity.pop("_assignedProfileId", None)
        identity["deploymentProfileAssignedDateTime"] = NEVER
        if profile_id is None:
            identity.pop("_assignDueAt", None)
            identity["deploymentProfileAssignmentStatus"] = "notAssigned"
        else:
            identity["_assignDueAt"] = at + delay(lab, "profile_assignment")
            identity["deploymentProfileAssignmentStatus"] = "pending"
    for identity in identities:
        at = identity.get("_assignDueAt")
        if at is None:
            continue
        if at > now:
            due.append(at)
            continue
        del identity["_assignDueAt"]
        identity.update(deploymentProfileAssignmentStatus="assignedInSync", deploymentProfileAssignedDateTime=stamp(at),
                        _assignedProfileId=identity["_targetProfileId"])


# --- seeds and registration --------------------------------------------------------------------------
def seed(lab, key, obj):
    now = lab.clock.now()
    if key == IDENTITIES:
        # Seeded identities are settled: their Entra device exists and groups evaluate it at once; the
        # profile assignment still runs its course.
        complete_identity(obj)
        device = create_autopilot_device(lab, obj, now)
        device["_membershipDueAt"] = obj["_retargetAt"] = now
        schedule(lab, now)
    elif key == SETTINGS:
        ago = obj.pop("lastSyncSecondsAgo", None)
        obj.setdefault("lastSyncDateTime", NEVER if ago is None else stamp(now - ago))
        obj.setdefault("lastManualSyncTriggerDateTime", NEVER)
        obj.setdefault("syncStatus", "unknown" if ago is None else "completed")
        obj.setdefault("_registrations", [])
    return obj


IMPORTED_SPEC = CollectionSpec(
    key=IMPORTED, path="deviceManagement/importedWindowsAutopilotDeviceIdentities",
    type_name="importedWindowsAutopilotDeviceIdentity", versions=BOTH, read=SERVICE_CONFIG_READ,
    write=SERVICE_CONFIG_WRITE, operations=("list", "get", "create", "delete"), on_create=create_import)

IDENTITIES_SPEC = CollectionSpec(
    key=IDENTITIES, path="deviceManagement/windowsAutopilotDeviceIdentities",
    type_name="windowsAutopilotDeviceIdentity", versions=BOTH, read=SERVICE_CONFIG_READ, write=SERVICE_CONFIG_WRITE,
    operations=("list", "get", "delete"), query=QuerySupport(filter={"serialNumber": ("contains",)}),
    before_delete=before_delete)


def register(registry):
    IMPORTED_SPEC.register(registry)
    IDENTITIES_SPEC.register(registry)
    registry.store(SETTINGS)
    registry.store(OTHER_TENANT)
    registry.store(INTUNE_RECORDS)
    registry.store(DOMAINS)
    registry.seed_hooks.append(seed)
    write = {"versions": BOTH, "permission": SERVICE_CONFIG_WRITE}
    registry.route("POST", IMPORTED_SPEC.path + "/import", import_action, **write)
    item = IDENTITIES_SPEC.path + "/{id}/"
    registry.route("POST", item + "assignUserToDevice", assign_user, **write)
    registry.route("POST", item + "unassignUserFromDevice", unassign_user, **write)
    registry.route("POST", item + "updateDeviceProperties", update_properties, **write)
    beta_read = {"versions": (schema.BETA,), "permission": SERVICE_CONFIG_READ}
    registry.route("GET", item + "deploymentProfile", get_deployment_profile, **beta_read)
    registry.route("GET", item + "intendedDeploymentProfile", get_intended_profile, **beta_read)
    registry.route("GET", profiles.SPEC.path + "/{id}/assignedDevices", list_assigned_devices, **beta_read)
    registry.route("GET", "deviceManagement/windowsAutopilotSettings", get_settings, **beta_read)
    registry.route("POST", "deviceManagement/windowsAutopilotSettings/sync", sync, versions=(schema.BETA,),
                   permission=SERVICE_CONFIG_WRITE)
