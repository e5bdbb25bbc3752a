# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MDM user scope of Intune's mobility policy (tutorial step 1), behind `automatic_enrollment`.

The policy is a singleton Graph keeps per MDM app (`/beta/policies/mobileDeviceManagementPolicies`, the one
named "Microsoft Intune"), not a named object the engine creates and deletes, and its scope is written in two
ways Graph does not let one PATCH combine:

- `appliesTo` is PATCHed alone and only to `all` or `none`; either drops the included groups.
- `selected` comes from adding groups (POST includedGroups/$ref; the service then reports `selected`);
  DELETE includedGroups/{id}/$ref removes one.

So `plan_writes` picks the fewest calls in an order that never leaves the scope wider than asked for longer than
the calls take (see its docstring), and `MobilityScope.run` sends them. Graph allows this policy to delegated
tokens only, so `DelegatedGraphModule` refuses an app-only credential before any request.
"""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import resolve_auth_source
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import EngineError
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine_groups import GroupResolver
from ansible_collections.intune.autopilot.plugins.module_utils._graph.module import GraphModule
from ansible_collections.intune.autopilot.plugins.module_utils._graph.token_scopes import missing_scope, unverified_claims
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import accepted_scopes, required_permission

POLICIES = "policies/mobileDeviceManagementPolicies"
INTUNE_POLICY_NAME = "Microsoft Intune"
SCOPES = ("none", "all", "selected")
# option -> Graph property of the three MDM URLs; unset options are left as they are.
URL_OPTIONS = {"terms_of_use_url": "termsOfUseUrl", "discovery_url": "discoveryUrl", "compliance_url": "complianceUrl"}
# Credentials that only ever give app-only tokens; refused before a token is even requested.
APP_ONLY_SOURCES = ("client_secret", "certificate", "managed_identity", "workload_identity")
DELEGATED_ONLY = (
    "Graph allows the MDM user scope policy only to a signed-in user (delegated permissions Policy.Read.All to read, "
    "Policy.ReadWrite.MobilityManagement to write, Group.Read.All to find groups by name); it answers an app-only token "
    "401 \"Unsupported app-only call.\". Sign a user in instead: auth_source: device_code with tenant_id and the client_id "
    "of a public client app registration that has the delegated permission Policy.ReadWrite.MobilityManagement, consented "
    "(or Microsoft Graph Command Line Tools, 14d82eec-204b-4c2f-b7e8-296a70dab67e, where the tenant allows it); or "
    "access_token with a delegated token; or, discouraged, auth_source: username_password. auth_source: cli cannot: the "
    "Azure CLI's token never holds a Policy scope."
)


def argument_spec():
    group_list = dict(type="list", elements="str")
    return dict(
        scope=dict(type="str", choices=list(SCOPES)),
        groups=dict(type="dict", options=dict(add=group_list, remove=group_list, set=group_list),
                    mutually_exclusive=[("set", "add"), ("set", "remove")]),
        group_ids=dict(type="dict"),
        **{option: dict(type="str") for option in URL_OPTIONS}
    )


# -- the delegated token ----------------------------------------------------------------------------

def app_only_refusal(claims):
    """Why a token with these (unverified) claims cannot serve this policy, or None. Entra's app-only tokens carry
    `roles` and no `scp` (delegated ones carry `scp`), and `idtyp: app` where the tenant emits it; a token that is not
    a JWT (claims None) is left for Graph to judge."""
    if claims is None or "scp" in claims:
        return None
    if "roles" in claims or claims.get("idtyp") == "app":
        return "The token is app-only (app %s, no delegated scopes). %s" % (claims.get("appid") or claims.get("azp"), DELEGATED_ONLY)
    return None


def planned_requests(params, check_mode):
    """(method, path) of each kind of request a run with these options may send, so a user's token that lacks a scope
    one of them needs is refused before the first: the policy is read, groups named are looked up, and, unless in check
    mode, something to set may be written."""
    requests = [("GET", POLICIES)]
    if params.get("groups"):
        requests.append(("GET", "groups"))
    if not check_mode and (params.get("scope") or any(params.get(option) for option in URL_OPTIONS)):
        requests.append(("PATCH", POLICIES + "/{id}"))
    return requests


def scope_refusal(claims, params, check_mode):
    """Why a user's token lacks a scope this run needs (see planned_requests), or None."""
    for method, path in planned_requests(params, check_mode):
        refusal = missing_scope(claims, accepted_scopes(method, path), required_permission(method, path),
                                "%s /beta/%s" % (method, path))
        if refusal:
            return refusal
    return None


