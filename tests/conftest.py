# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the tests run in the checkout (tests/lab, tests/integration/pytest, and tests/unit there):
the checkout on sys.path, and the Graph lab. Not shipped (galaxy.yml build_ignore): tests/unit must
pass without it, as `make units` runs them from the collection as shipped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# `lab` for the Graph lab, `.collections` to import this checkout as ansible_collections.intune.autopilot.
sys.path[:0] = [str(REPO), str(REPO / ".collections")]


@pytest.fixture(scope="session")
def graph_lab():
    """One Graph lab per test session (per xdist worker)."""
    from lab.graph.testing import running_lab  # pylint: disable=import-outside-toplevel

    with running_lab() as lab:
        yield lab


@pytest.fixture(scope="session")
def token(graph_lab):
    """An access token of the lab's admin app, acquired once as the modules' sign-in does (azure-identity)."""
    from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import acquire_token  # pylint: disable=import-outside-toplevel

    admin = graph_lab.apps["lab-admin"]
    params = dict(tenant_id=graph_lab.tenant, client_id=admin["client_id"], client_secret=admin["secret"],
                  graph_endpoint=graph_lab.url, authority_host=graph_lab.url, ca_path=graph_lab.ca)
    return acquire_token(params)[0]


@pytest.fixture
def lab(graph_lab):
    """The session's lab, reset to its seed before each test."""
    graph_lab.client.reset()
    return graph_lab
