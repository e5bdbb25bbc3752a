"""Sign-in like Microsoft Entra ID: OpenID discovery, JWKS and the v2.0 token endpoint (client
credentials with a secret or a certificate-signed client assertion, the password grant for seeded
users, and the device authorization grant of RFC 8628 with an admin call playing the user), plus
verification of the access tokens Graph requests carry."""

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from urllib.parse import parse_qsl, unquote

from cryptography.hazmat.primitives import hashes

from . import jwt
from .core import GRAPH_RESOURCE
from .errors import GraphError

TOKEN_LIFETIME = 3600
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Delegated tokens minted without a client name this public client (Microsoft Graph Command Line Tools).
PUBLIC_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
RESERVED_SCOPES = {"openid", "profile", "offline_access", "email"}
CLOCK_SKEW = 300
# The Azure CLI's first-party app: its Graph token carries this fixed scope set whatever is asked
# (Azure/azure-cli#22775, #20572; ../shared/reference/tutorial-to-graph.md, "Steps 1, 4, 9, 10 against the real service").
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
AZURE_CLI_SCOPES = ("Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "AuditLog.Read.All",
                    "DelegatedPermissionGrant.ReadWrite.All", "Directory.AccessAsUser.All", "email",
                    "Group.ReadWrite.All", "openid", "profile", "User.Read.All", "User.ReadWrite.All")
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Entra ID's device authorization answer (v2-oauth2-device-code): the page the user opens.
VERIFICATION_URI = "https://microsoft.com/devicelogin"


class TokenError(Exception):
    """An OAuth error the token endpoint returns in Entra's shape."""

    def __init__(self, status, error, code, description):
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description

    def body(self):
        trace = str(uuid.uuid4())
        return {"error": self.error, "error_description": f"AADSTS{self.code}: {self.description} "
                                                          f"Trace ID: {trace}",
                "error_codes": [self.code], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                "trace_id": trace, "correlation_id": str(uuid.uuid4())}


def _unauthorized(message):
    return GraphError(401, "InvalidAuthenticationToken", message, headers={
        "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
                            f'oauth2/authorize", client_id="{GRAPH_APP_ID}"'})


