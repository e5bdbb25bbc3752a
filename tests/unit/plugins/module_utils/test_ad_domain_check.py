# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""connector_check's `domain` check: the domain named is the domain controller's, and the OU is in that domain."""

from __future__ import annotations

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._ad.connector_rights import _domain_check
from ansible_collections.intune.autopilot.plugins.module_utils._ad.directory import Domain

CONTOSO = Domain(naming_context="DC=contoso,DC=com", dns_name="contoso.com")


@pytest.mark.parametrize("domain_name, ou", [
    ("contoso.com", "OU=Autopilot,DC=contoso,DC=com"),
    ("Contoso.COM.", "ou=Autopilot , dc=Contoso,DC=com"),         # case, a final dot and spacing do not count
    ("contoso.com", "OU=Devices,OU=Autopilot,DC=contoso,DC=com"),  # a nested OU
])
def test_the_dcs_own_domain_and_an_ou_in_it_pass(domain_name, ou):
    check = _domain_check(CONTOSO, domain_name, ou)

    assert check["name"] == "domain" and check["passed"] is True, check


def test_another_domain_name_fails_naming_the_dcs_domain():
    check = _domain_check(CONTOSO, "fabrikam.com", "OU=Autopilot,DC=contoso,DC=com")

    assert check["passed"] is False
    assert "domain is contoso.com (DC=contoso,DC=com), not fabrikam.com" in check["reason"]
    assert "not in the domain controller's domain" not in check["reason"]


@pytest.mark.parametrize("ou", [
    "OU=Autopilot,DC=fabrikam,DC=com",
    "OU=Autopilot,DC=child,DC=contoso,DC=com",   # a child domain's OU ends like the parent's naming context
    "DC=contoso,DC=com",                          # the domain itself is no OU in it
])
def test_an_ou_outside_the_dcs_domain_fails(ou):
    check = _domain_check(CONTOSO, "contoso.com", ou)

    assert check["passed"] is False
    assert f"The OU {ou} is not in the domain controller's domain contoso.com" in check["reason"], check
