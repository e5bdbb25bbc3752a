"""Step 2: /deviceManagement/domainJoinConnectors (beta, read-only for our purposes).

A connector's `state` follows its last contact on the lab clock, as the beta metadata describes the members of
deviceManagementDomainJoinConnectorState: active while it pings Intune, error after an hour without a
heartbeat, inactive after five days. A running connector (seed `running: true`) pings every HEARTBEAT_SECONDS,
so its last contact keeps up with the clock however far tests or `make lab` move it; any other stopped at its
last contact and ages."""

import datetime

from ..core import iso
from ..odata import QuerySupport
from ..permissions import CONFIGURATION_READ, CONFIGURATION_WRITE
from .base import CollectionSpec

KEY = "domainJoinConnectors"
ERROR_AFTER_SECONDS = 3600             # "no heart-beat from connector from last one hour"
INACTIVE_AFTER_SECONDS = 5 * 24 * 3600  # "no heart-beat from connector from last 5 days"
HEARTBEAT_SECONDS = 300                # unsettled: the service does not say how often a connector pings


def state_after(silent_seconds):
    """The state Intune gives a connector that has not called in for that long."""
    if silent_seconds >= INACTIVE_AFTER_SECONDS:
        return "inactive"
    return "error" if silent_seconds >= ERROR_AFTER_SECONDS else "active"


def refresh(lab):
    """Bring each connector's last contact (running ones have pinged meanwhile) and state to the lab clock."""
    now = lab.clock.now()
    for connector in lab.objects.get(KEY, {}).values():
        if "_lastContact" not in connector:   # a state file written before the lab kept it
            continue
        if connector.get("_running"):
            pings = int(max(0.0, now - connector["_lastContact"]) // HEARTBEAT_SECONDS)
            connector["_lastContact"] += pings * HEARTBEAT_SECONDS
        connector["lastConnectionDateTime"] = iso(connector["_lastContact"])
        connector["state"] = state_after(now - connector["_lastContact"])


def seed(lab, key, obj):
    """Seeds say how long ago a connector last called in (`lastConnectionSecondsAgo`, else
    `lastConnectionDateTime`, else now) and whether it still runs; a `state` its last contact contradicts is
    refused, so no test builds a connector the service could not show."""
    if key != KEY:
        return obj
    now = lab.clock.now()
    if "lastConnectionSecondsAgo" in obj:
        last = now - obj.pop("lastConnectionSecondsAgo")
    elif obj.get("lastConnectionDateTime"):
        last = datetime.datetime.fromisoformat(obj["lastConnectionDateTime"].replace("Z", "+00:00")).timestamp()
    else:
        last = now
    obj["_lastContact"], obj["_running"] = last, bool(obj.pop("running", False))
    lab_state = "active" if obj["_running"] else state_after(now - last)
    if "state" in obj and obj["state"] != lab_state:
        raise ValueError(f"connector {obj.get('displayName')!r}: state {obj['state']!r} contradicts its last contact "
                         f"{round((now - last) / 3600, 2)} h ago ({lab_state}: error after 1 h without a heartbeat, "
                         f"inactive after 5 days); leave state out or seed running: true")
    obj["state"], obj["lastConnectionDateTime"] = lab_state, iso(last)
    return obj


SPEC = CollectionSpec(
    key=KEY, path="deviceManagement/domainJoinConnectors", type_name="deviceManagementDomainJoinConnector",
    read=CONFIGURATION_READ, write=CONFIGURATION_WRITE, operations=("list", "get"),
    query=QuerySupport(top=True))


def register(registry):
    SPEC.register(registry)
    registry.seed_hooks.append(seed)
    registry.on_tick(refresh)
