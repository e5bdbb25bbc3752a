#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: autopilot_profile
short_description: Manage the Windows Autopilot hybrid join deployment profile (tutorial step 7)
version_added: 0.1.0
description:
  - Creates, updates, assigns or deletes a Windows Autopilot deployment profile that joins devices to
    Microsoft Entra ID as B(Microsoft Entra hybrid joined) in user-driven mode
    (C(activeDirectoryWindowsAutopilotDeploymentProfile)), step 7 of the Windows Autopilot user-driven
    Microsoft Entra hybrid join tutorial.
  - The profile is found by O(display_name) among all Autopilot deployment profiles, or by O(id).
    A Microsoft Entra joined profile of the same name is found too; as its join type cannot change in
    place, the module refuses to touch it unless O(recreate=true).
  - Only the options you set are compared. On create, unset options take the tutorial's values.
  - Only the current Graph properties are written and compared (C(locale), C(outOfBoxExperienceSetting),
    C(hardwareHashExtractionEnabled), C(preprovisioningAllowed)); their deprecated read-only twins
    (C(language), C(outOfBoxExperienceSettings), C(extractHardwareHash), C(enableWhiteGlove)) are ignored.
  - O(deployment_mode), O(skip_ad_connectivity_check) and O(device_type) cannot change on an existing
    profile; a change fails naming the option unless O(recreate=true), which replaces the profile and
    moves its assignments to the replacement before the old one is deleted.
author:
  - intune.autopilot developers (!UNKNOWN)
