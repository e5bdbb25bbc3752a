"""One command for the Samba AD lab: `python -m lab.ad [--dir DIR] {install,start [--fresh] [--address A],stop,env}`."""

import argparse
import json
import sys
from pathlib import Path

from lab.ad.samba_lab import (
    DEFAULT_ADDRESS,
    DEFAULT_STATE_DIR,
    LabError,
    LabPaths,
    ensure_running,
    free_loopback_address,
    install,
    lab_environment,
    stop,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.ad", description=__doc__)
    parser.add_argument("--dir", type=Path, default=DEFAULT_STATE_DIR, help=f"lab state directory (default {DEFAULT_STATE_DIR}, or $AD_LAB_DIR)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="install the Samba packages with apt when missing; nothing else")
    start_parser = commands.add_parser("start", help="install, provision and seed when needed, start the DC, print its details as JSON")
    start_parser.add_argument("--fresh", action="store_true", help="throw away the existing domain and provision a new one")
    start_parser.add_argument(
        "--address",
        help=f"loopback address (127.x.y.z) a new lab listens on, or 'free' for an unused one (default: the lab's own, "
        f"{DEFAULT_ADDRESS} for a new lab); the ports stay 389/636, as Samba cannot change them. Another address "
        "for an existing lab needs --fresh",
    )
    commands.add_parser("stop", help="stop the DC by its PID")
    commands.add_parser("env", help="print the connection details as JSON")
    arguments = parser.parse_args(argv)
    paths = LabPaths(arguments.dir)
    try:
        if arguments.command == "install":
            install()
        elif arguments.command == "start":
            address = free_loopback_address() if arguments.address == "free" else arguments.address
            print(json.dumps(ensure_running(paths, fresh=arguments.fresh, address=address), indent=2))
        elif arguments.command == "stop":
            print("stopped" if stop(paths) else "not running")
        else:
            if not paths.env_file.exists():
                raise LabError(f"No lab in {paths.root}; run `python -m lab.ad start` first.")
            print(json.dumps(lab_environment(paths), indent=2))
    except LabError as error:
        print(f"AD lab: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
