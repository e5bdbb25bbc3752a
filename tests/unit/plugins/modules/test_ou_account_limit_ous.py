# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ou_account_limit's reading of the ou option (_ad.delegation.unique_ous), and its EXAMPLES read the way YAML reads them."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.intune.autopilot.plugins.module_utils._ad.delegation import DelegationError, unique_ous
from ansible_collections.intune.autopilot.plugins.module_utils._ad.dn import split_dn
from ansible_collections.intune.autopilot.plugins.modules import ou_account_limit


def test_the_documentation_is_yaml_that_documents_ou():
    # ansible-test would refuse the module otherwise; this fails sooner, in the unit run.
    assert yaml.safe_load(ou_account_limit.DOCUMENTATION)["options"]["ou"]["elements"] == "str"


def test_every_example_names_whole_ous():
    for task in yaml.safe_load(ou_account_limit.EXAMPLES):
        ous = task["intune.autopilot.ou_account_limit"]["ou"]
        rdns = [split_dn(dn) for dn in ous]
        assert all(dn[0][0] == "OU" and dn[-1][0] == "DC" for dn in rdns), (task["name"], ous)
        assert unique_ous(ous) == ous, task["name"]


def test_a_flow_list_dn_split_by_yaml_is_refused_with_the_fix():
    ous = yaml.safe_load("ou: [OU=Autopilot,DC=contoso,DC=com]")["ou"]
    with pytest.raises(DelegationError) as raised:
        unique_ous(ous)
    message = str(raised.value)
    assert "'DC=contoso', 'DC=com'" in message and "'OU=Autopilot'" in message
    assert "write ou as a block list or quote the DN" in message


@pytest.mark.parametrize("entry", ["DC=com", "DC=contoso,DC=com", "OU=Autopilot", "DC=com,OU=Autopilot", "O=Contoso,DC=com"])
def test_an_entry_that_is_not_a_whole_ou_dn_is_refused(entry):
    with pytest.raises(DelegationError) as raised:
        unique_ous(["OU=Autopilot,DC=contoso,DC=com", entry])
    assert repr(entry) in str(raised.value) and "block list" in str(raised.value)


def test_spellings_of_one_ou_become_one_entry_in_the_directorys_spelling():
    assert unique_ous(["OU=Autopilot, DC=contoso, DC=com", "ou = autopilot,dc=CONTOSO,dc=com", "CN=Computers,DC=contoso,DC=com"]) == [
        "OU=Autopilot,DC=contoso,DC=com", "CN=Computers,DC=contoso,DC=com"]


@pytest.mark.parametrize("ous, fragment", [
    (["Autopilot"], "'Autopilot' is not a distinguished name"),
    ([], "ou is empty"),
])
def test_no_usable_ou(ous, fragment):
    with pytest.raises(DelegationError) as raised:
        unique_ous(ous)
    assert fragment in str(raised.value)