class DelegatedGraphModule(GraphModule):
    """A GraphModule that takes only a user's token holding the scopes the run needs: an app-only credential fails the
    task before any request, by its auth_source when that says so, else by the claims of the token the first request
    would carry (through the action plugin every module gets an access_token, whatever the credential was); so does a
    user's token without a scope a planned request needs."""

    def __init__(self, argument_spec, **kwargs):
        super().__init__(argument_spec, **kwargs)
        source = resolve_auth_source(self.params)
        if source in APP_ONLY_SOURCES:
            self.fail_json(msg="auth_source=%s gives app-only tokens. %s" % (source, DELEGATED_ONLY))

    def _token(self):
        token = super()._token()
        claims = unverified_claims(token)
        refusal = app_only_refusal(claims) or scope_refusal(claims, self.params, self.check_mode)
        if refusal:
            self.fail_json(msg=refusal)
        return token


# -- planning -------------------------------------------------------------------------------------

def input_errors(params):
    """What is wrong with the options alone, each naming the option and the fix; checked before any request."""
    errors = []
    if params.get("groups") and params.get("scope") != "selected":
        errors.append("groups: user groups apply only with scope: selected (scope: all and scope: none drop the included "
                      "groups); set scope: selected or leave groups out.")
    for option in URL_OPTIONS:
        value = params.get(option)
        if value is not None and not value.lower().startswith("https://"):
            errors.append("%s: give an https:// URL, or leave it out to keep the policy's (Microsoft's default)." % option)
    return errors


def desired_group_ids(spec, current_ids, resolve):
    """The group ids `groups` asks for: `set`, or the current ones plus `add` minus `remove`, in order."""
    if spec.get("set") is not None:
        desired = [resolve(value) for value in spec["set"]]
    else:
        removed = {resolve(value) for value in spec.get("remove") or []}
        desired = [group_id for group_id in current_ids + [resolve(value) for value in spec.get("add") or []] if group_id not in removed]
    return list(dict.fromkeys(desired))


def plan_writes(current_scope, current_ids, desired_scope, desired_ids, url_changes):
    """The writes, in order, from the current to the desired state: (method, path suffix, body).

    - The URLs first, in one PATCH (appliesTo must be PATCHed alone): users the scope brings in then enroll
      with the URLs asked for.
    - To `all` or `none`: one PATCH of appliesTo, which also drops every included group (one call, however many
      groups; from `selected` to `none` it narrows at once instead of group by group).
    - To `selected` from `none` or `all`: only the group POSTs (and the DELETEs of groups a `none` scope may still
      list, which are dormant, first). From `all`, the first POST narrows the scope to
      that group (the service switches appliesTo to `selected`) and the rest widen it to the asked set; going
      through `none` first would cost a PATCH and shut everyone out meanwhile.
    - From `selected` to another set of groups: removals before additions, so the scope is never the union of
      old and new. When no current group stays, the last removal waits until one group is added, so the scope
      is never left with no group (what Graph does with an empty `selected` is not documented).
    """
    writes = [("PATCH", "", url_changes)] if url_changes else []
    if desired_scope in ("all", "none"):
        if current_scope != desired_scope:
            writes.append(("PATCH", "", {"appliesTo": desired_scope}))
        return writes
    removals = [group_id for group_id in current_ids if group_id not in desired_ids]
    additions = [group_id for group_id in desired_ids if group_id not in current_ids]
    if current_scope != "selected" and not additions:
        # Graph documents that `all` drops the groups, not that `none` does; groups a `none` scope still lists
        # are dormant, and only an addition switches to `selected`, so one wanted group is removed and added again.
        removals.append(desired_ids[0])
        additions.append(desired_ids[0])
    remove = [("DELETE", "/includedGroups/%s/$ref" % group_id, None) for group_id in removals]
    add = [("POST", "/includedGroups/$ref", group_id) for group_id in additions]
    if current_scope == "selected" and additions and len(removals) == len(current_ids):
        return writes + remove[:-1] + add[:1] + remove[-1:] + add[1:]
    return writes + remove + add


# -- the run --------------------------------------------------------------------------------------

