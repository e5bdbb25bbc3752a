"""LabClient: the lab's admin API (/_lab/) for tests, using only the standard library."""

import json
import ssl
import urllib.error
import urllib.request


class LabAdminError(Exception):
    """The admin API refused a call (bad arguments); the message is the lab's."""


class LabClient:
    """tenant: the id of the tenant whose state the calls act on (/_lab/tenants/{tenant}/...); None: the
    lab's first tenant, the single-tenant lab's."""

    def __init__(self, url, ca, tenant=None):
        self.url = url.rstrip("/")
        self.ca, self.tenant = ca, tenant
        self._context = ssl.create_default_context(cafile=str(ca))

    def for_tenant(self, tenant):
        """A LabClient whose calls act on that tenant of the lab."""
        return LabClient(self.url, self.ca, tenant)

    def tenants(self):
        """[{"id", "domain"}] of every tenant the lab hosts, the first being the single-tenant lab's."""
        return self._call("GET", "/_lab/tenants", scoped=False)["tenants"]

    def add_tenant(self, apps=None):
        """Host one more tenant (seeded like the first, with its own ids and domain); apps: the names of the
        seed's apps it has (default all). Returns {"id", "domain", "apps"}."""
        return self._call("POST", "/_lab/tenants", {} if apps is None else {"apps": list(apps)}, scoped=False)

    def _call(self, method, path, body=None, scoped=True):
        data = None if body is None else json.dumps(body).encode()
        if scoped and self.tenant is not None:
            path = f"/_lab/tenants/{self.tenant}/" + path[len("/_lab/"):]
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, context=self._context, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise LabAdminError(f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}") from None

    def reset(self, snapshot=None):
        """Back to the seed, or to a snapshot() taken earlier: its objects, with the clock, config, faults and
        request log as at start."""
        return self._call("POST", "/_lab/reset", {} if snapshot is None else {"snapshot": snapshot})

    def snapshot(self):
        """The tenant's objects (and their lab creation times) as reset(snapshot) takes them back."""
        return self._call("GET", "/_lab/snapshot")

    def requests(self, since=None):
        suffix = f"?since={int(since)}" if since is not None else ""
        return self._call("GET", "/_lab/requests" + suffix)["requests"]

    def counts(self):
        return self._call("GET", "/_lab/counts")

    def clear_log(self):
        return self._call("POST", "/_lab/log/clear", {})

    def fault(self, action, *, method=None, path=None, count=1, status=None, retry_after=None, latency_ms=None):
        """Inject a fault for the next `count` Graph requests matching method and the path regex.
        action: "status" (answer `status`, with Retry-After when given), "drop_before" (close without
        acting), "drop_after" (act, then close without answering) or "latency" (delay latency_ms)."""
        return self._call("POST", "/_lab/faults", {"action": action, "method": method, "path": path,
                                                   "count": count, "status": status,
                                                   "retry_after": retry_after, "latency_ms": latency_ms})

    def clear_faults(self):
        return self._call("DELETE", "/_lab/faults")

    def config(self, **settings):
        """page_size=N, consistency_delay=seconds, delay_scale=factor (Autopilot pipeline),
        throttle_budgets=bool, throttle_window=seconds (Intune's budgets per window; throttling.py),
        auto_sync=bool (completed imports start a sync of their own: an unsettled behaviour of the service),
        round_trip_ms=ms and round_trip_jitter_ms=ms (every Graph and sign-in request takes that long, README "Latency")."""
        return self._call("POST", "/_lab/config", settings)

    def advance_clock(self, seconds=0, freeze=None):
        """Move the lab clock forward; freeze=True stops it following real time, False resumes."""
        body = {"advance": seconds}
        if freeze is not None:
            body["freeze"] = freeze
        return self._call("POST", "/_lab/clock", body)

    def state(self):
        return self._call("GET", "/_lab/state")

    def seed(self, data, replace=()):
        """data: {"<collection key>": [objects...]}; the collections named in replace are emptied first.
        Returns {"added": {key: [ids]}}."""
        return self._call("POST", "/_lab/seed", dict(data, replace=list(replace)) if replace else data)

    def enroll_device(self, serial_number, user_principal_name=None, device_name=None):
        """Play a deployment of the Autopilot device with this serial (its profile must be assigned):
        returns {"managedDeviceId", "deviceId", "azureADDeviceId", "autopilotEventId", "firstSignInPending"}
        (deviceId and azureADDeviceId: the hybrid joined object, or for an Entra join the Autopilot one)."""
        body = {"serialNumber": serial_number, "userPrincipalName": user_principal_name, "deviceName": device_name}
        return self._call("POST", "/_lab/autopilot/enroll", body)

    def first_sign_in(self, serial_number):
        """The user's first sign-in on a deployed hybrid joined device: Intune moves its managed device from the
        Autopilot (Entra joined) object to the hybrid one. Returns {"managedDeviceId", "azureADDeviceId"}."""
        return self._call("POST", "/_lab/autopilot/sign_in", {"serialNumber": serial_number})

    def mint_token(self, kind="app", **spec):
        """kind="app": app=<client id>, roles=[..] (default: the app's), expired, audience, bad_signature.
        kind="delegated": upn=..., scopes=[..], app=<client id> (default Graph Command Line Tools), expired, audience,
        bad_signature. kind="cli": upn=..., a token of the Azure CLI's app with its fixed scope set."""
        return self._call("POST", "/_lab/tokens", {"kind": kind, **spec})["access_token"]

    def sign_in_device_code(self, user_code, upn="admin@lab.example", decline=False):
        """Play the user at the verification page: sign `upn` in for that user code (decline=True: refuse). The
        client's next poll of the token endpoint then gets the token (or authorization_declined)."""
        return self._call("POST", "/_lab/devicecode", {"user_code": user_code, "upn": upn, "decline": decline})

    def apps(self):
        return self._call("GET", "/_lab/apps")["apps"]
