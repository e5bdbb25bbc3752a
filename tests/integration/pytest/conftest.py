# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures of the integration tests (helpers live in harness.py)."""

from __future__ import annotations

import sys

import pytest

from harness import REPO

sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def graph_lab():
    """One Graph lab per test session (per xdist worker)."""
    from lab.graph.testing import running_lab  # pylint: disable=import-outside-toplevel

    with running_lab() as lab:
        yield lab


@pytest.fixture
def lab(graph_lab):
    """The session's lab, reset to its seed before each test."""
    graph_lab.client.reset()
    return graph_lab


# Active Directory (Samba lab) fixtures of the ou_account_limit tests.
from ad_fixtures import ad, ad_lab, exclusive_msa_discovery, single_connector_msa  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
