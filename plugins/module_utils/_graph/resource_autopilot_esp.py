# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Enrollment Status Page (tutorial step 6) as the engine's declarative Resource.

Shared by the resource module and autopilot_config_info, which lists existing objects in the shape
the module accepts.
"""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import (
    GUID_RE,
    Assignments,
    DesiredStateEngine,
    EngineError,
    Prop,
    Resource,
)

TIMEOUT_RANGE = (1, 1440)
MAX_MESSAGE = 10000
MAX_BLOCKING_APPS = 100
# The built-in default profile always holds priority 0; custom profiles start at 1.
DEFAULT_PRIORITY = 0
DEFAULT_ESP_TYPE = "defaultWindows10EnrollmentCompletionPageConfiguration"
CUSTOM_ESP_TYPE = "windows10EnrollmentCompletionPageConfiguration"
# The portal shows these only under "Block device use until all apps and profiles are installed: Yes".
BLOCKING_ONLY = ("allow_reset_on_failure", "allow_use_on_failure", "blocking_apps", "allow_non_blocking_app_installation")


class InvertedBoolProp(Prop):
    """A portal Yes/No that Graph stores negated."""

    def to_graph(self, value):
        return None if value is None else not value

    def from_graph(self, value):
        return None if value is None else not value


def when_blocking(value):
    """A create default that applies only when the device is blocked (the setting exists only then)."""
    return lambda params: value if params.get("block_device_until_complete") is not False else None


def blocking_only_options(params):
    """The options set to a value that needs device use blocked: true, or a non-empty app list. False and [] are what
    Intune holds for them when it does not block, and a tenant accepts them there (the Terraform provider's minimal ESP
    acceptance test sends them so), so they change nothing and are not refused."""
    return [option for option in BLOCKING_ONLY if params.get(option)]


def validate(params):
    errors = []
    timeout = params.get("error_timeout_minutes")
    if timeout is not None and not TIMEOUT_RANGE[0] <= timeout <= TIMEOUT_RANGE[1]:
        errors.append("error_timeout_minutes %d: Intune accepts %d to %d minutes." % (timeout, TIMEOUT_RANGE[0], TIMEOUT_RANGE[1]))
    message = params.get("custom_error_message")
    if message is not None and len(message) > MAX_MESSAGE:
        errors.append("custom_error_message is %d characters; Intune accepts at most %d." % (len(message), MAX_MESSAGE))
    apps = params.get("blocking_apps")
    if apps is not None:
        if len(apps) > MAX_BLOCKING_APPS:
            errors.append("blocking_apps lists %d apps; Intune accepts at most %d (or [] for all apps)." % (len(apps), MAX_BLOCKING_APPS))
        not_ids = [app for app in apps if not GUID_RE.match(app)]
        if not_ids:
            errors.append("blocking_apps must be Intune app IDs (GUIDs), not %s." % ", ".join(repr(app) for app in not_ids))
    priority = params.get("priority")
    if priority is not None and priority < DEFAULT_PRIORITY:
        errors.append("priority %d: 1 is the highest priority a profile can have (0 belongs to the default profile)." % priority)
    blocking_only = blocking_only_options(params)
    if params.get("block_device_until_complete") is False and blocking_only:
        errors.append(
            "%s: true or a non-empty app list applies only when block_device_until_complete is true (the portal shows these only "
            "under 'Block device use until all apps and profiles are installed: Yes'); with block_device_until_complete: false "
            "leave them out or set them false (blocking_apps: [])."
            % ", ".join(blocking_only)
        )
    return errors


def is_default_esp(obj):
    # Older tenants may not return deviceEnrollmentConfigurationType; the default's id keeps the type name.
    return (obj.get("deviceEnrollmentConfigurationType") == DEFAULT_ESP_TYPE
            or (obj.get("id") or "").lower().endswith("_" + DEFAULT_ESP_TYPE.lower()))


def default_esp_refusal(existing, params):
    """Intune lets the default profile's settings change, nothing else."""
    name = "the built-in default Enrollment Status Page profile '%s' (id %s)" % (existing.get("displayName"), existing.get("id"))
    if params["state"] == "absent":
        return "Refusing to delete %s: Intune does not allow deleting it. Turn it off with show_app_and_profile_progress: false instead." % name
    if params.get("priority") not in (None, existing.get("priority")):
        return ("Refusing to set the priority of %s to %d: it always has the lowest priority (%s) and Intune does not allow "
                "moving it. Set priority on your own profile instead." % (name, params["priority"], existing.get("priority")))
    return None


def custom_priority_refusal(params):
    """Priority 0 is the default profile's place; a custom profile cannot take it."""
    if params.get("priority") == DEFAULT_PRIORITY:
        return "priority 0: 1 is the highest priority a profile can have (0 belongs to the default profile)."
    return None


def check_assignments(graph, existing, current_keys, desired_keys):
    """The default profile's targets cannot change; asking for the ones it has changes nothing and is accepted."""
    if existing is None or not is_default_esp(existing) or sorted(current_keys, key=str) == sorted(desired_keys, key=str):
        return None
    return ("Refusing to change the assignments of the built-in default Enrollment Status Page profile '%s' (id %s): it applies "
            "to all users and all devices that no other profile targets, and Intune does not allow changing its assignments. "
            "Create your own profile and assign that." % (existing.get("displayName"), existing.get("id")))


