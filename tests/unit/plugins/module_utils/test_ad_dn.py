# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one DN parser that domain_join_profile and ou_account_limit share."""

from __future__ import annotations

import pytest

from ansible_collections.intune.autopilot.plugins.module_utils._graph import resource_domain_join_profile as resource_domain_join
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dn import dn_key, normalise_dn, split_dn


@pytest.mark.parametrize("written", [
    "OU=Autopilot,DC=contoso,DC=com",
    "OU=Autopilot, DC=contoso, DC=com",
    " OU = Autopilot ,DC= contoso,  DC =com ",
    "ou=Autopilot,dc=contoso,Dc=com",
])
def test_spaces_around_separators_and_type_case_do_not_count(written):
    assert split_dn(written) == [("OU", "Autopilot"), ("DC", "contoso"), ("DC", "com")]
    assert normalise_dn(written) == "OU=Autopilot,DC=contoso,DC=com"


def test_spaces_inside_a_value_are_kept():
    assert normalise_dn("OU=Autopilot Devices , DC=contoso,DC=com") == "OU=Autopilot Devices,DC=contoso,DC=com"


@pytest.mark.parametrize("written, rdns", [
    (r"OU=Sales\, Europe,DC=contoso,DC=com", [("OU", r"Sales\, Europe"), ("DC", "contoso"), ("DC", "com")]),
    (r"OU=a\+b\;c\<d\>e\"f\\g,DC=x", [("OU", r"a\+b\;c\<d\>e\"f\\g"), ("DC", "x")]),
    (r"OU=Sales\2C Europe,DC=x", [("OU", r"Sales\2C Europe"), ("DC", "x")]),
    # An escaped space at either end belongs to the value; the unescaped ones around it do not.
    (r"OU= \ padded\  , DC=x", [("OU", r"\ padded\ "), ("DC", "x")]),
    (r"CN=\#hash,DC=x", [("CN", r"\#hash"), ("DC", "x")]),
])
def test_escapes_are_kept_as_written(written, rdns):
    assert split_dn(written) == rdns
    assert normalise_dn(written) == ",".join(f"{kind}={value}" for kind, value in rdns)


@pytest.mark.parametrize("invalid", [
    "Autopilot",
    "",
    "OU=Autopilot,",
    ",DC=com",
    "OU=Autopilot,,DC=com",
    "OU=,DC=com",
    "=Autopilot,DC=com",
    "1OU=Autopilot,DC=com",
    "OU=Sales, Europe,DC=com",  # an unescaped comma splits the value: 'Europe' has no '='
    'OU="Autopilot",DC=com',
    "OU=a+CN=b,DC=com",
    "OU=a;b,DC=com",
    "OU=Autopilot\\",
])
def test_invalid_forms_are_refused(invalid):
    assert split_dn(invalid) is None
    assert normalise_dn(invalid) is None
    assert dn_key(invalid) is None


def test_keys_compare_types_and_values_case_insensitively_but_keep_escapes():
    assert dn_key("OU=AutoPilot, DC=Contoso, DC=COM") == dn_key("ou=autopilot,dc=contoso,dc=com")
    assert dn_key(r"OU=a\2C b,DC=x") == dn_key(r"OU=A\2c B,DC=X")
    assert dn_key(r"OU=a\,b,DC=x") != dn_key("OU=a,OU=b,DC=x")


def test_domain_join_profile_accepts_the_same_spellings():
    # resource_domain_join validates organizational_unit with this parser, not a copy of it.
    assert resource_domain_join.split_dn is split_dn
    params = dict(domain="contoso.com", organizational_unit="OU=Autopilot, DC=contoso, DC=com")
    assert resource_domain_join.validate(params) == []
    assert "is not a distinguished name" in resource_domain_join.validate(dict(params, organizational_unit="Autopilot"))[0]
