"""The HTTPS front: routes sign-in, admin (/_lab) and Graph requests to the tenant they are for, applies faults,
the throttling budgets and permissions, writes Graph's headers and error shape, and logs Graph requests for tests.

A request is for the tenant Entra ID and Graph would act on: sign-in for the tenant in its path
(/{tenant}/oauth2/v2.0/token), Graph for the tenant of its token (the `tid` claim), admin calls under
/_lab/tenants/{tenant}/ for that tenant. Anything else is for the first tenant, which is the single-tenant lab."""

import copy
import datetime
import json
import socket
import ssl
import sys
import traceback
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import auth, jwt, schema
from .core import WRITE_METHODS
from .errors import GraphError
from .odata import parse_query
from .resources.base import Request, Response

GRAPH_VERSIONS = (schema.BETA, schema.V1)
# Where the lab plays App Service's managed identity endpoint (IDENTITY_ENDPOINT = <lab url>/msi/token).
MANAGED_IDENTITY_PATH = "/msi/token"
BATCH_MAX = 20  # json-batching: "JSON batch requests are currently limited to 20 individual requests"
_STATUS_CODES = {429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
                 503: "ServiceUnavailable", 504: "GatewayTimeout"}


class _DropConnection(Exception):
    """Close the connection without sending a response (fault injection)."""


class LabServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port, lab, directory, admin, ssl_context):
        self.lab, self.directory, self.admin, self.ssl_context = lab, directory, admin, ssl_context
        self.tenants = {}            # tenant id -> app.Tenant, the first being the single-tenant lab's
        self.add_tenant = None       # fn(body) -> Tenant, for POST /_lab/tenants (app.create sets it)
        super().__init__(("127.0.0.1", port), LabHandler)

    def tenant(self, tenant_id):
        """The Tenant the lab hosts under this id, or None."""
        return self.tenants.get(tenant_id) if isinstance(tenant_id, str) else None

    def finish_request(self, request, client_address):
        # TLS handshake in the connection's own thread, so one slow client cannot stall accept().
        # NODELAY: headers and body go out in separate writes; with Nagle and delayed ACKs every
        # keep-alive response would wait ~40 ms.
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(request, client_address)
        finally:
            try:
                request.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        # Clients that hang up mid-response are normal under fault injection; stay quiet.
        pass


