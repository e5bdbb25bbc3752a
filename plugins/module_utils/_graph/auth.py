# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Credentials for Microsoft Graph: the shared auth options, how `auth_source: auto` resolves them,
and token acquisition through azure-identity.

Used by the modules and by the controller-side action plugin, so nothing here depends on
AnsibleModule. Signing in (azure-identity, its retries and its failures) is auth_sign_in.py, imported only when
`acquire_token` has to sign in: a module the action plugin hands a token to never compiles it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import ssl
import time

CLOUDS = {
    # cloud name: (Graph endpoint, Entra ID authority host)
    "public": ("https://graph.microsoft.com", "https://login.microsoftonline.com"),
    "usgov": ("https://graph.microsoft.us", "https://login.microsoftonline.us"),
    "usgov_dod": ("https://dod-graph.microsoft.us", "https://login.microsoftonline.us"),
    "china": ("https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
}

AUTH_SOURCES = ("auto", "client_secret", "certificate", "managed_identity", "workload_identity", "cli", "access_token",
                "username_password", "device_code")

# Options that carry secrets: the action plugin never forwards them to the module once it holds a token.
SECRET_OPTIONS = ("client_secret", "client_certificate", "client_certificate_password", "access_token", "password")

# Numeric options in whole seconds: (default, lowest, highest). The highest transport values keep the
# expiry margin of a cached token (plugins/plugin_utils/graph_action.py) well inside the shortest
# lifetime Entra ID gives an access token (60 minutes). A device code lives 15 minutes (Entra ID's expires_in, 900 s),
# so waiting longer for the user would wait for nothing.
NUMERIC_OPTIONS = {
    "max_retry_wait": (300, 1, 1800),
    "request_timeout": (60, 1, 600),
    "device_code_timeout": (300, 30, 900),
}

# Environment variables read when an option is not given, per option; the first one set (not empty) wins.
# First azure-identity's names (its EnvironmentCredential), then those AWX's built-in "Microsoft Azure Resource
# Manager" credential injects and azure.azcollection reads (AZURE_CREDENTIAL_ENV_MAPPING in its azure_rm_common.py),
# so an AWX job template needs no credential type of ours. An empty variable counts as unset: AWX injects every
# field of a credential, empty or not.
ENV_FALLBACKS = {
    "tenant_id": ("AZURE_TENANT_ID", "AZURE_TENANT"),
    "client_id": ("AZURE_CLIENT_ID",),
    "client_secret": ("AZURE_CLIENT_SECRET", "AZURE_SECRET"),
    "client_certificate_path": ("AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_X509_CERTIFICATE_PATH"),
    "client_certificate_password": ("AZURE_CLIENT_CERTIFICATE_PASSWORD",),
    "federated_token_file": ("AZURE_FEDERATED_TOKEN_FILE",),
    "authority_host": ("AZURE_AUTHORITY_HOST",),
    "username": ("AZURE_USERNAME", "AZURE_AD_USER"),
    "password": ("AZURE_PASSWORD",),
    "cloud": ("AZURE_CLOUD_ENVIRONMENT",),
}

# AZURE_CLOUD_ENVIRONMENT holds azure-cli's cloud names (azure/cli/core/cloud.py, which azure.azcollection looks
# them up in); their Graph and sign-in hosts are those of CLOUDS. The collection's own names are taken as well,
# as the only way to say usgov_dod, which azure-cli has no name for.
CLOUD_ENVIRONMENT_NAMES = {
    "azurecloud": "public",
    "azureusgovernment": "usgov",
    "azurechinacloud": "china",
}


def _first_set(*names):
    """The value of the first of the environment variables `names` that is set and not empty."""
    from ansible.module_utils.errors import AnsibleFallbackNotFound

    for name in names:
        value = os.environ.get(name, "")
        if value.strip():
            return value
    raise AnsibleFallbackNotFound


def _cloud_from_environment(*names):
    """The cloud an azure-cli cloud name stands for; anything else is passed on for the choices check to name."""
    value = _first_set(*names).strip()
    return CLOUD_ENVIRONMENT_NAMES.get(value.casefold(), value)


def graph_auth_argument_spec():
    """The auth, endpoint and transport options every Graph module accepts (see the graph doc fragment)."""
    def fallback(option):
        return (_cloud_from_environment if option == "cloud" else _first_set, list(ENV_FALLBACKS[option]))

    return dict(
        auth_source=dict(type="str", default="auto", choices=list(AUTH_SOURCES)),
        tenant_id=dict(type="str", fallback=fallback("tenant_id")),
        client_id=dict(type="str", fallback=fallback("client_id")),
        client_secret=dict(type="str", no_log=True, fallback=fallback("client_secret")),
        client_certificate_path=dict(type="path", fallback=fallback("client_certificate_path")),
        client_certificate=dict(type="str", no_log=True),
        client_certificate_password=dict(type="str", no_log=True, fallback=fallback("client_certificate_password")),
        federated_token_file=dict(type="path", fallback=fallback("federated_token_file")),
        access_token=dict(type="str", no_log=True),
        username=dict(type="str", fallback=fallback("username")),
        password=dict(type="str", no_log=True, fallback=fallback("password")),
        cloud=dict(type="str", default="public", choices=list(CLOUDS), fallback=fallback("cloud")),
        graph_endpoint=dict(type="str"),
        authority_host=dict(type="str", fallback=fallback("authority_host")),
        ca_path=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        max_retry_wait=dict(type="int", default=NUMERIC_OPTIONS["max_retry_wait"][0]),
        request_timeout=dict(type="int", default=NUMERIC_OPTIONS["request_timeout"][0]),
        device_code_timeout=dict(type="int", default=NUMERIC_OPTIONS["device_code_timeout"][0]),
    )


class AuthError(Exception):
    """Credentials are missing, contradictory or were refused, or an option is out of range.
    The message never holds a secret."""


def validated_auth_options(args):
    """The auth options among a task's raw args, checked and completed (types, choices, defaults and
    the AZURE_* environment fallbacks) by ansible-core's own validator over the same spec the module uses,
    so the controller and the module read the options alike."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = graph_auth_argument_spec()
    result = ArgumentSpecValidator(spec).validate({name: value for name, value in args.items() if name in spec})
    if result.error_messages:
        raise AuthError(" ".join(result.error_messages))
    return result.validated_parameters


def endpoints(params):
    """(graph_endpoint, authority_host) without trailing slashes: the cloud's, or the overrides."""
    graph, authority = CLOUDS[params.get("cloud") or "public"]
    graph = (params.get("graph_endpoint") or graph).rstrip("/")
    authority = (params.get("authority_host") or authority).rstrip("/")
    if not authority.startswith("https://"):
        authority = "https://" + authority.split("://", 1)[-1]
    return graph, authority


def resolve_auth_source(params):
    """Which credential `params` describe. `auto` follows what is set, options before environment."""
    source = params.get("auth_source") or "auto"
    if source != "auto":
        return source
    if params.get("access_token"):
        return "access_token"
    if params.get("client_secret"):
        return "client_secret"
    if params.get("client_certificate_path") or params.get("client_certificate"):
        return "certificate"
    if params.get("federated_token_file"):
        return "workload_identity"
    if params.get("username") and params.get("password"):
        return "username_password"
    if os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"):
        return "managed_identity"
    if shutil.which("az"):
        return "cli"
    raise AuthError(
        "No Graph credentials found. Set client_id, tenant_id and client_secret (or client_certificate_path, "
        "federated_token_file, access_token, username and password), or the AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET "
        "environment variables (AWX's Azure credential sets AZURE_TENANT / AZURE_CLIENT_ID / AZURE_SECRET, also read), "
        "or choose auth_source explicitly (managed_identity, device_code with tenant_id and a public client app's client_id, cli)."
    )


def _require(params, source, *names):
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise AuthError("auth_source=%s needs %s (or the matching AZURE_* environment variables)." % (source, ", ".join(missing)))


def transport_settings(params):
    """{option: whole seconds} for NUMERIC_OPTIONS, defaults filled in.

    Takes module params (ints) and the action plugin's raw task args alike (which may still be strings
    such as "30"); AuthError names the option and its range.
    """
    settings = {}
    for name, (default, lowest, highest) in NUMERIC_OPTIONS.items():
        value = params.get(name)
        if value is None:
            settings[name] = default
            continue
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            seconds = int(value)
        except (TypeError, ValueError):
            seconds = None
        if seconds is None or not lowest <= seconds <= highest:
            raise AuthError("%s must be a whole number of seconds from %d to %d, not %r." % (name, lowest, highest, value))
        settings[name] = seconds
    return settings


def validate_auth(params):
    """Fail early, without any network call, when the chosen credential lacks a required option or a
    transport option is out of range."""
    transport_settings(params)
    source = resolve_auth_source(params)
    if source == "client_secret":
        _require(params, source, "tenant_id", "client_id", "client_secret")
    elif source == "certificate":
        _require(params, source, "tenant_id", "client_id")
        if not (params.get("client_certificate_path") or params.get("client_certificate")):
            raise AuthError("auth_source=certificate needs client_certificate_path or client_certificate (PEM content).")
    elif source == "workload_identity":
        _require(params, source, "tenant_id", "client_id", "federated_token_file")
    elif source == "username_password":
        _require(params, source, "tenant_id", "client_id", "username", "password")
    elif source == "device_code":
        # Without client_id azure-identity would sign in as the Azure CLI's app, whose token holds no Policy or Intune scope.
        _require(params, source, "tenant_id", "client_id")
    elif source == "access_token" and not params.get("access_token"):
        raise AuthError("auth_source=access_token needs access_token.")
    return source


def token_scope(params):
    return endpoints(params)[0] + "/.default"


def credential_fingerprint(params):
    """A stable key for one credential and audience, for the controller's token cache.

    Secrets enter only as a SHA-256 digest, so the key can name a file without revealing them.
    """
    source = validate_auth(params)
    graph, authority = endpoints(params)
    parts = [source, graph, authority, params.get("tenant_id") or "", params.get("client_id") or ""]
    parts.append(params.get("username") or "")
    for secret_option in ("client_secret", "client_certificate", "client_certificate_password", "password"):
        parts.append(params.get(secret_option) or "")
    for path_option in ("client_certificate_path", "federated_token_file"):
        path = params.get(path_option)
        parts.append(path or "")
        if path and os.path.exists(path):
            # A rotated certificate or token file must not keep serving a token for the old one.
            parts.append(str(os.stat(path).st_mtime_ns))
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def acquire_token(params, sleep=time.sleep, clock=time.monotonic, prompt=None):
    """(token, expires_on epoch seconds) for the Graph scope of `params`. Messages never hold secrets.

    A sign-in that is throttled (429), meets a 5xx, times out or loses its connection is sent again with the
    transport's policy for Graph's requests (transport.py): Retry-After honoured, else back-off with jitter, at most
    MAX_ATTEMPTS sends, none later than max_retry_wait seconds after the first. Each attempt uses a new credential:
    MSAL answers a repeated request from its cache of a 429/5xx for up to its Retry-After (5 s without one, 60 s
    for username_password's public client) without sending it. A refusal is not retried.

    prompt: see auth_sign_in.build_credential (auth_source=device_code). A device code sign-in retried after a passing failure shows
    a new code; one nobody completes within device_code_timeout fails saying so."""
    source = validate_auth(params)
    if source == "access_token":
        return params["access_token"], None
    # A module handed its token by the action plugin never signs in: azure-identity's sign-in is imported only here.
    from ansible_collections.intune.autopilot.plugins.module_utils._graph import auth_sign_in  # pylint: disable=import-outside-toplevel

    return auth_sign_in.sign_in(params, source, sleep, clock, prompt)


# OpenSSL's reason for a certificate it could not verify, as Python's ssl module words it.
CERTIFICATE_VERIFY_FAILED = re.compile(r"CERTIFICATE_VERIFY_FAILED\]\s*certificate verify failed:?\s*([^(]*)")


def certificate_failure(exc):
    """Why a TLS certificate could not be verified, when that is what failed, else None (for the sign-in here, and
    for Graph's requests in transport.py).

    The transport's http_client keeps the ssl error as the cause; azure-identity wraps it several layers deep (ClientAuthenticationError, then azure-core's
    ServiceRequestError whose inner_exception is requests' SSLError around urllib3's), not always as a cause or
    context; where the chain breaks, OpenSSL's reason code in the text still says it."""
    for link in error_chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            return link.verify_message or str(link)
        found = CERTIFICATE_VERIFY_FAILED.search(str(link))
        if found:
            return found.group(1).strip() or "certificate verify failed"
    return None


def error_chain(exc):
    """exc and what it wraps, outermost first: its cause, else its context, else azure-core's inner_exception;
    each once, so a chain that loops ends."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "inner_exception", None)