class Directory:
    """The tenant's apps and sign-in users, from the seed, with the key material from LabPki."""

    def __init__(self, seed, pki):
        self.tenant_id = seed["tenant"]["id"]
        self.domain = seed["tenant"].get("domain")
        self.pki = pki
        self.apps = {}
        for app in seed.get("apps", []):
            entry = dict(app)
            if app.get("certificate"):
                path, cert = pki.client_certificate(app["certificate"], app["name"])
                entry["cert_path"], entry["cert"] = str(path), cert
            self.apps[app["client_id"]] = entry
        self.users = {u["userPrincipalName"].lower(): u for u in seed.get("users", [])}
        self.sign_ins = {s["userPrincipalName"].lower(): s for s in seed.get("signIns", [])}
        self.device_flows = {}   # device_code -> the pending sign-in (see device_authorization)
        public = self.pki.signing_key.public_key().public_numbers()
        self.kid = jwt.b64url_encode(hashlib.sha256(str(public.n).encode()).digest()[:20])

    def describe_apps(self):
        return {a["name"]: {"client_id": a["client_id"], "secret": a.get("secret"),
                            "cert_path": a.get("cert_path"), "identity_header": a.get("identityHeader"),
                            "roles": list(a.get("roles", [])), "public_client": bool(a.get("publicClient")),
                            "delegated_scopes": list(a.get("delegatedScopes", []))}
                for a in self.apps.values()}

    def managed_identity_token(self, query, identity_header, base):
        """App Service's managed identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER, api-version 2019-08-01):
        the token of the identity whose header secret the caller presents, or of the one named by client_id."""
        identities = [a for a in self.apps.values() if a.get("identityHeader")]
        if query.get("client_id"):
            identities = [a for a in identities if a["client_id"] == query["client_id"]]
        identity = next((a for a in identities if hmac.compare_digest(a["identityHeader"], identity_header or "")), None)
        if identity is None:
            raise TokenError(401, "unauthorized_client", 0, "The X-IDENTITY-HEADER is missing or wrong, or no such identity.")
        if query.get("api-version") != "2019-08-01":
            raise TokenError(400, "invalid_request", 0, "api-version must be 2019-08-01.")
        resource = (query.get("resource") or "").rstrip("/")
        if resource not in (GRAPH_RESOURCE, base):
            raise TokenError(400, "invalid_resource", 500011, f"The resource {resource!r} was not found in the tenant.")
        token = self.app_token(identity, resource, roles=identity.get("roles", []))
        return {"access_token": token, "expires_on": str(int(time.time()) + TOKEN_LIFETIME), "resource": resource,
                "token_type": "Bearer", "client_id": identity["client_id"]}

    # --- endpoints -----------------------------------------------------------------------------------
    def openid_configuration(self, base):
        t = f"{base}/{self.tenant_id}"
        return {"token_endpoint": f"{t}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                          "client_secret_basic"],
                "jwks_uri": f"{t}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{t}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{base}/oidc/userinfo",
                "authorization_endpoint": f"{t}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{t}/oauth2/v2.0/devicecode",
                "http_logout_supported": True, "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{t}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
                "kerberos_endpoint": f"{t}/kerberos", "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com", "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com", "rbac_url": "https://pas.windows.net"}

    def jwks(self):
        numbers = self.pki.signing_key.public_key().public_numbers()

        def b64_int(value):
            return jwt.b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "n": b64_int(numbers.n),
                          "e": b64_int(numbers.e)}]}

    def token(self, base, form, authorization=None, now=None):
        """The token endpoint. form: the decoded x-www-form-urlencoded body; now: the lab clock (device codes
        expire on it). Returns the JSON body."""
        grant = form.get("grant_type")
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
                client_id, secret = (unquote(p) for p in decoded.split(":", 1))
            except (ValueError, UnicodeDecodeError):
                raise TokenError(401, "invalid_client", 7000216, "Malformed Basic authorization.") from None
        if grant not in ("client_credentials", "password", DEVICE_CODE_GRANT):
            raise TokenError(400, "unsupported_grant_type", 70003,
                             f"The app requested an unsupported grant type '{grant}'.")
        if not client_id:
            raise TokenError(400, "invalid_request", 900144, "The request body must contain the following "
                                                             "parameter: 'client_id'.")
        if grant == DEVICE_CODE_GRANT:
            return self._device_code_grant(client_id, form, base, time.time() if now is None else now)
        resource, scopes = self._parse_scope(form.get("scope"), base)
        if grant == "password":
            return self._password_grant(client_id, form, resource, scopes, base)
        app = self.apps.get(client_id)
        if app is None:
            raise TokenError(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the directory "
                             f"'{self.tenant_id}'. This can happen if the application has not been installed by "
                             "the administrator of the tenant or consented to by any user in the tenant. You "
                             "may have sent your authentication request to the wrong tenant.")
        if scopes != [".default"]:
            raise TokenError(400, "invalid_scope", 1002012, "The provided value for scope is not valid. Client "
                                                            "credential flows must have a scope value with "
                                                            "/.default suffixed to the resource identifier.")
        if form.get("client_assertion") or form.get("client_assertion_type"):
            self._check_assertion(app, form, base)
            how = "2"
        elif secret is not None:
            if not app.get("secret") or not hmac.compare_digest(secret.encode(), app["secret"].encode()):
                raise TokenError(401, "invalid_client", 7000215,
                                 "Invalid client secret provided. Ensure the secret being sent in the request "
                                 f"is the client secret value, not the client secret ID, for a secret added to "
                                 f"app '{client_id}'.")
            how = "1"
        else:
            raise TokenError(401, "invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or "
                             "'client_secret'.")
        token = self.app_token(app, resource, roles=app.get("roles", []), appidacr=how)
        return {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME,
                "access_token": token}

    def _parse_scope(self, scope, base):
        if not scope:
            raise TokenError(400, "invalid_request", 900144, "The request body must contain the following "
                                                             "parameter: 'scope'.")
        resources, scopes = set(), []
        for item in scope.split():
            if item in RESERVED_SCOPES:
                continue
            resource, _, name = item.rpartition("/")
            resource = resource.rstrip("/")
            if resource not in (GRAPH_RESOURCE, GRAPH_APP_ID, base):
                raise TokenError(400, "invalid_resource", 500011,
                                 f"The resource principal named {resource or item} was not found in the tenant "
                                 f"named {self.tenant_id}.")
            resources.add(base if resource == base else GRAPH_RESOURCE)
            scopes.append(name)
        if len(resources) != 1:
            raise TokenError(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' "
                                                          "is not valid: exactly one resource is required.")
        return resources.pop(), scopes

    def _check_assertion(self, app, form, base):
        def reject(why):
            return TokenError(401, "invalid_client", 700027, f"Client assertion failed signature validation "
                                                             f"or is invalid: {why}")
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise TokenError(400, "invalid_request", 50027, "Invalid client_assertion_type.")
        cert = app.get("cert")
        if cert is None:
            raise TokenError(401, "invalid_client", 700027, "No certificate is registered for this app.")
        try:
            header, claims = jwt.verify(form.get("client_assertion", ""), cert.public_key(),
                                        algorithms=("RS256", "PS256"))
        except jwt.JwtError as exc:
            raise reject(str(exc)) from None
        for name, algorithm in (("x5t", hashes.SHA1()), ("x5t#S256", hashes.SHA256())):
            # msal pads its base64url thumbprints; compare without padding.
            if name in header and str(header[name]).rstrip("=") != jwt.b64url_encode(cert.fingerprint(algorithm)):
                raise reject(f"{name} does not match the registered certificate")
        token_endpoint = f"{base}/{self.tenant_id}/oauth2/v2.0/token"
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if token_endpoint not in audiences:
            raise reject(f"aud must be '{token_endpoint}'")
        if claims.get("iss") != app["client_id"] or claims.get("sub") != app["client_id"]:
            raise reject("iss and sub must be the client id")
        now = time.time()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now - CLOCK_SKEW:
            raise reject("the assertion has expired")
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + CLOCK_SKEW:
            raise reject("the assertion is not yet valid")

    def _password_grant(self, client_id, form, resource, scopes, base):
        upn = (form.get("username") or "").lower()
        sign_in = self.sign_ins.get(upn)
        if sign_in is None or not hmac.compare_digest((form.get("password") or "").encode(),
                                                      sign_in["password"].encode()):
            raise TokenError(400, "invalid_grant", 50126, "Error validating credentials due to invalid "
                                                          "username or password.")
        consented = list(sign_in.get("scopes", []))
        if scopes == [".default"]:
            granted = consented
        else:
            missing = [s for s in scopes if s not in consented]
            if missing:
                raise TokenError(400, "invalid_grant", 65001, f"The user or administrator has not consented "
                                                              f"to use the application: {' '.join(missing)}.")
            granted = scopes
        token = self.delegated_token(upn, granted, resource, client_id=client_id)
        answer = {"token_type": "Bearer", "scope": " ".join(f"{GRAPH_RESOURCE}/{s}" for s in granted),
                  "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME, "access_token": token}
        if "openid" in (form.get("scope") or "").split():
            # Entra answers the openid scope with an ID token; MSAL (so azure-identity's UsernamePasswordCredential)
            # builds its account record from it and fails without one.
            answer["id_token"] = self.id_token(upn, client_id, base)
        return answer

    # --- the device authorization grant (RFC 8628) ---------------------------------------------------
    def _public_client_scopes(self, client_id, upn):
        """The scopes a user's sign-in through the public client `client_id` holds: the Azure CLI's fixed set, the
        user's consented ones through Microsoft Graph Command Line Tools (dynamic consent), or a seeded public client
        app registration's consented delegated permissions (`delegatedScopes`). TokenError for another client."""
        if client_id == AZURE_CLI_CLIENT_ID:
            return list(AZURE_CLI_SCOPES)
        if client_id == PUBLIC_CLIENT_ID:
            return list(self.sign_ins.get((upn or "").lower(), {}).get("scopes", []))
        app = self.apps.get(client_id)
        if app is None:
            raise TokenError(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the directory "
                             f"'{self.tenant_id}'.")
        if not app.get("publicClient"):
            # What Entra answers a confidential client (no "Allow public client flows") that asks for a device code.
            raise TokenError(401, "invalid_client", 7000218, "The request body must contain the following "
                                                             "parameter: 'client_assertion' or 'client_secret'.")
        return list(app.get("delegatedScopes", []))

    def device_authorization(self, base, form, config, now):
        """POST /{tenant}/oauth2/v2.0/devicecode: a device code and the user code to show (RFC 8628 §3.2)."""
        client_id = form.get("client_id")
        if not client_id:
            raise TokenError(400, "invalid_request", 900144, "The request body must contain the following "
                                                             "parameter: 'client_id'.")
        self._public_client_scopes(client_id, None)
        resource, scopes = self._parse_scope(form.get("scope"), base)
        device_code = secrets.token_urlsafe(48)
        user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
        lifetime, interval = int(config["device_code_lifetime"]), int(config["device_code_interval"])
        self.device_flows[device_code] = {
            "client_id": client_id, "resource": resource, "openid": "openid" in (form.get("scope") or "").split(),
            "user_code": user_code, "expires_at": now + lifetime, "interval": interval, "last_poll": None,
            "upn": None, "declined": False}
        return {"user_code": user_code, "device_code": device_code, "verification_uri": VERIFICATION_URI,
                "expires_in": lifetime, "interval": interval,
                "message": f"To sign in, use a web browser to open the page {VERIFICATION_URI} and enter the code "
                           f"{user_code} to authenticate."}

    def answer_device_code(self, user_code, upn, decline=False):
        """The admin call playing the user at the verification page: signs `upn` in for that user code, or declines."""
        flow = next((f for f in self.device_flows.values() if f["user_code"] == user_code), None)
        if flow is None:
            raise ValueError(f"no pending device code sign-in with user code {user_code!r}")
        if not decline and (upn or "").lower() not in self.users:
            raise ValueError(f"no seeded user {upn!r}")
        flow["upn"], flow["declined"] = (upn or "").lower(), bool(decline)
        return {"client_id": flow["client_id"], "signed_in": not decline}

    def _device_code_grant(self, client_id, form, base, now):
        device_code = form.get("device_code") or ""
        flow = self.device_flows.get(device_code)
        if flow is None or flow["client_id"] != client_id:
            raise TokenError(400, "bad_verification_code", 70000, "The device code was not recognized.")
        if now >= flow["expires_at"]:
            del self.device_flows[device_code]
            raise TokenError(400, "expired_token", 70020, "The provided value for the input parameter 'device_code' "
                                                          "is not valid. Device codes expire after their expires_in.")
        if flow["declined"]:
            del self.device_flows[device_code]
            raise TokenError(400, "authorization_declined", 70000, "The user declined the authorization request.")
        if flow["upn"] is None:
            polled, flow["last_poll"] = flow["last_poll"], time.monotonic()
            # RFC 8628 §3.5: a client polling sooner than the interval is told to slow down, and the interval grows by 5 s.
            if polled is not None and flow["last_poll"] - polled < flow["interval"] - 0.5:
                flow["interval"] += 5
                raise TokenError(400, "slow_down", 70016, "The client is polling too often; wait the interval.")
            raise TokenError(400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is "
                                                                  "pending. Continue polling.")
        del self.device_flows[device_code]
        upn = flow["upn"]
        granted = self._public_client_scopes(client_id, upn)
        token = self.delegated_token(upn, granted, flow["resource"], client_id=client_id)
        answer = {"token_type": "Bearer", "scope": " ".join(f"{GRAPH_RESOURCE}/{s}" for s in granted),
                  "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME, "access_token": token}
        if flow["openid"]:
            answer["id_token"] = self.id_token(upn, client_id, base)
        return answer

    # --- tokens --------------------------------------------------------------------------------------
    def _claims(self, audience, expired):
        now = int(time.time())
        issued = now - 2 * TOKEN_LIFETIME if expired else now
        return {"aud": audience, "iss": f"https://sts.windows.net/{self.tenant_id}/", "iat": issued,
                "nbf": issued, "exp": issued + TOKEN_LIFETIME, "tid": self.tenant_id, "ver": "1.0",
                "uti": jwt.b64url_encode(uuid.uuid4().bytes)}

    def _sign(self, claims, bad_signature=False):
        key = self.pki.signing_key
        if bad_signature:
            from cryptography.hazmat.primitives.asymmetric import rsa
            key = rsa.generate_private_key(65537, 2048)
        return jwt.sign_rs256(claims, key, {"kid": self.kid})

    def app_token(self, app, audience=GRAPH_RESOURCE, *, roles, appidacr="1", expired=False, bad_signature=False):
        oid = str(uuid.uuid5(uuid.NAMESPACE_URL, "sp:" + app["client_id"]))
        claims = dict(self._claims(audience, expired), appid=app["client_id"], azp=app["client_id"],
                      app_displayname=app["name"], appidacr=appidacr, idtyp="app", oid=oid, sub=oid,
                      roles=list(roles))
        return self._sign(claims, bad_signature)

    def delegated_token(self, upn, scopes, audience=GRAPH_RESOURCE, *, client_id=PUBLIC_CLIENT_ID,
                        expired=False, bad_signature=False):
        user = self.users.get(upn.lower())
        if user is None:
            raise ValueError(f"no seeded user {upn!r}")
        claims = dict(self._claims(audience, expired), appid=client_id, azp=client_id, idtyp="user",
                      oid=user["id"], sub=user["id"], upn=user["userPrincipalName"],
                      unique_name=user["userPrincipalName"], name=user.get("displayName"),
                      scp=" ".join(scopes))
        return self._sign(claims, bad_signature)

    def id_token(self, upn, client_id, base):
        """An OpenID Connect ID token (v2.0) of a seeded user for client_id, issued by the lab's tenant."""
        user = self.users[upn.lower()]
        claims = dict(self._claims(client_id, False), iss=f"{base}/{self.tenant_id}/v2.0", ver="2.0", oid=user["id"],
                      sub=user["id"], preferred_username=user["userPrincipalName"], name=user.get("displayName"))
        return self._sign(claims)

    def mint(self, spec, base):
        """The admin API's token factory (tests use it for tokens the token endpoint would not issue)."""
        audience = spec.get("audience") or GRAPH_RESOURCE
        expired, bad = bool(spec.get("expired")), bool(spec.get("bad_signature"))
        if spec.get("kind") == "delegated":
            return self.delegated_token(spec.get("upn", ""), spec.get("scopes", []), audience,
                                        client_id=spec.get("app") or PUBLIC_CLIENT_ID, expired=expired,
                                        bad_signature=bad)
        if spec.get("kind") == "cli":
            # A user signed in with az login: the Azure CLI's app and its fixed scope set.
            return self.delegated_token(spec.get("upn", ""), list(AZURE_CLI_SCOPES), audience,
                                        client_id=AZURE_CLI_CLIENT_ID, expired=expired, bad_signature=bad)
        if spec.get("kind") == "app":
            app = self.apps.get(spec.get("app"))
            if app is None:
                raise ValueError(f"unknown app client id {spec.get('app')!r}")
            roles = spec["roles"] if spec.get("roles") is not None else app.get("roles", [])
            return self.app_token(app, audience, roles=roles, expired=expired, bad_signature=bad)
        raise ValueError("kind must be 'app', 'delegated' or 'cli'")

    # --- verification of Graph requests --------------------------------------------------------------
    def authenticate(self, authorization, base):
        """Verify the bearer token; return the caller: {kind, app_id, granted, oid, upn}."""
        if not authorization:
            raise _unauthorized("Access token is empty.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("Access token is empty.")
        try:
            header, claims = jwt.verify(token.strip(), self.pki.signing_key.public_key())
        except jwt.JwtError:
            raise _unauthorized("Access token validation failure. Invalid signature or malformed token.") \
                from None
        if header.get("kid") != self.kid:
            raise _unauthorized("Access token validation failure: unknown signing key.")
        now = time.time()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
            raise _unauthorized("Lifetime validation failed, the token is expired.")
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + CLOCK_SKEW:
            raise _unauthorized("Lifetime validation failed, the token is not yet valid.")
        if claims.get("aud") not in (GRAPH_RESOURCE, GRAPH_RESOURCE + "/", GRAPH_APP_ID, base):
            raise _unauthorized("Access token validation failure. Invalid audience.")
        if claims.get("tid") != self.tenant_id:
            raise _unauthorized("Access token validation failure. Invalid tenant.")
        if "scp" in claims:
            return {"kind": "delegated", "app_id": claims.get("appid"), "granted": set(claims["scp"].split()),
                    "oid": claims.get("oid"), "upn": claims.get("upn")}
        return {"kind": "app", "app_id": claims.get("appid"), "granted": set(claims.get("roles", [])),
                "oid": claims.get("oid"), "upn": None}


def parse_form(raw):
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
