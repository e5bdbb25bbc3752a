# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ldap_connection fragment's NESTED is its DOCUMENTATION under one ldap dict option, word for word.

NESTED has to be a literal (ansible-test's yamllint reads fragments without running them), so this
test is what keeps the two from drifting apart when an LDAP option changes.
"""

from __future__ import annotations

import re

import yaml

from ansible_collections.intune.autopilot.plugins.doc_fragments.ldap_connection import ModuleDocFragment


def test_nested_holds_every_ldap_option_as_documented_at_the_top_level():
    flat = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
    nested = yaml.safe_load(ModuleDocFragment.NESTED)
    names = "|".join(flat["options"])

    def prefixed(text):
        # O(...) references name the option by its path under ldap.
        return re.sub(r"O\((%s)([=)])" % names, r"O(ldap.\1\2", text)

    suboptions = nested["options"]["ldap"]["suboptions"]
    assert list(suboptions) == list(flat["options"])
    for name, option in flat["options"].items():
        expected = dict(option, description=[prefixed(line) for line in option["description"]])
        assert suboptions[name] == expected, name
    assert nested["options"]["ldap"]["type"] == "dict"
    assert nested["requirements"] == [prefixed(line) for line in flat["requirements"]]
