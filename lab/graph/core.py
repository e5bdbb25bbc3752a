"""The lab's state and its extension points: the object store, the lab clock, the route registry,
tick hooks for slow state machines, and the knobs of the admin API (config, faults, request log).

Resource modules (lab/graph/resources/*.py) only talk to this module: they register routes and
collections on a Registry and read/write objects through Lab. See README.md, "Extending the lab"."""

import copy
import datetime
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass

from . import throttling
from .errors import GraphError

GRAPH_RESOURCE = "https://graph.microsoft.com"


def iso(epoch_seconds):
    return datetime.datetime.fromtimestamp(epoch_seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id():
    return str(uuid.uuid4())


class Clock:
    """Wall time plus an offset tests can advance. State machines, timestamps, the consistency window
    and the throttling budgets use it; token lifetimes use real time (clients cache tokens by real time).
    A frozen clock moves only when advanced, so tests of time windows do not depend on machine speed."""

    def __init__(self, offset=0.0, frozen_at=None):
        self.offset = offset
        self.frozen_at = frozen_at

    def now(self):
        return (self.frozen_at if self.frozen_at is not None else time.time()) + self.offset

    def now_iso(self):
        return iso(self.now())

    def advance(self, seconds):
        self.offset += seconds

    def freeze(self, frozen):
        if frozen and self.frozen_at is None:
            self.frozen_at = time.time()
        elif not frozen and self.frozen_at is not None:
            self.offset -= time.time() - self.frozen_at   # resume from the frozen instant
            self.frozen_at = None


@dataclass(frozen=True)
class Permission:
    """Any one of `any_of` grants access. delegated_only: app-only tokens are refused whatever roles
    they carry (Graph's 'Application: Not supported')."""
    any_of: tuple
    delegated_only: bool = False


@dataclass
class Route:
    method: str
    segments: tuple          # literal segments and "{name}" placeholders, after the version
    handler: object          # handler(request) -> Response
    versions: tuple
    permission: Permission
    literal_count: int = 0

    def match(self, segments):
        if len(segments) != len(self.segments):
            return None
        params = {}
        for pattern, segment in zip(self.segments, segments):
            if pattern.startswith("{"):
                params[pattern[1:-1]] = segment
            elif pattern != segment:
                return None
        return params


class Registry:
    """Routes (by path template) plus tick hooks. Resource modules call route()/on_tick()."""

    def __init__(self):
        self.routes = []
        self.tick_hooks = []
        self.collections = {}    # store key -> CollectionSpec (for seeding and state dumps)
        self.seed_hooks = []     # fn(lab, key, obj) -> obj, to complete seeded objects
        self.write_hooks = []    # fn(lab, request) after a successful Graph write
        self.admin_routes = {}   # (method, "/_lab/...") -> fn(lab, body) -> JSON-able result

    def route(self, method, template, handler, *, versions, permission):
        segments = tuple(s for s in template.strip("/").split("/") if s)
        literal_count = sum(1 for s in segments if not s.startswith("{"))
        self.routes.append(Route(method, segments, handler, tuple(versions), permission, literal_count))
        self.routes.sort(key=lambda r: -r.literal_count)

    def on_tick(self, hook):
        """hook(lab) runs (under the state lock) before every Graph request: advance state machines
        to lab.clock.now() there, lazily, instead of in background threads."""
        self.tick_hooks.append(hook)

    def on_write(self, hook):
        """hook(lab, request) runs (under the state lock) after every successful Graph write, so a state
        machine can note the lab time at which something it watches changed (a rule, an assignment)."""
        self.write_hooks.append(hook)

    def store(self, key):
        """A lab-only store: seedable, reset and dumped like a collection, but no Graph routes."""
        self.collections[key] = None

    def admin_route(self, method, path, handler):
        """handler(lab, body) -> result; runs under the state lock after a tick (see admin.py)."""
        self.admin_routes[(method, path)] = handler

    def resolve(self, method, version, segments):
        """Return (route, params) or raise Graph's error for an unknown segment / method."""
        matches = [(r, p) for r in self.routes if version in r.versions
                   for p in [r.match(segments)] if p is not None]
        for route, params in matches:
            if route.method == method:
                return route, params
        if matches:
            raise GraphError(405, "BadRequest", f"The requested resource does not support http method "
                                                f"'{method}'.")
        raise GraphError(400, "BadRequest",
                         f"Resource not found for the segment '{self._first_unknown(version, segments)}'.")

    def _first_unknown(self, version, segments):
        # The first segment the routes of this version do not know: /v1.0/deviceManagement/<beta-only
        # collection>/x names the collection, as Graph does. When no route of this version shares even the
        # first segment, the routes of every version judge (naming the beta-only collection, not its parent).
        depth = self._known_depth(segments, version) or self._known_depth(segments, None)
        if not segments:
            return ""
        return segments[depth] if depth < len(segments) else segments[-1]

    def _known_depth(self, segments, version):
        for depth in range(len(segments), 0, -1):
            for route in self.routes:
                if (version is None or version in route.versions) and len(route.segments) >= depth and Route(
                        route.method, route.segments[:depth], None, (), None).match(segments[:depth]) is not None:
                    return depth
        return 0


@dataclass
class Fault:
    method: str
    path: re.Pattern
    count: int
    action: str
    status: int = 503
    retry_after: str = None
    latency_ms: int = 0

    def matches(self, method, path):
        return (self.count > 0 and (self.method is None or self.method == method)
                and (self.path is None or self.path.search(path) is not None))


FAULT_ACTIONS = ("status", "drop_before", "drop_after", "latency")
# What Graph shows of a hybrid joined device between its deployment and the user's first sign-in (unsettled,
# see README "The hybrid join window"): the managed device still on the Autopilot (Entra joined) device object
# and read as azureADJoined, or read as hybridAzureADJoined already, or already moved to the hybrid object.
HYBRID_JOIN_WINDOWS = ("entra_joined", "hybrid_join_type", "switched")
DEFAULT_CONFIG = {"page_size": 100, "consistency_delay": 0.0, "delay_scale": 1.0, "throttle_budgets": False,
                  "auto_sync": False, "hybrid_join_window": "entra_joined",
                  # A real tenant's round trip (README "Latency"): milliseconds added to every Graph and sign-in
                  # request, plus or minus up to the jitter, drawn per request.
                  "round_trip_ms": 0, "round_trip_jitter_ms": 0,
                  "throttle_window": float(throttling.DOCUMENTED_WINDOW_SECONDS),
                  # Entra ID's device authorization answer: the code lives 900 s, the client polls every 5 s.
                  "device_code_lifetime": 900, "device_code_interval": 5}
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


def check_config(changes):
    """Raise ValueError for an unknown key or a bad value (admin API and start flags alike)."""
    unknown = set(changes) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}")
    if "page_size" in changes and (not isinstance(changes["page_size"], int) or changes["page_size"] < 1):
        raise ValueError("page_size must be a positive integer")
    if "consistency_delay" in changes and not isinstance(changes["consistency_delay"], (int, float)):
        raise ValueError("consistency_delay must be a number of seconds")
    if "throttle_budgets" in changes and not isinstance(changes["throttle_budgets"], bool):
        raise ValueError("throttle_budgets must be a boolean")
    if "auto_sync" in changes and not isinstance(changes["auto_sync"], bool):
        raise ValueError("auto_sync must be a boolean")
    window = changes.get("throttle_window", 1.0)
    if isinstance(window, bool) or not isinstance(window, (int, float)) or window <= 0:
        raise ValueError("throttle_window must be a positive number of seconds")
    for key in ("device_code_lifetime", "device_code_interval"):
        value = changes.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive whole number of seconds")
    scale = changes.get("delay_scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 0:
        raise ValueError("delay_scale must be a non-negative number")
    for key in ("round_trip_ms", "round_trip_jitter_ms"):
        value = changes.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 60000:
            raise ValueError(f"{key} must be 0 to 60000 milliseconds")
    if changes.get("hybrid_join_window", HYBRID_JOIN_WINDOWS[0]) not in HYBRID_JOIN_WINDOWS:
        raise ValueError(f"hybrid_join_window must be one of {HYBRID_JOIN_WINDOWS}")


class Lab:
    """All mutable state. Every Graph request runs with `lock` held, so handlers need no locking."""

    def __init__(self, registry, seed, url, tenant_id, page_size=100, start_config=None):
        self.registry = registry
        self.seed_data = seed
        self.url = url
        self.tenant_id = tenant_id
        self.lock = threading.RLock()
        check_config(start_config or {})
        # What reset() returns to: the defaults with the start flags applied.
        self.start_config = dict(DEFAULT_CONFIG, page_size=page_size, **(start_config or {}))
        self.reset()

    # --- lifecycle -----------------------------------------------------------------------------------
    def reset(self, snapshot=None):
        """Back to the start: the seed's objects, or those of `snapshot` (a dump()) when given; the clock,
        config, faults, throttling budgets and request log as at start either way."""
        with self.lock:
            self.clock = Clock()
            self.config = dict(self.start_config)
            self.faults = []
            self.objects = {}            # key -> {id: obj}, insertion ordered
            self.created_at = {}         # key -> {id: lab time}; only objects created through Graph
            self.throttle = throttling.Throttle()
            self.wakes = {}
            self.clear_log()
            if snapshot is not None:
                self.load(snapshot)
                return
            for key, items in self.seed_data.items():
                if key in self.registry.collections:
                    for obj in items:
                        self.seed_object(key, copy.deepcopy(obj))

    def clear_log(self):
        with self.lock:
            self.log = []
            self.seq = 0
            # throttled: 429s the throttling budgets answered (also counted under their method)
            self.counts = {"GET": 0, "POST": 0, "PATCH": 0, "DELETE": 0, "PUT": 0, "token": 0, "throttled": 0}

    def seed_object(self, key, obj):
        if key not in self.registry.collections:
            raise ValueError(f"unknown collection key {key!r}; known: {sorted(self.registry.collections)}")
        obj.setdefault("id", new_id())
        for hook in self.registry.seed_hooks:
            obj = hook(self, key, obj)
        self.objects.setdefault(key, {})[obj["id"]] = obj
        return obj

    def dump(self):
        with self.lock:
            return {"clock_offset": self.clock.offset,
                    "objects": {k: list(v.values()) for k, v in self.objects.items()},
                    "created_at": self.created_at}

    def load(self, data):
        with self.lock:
            self.clock = Clock(data.get("clock_offset", 0.0))
            self.objects = {k: {o["id"]: o for o in items} for k, items in data["objects"].items()}
            self.created_at = data.get("created_at", {})
            self.wakes = {}

    def save(self, path):
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.dump(), handle)

    def tick(self):
        for hook in self.registry.tick_hooks:
            hook(self)

    def wake(self, name, at):
        """Tell the tick hook `name` it has work due at lab time `at` (see asleep)."""
        self.wakes[name] = min(self.wakes.get(name, at), at)

    def asleep(self, name):
        """True while nothing of tick hook `name` is due, so it can skip scanning 10,000 objects on every
        request. Unknown (after reset or load) means awake: the hook scans once and sets its next wake."""
        return self.clock.now() < self.wakes.get(name, float("-inf"))

    # --- objects -------------------------------------------------------------------------------------
    def _visible(self, key, obj_id):
        delay = self.config["consistency_delay"]
        created = self.created_at.get(key, {}).get(obj_id)
        return not delay or created is None or self.clock.now() - created >= delay

    def all(self, key):
        """Objects of a collection as Graph would list them now (replication lag applied). Only objects created
        through Graph can lag, so with no delay (or none created) this is a plain copy of the collection: a
        listing must not spend per-object work Graph's indexed store does not (README, "What the lab costs")."""
        objects = self.objects.get(key, {})
        delay, created = self.config["consistency_delay"], self.created_at.get(key)
        if not delay or not created:
            return list(objects.values())
        now = self.clock.now()
        return [o for i, o in objects.items() if i not in created or now - created[i] >= delay]

    def get(self, key, obj_id):
        obj = self.objects.get(key, {}).get(obj_id)
        if obj is None or not self._visible(key, obj_id):
            return None
        return obj

    def insert(self, key, obj):
        self.objects.setdefault(key, {})[obj["id"]] = obj
        self.created_at.setdefault(key, {})[obj["id"]] = self.clock.now()
        return obj

    def delete(self, key, obj_id):
        self.objects.get(key, {}).pop(obj_id, None)
        self.created_at.get(key, {}).pop(obj_id, None)

    # --- admin knobs ---------------------------------------------------------------------------------
    def set_config(self, changes):
        check_config(changes)
        with self.lock:
            self.config.update(changes)
            return dict(self.config)

    def add_fault(self, spec):
        action = spec.get("action")
        if action not in FAULT_ACTIONS:
            raise ValueError(f"action must be one of {FAULT_ACTIONS}")
        count = spec.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        retry_after = spec.get("retry_after")
        fault = Fault(method=spec.get("method"), path=re.compile(spec["path"]) if spec.get("path") else None,
                      count=count, action=action, status=int(spec.get("status") or 503),
                      retry_after=None if retry_after is None else str(retry_after),
                      latency_ms=int(spec.get("latency_ms") or 0))
        with self.lock:
            self.faults.append(fault)

    def round_trip(self):
        """Seconds this request's round trip takes (config round_trip_ms, plus or minus round_trip_jitter_ms, never
        below 0); slept by the server outside the lock, so requests in flight together overlap as on a network."""
        base, jitter = self.config["round_trip_ms"], self.config["round_trip_jitter_ms"]
        return max(0.0, base + random.uniform(-jitter, jitter)) / 1000 if base or jitter else 0.0

    def take_fault(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    return fault
        return None

    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            entry["answered"] = time.time()
            self.log.append(entry)
            if entry["method"] in self.counts:
                self.counts[entry["method"]] += 1

    def throttled(self, segments, caller, method):
        """Intune's budgets when `throttle_budgets` is on: None, or (Retry-After seconds, the refusing budget's
        name). Lab clock, so a test that moves the clock moves the windows (README, "Throttling budgets")."""
        if not self.config["throttle_budgets"] or not throttling.budgeted(segments):
            return None
        refusal = self.throttle.admit(self.clock.now(), self.config["throttle_window"], caller, method in WRITE_METHODS)
        if refusal is not None:
            self.counts["throttled"] += 1
        return refusal
