# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base class of every Graph module: shared options, one Graph client, secret-safe results."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import (
    AuthError,
    acquire_token,
    endpoints,
    graph_auth_argument_spec,
    validate_auth,
)
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import GraphClient, GraphError


class GraphModule(AnsibleModule):
    """AnsibleModule with the Graph auth options merged in and a lazily built Graph client.

    Every token this module obtains is added to `no_log_values`, so AnsibleModule masks it in any
    result, warning or error, whatever code path would otherwise leak it.
    """

    def __init__(self, argument_spec, **kwargs):
        spec = graph_auth_argument_spec()
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        try:
            validate_auth(self.params)
        except AuthError as exc:
            self.fail_json(msg=str(exc))
        self._warn_about_exposed_tokens()
        self._graph = None

    def _warn_about_exposed_tokens(self):
        graph_endpoint, authority = endpoints(self.params)
        if not self.params.get("validate_certs", True):
            self.warn(
                "validate_certs is false: the certificates of Graph and of the sign-in host are not checked, so whoever "
                "can intercept the connection gets the access token. Trust a private CA with ca_path instead."
            )
        if graph_endpoint.lower().startswith("http://"):
            self.warn(
                "graph_endpoint %s is plain HTTP: the access token and the data cross the network unencrypted. Use https://."
                % graph_endpoint
            )
        authority_host = self.params.get("authority_host")
        if authority_host and authority_host.lower().startswith("http://"):
            self.warn("authority_host %s is plain HTTP; sign-in uses %s instead, as credentials only travel over HTTPS." % (authority_host, authority))

    def _token(self):
        try:
            token, _expires_on = acquire_token(self.params)
        except AuthError as exc:
            self.fail_json(msg=str(exc))
        self.no_log_values.add(token)
        return token

    @property
    def graph(self):
        if self._graph is None:
            graph_endpoint, _authority = endpoints(self.params)
            self._graph = GraphClient(
                graph_endpoint,
                self._token,
                ca_path=self.params.get("ca_path"),
                validate_certs=self.params.get("validate_certs", True),
                timeout=self.params["request_timeout"],
                max_retry_wait=self.params["max_retry_wait"],
            )
        return self._graph

    def exit_json(self, **kwargs):
        self._warn_about_waits()
        super().exit_json(**kwargs)

    def fail_json(self, *args, **kwargs):
        self._warn_about_waits()
        super().fail_json(*args, **kwargs)

    def _warn_about_waits(self):
        """Time spent waiting on throttling or an unavailable Graph, said once per task instead of in silence."""
        graph = getattr(self, "_graph", None)
        summary = graph.waits_summary() if graph is not None else None
        if summary:
            self.warn(summary)
            graph.waits = []

    def fail_graph(self, error, **result):
        """fail_json for a GraphError: Graph's code, request-id and date as separate result keys
        (and `token_rejected: true` when Graph refused the token, which the action plugin acts on)."""
        details = {key: value for key, value in error.details().items() if value is not None}
        self.fail_json(msg=str(error), **dict(details, **result))

    def run_guarded(self, function):
        """Run `function()` and turn any GraphError into a clear failure instead of a traceback."""
        try:
            return function()
        except GraphError as exc:
            self.fail_graph(exc)
        finally:
            if self._graph is not None:
                self._graph.close()
