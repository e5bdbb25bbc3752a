# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Credentials for Microsoft Graph: the shared auth options, how `auth_source: auto` resolves them,
and token acquisition through azure-identity.

Used by the modules and by the controller-side action plugin, so nothing here depends on
AnsibleModule. `azure.identity` is imported only inside `acquire_token`, the one path that needs it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import ssl
import time
import warnings
from urllib.parse import urlsplit

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


# Sign-in answers worth asking again (as transport.py retries Graph's): throttled, or Entra ID (or a gateway in front
# of it) briefly unavailable. Any other answer is a refusal (AADSTS7000215 bad secret, AADSTS700016 unknown app,
# AADSTS90002 unknown tenant, invalid_grant, ...), which a second request would only repeat.
TRANSIENT_SIGN_IN_STATUS = (429, 500, 502, 503, 504)
# Credentials whose token request goes through azure-core's pipeline (MSAL's client, or azure-identity's AadClient for
# the client assertion): acquire_token retries them with transport.py's policy. managed_identity keeps azure-identity's
# own retries, tuned for the identity endpoint; cli's sign-in is az's.
RETRIED_SOURCES = ("client_secret", "certificate", "workload_identity", "username_password", "device_code")


def build_credential(params, on_response=None, prompt=None):
    """An azure-identity credential for `params`. Imports azure.identity (about 0.3 s) on purpose here.

    on_response((status, Retry-After header)) is called for each sign-in answer of the credentials of RETRIED_SOURCES,
    whose own retries are then off: azure-core would resend a throttled token request only 3 times, sleep any
    Retry-After however long, and answer to no max_retry_wait; acquire_token retries instead.

    prompt(verification_uri, user_code, seconds): shows a device code sign-in to the user, who has `seconds` to
    complete it; auth_source=device_code needs one (the controller's display)."""
    from azure.identity import (  # pylint: disable=import-outside-toplevel
        AzureCliCredential,
        CertificateCredential,
        ClientAssertionCredential,
        ClientSecretCredential,
        DeviceCodeCredential,
        ManagedIdentityCredential,
        UsernamePasswordCredential,
    )

    source = validate_auth(params)
    _graph, authority = endpoints(params)
    common = dict(authority=authority, disable_instance_discovery=_is_private_authority(authority))
    verify = _connection_verify(params)
    if verify is not None:
        common["connection_verify"] = verify
    if on_response is not None and source in RETRIED_SOURCES:
        # Each exchange (connect, send, the whole answer) ends within request_timeout, as Graph's do (azure-core's
        # default: 300 s for each read of the answer, however many).
        from ansible_collections.intune.autopilot.plugins.module_utils._graph.sign_in_http import bounded_transport  # pylint: disable=import-outside-toplevel

        timeout = transport_settings(params)["request_timeout"]
        common.update(retry_total=0, raw_response_hook=_answer_recorder(on_response), connection_timeout=timeout, read_timeout=timeout,
                      transport=bounded_transport(timeout, verify))
    tenant_id = params.get("tenant_id")
    client_id = params.get("client_id")

    if source == "client_secret":
        return ClientSecretCredential(tenant_id, client_id, params.get("client_secret"), **common)
    if source == "certificate":
        password = params.get("client_certificate_password")
        cert_kwargs = dict(common, password=password.encode("utf-8") if password else None)
        if params.get("client_certificate"):
            cert_kwargs["certificate_data"] = params["client_certificate"].encode("utf-8")
        else:
            cert_kwargs["certificate_path"] = params.get("client_certificate_path")
        return CertificateCredential(tenant_id, client_id, **cert_kwargs)
    if source == "workload_identity":
        token_file = params.get("federated_token_file")

        def read_assertion():
            # Re-read each time: the platform rotates the projected token file.
            with open(token_file, encoding="utf-8") as handle:
                return handle.read().strip()

        return ClientAssertionCredential(tenant_id, client_id, read_assertion, **common)
    if source == "managed_identity":
        extra = {"connection_verify": verify} if verify is not None else {}
        return ManagedIdentityCredential(client_id=client_id, **extra) if client_id else ManagedIdentityCredential(**extra)
    if source == "username_password":
        # A user's (delegated) token, for tenants that still allow the password grant (no MFA, not federated);
        # client_id is a public client app registration with "Allow public client flows" on.
        with warnings.catch_warnings():
            # azure-identity deprecates the credential (Microsoft discourages the grant); the option says when it fits.
            warnings.simplefilter("ignore", DeprecationWarning)
            _skip_user_realm_discovery_off_port_443(authority)
            return UsernamePasswordCredential(client_id, params.get("username"), params.get("password"), tenant_id=tenant_id, **common)
    if source == "device_code":
        if prompt is None:
            # azure-identity would print the code to stdout, which is a module's result.
            raise AuthError("auth_source=device_code signs the user in on the Ansible controller, which shows the code: "
                            "run the module as a task, through the collection's action plugin.")
        wait = transport_settings(params)["device_code_timeout"]

        def show(verification_uri, user_code, expires_on):
            prompt(verification_uri, user_code, max(0, min(wait, int(expires_on.timestamp() - time.time()))))

        return DeviceCodeCredential(client_id, tenant_id=tenant_id, timeout=wait, prompt_callback=show, **common)
    if source == "cli":
        return AzureCliCredential(tenant_id=tenant_id) if tenant_id else AzureCliCredential()
    raise AuthError("auth_source=%s does not build a credential." % source)


