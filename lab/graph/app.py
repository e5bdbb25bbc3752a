"""Assembles the lab: key material, the tenants (each its directory, state and admin API), resource modules
and the HTTPS server."""

import copy
import functools
import json
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from .admin import Admin
from .auth import Directory
from .core import Lab, Registry
from .pki import LabPki
from .resources import (autopilot_devices, connectors, device_configurations, directory, dynamic_membership,
                        enrollment, groups, managed_devices, mobility, pipeline, profiles)
from .server import LabServer

DEFAULT_SEED = Path(__file__).with_name("seed.json")
RESOURCE_MODULES = [enrollment, profiles, device_configurations, groups, mobility, connectors, directory,
                    dynamic_membership, autopilot_devices, managed_devices, pipeline]
# The built-in seed's ids all begin with this; a further tenant's seed gets its own prefix (see tenant_seed).
SEED_ID_PREFIX = "7e1ab000-"


def build_registry():
    registry = Registry()
    for module in RESOURCE_MODULES:
        module.register(registry)
    return registry


def load_seed(path=None):
    with open(path or DEFAULT_SEED, encoding="utf-8") as handle:
        return json.load(handle)


@dataclass
class Tenant:
    """One tenant the lab hosts: its sign-in directory, its Graph state and its admin API."""
    lab: Lab
    directory: Directory
    admin: Admin


def tenant_seed(seed, number):
    """The seed of the lab's tenant `number` (1 is the seed itself): every object id, the tenant id, the
    domains and user names made its own, so nothing of one tenant names an object of another. The apps keep
    their client ids and credentials: like a multi-tenant app consented in each tenant, the same credential
    signs in to every tenant and only the tenant in the token request tells them apart."""
    if number == 1:
        return copy.deepcopy(seed)
    if not 1 < number < 1000:
        raise ValueError("a lab hosts at most 999 tenants")
    apps = seed.get("apps", [])
    text = json.dumps({k: v for k, v in seed.items() if k != "apps"})
    domain = seed["tenant"].get("domain") or "lab.example"
    text = text.replace(SEED_ID_PREFIX, f"7e1ab{number:03d}-").replace(domain, f"tenant{number}.{domain}")
    text = text.replace(domain.replace(".", "") + ".onmicrosoft.com", f"tenant{number}{domain.replace('.', '')}"
                                                                      ".onmicrosoft.com")
    return dict(json.loads(text), apps=copy.deepcopy(apps))


def create(data_dir, port=0, seed_path=None, state_path=None, page_size=100, start_config=None, tenants=1):
    """Return a LabServer bound to 127.0.0.1 (not yet serving). server.tenants: {tenant id: Tenant}, the seed's
    tenant first; server.lab, server.directory and server.admin are the first tenant's (the single-tenant lab).
    start_config: config keys (as /_lab/config takes them) that hold from the start and after every reset, in
    every tenant. tenants: how many tenants the lab hosts (see tenant_seed)."""
    if not isinstance(tenants, int) or tenants < 1:
        raise ValueError("tenants must be a positive integer")
    seed = load_seed(seed_path)
    pki = LabPki(data_dir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert_path, pki.server_key_path)
    server = LabServer(port, None, None, None, context)
    server.pki = pki
    server.url = f"https://127.0.0.1:{server.server_address[1]}"
    server.page_size, server.start_config, server.seed = page_size, start_config, seed
    server.tenants_lock = threading.Lock()
    server.add_tenant = functools.partial(_add_tenant_from_admin, server)
    for number in range(1, tenants + 1):
        add_tenant(server, tenant_seed(seed, number))
    first = next(iter(server.tenants.values()))
    server.lab, server.directory, server.admin = first.lab, first.directory, first.admin
    if state_path and Path(state_path).exists():
        with open(state_path, encoding="utf-8") as handle:
            load_state(server, json.load(handle))
    return server


def add_tenant(server, seed):
    """Host one more tenant from `seed` (the seed.json format); returns its Tenant."""
    directory = Directory(seed, server.pki)
    if directory.tenant_id in server.tenants:
        raise ValueError(f"the lab already hosts tenant {directory.tenant_id}")
    objects = {k: v for k, v in seed.items() if k not in ("tenant", "apps", "signIns")}
    lab = Lab(build_registry(), objects, server.url, directory.tenant_id, page_size=server.page_size,
              start_config=server.start_config)
    tenant = Tenant(lab, directory, Admin(lab, directory))
    # Copied, not changed in place: request threads read the map without a lock.
    server.tenants = {**server.tenants, directory.tenant_id: tenant}
    return tenant


def _add_tenant_from_admin(server, body):
    """POST /_lab/tenants {"apps": [app names]?}: the next tenant of the seed, with only the named apps when
    given (a tenant where the others were never consented)."""
    if not isinstance(body, dict) or set(body) - {"apps"}:
        raise ValueError("expected {\"apps\": [app names]} or {}")
    names = body.get("apps")
    known = [a["name"] for a in server.seed.get("apps", [])]
    if names is not None and (not isinstance(names, list) or set(names) - set(known)):
        raise ValueError(f"apps: expected a list of app names among {known}")
    with server.tenants_lock:
        seed = tenant_seed(server.seed, len(server.tenants) + 1)
        if names is not None:
            seed["apps"] = [a for a in seed["apps"] if a["name"] in names]
        return add_tenant(server, seed)


def dump_state(server):
    """The first tenant's state as the single-tenant lab saved it, plus the others' under "tenants"."""
    first, *others = server.tenants.values()
    state = first.lab.dump()
    if others:
        state["tenants"] = {t.lab.tenant_id: t.lab.dump() for t in others}
    return state


def load_state(server, state):
    first, *others = server.tenants.values()
    first.lab.load(state)
    for tenant in others:
        if tenant.lab.tenant_id in state.get("tenants", {}):
            tenant.lab.load(state["tenants"][tenant.lab.tenant_id])
