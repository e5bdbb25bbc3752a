# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the integration tests; the Graph lab's are in tests/conftest.py, helpers in harness.py."""

from __future__ import annotations

# Active Directory (Samba lab) fixtures of the ou_account_limit tests.
from ad_fixtures import ad, ad_lab, exclusive_msa_discovery, single_connector_msa  # noqa: F401  pylint: disable=unused-import
