"""Dynamic device groups: members follow membershipRule over the devices' physicalIds, on the lab clock.

Evaluated rule forms (attribute name, operator and value compare case-insensitively, as Entra does):
    device.devicePhysicalIds -any (_ -startsWith "[ZTDId]")     (also without the inner parentheses)
    device.devicePhysicalIds -any (_ -eq "[OrderID]:179887111881")
    device.devicePhysicalIds -any (_ -contains "[ZTDId]")
each optionally wrapped in parentheses; in the value `" stands for " and '' for ' (groups-dynamic-membership,
"Supported values"). Any other rule is stored but not evaluated (members unchanged).
A group evaluates while membershipRuleProcessingState is "On"; "Paused" freezes its members."""

import functools
import re

from .groups import DYNAMIC
from .timeline import DEVICES, GROUPS, delay, retarget, schedule, stamp

# A value's ` escapes the character after it, as the groups resource's rule check reads it (groups.py).
_CLAUSE = re.compile(r'device\.devicePhysicalIds\s+-any\s+(\(\s*)?_\s+-(startsWith|eq|contains)\s+"((?:`.|[^"`])*)"\s*(\))?',
                     re.IGNORECASE | re.DOTALL)
_ESCAPED = re.compile(r"`(.)|''", re.DOTALL)
_OPERATORS = {"startswith": str.startswith, "eq": str.__eq__, "contains": str.__contains__}


def _balanced(text):
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@functools.lru_cache(maxsize=256)
def parse_rule(rule):
    """A predicate over a device's physicalIds, or None when the lab does not evaluate this rule."""
    text = (rule or "").strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    match = _CLAUSE.fullmatch(text)
    if match is None or bool(match.group(1)) != bool(match.group(4)):
        return None
    # groups-dynamic-membership, "Supported values": `" is a double quote in a value, '' a single quote.
    value = _ESCAPED.sub(lambda escaped: escaped.group(1) or "'", match.group(3))
    compare, value = _OPERATORS[match.group(2).lower()], value.lower()
    return lambda physical_ids: any(compare(p.lower(), value) for p in physical_ids)


def evaluated(group):
    return (DYNAMIC in (group.get("groupTypes") or []) and group.get("membershipRuleProcessingState") == "On"
            and parse_rule(group.get("membershipRule")) is not None)


def _snapshot(group):
    return [DYNAMIC in (group.get("groupTypes") or []), group.get("membershipRule"),
            group.get("membershipRuleProcessingState")]


def note_rule_changes(lab, at):
    """After a write to groups: a new rule, a new dynamic group or a resumed one is evaluated in full after
    the membership delay; a paused one is left alone."""
    for group in lab.objects.get(GROUPS, {}).values():
        seen = _snapshot(group)
        if group.get("_ruleSeen") == seen:
            continue
        group["_ruleSeen"] = seen
        if evaluated(group):
            group["_ruleDueAt"] = at + delay(lab, "membership")
            schedule(lab, group["_ruleDueAt"])
        else:
            group.pop("_ruleDueAt", None)


def seed(lab, key, obj):
    if key == GROUPS:
        obj["_ruleSeen"] = _snapshot(obj)
        if evaluated(obj):
            obj["_ruleDueAt"] = lab.clock.now()   # seeded groups are settled: evaluated at once
            schedule(lab, obj["_ruleDueAt"])
    return obj


class _Members:
    """Group members as a list (Graph's order) plus a set, so 10,000 devices stay linear."""

    def __init__(self, lab, group):
        self.lab, self.group, self.ids = lab, group, set(group["members"])

    def put(self, device, member, at):
        if member == (device["id"] in self.ids):
            return
        if member:
            self.ids.add(device["id"])
            self.group["members"].append(device["id"])
        else:
            self.ids.discard(device["id"])
            self.group["members"].remove(device["id"])
        if self.group.get("membershipRuleProcessingStatus") is not None:
            self.group["membershipRuleProcessingStatus"] = {"status": "Succeeded",
                                                            "lastMembershipUpdated": stamp(at)}
        if device.get("_ztdId"):
            retarget(self.lab, device["_ztdId"], at)


def advance(lab, now, due):
    groups = [g for g in lab.objects.get(GROUPS, {}).values() if evaluated(g)]
    devices = lab.objects.get(DEVICES, {})
    members = {g["id"]: _Members(lab, g) for g in groups}
    for group in groups:
        at = group.get("_ruleDueAt")
        if at is None:
            continue
        if at > now:
            due.append(at)
            continue
        del group["_ruleDueAt"]
        matches = parse_rule(group["membershipRule"])
        for device in devices.values():
            if "_membershipDueAt" not in device:   # a device still changing is evaluated on its own due time
                members[group["id"]].put(device, matches(device["physicalIds"]), at)
    for device in devices.values():
        at = device.get("_membershipDueAt")
        if at is None:
            continue
        if at > now:
            due.append(at)
            continue
        del device["_membershipDueAt"]
        for group in groups:
            members[group["id"]].put(device, parse_rule(group["membershipRule"])(device["physicalIds"]), at)


def register(registry):
    registry.seed_hooks.append(seed)