def _skip_user_realm_discovery_off_port_443(authority):
    """MSAL asks https://<authority host>/common/userrealm whether a user is federated before the password grant,
    dropping the authority's port (msal/authority.py, user_realm_discovery), so with an authority on another port
    (the Graph lab) it would ask another server. There the grant goes straight to the token endpoint, as it does
    for every managed (not federated) user; only Entra ID's own hosts, on 443, know federated users anyway."""
    parsed = urlsplit(authority)
    if parsed.port not in (None, 443):
        from msal.authority import Authority  # pylint: disable=import-outside-toplevel

        Authority._domains_without_user_realm_discovery.add(parsed.hostname)  # pylint: disable=protected-access


def _is_private_authority(authority):
    """Instance discovery asks login.microsoftonline.com about the authority; skip it off the known clouds."""
    return authority not in {host for _graph, host in CLOUDS.values()}


def _connection_verify(params):
    if not params.get("validate_certs", True):
        return False
    return params.get("ca_path") or None


def _answer_recorder(on_response):
    """azure-core's raw_response_hook, handing on each answer's status and Retry-After (never its body)."""
    def record(pipeline_response):
        answer = pipeline_response.http_response
        on_response((answer.status_code, answer.headers.get("Retry-After")))
    return record


def _transient_sign_in_failure(exc, answer):
    """What failed, when a sign-in failed for a passing reason (the last answer's status, or no answer at all),
    else None. `answer`: the last (status, Retry-After) the sign-in endpoint gave, or None."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError  # pylint: disable=import-outside-toplevel

    if answer is not None and answer[0] >= 400:
        return "HTTP %d" % answer[0] if answer[0] in TRANSIENT_SIGN_IN_STATUS else None
    # No error answer: the connection failed, timed out or was dropped (azure-identity wraps azure-core's error).
    for link in _error_chain(exc):
        if isinstance(link, (ServiceRequestError, ServiceResponseError)):
            return "no answer (%s)" % type(link).__name__
    return None


def acquire_token(params, sleep=time.sleep, clock=time.monotonic, prompt=None):
    """(token, expires_on epoch seconds) for the Graph scope of `params`. Messages never hold secrets.

    A sign-in that is throttled (429), meets a 5xx, times out or loses its connection is sent again with the
    transport's policy for Graph's requests (transport.py): Retry-After honoured, else back-off with jitter, at most
    MAX_ATTEMPTS sends, none later than max_retry_wait seconds after the first. Each attempt uses a new credential:
    MSAL answers a repeated request from its cache of a 429/5xx for up to its Retry-After (5 s without one, 60 s
    for username_password's public client) without sending it. A refusal is not retried.

    prompt: see build_credential (auth_source=device_code). A device code sign-in retried after a passing failure shows
    a new code; one nobody completes within device_code_timeout fails saying so."""
    from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import (  # pylint: disable=import-outside-toplevel
        MAX_ATTEMPTS,
        parse_retry_after,
        retry_wait,
    )

    source = validate_auth(params)
    if source == "access_token":
        return params["access_token"], None
    max_retry_wait = transport_settings(params)["max_retry_wait"]
    started = clock()
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        answers = []
        try:
            credential = build_credential(params, on_response=answers.append, prompt=prompt)
            token = credential.get_token(token_scope(params))
            return token.token, token.expires_on
        except AuthError:
            raise
        except ImportError as exc:
            raise AuthError("azure-identity is required to acquire a Graph token (pip install azure-identity): %s" % exc)
        except Exception as exc:  # azure-identity raises several unrelated types; all mean "no token".
            untrusted = certificate_failure(exc)
            if untrusted:
                raise AuthError(_untrusted_message(params, source, untrusted))
            if any(PROXY_AUTHENTICATION_REQUIRED.search(str(link)) for link in _error_chain(exc)):
                # Not retried: sending the same wrong proxy password again risks locking its account out.
                raise AuthError(
                    "Could not get a Graph token with auth_source=%s: the proxy (from HTTPS_PROXY or ALL_PROXY) refused to "
                    "connect to the sign-in endpoint %s with HTTP 407: it requires proxy authentication, and the credentials "
                    "given (user:password@ in the proxy URL) are missing or wrong. Not retried. Give the proxy as "
                    "http://user:password@host:port (percent-encode special characters), or exempt the host with NO_PROXY."
                    % (source, endpoints(params)[1]))
            if source == "device_code" and DEVICE_CODE_UNANSWERED.search(str(exc)):
                raise AuthError(
                    "Nobody completed the device code sign-in (auth_source=device_code) within device_code_timeout=%d s, or "
                    "the code expired or was declined: %s. Run again and sign in at the address shown, with the code shown, "
                    "before the wait ends (raise device_code_timeout, up to 900 s, for more time)."
                    % (transport_settings(params)["device_code_timeout"], _first_line(exc)))
            answer = answers[-1] if answers else None
            failure = _transient_sign_in_failure(exc, answer) if source in RETRIED_SOURCES else None
            after_waiting = " (after %d attempts and %.1f s of waiting)" % (attempt, waited) if waited else ""
            if failure is None:
                raise AuthError("Could not get a Graph token with auth_source=%s%s: %s" % (source, after_waiting, _first_line(exc)))
            elapsed = clock() - started
            delay = retry_wait(attempt, parse_retry_after(answer[1]) if answer else None, elapsed, max_retry_wait)
            if delay is None:
                raise AuthError(
                    "Could not get a Graph token with auth_source=%s: the sign-in endpoint %s %s; gave up after %d attempts "
                    "in %.0f s, %.1f s of it waiting (limits: %d attempts, and max_retry_wait=%d s counting requests and "
                    "waits; last: %s, %s). Retry later or raise max_retry_wait."
                    % (source, endpoints(params)[1], "kept throttling the token request" if failure == "HTTP 429" else "was unavailable",
                       attempt, elapsed, waited, MAX_ATTEMPTS, max_retry_wait, failure, _first_line(exc)))
            sleep(delay)
            waited += delay


# How azure-identity and Entra ID word a device code nobody signed in with: the wait ran out (azure-identity), the code
# expired (RFC 8628's expired_token, Entra's AADSTS70020; and its code_expired) or the user declined it.
DEVICE_CODE_UNANSWERED = re.compile(r"Timed out waiting|expired_token|code_expired|declined|AADSTS700(19|20)\b")

# A proxy's 407 to the CONNECT, as http.client (under urllib3, under requests) words it.
PROXY_AUTHENTICATION_REQUIRED = re.compile(r"Tunnel connection failed: 407\b")

# OpenSSL's reason for a certificate it could not verify, as Python's ssl module words it.
CERTIFICATE_VERIFY_FAILED = re.compile(r"CERTIFICATE_VERIFY_FAILED\]\s*certificate verify failed:?\s*([^(]*)")


def certificate_failure(exc):
    """Why a TLS certificate could not be verified, when that is what failed, else None (for the sign-in here, and
    for Graph's requests in transport.py).

    The transport's http_client keeps the ssl error as the cause; azure-identity wraps it several layers deep (ClientAuthenticationError, then azure-core's
    ServiceRequestError whose inner_exception is requests' SSLError around urllib3's), not always as a cause or
    context; where the chain breaks, OpenSSL's reason code in the text still says it."""
    for link in _error_chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            return link.verify_message or str(link)
        found = CERTIFICATE_VERIFY_FAILED.search(str(link))
        if found:
            return found.group(1).strip() or "certificate verify failed"
    return None


def _error_chain(exc):
    """exc and what it wraps, outermost first: its cause, else its context, else azure-core's inner_exception;
    each once, so a chain that loops ends."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "inner_exception", None)


def _untrusted_message(params, source, reason):
    """The failure of a sign-in whose TLS certificate could not be verified, pointing to ca_path (as the transport
    does for Graph's). Host names and the CA file only: never a secret."""
    if source == "managed_identity":
        host = os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT") or "the managed identity endpoint"
    else:
        host = endpoints(params)[1]
    trusted = ("the CA certificates in ca_path (%s)" % params["ca_path"] if params.get("ca_path")
               else "the system's (certifi's) CA certificates")
    return ("Could not get a Graph token with auth_source=%s: the TLS certificate of %s could not be verified against %s: %s. "
            "If a TLS-inspecting proxy or a private sign-in endpoint stands in front of it, set ca_path to its CA "
            "certificate (PEM); validate_certs: false would hand the credentials to whoever intercepts the connection."
            % (source, host, trusted, reason))


def _first_line(exc):
    # azure-identity error messages can run to a page of troubleshooting links; the first line names the cause.
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
