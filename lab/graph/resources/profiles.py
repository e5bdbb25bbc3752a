"""Step 7: /deviceManagement/windowsAutopilotDeploymentProfiles (beta) and their group assignments.
No $filter on this collection (Graph refuses it); the deprecated twins are filled from the new names."""

import copy
import json

from .. import schema
from ..core import new_id
from ..errors import GraphError
from ..odata import QuerySupport
from ..permissions import SERVICE_CONFIG_READ, SERVICE_CONFIG_WRITE
from .base import AssignmentSupport, CollectionSpec, fill_defaults, target_key

KEY = "windowsAutopilotDeploymentProfiles"
ASSIGNMENT = "windowsAutopilotDeploymentProfileAssignment"
OOBE_TWINS = {"deviceUsageType": "deviceUsageType", "userType": "userType", "eulaHidden": "hideEULA",
              "privacySettingsHidden": "hidePrivacySettings", "escapeLinkHidden": "hideEscapeLink",
              "keyboardSelectionPageSkipped": "skipKeyboardSelectionPage"}
DEFAULTS = {"locale": "os-default", "deviceNameTemplate": "", "deviceType": "windowsPc",
            "hardwareHashExtractionEnabled": False, "preprovisioningAllowed": False, "roleScopeTagIds": ["0"],
            "managementServiceAppId": None}
# Intune answers a bare HTTP 500 for a displayName holding any of these (see README).
NAME_REFUSED = "-!#%^*)(+;'><"
ALL_DEVICES = "allDevicesAssignmentTarget"
EXCLUSION = "exclusionGroupAssignmentTarget"
OOBE_DEFAULTS = {"deviceUsageType": "singleUser", "escapeLinkHidden": True, "eulaHidden": False,
                 "keyboardSelectionPageSkipped": False, "privacySettingsHidden": False, "userType": "standard"}


def _fill_twins(obj):
    """The service keeps the deprecated (read-only) properties in step with the new ones."""
    obj["language"] = obj.get("locale")
    obj["extractHardwareHash"] = bool(obj.get("hardwareHashExtractionEnabled"))
    obj["enableWhiteGlove"] = bool(obj.get("preprovisioningAllowed"))
    oobe = obj.get("outOfBoxExperienceSetting")
    obj["outOfBoxExperienceSettings"] = None if oobe is None else {
        old: oobe.get(new) for new, old in OOBE_TWINS.items()}


def _intune_error(status, code, text):
    """An error as Intune's services word it: their own JSON envelope as Graph's message."""
    message = json.dumps({"_version": 3, "Message": f"{text} - Operation ID (for customer support): "
                          f"00000000-0000-0000-0000-000000000000 - Activity ID: {new_id()}",
                          "CustomApiErrorPhrase": "", "RetryAfter": None, "ErrorSourceService": "", "HttpHeaders": "{}"})
    return GraphError(status, code, message)


def _check_name(body):
    name = body.get("displayName")
    if isinstance(name, str) and any(char in NAME_REFUSED for char in name):
        raise _intune_error(500, "InternalServerError", "An internal server error has occurred")


def _os_default(body):
    """The service takes an empty locale as the operating system default."""
    if body.get("locale") == "":
        body["locale"] = "os-default"


def _oobe(value):
    if value is None:
        return None
    merged = dict(OOBE_DEFAULTS, **{k: v for k, v in value.items() if k != "@odata.type"})
    return merged


def on_create(req, body, concrete):
    _check_name(body)
    _os_default(body)
    now = req.lab.clock.now_iso()
    obj = {"id": new_id(), **copy.deepcopy(body), "createdDateTime": now, "lastModifiedDateTime": now,
           "assignments": []}
    obj["outOfBoxExperienceSetting"] = _oobe(body.get("outOfBoxExperienceSetting", {}))
    fill_defaults(obj, concrete, DEFAULTS)
    _fill_twins(obj)
    return obj


def on_update(req, obj, changes):
    _check_name(changes)
    _os_default(changes)
    if "outOfBoxExperienceSetting" in changes:
        new = changes["outOfBoxExperienceSetting"]
        old_usage = (obj.get("outOfBoxExperienceSetting") or {}).get("deviceUsageType")
        if new is not None and "deviceUsageType" in new and new["deviceUsageType"] != old_usage:
            raise SPEC.bad("The deployment mode (outOfBoxExperienceSetting.deviceUsageType) cannot be changed "
                           "after the profile is created.")
        if new is not None and old_usage is not None:
            new = dict(new, deviceUsageType=old_usage)
        changes = dict(changes, outOfBoxExperienceSetting=_oobe(new))
    obj.update(copy.deepcopy(changes))
    obj["lastModifiedDateTime"] = req.lab.clock.now_iso()
    _fill_twins(obj)


def before_delete(req, obj):
    if obj["assignments"]:
        raise SPEC.bad("The profile is assigned to groups; remove its assignments before deleting it.")


def seed(lab, obj):
    obj["outOfBoxExperienceSetting"] = _oobe(obj.get("outOfBoxExperienceSetting", {}))
    fill_defaults(obj, schema.short_name(obj["@odata.type"]), DEFAULTS)
    _fill_twins(obj)
    return obj


def _check_all_devices(req, obj, kind):
    kinds = {target_key(a["target"])[0] for a in obj["assignments"]} | {kind}
    if {ALL_DEVICES, EXCLUSION} <= kinds:
        # PROF: "If you use the assignment All Devices, exclusions are not supported"; what the service answers is a lab rule.
        raise SPEC.bad("Exclusions are not supported on a profile assigned to All Devices.")
    if kind == ALL_DEVICES:
        for other in req.lab.all(KEY):
            if other is not obj and any(target_key(a["target"])[0] == ALL_DEVICES for a in other["assignments"]):
                raise _intune_error(400, "BadRequest", f"Another Profile {other['id']} is already assigned to All Devices.")


def before_add(req, obj, assignment):
    if any(target_key(a["target"]) == target_key(assignment["target"]) for a in obj["assignments"]):
        raise SPEC.bad("An assignment for this target already exists on the profile.")
    _check_all_devices(req, obj, target_key(assignment["target"])[0])


SPEC = CollectionSpec(
    key=KEY, path="deviceManagement/windowsAutopilotDeploymentProfiles",
    type_name="windowsAutopilotDeploymentProfile", read=SERVICE_CONFIG_READ, write=SERVICE_CONFIG_WRITE,
    polymorphic=True, query=QuerySupport(filter={}, top=True),
    on_create=on_create, on_update=on_update, before_delete=before_delete, seed=seed,
    assignments=AssignmentSupport(item_type=ASSIGNMENT, style="per_item", before_add=before_add))


def register(registry):
    SPEC.register(registry)
