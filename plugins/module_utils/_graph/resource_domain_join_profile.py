# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The domain join profile (tutorial step 8) as the engine's declarative Resource.

Shared by the resource module and autopilot_config_info, which lists existing objects in the shape
the module accepts.
"""

from __future__ import annotations

import re

from ansible_collections.intune.autopilot.plugins.module_utils._ad.dn import dn_key, normalise_dn, split_dn
from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import (
    Assignments,
    Prop,
    Resource,
)

MAX_NAME = 15
RANDOM_RANGE = (3, 14)
PREFIX_RE = re.compile(r"^[A-Za-z0-9-]+$")
DNS_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def validate(params):
    errors = []
    prefix, count = params.get("computer_name_prefix"), params.get("random_char_count")
    if prefix is not None:
        if not prefix or not PREFIX_RE.match(prefix):
            errors.append(
                "computer_name_prefix %r: use 1 to %d letters, digits or hyphens (a NetBIOS computer name cannot hold "
                "spaces, dots, underscores or symbols, and %%SERIAL%%/%%RAND:x%% are not supported for hybrid join)."
                % (prefix, MAX_NAME - RANDOM_RANGE[0])
            )
        elif len(prefix) > MAX_NAME - RANDOM_RANGE[0]:
            errors.append(
                "computer_name_prefix %r is %d characters; at most %d leave room for the %d random characters Graph requires "
                "within the %d-character computer name." % (prefix, len(prefix), MAX_NAME - RANDOM_RANGE[0], RANDOM_RANGE[0], MAX_NAME)
            )
    if count is not None and not RANDOM_RANGE[0] <= count <= RANDOM_RANGE[1]:
        errors.append("random_char_count %d: Graph accepts %d to %d." % (count, RANDOM_RANGE[0], RANDOM_RANGE[1]))
    elif count is not None and prefix and len(prefix) + count > MAX_NAME:
        errors.append(
            "computer_name_prefix %r (%d characters) plus random_char_count %d exceeds the %d characters of a computer name; "
            "lower random_char_count to %d or shorten the prefix." % (prefix, len(prefix), count, MAX_NAME, MAX_NAME - len(prefix))
        )
    domain = params.get("domain")
    labels = domain.rstrip(".").split(".") if domain is not None else []
    if domain is not None:
        if len(labels) < 2:
            errors.append("domain %r looks like a NetBIOS name; give the fully qualified domain name, for example contoso.com." % domain)
        elif not all(DNS_LABEL_RE.match(label) for label in labels):
            errors.append("domain %r is not a valid DNS name (letters, digits and hyphens in dot-separated labels)." % domain)
    ou = params.get("organizational_unit")
    if ou is not None:
        rdns = split_dn(ou)
        if not rdns:
            errors.append("organizational_unit %r is not a distinguished name; write it like OU=Autopilot,DC=contoso,DC=com without quotes." % ou)
        elif rdns[0][0] == "CN" and rdns[0][1].lower() == "computers":
            errors.append(
                "organizational_unit %r is the default Computers container, which the domain join profile must not name; "
                "leave organizational_unit unset to use it, or name an OU delegated in step 3." % ou
            )
        elif rdns[0][0] != "OU":
            errors.append("organizational_unit %r must start with OU=; the connector creates computers in an organizational unit." % ou)
        elif len(labels) >= 2:
            dc_labels = [value.lower() for kind, value in rdns if kind == "DC"]
            if dc_labels != [label.lower() for label in labels]:
                errors.append(
                    "organizational_unit %r is not in domain %s (its DC= components spell %s); the connector only joins "
                    "devices to its own domain." % (ou, domain, ".".join(dc_labels) or "nothing")
                )
    return errors


class DistinguishedNameProp(Prop):
    """An OU: written in the form ou_account_limit uses (no spaces around ',' and '='), so both modules name one OU alike."""

    def to_graph(self, value):
        return None if value is None else (normalise_dn(value) or value)


def fill_name(params):
    prefix = params.get("computer_name_prefix")
    return MAX_NAME - len(prefix) if prefix else None


PROFILE = Resource(
    noun="domain join profile",
    collection="deviceManagement/deviceConfigurations",
    odata_type="#microsoft.graph.windowsDomainJoinConfiguration",
    return_key="profile",
    props=(
        Prop("display_name", "displayName"),
        Prop("description", "description"),
        Prop("computer_name_prefix", "computerNameStaticPrefix", required_on_create=True),
        Prop("random_char_count", "computerNameSuffixRandomCharCount", spec={"type": "int"}, create_default=fill_name),
        Prop("domain", "activeDirectoryDomainName", normalize=str.casefold, required_on_create=True),
        DistinguishedNameProp("organizational_unit", "organizationalUnit", normalize=lambda dn: dn_key(dn) or dn.casefold()),
        Prop("scope_tags", "roleScopeTagIds", spec={"type": "list", "elements": "str"}, normalize=sorted, create_default=["0"]),
    ),
    assignments=Assignments(style="assign_action", body_key="assignments", item_type="#microsoft.graph.deviceConfigurationAssignment"),
    validate=validate,
    # Graph takes `$filter=displayName eq '...'` on deviceConfigurations (lab/graph/README.md has the source).
    filter_by_key=True,
)
