# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The hybrid join Autopilot deployment profile (tutorial step 7) as the engine's declarative Resource.

Shared by the resource module and autopilot_config_info, which lists existing objects in the shape
the module accepts.
"""

from __future__ import annotations

import re

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import (
    Assignments,
    DesiredStateEngine,
    EngineError,
    Prop,
    Resource,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_targets import target_key

MAX_DESCRIPTION = 1500
# Intune answers a bare HTTP 500 for a profile name holding any of these (CIPP, the Terraform provider's
# validators, IntuneManagement, Microsoft365DSC#3892), so they are refused before any request.
NAME_REFUSED = "-!#%^*)(+;'><"
OOBE = "outOfBoxExperienceSetting"
# Graph's `locale` for the portal's two non-locale choices (CIPP, IntuneManagement).
LANGUAGE_CHOICES = {"os_default": "os-default", "user_select": "user-select"}
# Other tools' spellings of the two choices: Graph's own values (the Terraform provider writes os-default, CIPP
# user-select) and "". The service stores a "" written today as os-default (the Terraform provider's construct.go,
# CIPP#5761), so "" is os_default, sent as os-default: an explicit value reads back unambiguously, "" does not.
LANGUAGE_ALIASES = {"os-default": "os_default", "user-select": "user_select", "": "os_default"}
# A stored empty locale: the Terraform provider (state.go) and IntuneManagement read it as User select, what the
# portal once wrote for it; CIPP as the OS default (CIPP#2498). Unsettled, so it equals no value the module writes.
AMBIGUOUS_LOCALE = ""
# language[-Script][-REGION][-variant...], for example en-US, sr-Latn-RS, es-419, and the portal's es-ES-tradnl
# (Spanish, traditional sort): every locale key the portal offers has this shape (IntuneManagement's copy of the
# portal's strings, Documentation/Strings-en.json "Languages").
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$")


class LanguageProp(Prop):
    """`locale`: two named choices (with their aliases) or a free locale tag, so `choices` (which restricts the
    option) cannot map it. A stored "" is shown as it is: it is ambiguous (AMBIGUOUS_LOCALE)."""

    def to_graph(self, value):
        named = LANGUAGE_ALIASES.get(value, value)
        return LANGUAGE_CHOICES.get(named, named)

    def from_graph(self, value):
        named = {graph: option for option, graph in LANGUAGE_CHOICES.items()}
        return named.get(value, value)


def locale_key(value):
    """Locales compare case-insensitively; the ambiguous "" equals nothing the module writes (it never writes "")."""
    return value.casefold()


def ambiguous_locale_note(profile, language, check_mode):
    """What a run says of a profile holding the ambiguous empty locale."""
    held = ("The Autopilot profile '%s' (id %s) held an empty locale, which tools read two ways: User select (the Terraform "
            "provider and IntuneManagement; the portal once wrote it so) or the operating system default (CIPP). "
            % (profile.get("displayName"), profile.get("id")))
    if language is None:
        return held + "The module left it as it is; set language to os_default or user_select to say which one you mean."
    return held + "The module did not guess: it %s locale '%s', as language asks, so it reads back unambiguously." % (
        "would write" if check_mode else "wrote", PROFILE.prop("language").to_graph(language))


def validate(params):
    errors = []
    name, description = params.get("display_name"), params.get("description")
    refused = sorted({char for char in name or "" if char in NAME_REFUSED}, key=NAME_REFUSED.index)
    if refused:
        suggestion = " ".join("".join(" " if char in NAME_REFUSED else char for char in name).split())
        errors.append(
            "display_name %r: Intune refuses Autopilot profile names containing any of %s (it answers only HTTP 500); "
            "this one has %s. Use spaces or underscores instead%s."
            % (name, " ".join(NAME_REFUSED), " ".join(refused), ", for example %r" % suggestion if suggestion else "")
        )
    if description is not None and len(description) > MAX_DESCRIPTION:
        errors.append("description: at most %d characters (got %d)." % (MAX_DESCRIPTION, len(description)))
    if params.get("deployment_mode") == "self_deploying":
        errors.append(
            "deployment_mode self_deploying: Microsoft Entra hybrid join supports user-driven deployments only "
            "(self-deploying mode needs Microsoft Entra join); use deployment_mode: user_driven."
        )
    language = params.get("language")
    if language is not None and language not in LANGUAGE_CHOICES and language not in LANGUAGE_ALIASES and not LOCALE_RE.match(language):
        errors.append(
            "language %r: use os_default, user_select or a locale such as en-US or es-ES-tradnl (language, then optionally "
            "script, region and variant, joined by hyphens)." % language
        )
    if params.get("device_name_template"):
        errors.append(
            "device_name_template %r: hybrid join profiles cannot name devices; the computer name comes from the "
            "domain join profile (intune.autopilot.domain_join_profile, computer_name_prefix)." % params["device_name_template"]
        )
    return errors


def check_assignments(graph, existing, current_keys, desired_keys):
    """Intune's All Devices rules, which span profiles, checked before any write."""
    if ("all_devices", None) not in desired_keys:
        return None
    excluded = [group for kind, group in desired_keys if kind == "exclude"]
    if excluded:
        return (
            "assignments: a deployment profile assigned to all devices cannot exclude groups (Intune does not support "
            "exclusions with All Devices), and these assignments would keep all_devices with exclusions of %s. Remove "
            "those exclusions, or assign groups instead of all_devices." % ", ".join(excluded)
        )
    if ("all_devices", None) in current_keys:
        return None  # Intune let this profile take All Devices, so no other profile holds it: no need to list them all
    own_id = (existing or {}).get("id", "").lower()
    for profile in graph.list(PROFILE.collection, api=PROFILE.api, params={"$expand": "assignments"}):
        if profile["id"].lower() != own_id and any(
            target_key(a.get("target") or {}) == ("all_devices", None) for a in profile.get("assignments") or []
        ):
            return (
                "assignments: only one deployment profile in a tenant may target all devices, and the profile '%s' (id %s) "
                "already does (Intune refuses: 'Another Profile ... is already assigned to All Devices'). Take all devices "
                "off that profile first, or assign groups to this one." % (profile.get("displayName"), profile["id"])
            )
    return None


