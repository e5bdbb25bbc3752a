"""Step 2: /deviceManagement/domainJoinConnectors (beta, read-only for our purposes)."""

from ..core import iso
from ..odata import QuerySupport
from ..permissions import CONFIGURATION_READ, CONFIGURATION_WRITE
from .base import CollectionSpec

KEY = "domainJoinConnectors"


def seed(lab, key, obj):
    # Seeds say how long ago a connector last called in, so "recently contacted" stays true.
    if key == KEY and "lastConnectionSecondsAgo" in obj:
        obj["lastConnectionDateTime"] = iso(lab.clock.now() - obj.pop("lastConnectionSecondsAgo"))
    return obj


SPEC = CollectionSpec(
    key=KEY, path="deviceManagement/domainJoinConnectors", type_name="deviceManagementDomainJoinConnector",
    read=CONFIGURATION_READ, write=CONFIGURATION_WRITE, operations=("list", "get"),
    query=QuerySupport(top=True))


def register(registry):
    SPEC.register(registry)
    registry.seed_hooks.append(seed)
