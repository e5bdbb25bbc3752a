# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one parser of Active Directory distinguished names, shared by every module that takes a DN.

Modules that name the same OU (domain_join_profile, ou_account_limit) must accept the same
spellings of it and compare them the same way: spaces around '=' and ',' do not count, attribute
types and values compare case-insensitively (as AD does), and escapes stay exactly as written.
"""

from __future__ import annotations

import re

# An RDN: attribute type, '=', a value in which ',', '+', '"', '\', '<', '>', ';' appear only escaped.
# The lazy value stops before unescaped trailing spaces; an escaped one ('\ ') stays in the value.
RDN_RE = re.compile(r'^\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*((?:[^,+"\\<>;]|\\.)+?)\s*$')


def split_dn(dn: str) -> list[tuple[str, str]] | None:
    """RDNs of a distinguished name as (TYPE, value) pairs, or None when it is not a valid DN.

    Types come back upper case; values as written, escapes included. Multi-valued RDNs ('+') are
    not accepted: no OU or account this collection names has one.
    """
    parts, current, escaped = [], "", False
    for char in dn:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    rdns = []
    for part in parts:
        match = RDN_RE.match(part)
        if not match:
            return None
        rdns.append((match.group(1).upper(), match.group(2)))
    return rdns


def normalise_dn(dn: str) -> str | None:
    """The DN as sent to the directory (OU=Autopilot,DC=contoso,DC=com), or None when it is not a DN."""
    rdns = split_dn(dn)
    return ",".join(f"{kind}={value}" for kind, value in rdns) if rdns else None


def dn_key(dn: str) -> str | None:
    """What two DNs are compared by: equal keys name the same object. None when dn is not a DN."""
    normalised = normalise_dn(dn)
    return normalised.casefold() if normalised else None
