"""Assembles the lab: key material, directory, state, resource modules and the HTTPS server."""

import json
import ssl
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


def build_registry():
    registry = Registry()
    for module in RESOURCE_MODULES:
        module.register(registry)
    return registry


def load_seed(path=None):
    with open(path or DEFAULT_SEED, encoding="utf-8") as handle:
        return json.load(handle)


def create(data_dir, port=0, seed_path=None, state_path=None, page_size=100, start_config=None):
    """Return a LabServer bound to 127.0.0.1 (not yet serving); server.lab holds the state. start_config: config
    keys (as /_lab/config takes them) that hold from the start and after every reset."""
    seed = load_seed(seed_path)
    pki = LabPki(data_dir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert_path, pki.server_key_path)
    directory = Directory(seed, pki)
    server = LabServer(port, None, directory, None, context)
    url = f"https://127.0.0.1:{server.server_address[1]}"
    objects = {k: v for k, v in seed.items() if k not in ("tenant", "apps", "signIns")}
    lab = Lab(build_registry(), objects, url, directory.tenant_id, page_size=page_size, start_config=start_config)
    if state_path and Path(state_path).exists():
        with open(state_path, encoding="utf-8") as handle:
            lab.load(json.load(handle))
    server.lab, server.admin = lab, Admin(lab, directory)
    server.pki = pki
    return server
