# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run's token and group-name caches with many tenants at once (playbooks/hybrid_join_tenants.yml with forks):
one multi-tenant app (the same client id and secret) in five tenants gets one token per tenant, and a group id
one tenant's task resolved is never handed to another tenant's."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import validated_auth_options
from ansible_collections.intune.autopilot.plugins.plugin_utils import graph_action

TENANTS = ["tenant-%d" % number for number in range(1, 6)]


def credential(tenant):
    return validated_auth_options(dict(tenant_id=tenant, client_id="multi-tenant-app", client_secret="one secret"))


def test_five_tenants_at_once_get_one_token_each_and_only_their_own(monkeypatch, tmp_path):
    monkeypatch.setattr(graph_action.C, "DEFAULT_LOCAL_TMP", str(tmp_path))
    acquired, lock = [], threading.Lock()

    def acquire(args, prompt=None):  # pylint: disable=unused-argument
        time.sleep(0.05)  # a token request takes a while: the tenants' tasks overlap
        with lock:
            acquired.append(args["tenant_id"])
        return "token of " + args["tenant_id"], time.time() + 3600

    monkeypatch.setattr(graph_action, "acquire_token", acquire)
    # Four tasks per tenant, all at once, as forks run them.
    with ThreadPoolExecutor(max_workers=20) as pool:
        handed = list(pool.map(lambda tenant: (tenant, graph_action.cached_token(credential(tenant))[0]), TENANTS * 4))

    assert all(token == "token of " + tenant for tenant, token in handed), handed
    assert sorted(acquired) == TENANTS


def test_a_group_id_resolved_in_one_tenant_is_not_handed_to_another(monkeypatch, tmp_path):
    monkeypatch.setattr(graph_action.C, "DEFAULT_LOCAL_TMP", str(tmp_path))
    for tenant in TENANTS:
        graph_action.remember_group_ids(credential(tenant), {"Autopilot-HAADJ-Devices": "group id in " + tenant})

    for tenant in TENANTS:
        assert graph_action.cached_group_ids(credential(tenant), {"Autopilot-HAADJ-Devices"}) == {
            "Autopilot-HAADJ-Devices": "group id in " + tenant}
    assert graph_action.cached_group_ids(credential("tenant-6"), {"Autopilot-HAADJ-Devices"}) == {}
