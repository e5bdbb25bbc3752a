#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: autopilot_config_info
short_description: List the tenant's Autopilot device groups, Enrollment Status Pages, hybrid join Autopilot profiles and domain join profiles
version_added: 0.1.0
description:
  - Reads what the tenant already has for tutorial steps 6, 7 and 8, with assignments, and returns each object in
    the shape that M(intune.autopilot.autopilot_esp), M(intune.autopilot.autopilot_profile) and
    M(intune.autopilot.domain_join_profile) accept, so existing configuration can be adopted or reviewed.
  - With V(device_group) in O(kinds), also the step 5 groups - dynamic groups whose membership rule selects Autopilot
    devices (by C([ZTDId]), group tag C([OrderID]) or C([PurchaseOrderId])) - in the shape
    M(intune.autopilot.device_group) accepts.
  - Read-only; it never writes.
author:
  - intune.autopilot developers (!UNKNOWN)
extends_documentation_fragment:
  - intune.autopilot.graph
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: N/A
  platform:
    platforms: all
options:
  kinds:
    description:
      - Which objects to list.
    type: list
    elements: str
    choices: [esp, autopilot_profile, domain_join_profile, device_group]
    default: [esp, autopilot_profile, domain_join_profile]
  display_name:
    description:
      - Only objects with this name, matched case-insensitively as the resource modules match it.
      - Mutually exclusive with O(display_names).
    type: str
  display_names:
    description:
      - A name for each kind (V(esp), V(autopilot_profile), V(domain_join_profile), V(device_group)) whose objects are narrowed to that
        name, matched as O(display_name) is; kinds not named here are listed whole. One task then reads what a task
        per kind with O(display_name) would, and resolves the group names of all of them in one read.
      - Mutually exclusive with O(display_name).
    type: dict
  also_on_all_devices:
    description:
      - Kinds of which the objects assigned to all devices are listed too, whatever their name, besides those
        O(display_name) or O(display_names) names. Each such kind's collection is listed once with only ids, names
        and assignments, 999 a page, and each object wanted is read once.
      - Has no effect with O(all_devices_only), which lists only those.
    type: list
    elements: str
    choices: [esp, autopilot_profile, domain_join_profile]
    default: []
  all_devices_only:
    description:
      - Only objects assigned to all devices. Each collection is listed once with only ids, names and assignments,
        999 a page, and only the objects on all devices are read whole; so it costs little in a tenant of thousands
        of configurations.
    type: bool
    default: false
  resolve_group_names:
    description:
      - Show assigned groups by display name instead of ID (one extra read per 15 groups).
      - IDs are accepted by the modules as well; names read better and survive a group being re-created.
    type: bool
    default: true
notes:
  - "Graph permissions: C(DeviceManagementServiceConfig.Read.All) (ESPs, Autopilot profiles),
    C(DeviceManagementConfiguration.Read.All) (domain join profiles), C(Group.Read.All) to resolve group names and list
    device groups."
  - Entra join (not hybrid) Autopilot profiles are not listed.
seealso:
  - module: intune.autopilot.autopilot_esp
  - module: intune.autopilot.autopilot_profile
  - module: intune.autopilot.domain_join_profile
"""

EXAMPLES = r"""
- name: What does the tenant have for steps 6 to 8?
  intune.autopilot.autopilot_config_info:
  register: autopilot_config

- name: Export it for review; each entry is a valid set of options for its module
  ansible.builtin.copy:
    content: "{{ autopilot_config | ansible.builtin.to_nice_yaml }}"
    dest: adopted-autopilot-config.yml
  delegate_to: localhost

- name: Keep the adopted domain join profile as it is
  intune.autopilot.domain_join_profile:
    id: "{{ autopilot_config.domain_join_profiles[0].id }}"
    display_name: "{{ autopilot_config.domain_join_profiles[0].display_name }}"
    computer_name_prefix: "{{ autopilot_config.domain_join_profiles[0].computer_name_prefix }}"
    domain: "{{ autopilot_config.domain_join_profiles[0].domain }}"
    organizational_unit: "{{ autopilot_config.domain_join_profiles[0].organizational_unit }}"
    assignments: "{{ autopilot_config.domain_join_profiles[0].assignments }}"

