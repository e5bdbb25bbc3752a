# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a Graph access token says of itself: its claims, read without verifying it (only Graph can, and will), and
so whether a user's (delegated) token holds the scope a request needs, before the request is sent."""

from __future__ import annotations

import base64
import binascii
import json

# The Azure CLI's first-party app: its Graph token carries a fixed scope set (no Policy.*, no DeviceManagement*) that
# cannot be extended (Azure/azure-cli#22775, #20572, #26471).
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
SIGN_IN_THAT_CAN_HOLD_IT = (
    "Sign in with auth_source: device_code and the client_id of a public client app registration that has this "
    "delegated permission, consented (in a tenant that allows it, Microsoft Graph Command Line Tools, "
    "14d82eec-204b-4c2f-b7e8-296a70dab67e, can stand in for your own app), or pass access_token with a token that holds it."
)


def unverified_claims(token):
    """The payload of a JWT, not verified: None when the token is not a JWT."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def delegated_scopes(claims):
    """The scopes (`scp`) of a user's token, or None for an app-only token or one that is not a JWT (Graph judges those)."""
    if not claims or not isinstance(claims.get("scp"), str):
        return None
    return set(claims["scp"].split())


def missing_scope(claims, accepted, permission, request):
    """Why a user's token cannot serve `request` ("GET /beta/..."), or None: it holds none of the scopes `accepted`
    (any one suffices; `permission` says them for people)."""
    scopes = delegated_scopes(claims)
    if scopes is None or not accepted or scopes & set(accepted):
        return None
    app = claims.get("appid") or claims.get("azp")
    whose = ("the Azure CLI's app %s, whose Graph token has a fixed set of scopes that cannot be extended" % app
             if app == AZURE_CLI_CLIENT_ID else "app %s" % app)
    return ("The signed-in user's token (%s) lacks the delegated scope %s, which %s needs; nothing was sent to Graph. %s"
            % (whose, permission, request, SIGN_IN_THAT_CAN_HOLD_IT))
