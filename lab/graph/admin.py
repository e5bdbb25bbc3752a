"""The admin API under /_lab/ (no auth, loopback only): evidence for tests and knobs for faults."""

import json
from urllib.parse import parse_qs

from .errors import GraphError


class Admin:
    def __init__(self, lab, directory):
        self.lab, self.directory = lab, directory

    def handle(self, method, path, raw_query, raw_body, client_address):
        if client_address[0] not in ("127.0.0.1", "::1"):
            return 403, {"error": "the admin API answers loopback clients only"}
        try:
            body = json.loads(raw_body) if raw_body.strip() else {}
        except ValueError:
            return 400, {"error": "body is not JSON"}
        handler = self.ROUTES.get((method, path.rstrip("/")))
        if handler is None and (method, path.rstrip("/")) in self.lab.registry.admin_routes:
            handler = self._registered(self.lab.registry.admin_routes[(method, path.rstrip("/"))])
        if handler is None:
            return 404, {"error": f"no admin endpoint {method} {path}"}
        try:
            return 200, handler(self, body, parse_qs(raw_query))
        except (ValueError, KeyError, TypeError, GraphError) as exc:
            return 400, {"error": str(exc)}

    @staticmethod
    def _registered(route_handler):
        # Resource modules' admin hooks see the state as a Graph request would: slow state machines
        # advanced to now first.
        def handler(admin, body, query):
            with admin.lab.lock:
                admin.lab.tick()
                return route_handler(admin.lab, body)
        return handler

    def requests(self, body, query):
        since = int(query.get("since", ["0"])[0])
        with self.lab.lock:
            return {"requests": [e for e in self.lab.log if e["seq"] > since]}

    def counts(self, body, query):
        with self.lab.lock:
            return dict(self.lab.counts)

    def reset(self, body, query):
        # {"snapshot": <GET /_lab/snapshot>}: back to that state instead of the seed's.
        snapshot = body.get("snapshot")
        if snapshot is not None and not (isinstance(snapshot, dict) and isinstance(snapshot.get("objects"), dict)):
            raise ValueError("snapshot: expected what GET /_lab/snapshot returned")
        self.lab.reset(snapshot)
        return {"reset": True}

    def snapshot(self, body, query):
        return self.lab.dump()

    def clear_log(self, body, query):
        self.lab.clear_log()
        return {"cleared": True}

    def add_fault(self, body, query):
        self.lab.add_fault(body)
        return {"faults": len(self.lab.faults)}

    def clear_faults(self, body, query):
        with self.lab.lock:
            self.lab.faults = []
        return {"faults": 0}

    def config(self, body, query):
        return self.lab.set_config(body)

    def clock(self, body, query):
        advance = body.get("advance", 0)
        if not isinstance(advance, (int, float)) or advance < 0:
            raise ValueError("advance must be a non-negative number of seconds")
        if "freeze" in body and not isinstance(body["freeze"], bool):
            raise ValueError("freeze must be a boolean")
        with self.lab.lock:
            if "freeze" in body:
                self.lab.clock.freeze(body["freeze"])
            self.lab.clock.advance(advance)
            return {"now": self.lab.clock.now_iso(), "offset": self.lab.clock.offset,
                    "frozen": self.lab.clock.frozen_at is not None}

    def state(self, body, query):
        return self.lab.dump()["objects"]

    def seed(self, body, query):
        added = {}
        # "replace": collection keys emptied first, so a test can start from none (e.g. no connectors).
        replace = body.pop("replace", [])
        if not isinstance(replace, list) or any(key not in self.lab.registry.collections for key in replace):
            raise ValueError(f"replace: expected a list of collection keys; known: {sorted(self.lab.registry.collections)}")
        with self.lab.lock:
            for key in replace:
                self.lab.objects[key] = {}
            for key, items in body.items():
                if not isinstance(items, list):
                    raise ValueError(f"{key}: expected a list of objects")
                added[key] = [self.lab.seed_object(key, dict(item))["id"] for item in items]
        return {"added": added}

    def tokens(self, body, query):
        return {"access_token": self.directory.mint(body, self.lab.url)}

    def device_code(self, body, query):
        return self.directory.answer_device_code(body.get("user_code"), body.get("upn"), bool(body.get("decline")))

    def apps(self, body, query):
        return {"tenant": self.directory.tenant_id, "apps": self.directory.describe_apps()}

    ROUTES = {
        ("GET", "/_lab/requests"): requests,
        ("GET", "/_lab/counts"): counts,
        ("POST", "/_lab/reset"): reset,
        ("POST", "/_lab/log/clear"): clear_log,
        ("POST", "/_lab/faults"): add_fault,
        ("DELETE", "/_lab/faults"): clear_faults,
        ("POST", "/_lab/config"): config,
        ("POST", "/_lab/clock"): clock,
        ("GET", "/_lab/state"): state,
        ("GET", "/_lab/snapshot"): snapshot,
        ("POST", "/_lab/seed"): seed,
        ("POST", "/_lab/tokens"): tokens,
        ("GET", "/_lab/apps"): apps,
        ("POST", "/_lab/devicecode"): device_code,
    }
