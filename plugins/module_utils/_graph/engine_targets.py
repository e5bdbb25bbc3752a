# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Assignment targets, for the desired-state engine (engine.py) and the modules that read assignments: how Graph
types them, how the `assignments` option names them, and the key (kind, group id) the engine compares them by.
"""

from __future__ import annotations


TARGET_TYPES = {
    "include": "#microsoft.graph.groupAssignmentTarget",
    "exclude": "#microsoft.graph.exclusionGroupAssignmentTarget",
    "all_devices": "#microsoft.graph.allDevicesAssignmentTarget",
    "all_users": "#microsoft.graph.allLicensedUsersAssignmentTarget",
}
# How each kind of target is written in the assignments option, for messages.
KIND_OPTIONS = {"include": "group: NAME", "exclude": "group: NAME with exclude: true", "all_devices": "all_devices: true",
                "all_users": "all_users: true"}
KIND_OF_TARGET_TYPE = {odata_type.lstrip("#"): kind for kind, odata_type in TARGET_TYPES.items()}


def type_name(obj):
    return (obj.get("@odata.type") or "").lstrip("#")


ASSIGNMENT_TARGET_SPEC = dict(
    group=dict(type="str"),
    exclude=dict(type="bool", default=False),
    all_devices=dict(type="bool", default=False),
    all_users=dict(type="bool", default=False),
)


def assignments_argument_spec():
    target_list = dict(type="list", elements="dict", options=ASSIGNMENT_TARGET_SPEC)
    return dict(
        type="dict",
        options=dict(add=target_list, remove=target_list, set=target_list),
        mutually_exclusive=[("set", "add"), ("set", "remove")],
    )


def target_key(target):
    """(kind, group id) of a Graph assignment target; unknown kinds keep their type name."""
    kind = KIND_OF_TARGET_TYPE.get(type_name(target), type_name(target))
    group_id = target.get("groupId")
    return kind, group_id.lower() if group_id else None


def target_kind(entry):
    """The kind of target an `assignments` entry names; ValueError when it names none or several."""
    chosen = [name for name in ("group", "all_devices", "all_users") if entry.get(name)]
    if len(chosen) != 1:
        raise ValueError("each target needs exactly one of group, all_devices: true or all_users: true; got %s." % (chosen or "none"))
    if chosen[0] == "group":
        return "exclude" if entry.get("exclude") else "include"
    if entry.get("exclude"):
        raise ValueError("exclude applies to groups only, not to %s." % chosen[0])
    return chosen[0]


def describe_target(key, names=None):
    """A target in the shape the `assignments` option accepts; with `names`, groups show their name."""
    kind, group_id = key
    if kind in ("all_devices", "all_users"):
        return {kind: True}
    if kind in ("include", "exclude"):
        return {"group": (names or {}).get(group_id, group_id), "exclude": kind == "exclude"}
    return {"target_type": kind, "group": group_id}


def build_target(key):
    kind, group_id = key
    target = {"@odata.type": TARGET_TYPES[kind]}
    if group_id:
        target["groupId"] = group_id
    return target
