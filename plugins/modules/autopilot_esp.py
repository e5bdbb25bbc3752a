#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: autopilot_esp
short_description: Manage an Intune Enrollment Status Page (ESP) profile for Autopilot (tutorial step 6)
version_added: 0.1.0
description:
  - Creates, updates, prioritises, assigns or deletes a Windows Enrollment Status Page profile
    (C(windows10EnrollmentCompletionPageConfiguration)) in Microsoft Intune, the page that shows
    provisioning progress and blocks the device until it is ready (step 6 of the Windows Autopilot
    user-driven Microsoft Entra hybrid join tutorial).
  - The profile is found by O(display_name) among Enrollment Status Page profiles, or by O(id). The other
    enrollment configurations of the tenant (enrollment limits, platform restrictions, Windows Hello for
    Business) live in the same Graph collection and are never touched.
  - Only the options you set are compared. On create, unset options take the tutorial's values
    (progress shown, 60 minutes, log collection on, device blocked until all apps are installed).
  - The built-in default profile C(All users and all devices) is only changed when you name it (by
    O(display_name) or O(id)). Even then, deleting it, moving its priority or changing its assignments is refused
    before any change, because Intune does not allow it; its settings can be changed. A O(priority) and
    O(assignments) that match what it has (C(priority=0), and the targets it holds, such as C(all_devices=true))
    change nothing and are accepted, so a playbook can describe it whole.
  - Input is checked before any request.
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
  description:
    description:
      - Description of the profile.
    type: str
  show_app_and_profile_progress:
    description:
      - Show app and profile configuration progress. V(false) turns the page off; the other settings
        only matter when it is V(true).
      - Graph C(showInstallationProgress). On create defaults to V(true), as the tutorial recommends.
    type: bool
  error_timeout_minutes:
    description:
      - Show an error when installation takes longer than this many minutes, 1 to 1440.
      - Graph C(installProgressTimeoutInMinutes). On create defaults to C(60).
    type: int
  custom_error_message:
    description:
      - Show this custom message when the time limit is reached or an error occurs, up to 10000 characters.
      - An empty string means the default message ("Setup could not be completed. Please try again or contact
        your support person for help."); an empty string and no message at all are treated as equal.
      - Graph C(customErrorMessage). On create, no custom message.
    type: str
  allow_log_collection:
    description:
      - Turn on log collection and diagnostics page for end users.
      - Graph C(allowLogCollectionOnInstallFailure). On create defaults to V(true), as the tutorial recommends.
    type: bool
  only_show_page_to_oobe_devices:
    description:
      - The portal's B(Only show page to devices provisioned by out-of-box experience) (OOBE) - V(true) shows the
        page only to devices going through the out-of-box experience (Autopilot), V(false) to other enrollments too.
      - Graph C(trackInstallProgressForAutopilotOnly), the property the portal writes for this toggle (its own control
        metadata, as IntuneManagement documents it, and CIPP).
      - On create defaults to V(true), the portal's default.
      - Graph's C(disableUserStatusTrackingAfterFirstUser) has no portal control; the module sends it V(true) on
        create, as CIPP and Microsoft365DSC do, and never changes it afterwards.
    type: bool
  install_quality_updates:
    description:
      - Install Windows quality updates (might restart the device) at the end of OOBE. Windows 11 only.
      - If V(false), keep O(block_device_until_complete=true), as the tutorial warns.
      - Graph C(installQualityUpdates). On create defaults to V(false).
    type: bool
  block_device_until_complete:
    description:
      - The portal's B(Block device use until all apps and profiles are installed).
      - Graph C(blockDeviceSetupRetryByUser), B(inverted) - V(true) here (portal Yes) is C(false) in Graph, as the portal's
        own control metadata and CIPP have it. Read back the same way.
      - O(allow_reset_on_failure), O(allow_use_on_failure), O(blocking_apps) and O(allow_non_blocking_app_installation)
        exist only when this is V(true). Setting one of them to V(true) (or O(blocking_apps) to a non-empty list) with
        V(false), or on a profile that does not block device use without setting this to V(true), fails before any change.
        V(false) and C([]) are what Intune holds for them when device use is not blocked, so they are accepted either way
        (the Terraform provider's acceptance tests write such a profile to a tenant).
      - On create defaults to V(true), as the tutorial recommends.
    type: bool
  allow_reset_on_failure:
    description:
      - Allow users to reset device if installation error occurs. V(true) only with O(block_device_until_complete=true).
      - Graph C(allowDeviceResetOnInstallFailure). On create defaults to V(false) when the device is blocked.
    type: bool
  allow_use_on_failure:
    description:
      - Allow users to use device if installation error occurs. V(true) only with O(block_device_until_complete=true).
      - Graph C(allowDeviceUseOnInstallFailure). On create defaults to V(false) when the device is blocked.
    type: bool
  blocking_apps:
    description:
      - Block device use until these required apps are installed if they are assigned to the user/device - an
        empty list means B(All) assigned apps; app IDs (GUIDs of Intune apps, at most 100) mean B(Selected).
        A non-empty list only with O(block_device_until_complete=true).
      - Compared as a set, case-insensitively.
      - Graph C(selectedMobileAppIds). On create defaults to C([]) (All) when the device is blocked.
    type: list
    elements: str
  allow_non_blocking_app_installation:
    description:
      - Only fail selected blocking apps in technician phase (pre-provisioning). V(true) only with
        O(block_device_until_complete=true).
      - Graph C(allowNonBlockingAppInstallation). On create defaults to V(false) when the device is blocked.
    type: bool
  priority:
    description:
      - Priority among Enrollment Status Page profiles, C(1) being the highest. When a device or user is in the
        groups of several profiles, the highest-priority one applies.
      - Set through Graph's C(setPriority) action, and only when it differs, because Graph rejects setting the
        current value. Intune renumbers the other profiles when one moves.
      - A value past the number of Enrollment Status Page profiles means the last place, which is what Intune stores;
        it is compared as such (this costs one listing of the collection), so a re-run changes nothing.
      - On create, Intune gives the new profile the lowest priority unless this is set.
      - C(0) belongs to the built-in default profile - accepted when naming it (it changes nothing there), refused
        for any other profile.
    type: int
  scope_tags:
    description:
      - Intune role scope tag IDs. On create defaults to C(["0"]) (Default).
    type: list
    elements: str
notes:
  - "Graph: C(/beta/deviceManagement/deviceEnrollmentConfigurations) (the v1.0 type lacks nearly every setting).
    Permission: C(DeviceManagementServiceConfig.ReadWrite.All) (C(Group.Read.All) too when assignments name groups)."
  - Graph's IDs of Enrollment Status Page profiles are not bare GUIDs but C(<guid>_Windows10EnrollmentCompletionPageConfiguration)
    (C(<guid>_DefaultWindows10EnrollmentCompletionPageConfiguration) for the default); give O(id) as Graph shows it.
  - Graph's C(assign) action replaces the whole assignment set; the module always sends the complete desired set,
    so targets you do not name are kept with O(assignments.add) and O(assignments.remove).
  - A device-targeted profile wins over a user-targeted one; the default profile applies when no other targets
    the device or user.
seealso:
  - module: intune.autopilot.autopilot_profile
  - module: intune.autopilot.domain_join_profile
  - name: Tutorial step 6 - Configure and assign the Enrollment Status Page
    description: Microsoft Learn, Windows Autopilot user-driven Microsoft Entra hybrid join.
    link: https://learn.microsoft.com/autopilot/tutorial/user-driven/hybrid-azure-ad-join-esp
  - name: Set up the Enrollment Status Page
    description: Microsoft Learn, every ESP setting explained.
    link: https://learn.microsoft.com/intune/intune-service/enrollment/windows-enrollment-status
"""

EXAMPLES = r"""
- name: Enrollment Status Page of the tutorial, assigned to the Autopilot device group of step 5
  intune.autopilot.autopilot_esp:
    display_name: Autopilot hybrid join - ESP
    description: Shows provisioning progress and blocks the device until it is ready
    show_app_and_profile_progress: true
    error_timeout_minutes: 60
    allow_log_collection: true
    block_device_until_complete: true
    assignments:
      set:
        - group: Autopilot-HAADJ-Devices

- name: Give more time, a custom message, and make it the first profile
  intune.autopilot.autopilot_esp:
    display_name: Autopilot hybrid join - ESP
    error_timeout_minutes: 120
    custom_error_message: Setup did not finish. Call the service desk on 555-0100.
    priority: 1

- name: Only wait for two apps, let users reset on failure, and also target pilot users (other targets kept)
  intune.autopilot.autopilot_esp:
    display_name: Autopilot hybrid join - ESP
    blocking_apps:
      - 4a1f9a6e-2f55-4b8e-9a53-0c7e7f6e1a01
      - 9b2c3d4e-5f60-4a71-8b92-a3b4c5d6e7f8
    allow_reset_on_failure: true
    assignments:
      add:
        - group: Autopilot-Pilot-Users

- name: Let devices be used while apps install (portal No); the settings under "Yes" are left out
  intune.autopilot.autopilot_esp:
    display_name: Autopilot hybrid join - ESP for kiosks
    block_device_until_complete: false

- name: The built-in default profile described whole; its priority and its target match what it has, so they change nothing
  intune.autopilot.autopilot_esp:
    display_name: All users and all devices
    show_app_and_profile_progress: true
    priority: 0
    assignments:
      set:
        - all_devices: true

- name: Manage a profile by its Graph ID, for example one listed by autopilot_config_info
  intune.autopilot.autopilot_esp:
    id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d_Windows10EnrollmentCompletionPageConfiguration
    display_name: Autopilot hybrid join - ESP v2

- name: Credentials once for every Graph module
  module_defaults:
    group/intune.autopilot.graph:
      tenant_id: "{{ tenant_id }}"
      client_id: "{{ client_id }}"
      client_certificate_path: /etc/ansible/intune-app.pem
  block:
    - name: Preview removing the profile
      intune.autopilot.autopilot_esp:
        display_name: Autopilot hybrid join - ESP
        state: absent
      check_mode: true
      diff: true
"""

RETURN = r"""
id:
  description: Graph ID of the profile (null after deletion or, in check mode, before creation).
  returned: always
  type: str
  sample: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d_Windows10EnrollmentCompletionPageConfiguration
esp:
  description: The profile as Graph holds it after the run (annotations other than C(@odata.type) removed).
  returned: always
  type: dict
  sample:
    '@odata.type': '#microsoft.graph.windows10EnrollmentCompletionPageConfiguration'
    displayName: Autopilot hybrid join - ESP
    priority: 1
    showInstallationProgress: true
    installProgressTimeoutInMinutes: 60
    customErrorMessage: null
    allowLogCollectionOnInstallFailure: true
    trackInstallProgressForAutopilotOnly: true
    disableUserStatusTrackingAfterFirstUser: true
    installQualityUpdates: false
    blockDeviceSetupRetryByUser: false
    allowDeviceResetOnInstallFailure: false
    allowDeviceUseOnInstallFailure: false
    selectedMobileAppIds: []
    allowNonBlockingAppInstallation: false
    roleScopeTagIds: ['0']
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
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_autopilot_esp import ESP, EspEngine


def main():
    run_resource_module(ESP, EspEngine)


if __name__ == "__main__":
    main()