- name: Only the hybrid join Autopilot profiles, groups by ID
  intune.autopilot.autopilot_config_info:
    kinds: [autopilot_profile]
    resolve_group_names: false

- name: The Autopilot device groups and the hybrid join profiles, groups by ID, to follow the tutorial's chain
  intune.autopilot.autopilot_config_info:
    kinds: [device_group, autopilot_profile]
    resolve_group_names: false
  register: chain

- name: What already targets all devices? (cheap in a tenant with thousands of profiles)
  intune.autopilot.autopilot_config_info:
    all_devices_only: true
  register: on_all_devices

- name: Each kind by its own name, and the profiles on all devices, in one read of each collection
  intune.autopilot.autopilot_config_info:
    display_names:
      esp: Autopilot hybrid join - ESP
      autopilot_profile: Autopilot hybrid join user driven
      domain_join_profile: Autopilot hybrid join - domain join
    also_on_all_devices: [autopilot_profile, domain_join_profile]
  register: mine_and_on_all_devices
"""

RETURN = r"""
esps:
  description:
    - Custom Enrollment Status Pages, in the options of M(intune.autopilot.autopilot_esp).
    - For a profile that does not block device use (C(block_device_until_complete=false)), the options that exist only
      when it does (C(allow_reset_on_failure), C(allow_use_on_failure), C(blocking_apps),
      C(allow_non_blocking_app_installation)) are left out, as the module refuses them then.
  returned: when O(kinds) contains V(esp)
  type: list
  elements: dict
  sample:
    - id: 0a1b2c3d-0000-4000-8000-000000000001_Windows10EnrollmentCompletionPageConfiguration
      display_name: Autopilot hybrid join - ESP
      show_app_and_profile_progress: true
      error_timeout_minutes: 60
      priority: 1
      assignments: {set: [{group: Autopilot-HAADJ-Devices, exclude: false}]}
default_esp:
  description:
    - The built-in default Enrollment Status Page Intune creates, in the same shape. It applies when no other ESP
      targets a device; it cannot be deleted, re-prioritised or assigned.
  returned: when O(kinds) contains V(esp) and the tenant has it
  type: dict
  sample:
    id: 0a1b2c3d-0000-4000-8000-000000000000_DefaultWindows10EnrollmentCompletionPageConfiguration
    display_name: All users and all devices
autopilot_profiles:
  description: Hybrid join Autopilot deployment profiles, in the options of M(intune.autopilot.autopilot_profile).
  returned: when O(kinds) contains V(autopilot_profile)
  type: list
  elements: dict
  sample:
    - id: 0a1b2c3d-0000-4000-8000-000000000002
      display_name: Autopilot hybrid join user driven
      deployment_mode: user_driven
      language: os_default
      assignments: {set: [{group: Autopilot-HAADJ-Devices, exclude: false}]}
device_groups:
  description:
    - Dynamic groups whose membership rule selects Autopilot devices (by C([ZTDId]), C([OrderID]) or C([PurchaseOrderId])),
      in the options of M(intune.autopilot.device_group). O(display_name) narrows them too; O(all_devices_only) does not apply.
  returned: when O(kinds) contains V(device_group)
  type: list
  elements: dict
  sample:
    - id: 0a1b2c3d-0000-4000-8000-000000000004
      display_name: Autopilot-HAADJ-Devices
      membership_rule: (device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]"))
      membership_paused: false
