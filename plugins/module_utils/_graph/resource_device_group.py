# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Entra dynamic device group (tutorial step 5) as the engine's declarative Resource.

Groups are a directory collection at v1.0, not an Intune one: its objects carry no @odata.type, and every
group shares one name space, which is also where the other modules resolve `assignments` group names. So
any group with the name is the match (two would make those names ambiguous), and one that is not a
dynamic security group is refused rather than converted.
"""

from __future__ import annotations

import re

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import PLANNED_GROUP_ID, DesiredStateEngine, Prop, Resource

DYNAMIC = "DynamicMembership"
# The tutorial's rule for every Autopilot device, as it writes it (step 5).
ALL_AUTOPILOT_DEVICES_RULE = '(device.devicePhysicalIDs -any (_ -startsWith "[ZTDid]"))'
# Microsoft's forms for devices with a group tag (order ID) or a purchase order ID (hybrid join article).
GROUP_TAG_RULE = '(device.devicePhysicalIds -any _ -eq "[OrderID]:%s")'
PURCHASE_ORDER_RULE = '(device.devicePhysicalIds -any _ -eq "[PurchaseOrderId]:%s")'
# What a dynamic security group is on create; none of these is an option, as any other value makes another kind of group.
DYNAMIC_SECURITY_GROUP = {"mailEnabled": False, "securityEnabled": True, "groupTypes": [DYNAMIC], "isAssignableToRole": False}

MAX_NAME = 256  # displayName (group resource, Graph v1.0)
MAX_NICKNAME = 64
MAX_RULE = 3072  # "The maximum length for the rule text is 3072 characters" (dynamic membership rules)
# mailNickname: ASCII 0-127 except these and space (group-post-groups). Not ".": Microsoft took it off the list
# (microsoft-graph-docs PRs #19131 and #19132: "one can create a group with .(dot) in it").
NICKNAME_REFUSED = '@()\\[]";:<>,'
# A quoted value in a rule, with ` escaping the next character inside it (Graph's escape for a double quote).
QUOTED = re.compile(r'"(?:`.|[^"`])*("?)', re.DOTALL)
# "Dynamic membership rules" (Microsoft Learn, groups-dynamic-membership, "Supported values"): in a string value a
# double quote is escaped with a backtick, a single quote by doubling it. Nothing is documented for the backtick
# itself, so a ` before anything but a double quote has no known meaning (nor can a value hold a literal `).
ESCAPES = (('"', '`"'), ("'", "''"))
STRAY_BACKTICK = re.compile(r'`(?!")')
PROPERTY = re.compile(r"\b(device|user)\.[A-Za-z]", re.IGNORECASE)


def outside_quotes(rule, replace):
    """The rule with `replace` applied to each stretch outside quoted values, the values kept as written."""
    parts, position = [], 0
    for value in QUOTED.finditer(rule):
        parts += [replace(rule[position:value.start()]), value.group()]
        position = value.end()
    return "".join(parts + [replace(rule[position:])])


def rule_key(rule):
    """A rule as Graph evaluates it: keywords, operators and property names are case-insensitive and spacing is
    free, so those are folded; a quoted value is kept exactly, as the rule's meaning may depend on it (a
    regular expression, a value another system reads back), and a needless PATCH is cheaper than a missed one."""
    def fold(text):
        return re.sub(r"\s*([()])\s*", r"\1", re.sub(r"\s+", " ", text)).casefold()
    return outside_quotes(rule, fold).strip()


def quoted_value(value):
    """A value for a rule's double-quoted string, escaped as Entra's rule syntax documents (ESCAPES)."""
    for char, escaped in ESCAPES:
        value = value.replace(char, escaped)
    return value


def rule_of_membership(membership):
    """The rule the `membership` helper option stands for."""
    if membership.get("all_autopilot_devices"):
        return ALL_AUTOPILOT_DEVICES_RULE
    if membership.get("group_tag") is not None:
        return GROUP_TAG_RULE % quoted_value(membership["group_tag"])
    return PURCHASE_ORDER_RULE % quoted_value(membership["purchase_order"])


class MembershipProp(Prop):
    """`membership`: a helper that writes the rule, so it maps to membershipRule like `membership_rule`."""

    def to_graph(self, value):
        return None if value is None else rule_of_membership(value)

    def from_graph(self, value):
        return None  # described as membership_rule, which holds any rule


class PausedProp(Prop):
    """membershipRuleProcessingState as a bool: an option valued on/paused would read `on` as true in YAML."""

    def to_graph(self, value):
        return None if value is None else ("Paused" if value else "On")

    def from_graph(self, value):
        return None if value is None else value == "Paused"


def nickname_of(params):
    """mailNickname on create: the letters and digits of the name (the tutorial's autopilothaadjdevices for
    Autopilot-HAADJ-Devices). A security group's nickname need not be unique."""
    name = params.get("display_name") or ""
    return "".join(char for char in name.lower() if char.isascii() and char.isalnum())[:MAX_NICKNAME] or "devicegroup"