class MobilityScope:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.graph = module.graph
        self.resolved_groups = {}

    def find_policy(self):
        found = [policy for policy in self.graph.list(POLICIES, params={"$filter": "displayName eq '%s'" % INTUNE_POLICY_NAME})
                 if policy.get("displayName") == INTUNE_POLICY_NAME]
        if len(found) != 1:
            raise EngineError(
                "Found %d mobility (MDM) policies named '%s' under %s, expected one. The tenant needs Intune (a license and "
                "the MDM authority set) before automatic enrollment can be configured." % (len(found), INTUNE_POLICY_NAME, POLICIES)
            )
        return found[0]

    def included_groups(self, policy_id):
        # Listed on their own, paged: an $expand of a directory relationship is cut off at 20 items in Graph.
        return {group["id"].lower(): group.get("displayName")
                for group in self.graph.list("%s/%s/includedGroups" % (POLICIES, policy_id), params={"$select": "id,displayName"})}

    def desired_groups(self, current_scope, current):
        """(desired group ids, {id: name}) for scope: selected, resolved and checked before any write."""
        spec = self.params.get("groups")
        current_ids = list(current) if current_scope == "selected" else []
        if not spec:
            if current_scope != "selected":
                raise EngineError("scope: selected needs groups (groups.set or groups.add) naming at least one user group; "
                                  "the policy's scope is '%s' now." % current_scope)
            return current_ids, dict(current)
        resolver = GroupResolver(self.graph, self.params.get("group_ids"))
        known_ids = set(current)

        def resolve(value):
            try:
                return resolver.resolve(value, known_ids)
            except ValueError as exc:
                # GroupResolver names the engine's option; here the groups are in `groups`.
                raise EngineError("groups: %s" % str(exc).removeprefix("assignments: ")) from None

        desired = desired_group_ids(spec, current_ids, resolve)
        if not desired:
            raise EngineError("groups: this leaves scope: selected with no group. Name at least one user group, or use "
                              "scope: none to enroll no user automatically.")
        self.resolved_groups = resolver.looked_up
        names = dict(current, **resolver.names)
        unnamed = [group_id for group_id in desired if group_id not in names]
        if unnamed:
            names.update(resolver.names_of(unnamed))
        return desired, names

    def run(self):
        errors = input_errors(self.params)
        if errors:
            raise EngineError(" ".join(errors))
        policy = self.find_policy()
        policy_id = policy["id"]
        current = self.included_groups(policy_id)
        current_scope = policy.get("appliesTo")
        desired_scope = self.params.get("scope")
        if desired_scope == "selected":
            desired_ids, names = self.desired_groups(current_scope, current)
        else:
            desired_ids, names = [], dict(current)
        url_changes = {prop: self.params[option] for option, prop in URL_OPTIONS.items()
                       if self.params.get(option) is not None and self.params[option] != policy.get(prop)}
        if desired_scope is None:
            # Scope left as it is: only the URLs can change.
            desired_scope, desired_ids = current_scope, list(current)
            writes = [("PATCH", "", url_changes)] if url_changes else []
        else:
            writes = plan_writes(current_scope, list(current), desired_scope, desired_ids, url_changes)
        if writes and policy.get("isValid") is False:
            raise EngineError("The mobility policy '%s' (%s) is invalid (isValid: false): Graph marks a policy so when its "
                              "application's service principal was deleted, and does not update it. Restore Intune's service "
                              "principal in the tenant (or delete the invalid policy, as Microsoft advises) first."
                              % (INTUNE_POLICY_NAME, policy_id))
        if not self.module.check_mode:
            self.send(policy_id, writes)
            if current_scope != "selected" and desired_scope == "selected":
                self.confirm_selected(policy_id)

        def state(scope, group_ids, urls):
            described = dict(scope=scope, groups=sorted(names.get(group_id) or group_id for group_id in group_ids))
            described.update((option, urls.get(prop)) for option, prop in URL_OPTIONS.items())
            return described

        before = state(current_scope, current, policy)
        after = state(desired_scope, desired_ids, dict(policy, **url_changes))
        result = dict(changed=bool(writes), policy_id=policy_id, before=before, after=after)
        if self.module._diff:
            result["diff"] = dict(before=before, after=after)
        if self.resolved_groups:
            result["resolved_groups"] = self.resolved_groups
        return result

    def send(self, policy_id, writes):
        item = "%s/%s" % (POLICIES, policy_id)
        for method, suffix, body in writes:
            if method == "POST":
                body = {"@odata.id": "%s/beta/groups/%s" % (self.graph.endpoint, body)}
            self.graph.request(method, item + suffix, body=body)

    def confirm_selected(self, policy_id):
        """The service is expected to switch appliesTo to `selected` when a group is added (the reference infers it;
        lab/graph/README.md marks it unsettled). Read it back, so a service that does not cannot pass for done."""
        scope = (self.graph.get("%s/%s" % (POLICIES, policy_id), params={"$select": "appliesTo"}) or {}).get("appliesTo")
        if scope != "selected":
            raise EngineError(
                "The groups were added, but Graph still reports appliesTo '%s' instead of 'selected'. Run the task with "
                "scope: none, then again with scope: selected, to scope the policy to the groups alone." % scope,
                policy_id=policy_id,
            )


def run_module():
    module = DelegatedGraphModule(argument_spec=argument_spec(), supports_check_mode=True)

    def run():
        try:
            result = MobilityScope(module).run()
        except EngineError as exc:
            module.fail_json(msg=exc.msg, **exc.details)
        module.exit_json(**result)

    module.run_guarded(run)