other_join_type_profiles:
  description:
    - Entra join (not hybrid) Autopilot profiles with the name asked for; they are not in RV(autopilot_profiles), and
      M(intune.autopilot.autopilot_profile) finds them by that name and replaces one only with its O(intune.autopilot.autopilot_profile#module:recreate).
  returned: when O(kinds) contains V(autopilot_profile) and a name is given for it
  type: list
  elements: dict
  sample:
    - id: 0a1b2c3d-0000-4000-8000-000000000005
      display_name: Autopilot hybrid join user driven
      type: microsoft.graph.azureADWindowsAutopilotDeploymentProfile
domain_join_profiles:
  description: Domain join profiles, in the options of M(intune.autopilot.domain_join_profile).
  returned: when O(kinds) contains V(domain_join_profile)
  type: list
  elements: dict
  sample:
    - id: 0a1b2c3d-0000-4000-8000-000000000003
      display_name: Autopilot hybrid join - domain join
      computer_name_prefix: HAADJ-
      random_char_count: 9
      domain: contoso.com
      organizational_unit: OU=Autopilot,DC=contoso,DC=com
      assignments: {set: [{all_devices: true}]}
"""

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import get_path, list_light
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_targets import describe_target, target_key
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_groups import GroupResolver
from ansible_collections.intune.autopilot.plugins.module_utils._graph.module import GraphModule
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_autopilot_profile import PROFILE as AUTOPILOT_PROFILE
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_domain_join_profile import PROFILE as DOMAIN_JOIN_PROFILE
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_autopilot_esp import ESP, is_default_esp
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_device_group import DYNAMIC, GROUP, rule_key

# kind: (resource, result key)
KINDS = {
    "esp": (ESP, "esps"),
    "autopilot_profile": (AUTOPILOT_PROFILE, "autopilot_profiles"),
    "domain_join_profile": (DOMAIN_JOIN_PROFILE, "domain_join_profiles"),
}


# A rule that selects Autopilot devices names one of the ids Autopilot gives a device's devicePhysicalIds (rule_key folds case
# outside quoted values; the tags are inside them, so the match ignores case).
AUTOPILOT_RULE_TAGS = ("[ztdid]", "[orderid]:", "[purchaseorderid]:")


def autopilot_device_groups(graph, display_name):
    """Dynamic groups whose rule selects Autopilot devices: one listing of the dynamic groups, their rules included."""
    fields = ",".join(sorted({"id", "groupTypes"} | {prop.graph for prop in GROUP.props}))
    groups = graph.list(GROUP.collection, api=GROUP.api, params={
        "$filter": "groupTypes/any(c:c eq '%s')" % DYNAMIC, "$select": fields, "$top": "999"})
    return [group for group in groups
            if DYNAMIC in (group.get("groupTypes") or []) and (display_name is None or GROUP.key_matches(group, display_name))
            and any(tag in rule_key(group.get("membershipRule") or "").lower() for tag in AUTOPILOT_RULE_TAGS)]


def on_all_devices(obj):
    return any(target_key(assignment.get("target") or {}) == ("all_devices", None) for assignment in obj.get("assignments") or [])


def list_objects(graph, resource, display_name, all_devices_only=False, also_on_all=False, namesakes=None):
    """Objects of exactly the resource's type (not its kin), named as the module would match them (or, with
    also_on_all, on all devices), with assignments.

    The deployment profiles' collection holds only deployment profiles, so with no name and no all-devices
    narrowing it is listed whole with assignments. Otherwise, and always for the other two (which hold every
    configuration of the tenant, often thousands), ids and names are listed (by name through Graph's filter where
    the collection takes one; with their assignments where all devices matter), and only the objects wanted are read,
    by id, each once. Named objects of a kin type go to `namesakes` (a list), unread."""
    def named(obj):
        return display_name is None or resource.key_matches(obj, display_name)

    def wanted(obj):
        if not resource.is_type(obj):
            return False
        if all_devices_only:
            return named(obj) and on_all_devices(obj)
        return named(obj) or (also_on_all and on_all_devices(obj))

    if resource is AUTOPILOT_PROFILE and display_name is None and not all_devices_only:
        return [obj for obj in graph.list(resource.collection, api=resource.api, params={"$expand": "assignments"}) if wanted(obj)]
    if all_devices_only or also_on_all:
        # Which objects hold all devices is in their assignments: one paged listing answers it for the collection.
        entries = [entry for entry in graph.list(resource.collection, api=resource.api, params={
            "$select": "id,displayName", "$expand": "assignments", "$top": str(resource.list_page_size)})
            if on_all_devices(entry) or (also_on_all and not all_devices_only and named(entry))]
    else:
        filter_text = "displayName eq '%s'" % display_name.replace("'", "''") if display_name and resource.filter_by_key else None
        entries = list_light(graph, resource, ("id", "displayName"), filter_text)
    found = []
    for entry in entries:
        if namesakes is not None and resource.owns(entry) and not resource.is_type(entry) and named(entry):
            namesakes.append({"id": entry["id"], "display_name": entry.get("displayName"), "type": entry["@odata.type"].lstrip("#")})
            continue
        # An entry without @odata.type is read to tell: an object of the type must never go unseen.
        if "@odata.type" in entry and not wanted(entry):
            continue
        obj = graph.get_or_none("%s/%s" % (resource.collection, entry["id"]), api=resource.api, params={"$expand": "assignments"})
        if obj is not None and wanted(obj):
            found.append(obj)
    return found


def describe(resource, obj, assignments=None):
    """An existing object in the shape the resource module accepts, for _info modules and adoption."""
    described = {"id": obj.get("id")}
    for prop in resource.props:
        described[prop.option] = prop.from_graph(get_path(obj, prop.graph))
    if assignments is not None:
        described["assignments"] = {"set": [describe_target(target_key(a.get("target") or {})) for a in assignments]}
    if resource.tidy_description:
        resource.tidy_description(described)
    return described


def run(module):
    graph = module.graph
    found = {}
    kinds = module.params["kinds"]
    names = module.params["display_names"] or {}
    unknown = sorted(set(names) - set(KINDS) - {"device_group"})
    if unknown:
        module.fail_json(msg="display_names: %s is not a kind; name objects of %s." % (", ".join(unknown), ", ".join(list(KINDS) + ["device_group"])))
    if "device_group" in kinds:
        described = [describe(GROUP, group) for group in autopilot_device_groups(graph, names.get("device_group", module.params["display_name"]))]
        # membership is a helper that writes membership_rule; the rule itself is what a group holds.
        found["device_groups"] = [{option: value for option, value in group.items() if option != "membership"} for group in described]
    for kind in (kind for kind in kinds if kind != "device_group"):
        resource, key = KINDS[kind]
        found[key] = []
        display_name = names.get(kind, module.params["display_name"])
        namesakes = None
        if resource is AUTOPILOT_PROFILE and display_name is not None:
            namesakes = found["other_join_type_profiles"] = []
        for obj in list_objects(graph, resource, display_name, module.params["all_devices_only"],
                                kind in module.params["also_on_all_devices"], namesakes):
            assignments = obj.get("assignments") or []
            described = describe(resource, obj, assignments)
            if resource is ESP and is_default_esp(obj):
                found["default_esp"] = described
            else:
                found[key].append(described)
    if module.params["resolve_group_names"]:
        described_objects = [obj for key, objects in found.items() if key not in ("default_esp", "device_groups", "other_join_type_profiles")
                             for obj in objects]
        described_objects += [found["default_esp"]] if "default_esp" in found else []
        targets = [target for obj in described_objects for target in obj["assignments"]["set"]]
        group_names = GroupResolver(graph).names_of({target["group"] for target in targets if target.get("group")})
        for target in targets:
            if target.get("group"):
                target["group"] = group_names.get(target["group"], target["group"])
    module.exit_json(changed=False, **found)


def main():
    module = GraphModule(
        argument_spec=dict(
            kinds=dict(type="list", elements="str", choices=list(KINDS) + ["device_group"], default=list(KINDS)),
            display_name=dict(type="str"),
            display_names=dict(type="dict"),
            all_devices_only=dict(type="bool", default=False),
            also_on_all_devices=dict(type="list", elements="str", choices=list(KINDS), default=[]),
            resolve_group_names=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("display_name", "display_names")],
        supports_check_mode=True,
    )
    module.run_guarded(lambda: run(module))


if __name__ == "__main__":
    main()
