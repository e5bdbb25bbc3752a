# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the integration tests; the Graph lab's are in tests/conftest.py, helpers in harness.py."""

from __future__ import annotations

import pytest

# Active Directory (Samba lab) fixtures of the ou_account_limit tests.
from ad_fixtures import ad, ad_lab, exclusive_msa_discovery, single_connector_msa  # noqa: F401  pylint: disable=unused-import


@pytest.fixture(scope="session")
def converged_snapshot(graph_lab):
    """The lab's tenant as the hybrid_join role leaves a new one (steps 5 to 8 configured), built by one whole
    run of the role per worker and then restored by converged_lab in milliseconds."""
    from harness import run_tasks  # pylint: disable=import-outside-toplevel
    from test_hybrid_join_role import role_task  # pylint: disable=import-outside-toplevel

    graph_lab.client.reset()
    results = run_tasks([role_task(graph_lab)])
    assert not [result for result in results if result["failed"]], results
    assert len([result for result in results if result.get("changed")]) == 4, results
    return graph_lab.client.snapshot()


@pytest.fixture
def converged_lab(graph_lab, converged_snapshot):
    """The session's lab with its tenant as the role leaves a new one (see converged_snapshot), its request log
    empty, its clock, config and faults as at start."""
    graph_lab.client.reset(converged_snapshot)
    return graph_lab
