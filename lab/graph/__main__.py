"""python -m lab.graph --port 0 [--state FILE] [--seed FILE] [--data-dir DIR] [--page-size N]
                      [--throttle-budgets] [--throttle-window SECONDS] [--tenants N]
                      [--round-trip-ms MS] [--round-trip-jitter-ms MS]

Prints one JSON line ({"url", "ca", "tenant", "tenants", "data_dir", "pid"}) once it accepts connections, and
stops on SIGTERM (or SIGINT), saving its state to --state when given."""

import argparse
import json
import os
import signal
import sys
import tempfile
import threading

from .app import create, dump_state
from .throttling import DOCUMENTED_WINDOW_SECONDS


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.graph", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--state", help="JSON file: loaded at start when it exists, written on SIGTERM")
    parser.add_argument("--seed", help="seed JSON replacing the built-in lab/graph/seed.json")
    parser.add_argument("--data-dir", help="where the CA, certificates and keys live (default: a new temp dir)")
    parser.add_argument("--page-size", type=int, default=100, help="default page size of collections")
    parser.add_argument("--throttle-budgets", action="store_true",
                        help="enforce Intune's per-app and per-tenant Graph budgets (429 + Retry-After)")
    parser.add_argument("--throttle-window", type=float, default=float(DOCUMENTED_WINDOW_SECONDS),
                        help="seconds of lab clock per budget window (Intune's: 20); smaller scales time down")
    parser.add_argument("--round-trip-ms", type=float, default=0,
                        help="milliseconds every Graph and sign-in request takes, as a real tenant's round trip (~100)")
    parser.add_argument("--round-trip-jitter-ms", type=float, default=0,
                        help="plus or minus up to this many milliseconds per request, drawn at random")
    parser.add_argument("--tenants", type=int, default=1,
                        help="how many tenants the lab hosts, each with its own state (the seed's tenant first)")
    args = parser.parse_args(argv)
    if args.tenants < 1:
        parser.error("--tenants must be at least 1")
    data_dir = os.path.abspath(args.data_dir or tempfile.mkdtemp(prefix="graph-lab-"))
    server = create(data_dir, args.port, args.seed, args.state, args.page_size,
                    {"throttle_budgets": args.throttle_budgets, "throttle_window": args.throttle_window,
                     "round_trip_ms": args.round_trip_ms, "round_trip_jitter_ms": args.round_trip_jitter_ms},
                    tenants=args.tenants)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    serving.start()
    print(json.dumps({"url": server.lab.url, "ca": str(server.pki.ca_path), "tenant": server.lab.tenant_id,
                      "tenants": list(server.tenants),
                      "data_dir": data_dir, "pid": os.getpid()}), flush=True)
    stop.wait()
    server.shutdown()
    if args.state:
        with open(args.state, "w", encoding="utf-8") as handle:
            json.dump(dump_state(server), handle)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