def guard(existing, params):
    """Refusals that depend on the existing profile, before any write."""
    if is_default_esp(existing):
        refusal = default_esp_refusal(existing, params)
    else:
        refusal = custom_priority_refusal(params) if params["state"] == "present" else None
    if refusal:
        return refusal
    blocking_only = blocking_only_options(params)
    if params["state"] == "present" and blocking_only and params.get("block_device_until_complete") is None \
            and existing.get("blockDeviceSetupRetryByUser") is True:
        return (
            "%s: true or a non-empty app list applies only when block_device_until_complete is true, and the Enrollment Status "
            "Page profile '%s' (id %s) does not block device use (Graph blockDeviceSetupRetryByUser is true). Set "
            "block_device_until_complete: true as well, or leave them out or false."
            % (", ".join(blocking_only), existing.get("displayName"), existing.get("id"))
        )
    return None


def empty_as_none(value):
    return value or None


def app_id_set(value):
    return sorted(app.lower() for app in value)


def tidy_description(described):
    """The settings that exist only while device use is blocked are left out when it is not: the module refuses them then."""
    if described.get("block_device_until_complete") is False:
        for option in BLOCKING_ONLY:
            described.pop(option, None)


ESP = Resource(
    noun="Enrollment Status Page profile",
    collection="deviceManagement/deviceEnrollmentConfigurations",
    odata_type="#microsoft.graph.windows10EnrollmentCompletionPageConfiguration",
    return_key="esp",
    # Microsoft365DSC finds its ESPs with this name filter against tenants (lab/graph/README.md).
    filter_by_key=True,
    props=(
        Prop("display_name", "displayName"),
        Prop("description", "description"),
        Prop("show_app_and_profile_progress", "showInstallationProgress", spec={"type": "bool"}, create_default=True),
        Prop("error_timeout_minutes", "installProgressTimeoutInMinutes", spec={"type": "int"}, create_default=60),
        Prop("custom_error_message", "customErrorMessage", normalize=empty_as_none),
        Prop("allow_log_collection", "allowLogCollectionOnInstallFailure", spec={"type": "bool"}, create_default=True),
        Prop("only_show_page_to_oobe_devices", "trackInstallProgressForAutopilotOnly", spec={"type": "bool"}, create_default=True),
        Prop("install_quality_updates", "installQualityUpdates", spec={"type": "bool"}, create_default=False),
        # Portal Yes is Graph false (the portal's own metadata; CIPP's fix for CIPP#2457).
        InvertedBoolProp("block_device_until_complete", "blockDeviceSetupRetryByUser", spec={"type": "bool"}, create_default=True),
        Prop("allow_reset_on_failure", "allowDeviceResetOnInstallFailure", spec={"type": "bool"}, create_default=when_blocking(False)),
        Prop("allow_use_on_failure", "allowDeviceUseOnInstallFailure", spec={"type": "bool"}, create_default=when_blocking(False)),
        Prop("blocking_apps", "selectedMobileAppIds", spec={"type": "list", "elements": "str"}, normalize=app_id_set,
             create_default=when_blocking([])),
        Prop("allow_non_blocking_app_installation", "allowNonBlockingAppInstallation", spec={"type": "bool"},
             create_default=when_blocking(False)),
        Prop("priority", "priority", spec={"type": "int"}, write_action="setPriority"),
        Prop("scope_tags", "roleScopeTagIds", spec={"type": "list", "elements": "str"}, normalize=sorted, create_default=["0"]),
    ),
    assignments=Assignments(
        style="assign_action",
        body_key="enrollmentConfigurationAssignments",
        item_type="#microsoft.graph.enrollmentConfigurationAssignment",
    ),
    validate=validate,
    guard=guard,
    check_assignments=check_assignments,
    tidy_description=tidy_description,
)


class EspEngine(DesiredStateEngine):
    """The engine with what is particular to Enrollment Status Pages."""

    def create_body(self, desired):
        body = super().create_body(desired)
        # No portal control writes it; CIPP and Microsoft365DSC send true, and so does this module.
        body["disableUserStatusTrackingAfterFirstUser"] = True
        return body

    def desired_values(self, base=None):
        """A priority past the last place is compared as the last place, which is what Graph stores for it."""
        if base is not None:
            refusal = custom_priority_refusal(self.params)  # a new profile is never the default one
            if refusal:
                raise EngineError(refusal)
        desired = super().desired_values(base)
        if desired.get("priority") is not None:
            # On create (base given) the new profile takes one more place than the listing shows.
            places = self.custom_esp_count() + (1 if base is not None else 0)
            desired["priority"] = min(desired["priority"], places)
        return desired

    def custom_esp_count(self):
        # The type filter CIPP lists ESPs with; what comes back is still checked, as Graph may ignore a filter.
        listed = self.list_light(("id", "deviceEnrollmentConfigurationType"), "deviceEnrollmentConfigurationType eq '%s'" % CUSTOM_ESP_TYPE)
        return len([obj for obj in listed if ESP.owns(obj) and not is_default_esp(obj)])
