# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Signing in to Entra ID for a Graph token through azure-identity, with the transport's retry policy, and what a
failed sign-in says. Imported by auth.acquire_token only when it has to sign in: every module task the action
plugin hands a token to (all of them but a module run without it) skips compiling this from its AnsiballZ zip."""

from __future__ import annotations

import os
import re
import time
import warnings
from urllib.parse import urlsplit

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import (
    CLOUDS,
    AuthError,
    error_chain,
    certificate_failure,
    endpoints,
    token_scope,
    transport_settings,
    validate_auth,
)

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
    for link in error_chain(exc):
        if isinstance(link, (ServiceRequestError, ServiceResponseError)):
            return "no answer (%s)" % type(link).__name__
    return None


def sign_in(params, source, sleep, clock, prompt):
    """acquire_token (auth.py) for a source that signs in, with its retries."""
    from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import (  # pylint: disable=import-outside-toplevel
        MAX_ATTEMPTS,
        parse_retry_after,
        retry_wait,
    )

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
            if any(PROXY_AUTHENTICATION_REQUIRED.search(str(link)) for link in error_chain(exc)):
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