PROFILE = Resource(
    noun="hybrid join Autopilot profile",
    collection="deviceManagement/windowsAutopilotDeploymentProfiles",
    odata_type="#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile",
    # A same-named Entra join profile is the same portal object with another join type: a create-only change.
    kin_types=("#microsoft.graph.azureADWindowsAutopilotDeploymentProfile",),
    type_option="join type",
    return_key="profile",
    props=(
        Prop("display_name", "displayName"),
        Prop("description", "description"),
        Prop("deployment_mode", OOBE + ".deviceUsageType", choices={"user_driven": "singleUser", "self_deploying": "shared"},
             create_only=True, create_default="user_driven"),
        Prop("skip_ad_connectivity_check", "hybridAzureADJoinSkipConnectivityCheck", spec={"type": "bool"},
             create_only=True, create_default=False),
        Prop("hide_license_terms", OOBE + ".eulaHidden", spec={"type": "bool"}, create_default=True),
        Prop("hide_privacy_settings", OOBE + ".privacySettingsHidden", spec={"type": "bool"}, create_default=True),
        Prop("hide_change_account_options", OOBE + ".escapeLinkHidden", spec={"type": "bool"}, create_default=True),
        Prop("user_account_type", OOBE + ".userType", choices={"standard": "standard", "administrator": "administrator"},
             create_default="standard"),
        Prop("allow_pre_provisioning", "preprovisioningAllowed", spec={"type": "bool"}, create_default=False),
        LanguageProp("language", "locale", normalize=locale_key, create_default="os_default"),
        Prop("configure_keyboard_automatically", OOBE + ".keyboardSelectionPageSkipped", spec={"type": "bool"}, create_default=True),
        Prop("convert_all_targeted_devices", "hardwareHashExtractionEnabled", spec={"type": "bool"}, create_default=True),
        Prop("device_type", "deviceType", choices={"windows_pc": "windowsPc"}, create_only=True, create_default="windows_pc"),
        Prop("device_name_template", "deviceNameTemplate", create_default=""),
        Prop("scope_tags", "roleScopeTagIds", spec={"type": "list", "elements": "str"}, normalize=sorted, create_default=["0"]),
    ),
    assignments=Assignments(
        style="per_item",
        item_type="#microsoft.graph.windowsAutopilotDeploymentProfileAssignment",
        kinds=("include", "exclude", "all_devices"),
    ),
    validate=validate,
    check_assignments=check_assignments,
)


class ProfileEngine(DesiredStateEngine):
    """The engine with what is particular to deployment profiles: the ambiguous empty locale."""

    stored_locale = None

    def find(self):
        existing = super().find()
        self.stored_locale = get_locale(existing)
        return existing

    def desired_values(self, base=None):
        # A replacement would carry "" over, which the service stores as os-default: a silent pick. Ask instead.
        if get_locale(base) == AMBIGUOUS_LOCALE and self.params.get("language") is None:
            raise EngineError(
                "language: the profile '%s' (id %s) holds an empty locale, which some tools read as User select and others as "
                "the operating system default, and its replacement cannot keep it. Set language (os_default or user_select) "
                "to say which one the new profile gets." % (base.get("displayName"), base.get("id")))
        return super().desired_values(base)

    def result(self, obj, keys):
        if self.stored_locale == AMBIGUOUS_LOCALE and self.params["state"] == "present":
            self.module.warn(ambiguous_locale_note(obj or {}, self.params.get("language"), self.module.check_mode))
        return super().result(obj, keys)


def get_locale(profile):
    return profile.get("locale") if profile else None
