"""running_lab(): start the lab as a subprocess for a test session and stop it afterwards."""

import json
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .client import LabClient

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningLab:
    url: str
    ca: str
    tenant: str
    data_dir: str
    pid: int
    client: LabClient
    apps: dict          # name -> {"client_id", "secret", "cert_path", "roles"}
    process: subprocess.Popen
    tenants: list = None  # ids of every tenant the lab hosts (--tenants N), `tenant` first

    def client_for(self, tenant):
        """The admin API of one tenant of the lab (LabClient.for_tenant)."""
        return self.client.for_tenant(tenant)


@contextmanager
def running_lab(**cli_options):
    """Start `python -m lab.graph --port 0` with cli_options as flags (state="f" -> --state f,
    page_size=5 -> --page-size 5, throttle_budgets=True -> --throttle-budgets, tenants=5 -> --tenants 5) and
    yield a RunningLab.
    Stops it with SIGTERM on exit."""
    args = [sys.executable, "-m", "lab.graph", "--port", "0"]
    for name, value in cli_options.items():
        if value is True:
            args.append("--" + name.replace("_", "-"))
        elif value is not None and value is not False:
            args += ["--" + name.replace("_", "-"), str(value)]
    process = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the Graph lab exited before starting (exit code {process.wait()})")
        info = json.loads(line)
        client = LabClient(info["url"], info["ca"])
        yield RunningLab(url=info["url"], ca=info["ca"], tenant=info["tenant"], data_dir=info["data_dir"],
                         pid=info["pid"], client=client, apps=client.apps(), process=process,
                         tenants=info["tenants"])
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