extends_documentation_fragment:
  - intune.autopilot.graph
  - intune.autopilot.graph_assignments
  - intune.autopilot.graph_resource
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: all
options:
  display_name:
    description:
      - Name of the profile, 1 to 200 characters. Required unless O(id) is given.
      - Matched case-insensitively, as Graph matches names in its filters; a name that differs only in case renames the profile.
      - "Intune refuses a name containing a hyphen, a parenthesis or any of C(! # % ^ * + ; ' > <) with a bare HTTP 500,
        so such a name fails before any request. Use spaces or underscores instead."
    type: str
  description:
    description:
      - Description of the profile, at most 1500 characters.
    type: str
  deployment_mode:
    description:
      - The portal's B(Deployment mode). Hybrid join supports V(user_driven) only; V(self_deploying) is
        rejected before any request.
      - Cannot change on an existing profile (the portal greys it out); see O(recreate).
      - On create defaults to V(user_driven).
    type: str
    choices: [user_driven, self_deploying]
  skip_ad_connectivity_check:
    description:
      - The portal's B(Skip AD connectivity check). V(true) only when devices reach the domain through a VPN
        during the Autopilot deployment; the tutorial leaves it V(false).
      - Treated as create-only, as Intune's own portal and other tools send it only on create; changing it
        needs O(recreate=true).
      - On create defaults to V(false).
    type: bool
  hide_license_terms:
    description:
      - Hide the Microsoft Software License Terms during the out-of-box experience. On create defaults to V(true).
    type: bool
  hide_privacy_settings:
    description:
      - Hide the privacy settings during the out-of-box experience. On create defaults to V(true).
    type: bool
  hide_change_account_options:
    description:
      - Hide the change account options on the sign-in page (it needs company branding in Microsoft Entra ID).
      - On create defaults to V(true).
    type: bool
  user_account_type:
    description:
      - Whether the user who enrolls the device is a standard user or a local administrator.
      - On create defaults to V(standard).
    type: str
    choices: [standard, administrator]
  allow_pre_provisioning:
    description:
      - The portal's B(Allow pre-provisioned deployment) (technician phase, formerly White Glove).
      - On create defaults to V(false).
    type: bool
  language:
    description:
      - The portal's B(Language) (Region) setting - V(os_default) (the operating system default), V(user_select)
        (the user picks it), or a locale.
      - V(os-default) and V(user-select), Graph's own values as other tools write them, are aliases of V(os_default)
        and V(user_select).
      - A locale is a tag such as C(en-US), C(de-DE), C(sr-Latn-RS) or C(es-ES-tradnl) - language, then optionally
        script, region and variant, joined by hyphens; every locale the portal offers has this form. Compared
        case-insensitively, as sent.
      - An empty string, which other tools write, is taken as V(os_default) and sent as C(os-default) - the service
        stores an empty C(locale) written today as C(os-default) (the Terraform provider's notes on it, CIPP issue 5761),
        and the explicit value reads back unambiguously.
      - Graph C(locale) - C(os-default), C(user-select) or the locale.
      - An empty C(locale) already stored is B(ambiguous) - the Terraform provider and IntuneManagement read it as User
        select (what the portal once wrote for it), CIPP as the operating system default. The module does not pick one -
        the diff shows the stored empty value, the run warns naming both readings, and it compares equal to no value of
        this option, so setting it writes the explicit value once and a re-run changes nothing. Left unset, the empty
        value is kept (a O(recreate) then fails asking for this option, as the replacement cannot keep it).
      - On create defaults to V(os_default).
    type: str
  configure_keyboard_automatically:
    description:
      - The portal's B(Automatically configure keyboard) - skip the keyboard selection page.
        It needs an Ethernet connection during the out-of-box experience.
      - On create defaults to V(true).
    type: bool
  convert_all_targeted_devices:
    description:
      - The portal's B(Convert all targeted devices to Autopilot) - register every device of the assigned
        groups as an Autopilot device (hardware hash extraction).
      - On create defaults to V(true), as the tutorial's note recommends.
    type: bool
  device_type:
    description:
      - The device type of the profile. Hybrid join profiles are for Windows PCs only. Set on create; it cannot change.
      - On create defaults to V(windows_pc).
    type: str
    choices: [windows_pc]
  device_name_template:
    description:
      - Hybrid join profiles cannot apply a device name template (the portal greys it out) - computer names
        come from the domain join profile (M(intune.autopilot.domain_join_profile)). Only the empty string
        is accepted; any template is rejected before any request.
      - On create set to the empty string.
    type: str
  scope_tags:
    description:
      - Intune role scope tag IDs. On create defaults to C(["0"]) (Default).
    type: list
    elements: str
  recreate:
    description:
      - Allow a change that Graph cannot make in place - the join type (a Microsoft Entra joined profile of
        the same name), O(deployment_mode), O(skip_ad_connectivity_check) or O(device_type) - by replacing
        the profile. The replacement is created first, with the current settings plus the requested ones
        and the same name; the assignments move to it; only then is the old profile deleted. The profile
        gets a new ID.
      - A replacement stopped half-way (Graph failed) loses nothing; both profiles exist, the failure's
        RV(recreate) names them, and running the task again with O(recreate=true) finishes the move.
    type: bool
    default: false
notes:
  - "Graph: C(/beta/deviceManagement/windowsAutopilotDeploymentProfiles) (beta only), assignments one
    by one through its C(assignments) collection. Permission: C(DeviceManagementServiceConfig.ReadWrite.All)
    (C(Group.Read.All) too when assignments name groups)."
  - Assignments take groups (include or exclude) or all devices; a device profile cannot target all users.
  - Intune does not support exclusions on a profile assigned to all devices, and lets only one profile in the tenant
    target all devices. Both are refused before any change, naming the other profile; to check the second, a run
    whose assignments include all devices lists the tenant's profiles once more.
  - Graph cannot filter this collection, so every page is read and the name is matched on the controller.
  - Assigning a profile reaches devices asynchronously and can take a long time; a device with several
    profiles gets the oldest one. Changes do not reach devices that already ran the out-of-box experience.
seealso:
  - module: intune.autopilot.domain_join_profile
  - module: intune.autopilot.autopilot_esp
  - name: Tutorial step 7 - Create and assign a user-driven Microsoft Entra hybrid join Autopilot profile
    description: Microsoft Learn, Windows Autopilot user-driven Microsoft Entra hybrid join.
    link: https://learn.microsoft.com/autopilot/tutorial/user-driven/hybrid-azure-ad-join-autopilot-profile
"""

EXAMPLES = r"""
- name: The tutorial's hybrid join profile, assigned to the Autopilot device group of step 5
  intune.autopilot.autopilot_profile:
    display_name: Autopilot hybrid join user driven
    description: User-driven Microsoft Entra hybrid join
    deployment_mode: user_driven
    skip_ad_connectivity_check: false
    hide_license_terms: true
    hide_privacy_settings: true
    hide_change_account_options: true
    user_account_type: standard
    allow_pre_provisioning: false
    language: os_default
    configure_keyboard_automatically: true
    convert_all_targeted_devices: true
    assignments:
      add:
        - group: Autopilot-HAADJ-Devices

- name: Devices reach the domain over a VPN - skip the AD connectivity check (recreates the profile)
  intune.autopilot.autopilot_profile:
    display_name: Autopilot hybrid join user driven
    skip_ad_connectivity_check: true
    recreate: true

- name: Let the user choose the language, keep a test group out
  intune.autopilot.autopilot_profile:
    display_name: Autopilot hybrid join user driven
    language: user_select
    assignments:
      add:
        - group: Autopilot-Test-Devices
          exclude: true

- name: Credentials once for every Graph module
  module_defaults:
    group/intune.autopilot.graph:
      tenant_id: "{{ tenant_id }}"
      client_id: "{{ client_id }}"
      client_certificate_path: /etc/ansible/intune-app.pem
  block:
    - name: Remove the profile (its assignments first)
      intune.autopilot.autopilot_profile:
        display_name: Autopilot hybrid join user driven
        state: absent
"""

RETURN = r"""
recreate:
  description:
    - When a replacement (O(recreate=true)) stopped half-way, the old and the new profile's IDs. Run the task
      again with O(recreate=true) to finish.
  returned: on failure, when a replacement stopped half-way
  type: dict
  sample: {old_id: 7c3f5f3a-2b1d-4c8e-9a6f-0e4b2d1c9a77, new_id: 0b6d2a51-5f0e-4a43-8d1b-2c7f9e3a6d10, finished: false}
id:
  description: Graph ID of the profile (null after deletion or, in check mode, before creation).
  returned: always
  type: str
  sample: 7c3f5f3a-2b1d-4c8e-9a6f-0e4b2d1c9a77
profile:
  description:
    - The profile as Graph holds it after the run (annotations other than C(@odata.type) removed).
    - Graph also returns the deprecated twins (C(language), C(outOfBoxExperienceSettings), ...); they are
      shown as returned and never compared.
  returned: always
  type: dict
  sample:
    '@odata.type': '#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile'
    displayName: Autopilot hybrid join user driven
    description: User-driven Microsoft Entra hybrid join
    locale: os-default
    deviceNameTemplate: ''
    deviceType: windowsPc
    hardwareHashExtractionEnabled: true
    preprovisioningAllowed: false
    hybridAzureADJoinSkipConnectivityCheck: false
    roleScopeTagIds: ['0']
    outOfBoxExperienceSetting:
      deviceUsageType: singleUser
      userType: standard
      privacySettingsHidden: true
      eulaHidden: true
      keyboardSelectionPageSkipped: true
      escapeLinkHidden: true
assignments:
  description: The profile's assignment targets after the run, in the shape O(assignments) accepts.
  returned: always
  type: list
  elements: dict
  sample: [{group: Autopilot-HAADJ-Devices, exclude: false}]
duplicates:
  description:
    - Set when the look by name after this run's create found other objects of the name, created by another run at
      the same time (see O(create_settle_time)).
    - C(kept) is the oldest, the one the task made as its options say; C(deleted) lists this run's own object when it
      was the newer (deleted before it was given anything); C(left) lists newer ones another run made, left to that run.
  returned: when a create found others of its name
  type: dict
  sample: {kept: 3f2b1c1e-0d4e-4a55-9c1e-5a8f5f0b9e11, deleted: [9d0c7a52-61b7-4f0e-8d55-0b1f4f3e2a10], left: []}
"""

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import run_resource_module
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_autopilot_profile import PROFILE, ProfileEngine


def main():
    run_resource_module(PROFILE, ProfileEngine)


if __name__ == "__main__":
    main()