def _token_tenant(authorization):
    """The `tid` a bearer token claims, unverified: only to pick the tenant whose directory then verifies it."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        return jwt.parse(token.strip())[1].get("tid")
    except (jwt.JwtError, UnicodeDecodeError, ValueError):
        return None


def _now_http():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


class LabHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        pass

    # --- plumbing ------------------------------------------------------------------------------------
    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body=None, headers=None, content_type="application/json"):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        self._dispatch()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def _dispatch(self):
        # Real time (not the lab clock), before the round trip: when the client sent it, as far as the lab can tell.
        self.received = time.time()
        split = urlsplit(self.path)
        path, raw_query = split.path, split.query
        raw_body = self._read_body()
        server = self.server
        base = server.lab.url
        if path.startswith("/_lab/"):
            status, body = self._admin(path, raw_query, raw_body)
            self._send(status, body)
            return
        segments = [s for s in path.split("/") if s]
        sign_in = len(segments) > 1 and segments[0] not in GRAPH_VERSIONS and segments[1] in ("oauth2", "v2.0",
                                                                                               "discovery")
        # The tenant this request is for (an unknown one: the first tenant, whose directory refuses it).
        tenant = server.tenant(segments[0] if sign_in else _token_tenant(self.headers.get("Authorization")))
        if tenant is None or path == MANAGED_IDENTITY_PATH:
            tenant = next(iter(server.tenants.values()))
        self.lab, self.directory = tenant.lab, tenant.directory
        fault = self.lab.take_fault(self.command, path)
        time.sleep(self.lab.round_trip())
        if fault is not None and fault.action == "latency":
            time.sleep(fault.latency_ms / 1000)
        if path == MANAGED_IDENTITY_PATH and self.command == "GET":
            self._managed_identity(raw_query, base)
            return
        if sign_in:
            self._sign_in(path, segments, raw_body, base, fault)
            return
        self._graph(path, raw_query, raw_body, segments, fault)

    # --- admin ---------------------------------------------------------------------------------------
    def _admin(self, path, raw_query, raw_body):
        """/_lab/tenants lists (GET) or adds (POST) tenants; /_lab/tenants/{id}/<call> is <call> for that tenant;
        any other /_lab/<call> is for the first tenant."""
        server = self.server
        if self.client_address[0] not in ("127.0.0.1", "::1"):
            return 403, {"error": "the admin API answers loopback clients only"}
        parts = path.rstrip("/").split("/")     # "", "_lab", "tenants", id, ...
        if parts[2:3] != ["tenants"]:
            return server.admin.handle(self.command, path, raw_query, raw_body, self.client_address)
        if len(parts) == 3 and self.command == "GET":
            return 200, {"tenants": [{"id": t.directory.tenant_id, "domain": t.directory.domain}
                                     for t in server.tenants.values()]}
        if len(parts) == 3 and self.command == "POST":
            try:
                body = json.loads(raw_body) if raw_body.strip() else {}
                tenant = server.add_tenant(body)
            except (ValueError, TypeError) as exc:
                return 400, {"error": str(exc)}
            return 200, {"id": tenant.directory.tenant_id, "domain": tenant.directory.domain,
                         "apps": tenant.directory.describe_apps()}
        tenant = server.tenant(parts[3]) if len(parts) > 4 else None
        if tenant is None:
            return 404, {"error": f"no tenant {parts[3]!r} in this lab" if len(parts) > 4
                         else f"no admin endpoint {self.command} {path}"}
        return tenant.admin.handle(self.command, "/_lab/" + "/".join(parts[4:]), raw_query, raw_body,
                                   self.client_address)

    # --- managed identity ------------------------------------------------------------------------------
    def _managed_identity(self, raw_query, base):
        query = {name: values[-1] for name, values in parse_qs(raw_query).items()}
        try:
            body = self.directory.managed_identity_token(query, self.headers.get("X-IDENTITY-HEADER"), base)
        except auth.TokenError as exc:
            self._send(exc.status, exc.body())
            return
        with self.lab.lock:
            self.lab.counts["token"] += 1
        self._send(200, body, {"Cache-Control": "no-store"})

    # --- sign-in -------------------------------------------------------------------------------------
    def _sign_in(self, path, segments, raw_body, base, fault):
        directory = self.directory
        if fault is not None and fault.action in ("status", "drop_before"):
            if fault.action == "drop_before":
                self._drop()
            else:
                self._send(fault.status, {"error": "temporarily_unavailable", "error_description": "AADSTS"
                                          "90033: A transient error has occurred. Please try again."},
                           {"Retry-After": fault.retry_after} if fault.retry_after else None)
            return
        tail = "/".join(segments[1:])
        if segments[0] != directory.tenant_id:
            self._send(400, auth.TokenError(400, "invalid_request", 90002,
                                            f"Tenant '{segments[0]}' not found.").body())
        elif self.command == "GET" and tail == "v2.0/.well-known/openid-configuration":
            self._send(200, directory.openid_configuration(base))
        elif self.command == "GET" and tail == "discovery/v2.0/keys":
            self._send(200, directory.jwks())
        elif self.command == "POST" and tail == "oauth2/v2.0/devicecode":
            try:
                with self.lab.lock:
                    body = directory.device_authorization(base, auth.parse_form(raw_body), self.lab.config,
                                                          self.lab.clock.now())
            except auth.TokenError as exc:
                self._send(exc.status, exc.body())
                return
            self._send(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})
        elif self.command == "POST" and tail == "oauth2/v2.0/token":
            try:
                with self.lab.lock:
                    body = directory.token(base, auth.parse_form(raw_body), self.headers.get("Authorization"),
                                           now=self.lab.clock.now())
            except auth.TokenError as exc:
                self._send(exc.status, exc.body())
                return
            with self.lab.lock:
                self.lab.counts["token"] += 1
            if fault is not None and fault.action == "drop_after":
                self._drop()
                return
            self._send(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})
        else:
            self._send(404, {"error": "not_found", "error_description": f"No sign-in endpoint at {path}."})

    # --- Graph ---------------------------------------------------------------------------------------
    def _graph(self, path, raw_query, raw_body, segments, fault):
        lab = self.lab
        request_id = str(uuid.uuid4())
        client_request_id = self.headers.get("client-request-id") or request_id
        headers = {"request-id": request_id, "client-request-id": client_request_id,
                   "x-ms-ags-diagnostic": json.dumps({"ServerInfo": {"DataCenter": "Lab", "Slice": "E",
                                                                     "Ring": "5", "ScaleUnit": "000"}})}
        try:
            body = json.loads(raw_body) if raw_body.strip() else None
        except (ValueError, UnicodeDecodeError):
            body = raw_body.decode("utf-8", "replace")
        entry = {"method": self.command, "path": path, "query": raw_query,
                 "body": copy.deepcopy(body) if not isinstance(body, str) else None, "status": None, "app_id": None,
                 "token_kind": None, "fault": fault.action if fault else None, "throttle": None,
                 "client_request_id": self.headers.get("client-request-id"), "received": self.received}
        if fault is not None and fault.action == "drop_before":
            lab.record(entry)
            self._drop()
            return
        if fault is not None and fault.action == "status":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            entry["status"] = fault.status
            lab.record(entry)
            code = _STATUS_CODES.get(fault.status, "UnknownError")
            self._send(fault.status, self._error_body(code, f"Injected fault {fault.status}.", request_id,
                                                      client_request_id), {**headers, **extra})
            return
        try:
            if self.command == "POST" and segments[1:] == ["$batch"]:
                response = self._batch(segments[0], body, entry)
            else:
                response = self._handle_graph(path, raw_query, body, segments, entry)
            status, payload, extra = response.status, response.body, response.headers
        except GraphError as exc:
            status, extra = exc.status, exc.headers
            payload = self._error_body(exc.code, exc.message, request_id, client_request_id)
        except Exception:  # a lab bug must surface as a 500 with a traceback, not a dropped connection
            traceback.print_exc(file=sys.stderr)
            status, extra = 500, {}
            payload = self._error_body("InternalServerError", "The Graph lab failed; see its stderr.",
                                       request_id, client_request_id)
        entry["status"] = status
        lab.record(entry)
        if fault is not None and fault.action == "drop_after":
            self._drop()
            return
        if payload is not None:
            headers["OData-Version"] = "4.0"
        self._send(status, payload, {**headers, **extra},
                   content_type="application/json;odata.metadata=minimal;odata.streaming=true;"
                                "IEEE754Compatible=false;charset=utf-8")

    @staticmethod
    def _error_body(code, message, request_id, client_request_id):
        return {"error": {"code": code, "message": message,
                          "innerError": {"date": _now_http(), "request-id": request_id,
                                         "client-request-id": client_request_id}}}

    def _batch(self, version, body, entry):
        """JSON batching (microsoft-graph-docs-contrib concepts/json-batching.md): at most 20 requests, each run,
        logged (with "batch": true), faulted and counted against the throttling budgets on its own ("requests in a
        batch are evaluated individually against the applicable throttling limits"), each answered with its own
        status, headers and body; the batch itself answers 200. dependsOn is not modelled (400)."""
        principal = self.directory.authenticate(self.headers.get("Authorization"), self.lab.url)
        entry["app_id"], entry["token_kind"] = principal["app_id"], principal["kind"]
        steps = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(steps, list) or not steps or not all(isinstance(step, dict) for step in steps):
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(steps) > BATCH_MAX:
            raise GraphError(400, "BadRequest", f"Number of batch request steps exceeds the maximum of {BATCH_MAX}.")
        ids = [step.get("id") for step in steps]
        if not all(isinstance(step_id, str) and step_id for step_id in ids) or len(set(ids)) != len(ids):
            raise GraphError(400, "BadRequest", "Batch request ids must be unique, non-empty strings.")
        if any("dependsOn" in step for step in steps):
            raise GraphError(400, "BadRequest", "dependsOn is not modelled by the lab.")
        if any(not isinstance(step.get("url"), str) or "://" in step["url"] for step in steps):
            raise GraphError(400, "BadRequest", "Each batch request needs a relative url.")
        return Response(200, {"responses": [self._batch_step(version, step) for step in steps]})

    def _batch_step(self, version, step):
        method = str(step.get("method") or "").upper()
        split = urlsplit(step["url"])
        path = "/%s/%s" % (version, split.path.lstrip("/"))
        segments = [segment for segment in path.split("/") if segment]
        entry = {"method": method, "path": path, "query": split.query, "body": copy.deepcopy(step.get("body")),
                 "status": None, "app_id": None, "token_kind": None, "fault": None, "throttle": None,
                 "client_request_id": None, "batch": True, "received": self.received}
        fault = self.lab.take_fault(method, path)
        headers, payload = {}, None
        if fault is not None and fault.action == "status":
            entry["fault"], status = fault.action, fault.status
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            payload = self._error_body(_STATUS_CODES.get(status, "UnknownError"), f"Injected fault {status}.", "", "")
        else:
            try:
                response = self._handle_graph(path, split.query, step.get("body"), segments, entry, method=method)
                status, payload, headers = response.status, response.body, response.headers
            except GraphError as exc:
                status, headers = exc.status, exc.headers
                payload = self._error_body(exc.code, exc.message, "", "")
        entry["status"] = status
        self.lab.record(entry)
        answer = {"id": step["id"], "status": status, "headers": dict(headers or {})}
        if payload is not None:
            answer["body"] = payload
        return answer

    def _handle_graph(self, path, raw_query, body, segments, entry, method=None):
        method = method or self.command
        lab = self.lab
        if not segments or segments[0] not in GRAPH_VERSIONS:
            raise GraphError(400, "BadRequest", f"Invalid version: {segments[0] if segments else ''}")
        version = segments[0]
        principal = self.directory.authenticate(self.headers.get("Authorization"), lab.url)
        entry["app_id"], entry["token_kind"] = principal["app_id"], principal["kind"]
        with lab.lock:
            lab.tick()
            route, params = lab.registry.resolve(method, version, segments[1:])
            permission = route.permission
            if permission.delegated_only and principal["kind"] == "app":
                # The MDM policy's answer to an app-only token (README, "The MDM user scope policy").
                raise GraphError(401, "Unauthorized", "Unsupported app-only call.")
            if not principal["granted"] & set(permission.any_of):
                if segments[1:2] == ["deviceManagement"]:
                    # Intune's own 403 names the scopes (README, "Signing in").
                    raise GraphError(403, "Forbidden", "Application is not authorized to perform this operation. "
                                     "Application must have one of the following scopes: "
                                     f"{', '.join(permission.any_of)} - Operation ID (for customer support): "
                                     f"00000000-0000-0000-0000-000000000000 - Activity ID: {uuid.uuid4()}")
                raise GraphError(403, "Authorization_RequestDenied",
                                 "Insufficient privileges to complete the operation.")
            refusal = lab.throttled(segments, principal["app_id"] or principal["oid"], method)
            if refusal is not None:
                wait, entry["throttle"] = refusal
                raise GraphError(429, "TooManyRequests", f"Too many requests ({entry['throttle']} budget); retry "
                                 "after the Retry-After interval.", headers={"Retry-After": str(wait)})
            if isinstance(body, str):
                raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure "
                                 "Content-Type header is set and payload is of valid JSON format.")
            request = Request(lab=lab, method=method, version=version, path=path, params=params,
                              query=parse_query(raw_query), body=body, headers=dict(self.headers),
                              principal=principal)
            response = route.handler(request)
            if method in WRITE_METHODS and response.status < 400:
                for hook in lab.registry.write_hooks:
                    hook(lab, request)
            return response