def balanced(text):
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def rule_errors(option, rule):
    """What Graph would refuse in a device group's rule, as far as it can be told without Graph's parser."""
    if not rule.strip():
        return ["%s: give a rule, for example %s." % (option, ALL_AUTOPILOT_DEVICES_RULE)]
    errors = []
    if len(rule) > MAX_RULE:
        errors.append("%s: Graph takes at most %d characters (got %d)." % (option, MAX_RULE, len(rule)))
    values = list(QUOTED.finditer(rule))
    if any(not value.group(1) for value in values):
        errors.append('%s: a quoted value is not closed; end it with " (a " inside a value is written `").' % option)
    elif any(STRAY_BACKTICK.search(value.group()[1:-1]) for value in values):
        errors.append("%s: a quoted value holds a ` that does not escape a double quote; Entra's rule syntax documents ` only "
                      "before \" (`\"), so Graph may read the value's end elsewhere. Remove the `." % option)
    bare = QUOTED.sub('""', rule)
    if not balanced(bare):
        errors.append("%s: its parentheses do not pair up." % option)
    kinds = {match.group(1).lower() for match in PROPERTY.finditer(bare)}
    if "user" in kinds:
        errors.append("%s: a device group's rule uses device properties (device.*) only; user.* makes a group of users, "
                      "and Graph refuses a rule that mixes the two." % option)
    elif "device" not in kinds:
        errors.append("%s: name a device property, for example device.devicePhysicalIds; this module manages device groups." % option)
    return errors


def validate(params):
    errors = []
    rule, membership = params.get("membership_rule"), params.get("membership")
    if rule is not None and membership is not None:
        errors.append("membership_rule and membership: give one; membership writes the rule for you.")
    elif rule is not None:
        errors += rule_errors("membership_rule", rule)
    elif membership is not None:
        for helper in ("group_tag", "purchase_order"):
            value = membership.get(helper)
            if value is not None and not value.strip():
                errors.append("membership.%s: give the value devices carry, not an empty string." % helper)
            elif value is not None and "`" in value:
                errors.append("membership.%s: %r holds a backtick (`), the escape character of Entra's rules, which no "
                              "documented escape puts inside a value: remove it." % (helper, value))
    if membership is not None and membership.get("all_autopilot_devices") is False:
        errors.append("membership.all_autopilot_devices: false says nothing; give membership_rule, group_tag or purchase_order instead.")
    nickname = params.get("mail_nickname")
    if nickname is not None:
        refused = sorted({char for char in nickname if char in NICKNAME_REFUSED or char.isspace() or ord(char) > 127})
        if not 1 <= len(nickname) <= MAX_NICKNAME or refused:
            found = " (it has %s)" % " ".join(repr(char) for char in refused) if refused else ""
            errors.append(
                "mail_nickname %r: give 1 to %d ASCII characters without spaces or any of %s%s; or leave it out to "
                "derive it from display_name." % (nickname, MAX_NICKNAME, " ".join(NICKNAME_REFUSED), found)
            )
    return errors


def group_kind_refusal(existing, params):
    """Another kind of group under the name is not this module's to change or delete."""
    types = existing.get("groupTypes") or []
    if "Unified" in types:
        kind = "a Microsoft 365 group"
    elif DYNAMIC not in types:
        kind = "an assigned group (its members are added by hand)"
    elif existing.get("mailEnabled") or not existing.get("securityEnabled"):
        kind = "not a security group"
    else:
        return None
    return ("the group '%s' (id %s) is %s, and this module manages dynamic security device groups only; it is left "
            "as it is. Choose another display_name, or delete or rename that group first."
            % (existing.get("displayName"), existing.get("id"), kind))


class GroupResource(Resource):
    """A resource whose collection holds one type and does not name it: every object in it is a group."""

    def is_type(self, obj):
        return True

    def owns(self, obj):
        return True


GROUP = GroupResource(
    noun="device group",
    collection="groups",
    api="v1.0",
    odata_type="#microsoft.graph.group",
    return_key="group",
    props=(
        Prop("display_name", "displayName"),
        Prop("description", "description"),
        Prop("membership_rule", "membershipRule", normalize=rule_key, create_default=ALL_AUTOPILOT_DEVICES_RULE),
        # After membership_rule, so on create its rule wins over that default.
        MembershipProp("membership", "membershipRule", normalize=rule_key, spec=dict(
            type="dict",
            options=dict(all_autopilot_devices=dict(type="bool"), group_tag=dict(type="str"), purchase_order=dict(type="str")),
            mutually_exclusive=[("all_autopilot_devices", "group_tag", "purchase_order")],
            required_one_of=[("all_autopilot_devices", "group_tag", "purchase_order")],
        )),
        PausedProp("membership_paused", "membershipRuleProcessingState", spec={"type": "bool"}, create_default=False),
        Prop("mail_nickname", "mailNickname", create_default=nickname_of),
    ),
    validate=validate,
    guard=group_kind_refusal,
    max_name_length=MAX_NAME,
    # Graph takes `$filter=displayName eq '...'` on groups (group-list, "Optional query parameters").
    filter_by_key=True,
)


class GroupEngine(DesiredStateEngine):
    """The engine with what is particular to directory groups: the properties that make a dynamic security
    group sent on create, and no @odata.type in what is sent or returned."""

    def create_body(self, desired):
        return dict(super().create_body(desired), **DYNAMIC_SECURITY_GROUP)

    def write(self, method, path, body=None, idempotent=None):
        # The engine types its bodies for Intune's polymorphic collections; a group is sent as Graph documents it, untyped.
        if body is not None:
            body = {key: value for key, value in body.items() if key != "@odata.type"}
        return super().write(method, path, body, idempotent)

    def result(self, obj, keys):
        if obj and obj.get("id"):
            # Through the action plugin's run cache, later tasks assign to this group without looking its name up,
            # which Graph may not answer yet for a group just created.
            self.resolved_groups[obj["displayName"]] = obj["id"]
        elif obj and self.module.check_mode and self.params["state"] == "present":
            # Would be created: later check-mode tasks of the run plan their assignments to it.
            self.resolved_groups[obj["displayName"]] = PLANNED_GROUP_ID
        result = super().result(obj, keys)
        result[self.resource.return_key].pop("@odata.type", None)
        return result
