"""Run the hybrid-join playbook, or any command, against the local Graph and AD labs.

``make lab`` calls ``python -m lab run playbooks/hybrid_join.yml``: it starts the labs,
runs the playbook twice and fails unless the second run reports changed=0 for every host.
The Graph lab keeps the Autopilot pipeline's documented delays (minutes of lab time); while the
role waits on them, this runner moves the lab clock to each moment the pipeline has work due, so
the waits take seconds and every timestamp is one Intune could show.
``make integration`` calls ``python -m lab with-lab --integration-config FILE -- COMMAND``:
it starts the labs, writes their connection details for ansible-test and runs COMMAND.
The labs (lab/graph, lab/ad) live in the development checkout only; run this from its root.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import selectors
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from .graph.client import LabAdminError, LabClient

# The Graph lab's built-in app registration (lab/graph); throwaway values valid only for the lab.
LAB_TENANT_ID = "7e1ab000-0000-4000-8000-000000000001"
LAB_CLIENT_ID = "7e1ab000-0000-4000-8000-00000000a001"
LAB_CLIENT_SECRET = "lab-admin-secret"
# A seeded user of the lab's tenant (lab/graph/seed.json), for step 1's delegated sign-in.
LAB_ADMIN_USER = "admin@lab.example"
LAB_ADMIN_PASSWORD = "lab-admin-password"

# Generous: the lab generates its CA and keys on start; this only stops a hung lab blocking CI.
GRAPH_LAB_START_SECONDS = 120
LAB_STOP_SECONDS = 15

CHECKOUT_ROOT = Path(__file__).resolve().parent.parent

# Step 4 and 9 of the main job: a handful of devices the lab imports, and a user for one of them.
SAMPLE_DEVICES_CSV = CHECKOUT_ROOT / "lab" / "sample-devices.csv"
SAMPLE_DEVICE_USERS = [{"serial_number": "LABPC0001", "assigned_user": "alice@lab.example",
                        "assigned_user_display_name": "Alice (lab)"}]
# The role's readiness report (roles/hybrid_join/tasks/report.yml) outlives the labs' temporary directory
# here; tests/output is gitignored.
LAB_REPORT_DIR = CHECKOUT_ROOT / "tests" / "output" / "lab-report"
GROUP_WAIT_SECONDS = 120
READINESS_WAIT_SECONDS = 300
# The role's tasks that wait on Intune's background work: step 4's import and sync, step 10's wait for ready
# (step 9 names registered devices and waits on nothing; the lab clock runs as real time outside these).
WAITING_MODULES = {"step4.yml": "intune.autopilot.autopilot_device", "step10.yml": "intune.autopilot.autopilot_device_info"}
# How often the clock advancer looks for due work while the role waits (real seconds).
ADVANCE_POLL_SECONDS = 0.2

RECAP_HOST_LINE = re.compile(r"^(?P<host>\S+)\s*:\s*(?P<counts>(?:\w+=\d+\s*)+)$")
CHANGED_RESULT_LINE = re.compile(r"^changed: \[(?P<host>[^\]]+)\]")
TASK_HEADER_LINE = re.compile(r"^TASK \[(?P<task>.*)\] \**$")

REAL_TENANT_HINT = """\
To run the same playbook against a real tenant, write the connection to a file (keep it out of git),
e.g. tenant.yml:

  hybrid_join_graph_auth:
    tenant_id: <directory (tenant) id>
    client_id: <app registration's application id>
    client_secret: <its secret>          # or see README.md "Authentication" for certificates etc.
  hybrid_join_delegated_auth:            # step 1 needs a signed-in user; omit to skip it
    auth_source: device_code             # the run shows a code to enter at https://microsoft.com/devicelogin
    tenant_id: <directory (tenant) id>
    client_id: <a public client app with the delegated permission Policy.ReadWrite.MobilityManagement>
  hybrid_join_ldap_server: dc01.contoso.com
  hybrid_join_ldap_port: 636
  hybrid_join_ldap_username: <account allowed to change permissions on the OU>
  hybrid_join_ldap_password: <its password>
  hybrid_join_domain_name: contoso.com
  hybrid_join_domain_join_ou: OU=Autopilot,DC=contoso,DC=com
  hybrid_join_device_csv_files: [devices.csv]   # optional: the portal's CSV of hardware hashes (step 4)

and run: ansible-playbook {playbook} -e @tenant.yml
(graph_endpoint / authority_host / ca_path are only for the lab; leave them out for the public cloud.)"""


class LabError(Exception):
    """A lab could not be started or the run against it failed."""


class GraphLab:
    """The Graph lab as a child process: ``python -m lab.graph --port 0 --data-dir DIR``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir / "graph-lab.log"
        self.process: subprocess.Popen | None = None
        self.details: dict = {}
        self._log = None

    def start(self) -> dict:
        # Both stay open until stop(): the lab outlives this method.
        self._log = log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lab.graph", "--port", "0", "--data-dir", str(self.data_dir)],
            cwd=CHECKOUT_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        first_line = _read_line(self.process.stdout, GRAPH_LAB_START_SECONDS)
        if not first_line:
            self.stop()
            raise LabError(
                "The Graph lab exited or printed nothing within %ss; its log:\n%s"
                % (GRAPH_LAB_START_SECONDS, self.log_path.read_text(errors="replace")[-4000:])
            )
        try:
            self.details = json.loads(first_line)
        except ValueError as error:
            self.stop()
            raise LabError("The Graph lab's first line is not JSON (%s): %r" % (error, first_line)) from error
        # Keep draining stdout so a chatty lab never blocks on a full pipe.
        threading.Thread(target=shutil.copyfileobj, args=(self.process.stdout, log), daemon=True).start()
        return self.details

    def stop(self) -> None:
        if self.process is None:
            return
        lab_pid = self.details.get("pid")
        if lab_pid and lab_pid != self.process.pid:
            # The lab reported a process of its own (it forked): stop that one too.
            with contextlib.suppress(ProcessLookupError):
                os.kill(lab_pid, signal.SIGTERM)
        self.process.terminate()
        try:
            self.process.wait(LAB_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        self.process = None


class AdLab:
    """The Samba AD lab through ``python -m lab.ad``; optional, since it needs Samba (root + apt)."""

    def __init__(self) -> None:
        self.started_here = False

    def start(self) -> dict | None:
        """Return the connection details, or None (saying why) when the AD lab cannot run here."""
        if not (CHECKOUT_ROOT / "lab" / "ad" / "__main__.py").exists():
            print("AD lab: lab/ad is not in this checkout; the Active Directory steps get no directory.")
            return None
        existing = self._run("env")
        already_running = existing.returncode == 0 and json.loads(existing.stdout).get("pid")
        # A lab of our own starts from the freshly seeded domain, as the Graph lab does, so the
        # first run shows step 3 making its change; someone else's running lab is used as it is.
        result = self._run("start") if already_running else self._run("start", "--fresh")
        if result.returncode != 0:
            print("AD lab: not available, so the Active Directory steps get no directory. Samba could not be"
                  " installed or started here:\n  " + (result.stderr.strip() or result.stdout.strip()))
            return None
        self.started_here = not already_running
        return json.loads(result.stdout)

    def stop(self) -> None:
        # A lab that was already running belongs to someone else's session; leave it up.
        if self.started_here:
            self._run("stop")
            self.started_here = False

    @staticmethod
    def _run(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lab.ad", *command], cwd=CHECKOUT_ROOT,
                              capture_output=True, text=True, check=False)


def _read_line(stream, timeout: float) -> str:
    """One line from a pipe, or '' when the writer exits or stays silent for ``timeout`` seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return stream.readline().decode(errors="replace").strip()


def graph_auth(graph_details: dict) -> dict:
    """Module auth options that point the collection at the Graph lab."""
    return {
        "tenant_id": graph_details.get("tenant") or LAB_TENANT_ID,
        "client_id": LAB_CLIENT_ID,
        "client_secret": LAB_CLIENT_SECRET,
        "graph_endpoint": graph_details["url"],
        "authority_host": graph_details["url"],
        "ca_path": graph_details["ca"],
    }


def delegated_auth(graph_details: dict) -> dict:
    """Step 1's sign-in as the lab's seeded admin user (Graph allows the MDM user scope only to a user)."""
    app = graph_auth(graph_details)
    return {"auth_source": "username_password", "tenant_id": app["tenant_id"], "client_id": LAB_CLIENT_ID,
            "username": LAB_ADMIN_USER, "password": LAB_ADMIN_PASSWORD, "graph_endpoint": app["graph_endpoint"],
            "authority_host": app["authority_host"], "ca_path": app["ca_path"]}


def ldap_auth(ad_details: dict, username: str, password: str) -> dict:
    """LDAPS connection to the AD lab's DC (validated against the lab's own CA)."""
    return {
        "server": ad_details["host"],
        "port": ad_details["ldaps_port"],
        "username": username,
        "password": password,
        "ca_path": ad_details["ca_path"],
    }


# The domain of the Graph lab's seeded tenant (lab/graph/seed.json).
GRAPH_LAB_DOMAIN = "lab.example"


def playbook_extra_vars(graph_details: dict, ad_details: dict | None, ansible_python: str = sys.executable) -> dict:
    """The hybrid_join_* variables the role reads, filled from the running labs."""
    extra_vars = {
        "hybrid_join_graph_auth": graph_auth(graph_details),
        "hybrid_join_delegated_auth": delegated_auth(graph_details),
        "hybrid_join_device_csv_files": [str(SAMPLE_DEVICES_CSV)],
        "hybrid_join_device_users": SAMPLE_DEVICE_USERS,
        # Step 10 waits until the sample devices are ready (the lab clock is moved on meanwhile).
        "hybrid_join_readiness_wait_for": "ready",
        "hybrid_join_readiness_wait_timeout": READINESS_WAIT_SECONDS,
        "hybrid_join_report_dir": str(LAB_REPORT_DIR),
        # Modules import azure-identity and friends: run them with the Python that runs Ansible, not the system's.
        "ansible_python_interpreter": ansible_python,
    }
    if ad_details:
        # Least privilege, as the tutorial's step 3 needs: an account that may only change
        # permissions on the domain join OU, not a domain admin.
        delegate = ad_details["delegate_user"]
        extra_vars.update({"hybrid_join_ldap_" + key: value
                           for key, value in ldap_auth(ad_details, delegate["dn"], delegate["password"]).items()})
        extra_vars["hybrid_join_domain_join_ou"] = ad_details["autopilot_ou"]
        extra_vars["hybrid_join_domain_name"] = ad_details["realm"].lower()
    else:
        # No directory: the Graph steps still need a domain for the domain join profile (the Graph lab's own).
        extra_vars["hybrid_join_domain_name"] = GRAPH_LAB_DOMAIN
        extra_vars["hybrid_join_domain_join_ou"] = "OU=Autopilot,DC=lab,DC=example"
    return extra_vars


def integration_vars(graph_details: dict, ad_details: dict | None) -> dict:
    """Variables for tests/integration/integration_config.yml (read by ansible-test, see setup_lab)."""
    return {
        "lab_graph": graph_details,
        "lab_graph_auth": graph_auth(graph_details),
        "lab_ad": ad_details,
        # Administrator: targets also prepare and inspect the directory, not only run modules.
        "lab_ldap_auth": ldap_auth(ad_details, ad_details["admin_dn"], ad_details["admin_password"]) if ad_details else None,
    }


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """Per-host counters from the PLAY RECAP of ansible-playbook's default output."""
    if "PLAY RECAP" not in output:
        return {}
    hosts = {}
    for line in output.rpartition("PLAY RECAP")[2].splitlines():
        match = RECAP_HOST_LINE.match(line.strip())
        if match:
            hosts[match["host"]] = {key: int(value) for key, value in
                                    (pair.split("=") for pair in match["counts"].split())}
    return hosts


def changed_tasks(output: str) -> list[str]:
    """'task name [host]' for every result ansible-playbook printed as changed."""
    task = "?"
    changed = []
    for line in output.splitlines():
        header = TASK_HEADER_LINE.match(line)
        if header:
            task = header["task"]
        result = CHANGED_RESULT_LINE.match(line)
        if result:
            changed.append("%s [%s]" % (task, result["host"]))
    return changed


def run_playbook(playbook: str, extra_vars_file: Path, on_task=None, ansible_python: str = sys.executable) -> str:
    """Run ansible-playbook (the one installed beside ansible_python), echoing its output; return the output;
    raise when it fails. on_task(name) is called as each task starts, with the name its header shows."""
    command = [str(Path(ansible_python).parent / "ansible-playbook"), playbook, "-e", "@%s" % extra_vars_file]
    print("$ " + " ".join(command), flush=True)
    # Default callback and no colour: the recap and 'changed:' lines are what we check. The play
    # targets the implicit localhost, so the no-inventory warnings say nothing useful.
    environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    with subprocess.Popen(command, cwd=CHECKOUT_ROOT, env=environment, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as process:
        lines = []
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
            header = TASK_HEADER_LINE.match(line.rstrip("\n"))
            if header and on_task:
                on_task(header["task"])
    output = "".join(lines)
    if process.returncode != 0:
        raise LabError("%s failed (exit %s)" % (playbook, process.returncode))
    check_no_version_warning(output)
    return output


# ansible-core's warning when meta/runtime.yml's requires_ansible excludes the running release.
UNSUPPORTED_VERSION_WARNING = "does not support Ansible version"


def check_no_version_warning(output: str) -> None:
    """Raise when ansible-core warned that the collection does not support its version: every release the
    runner is given must be one the collection declares."""
    warnings = [line.strip() for line in output.splitlines() if UNSUPPORTED_VERSION_WARNING in line]
    if warnings:
        raise LabError("ansible-core warned that the collection does not support it (meta/runtime.yml's "
                       "requires_ansible):\n  " + "\n  ".join(warnings))


def check_idempotent(output: str) -> None:
    """Raise unless the recap shows hosts and every host has changed=0."""
    recap = parse_recap(output)
    if not recap:
        raise LabError("No PLAY RECAP in the second run's output, so idempotence cannot be checked.")
    changed_hosts = {host: counts.get("changed", 0) for host, counts in recap.items() if counts.get("changed", 0)}
    if changed_hosts:
        raise LabError("The second run changed something, so the playbook is not idempotent: %s\nChanged tasks:\n  %s"
                       % (changed_hosts, "\n  ".join(changed_tasks(output)) or "(none printed)"))


@contextlib.contextmanager
def running_labs(work_dir: Path):
    """Start the Graph lab (required) and the AD lab (when possible); stop both on the way out."""
    graph_lab = GraphLab(work_dir)
    ad_lab = AdLab()
    try:
        graph_details = graph_lab.start()
        print("Graph lab: %s (tenant %s)" % (graph_details["url"], graph_details.get("tenant")), flush=True)
        ad_details = ad_lab.start()
        if ad_details is None and os.environ.get("CI") == "true":
            # CI installs Samba (.ci/run); without the DC the AD tests would skip and still pass.
            raise LabError("CI=true but the AD lab is not available; see the reason above.")
        if ad_details:
            print("AD lab: ldaps://%s:%s (%s)" % (ad_details["host"], ad_details["ldaps_port"], ad_details["realm"]))
        yield graph_details, ad_details
    finally:
        ad_lab.stop()
        graph_lab.stop()
        print("Labs stopped.", flush=True)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read: it holds lab secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write(text)


def command_playbook(arguments: argparse.Namespace) -> int:
    # A report left by an earlier run must not pass for this run's.
    shutil.rmtree(LAB_REPORT_DIR, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="intune-autopilot-lab-") as work_dir:
        with running_labs(Path(work_dir)) as (graph_details, ad_details):
            extra_vars_file = Path(work_dir) / "extra-vars.json"
            ansible_python = arguments.ansible_python
            write_private(extra_vars_file, json.dumps(playbook_extra_vars(graph_details, ad_details, ansible_python), indent=2))
            graph = LabClient(graph_details["url"], graph_details["ca"])
            waits = waiting_tasks()
            with ClockAdvancer(graph) as advancer:
                def on_task(name):
                    advancer.set_active(name.rpartition(" : ")[2] in waits)

                print("\n== First run: creates the configuration", flush=True)
                run_playbook(arguments.playbook, extra_vars_file, on_task, ansible_python)
                advancer.set_active(True)
                show_sample_devices_in_group(graph, graph_details["ca"], role_default("hybrid_join_device_group"))
                advancer.set_active(False)
                print("\n== Second run: must change nothing", flush=True)
                check_idempotent(run_playbook(arguments.playbook, extra_vars_file, on_task, ansible_python))
            print("\nWhile the role waited, the lab clock was moved %d min ahead of real time." % round(advancer.advanced / 60))
    print("\nBoth runs passed; the second reported changed=0.\n")
    reports = sorted(LAB_REPORT_DIR.glob("*.html"))
    for report in reports:
        print("Readiness report of the second run: %s (Markdown for job logs: %s)" % (report, report.with_suffix(".md")))
    if not reports:
        print("No readiness report was written to %s.\n" % LAB_REPORT_DIR)
    print(REAL_TENANT_HINT.format(playbook=arguments.playbook))
    return 0


def waiting_tasks() -> set[str]:
    """Names of the role's tasks that wait on Intune's background work."""
    def tasks(entries):
        for task in entries or []:
            yield task
            for section in ("block", "rescue", "always"):
                yield from tasks(task.get(section))

    task_files = CHECKOUT_ROOT / "roles" / "hybrid_join" / "tasks"
    return {task["name"] for file_name, module in WAITING_MODULES.items()
            for task in tasks(yaml.safe_load((task_files / file_name).read_text(encoding="utf-8"))) if module in task}


def lab_time(timestamp: str) -> float:
    return datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def next_due(state: dict, now: float) -> float | None:
    """The earliest lab time after `now` at which the Graph lab has work due: the Autopilot pipeline keeps
    each pending stage's due time (lab seconds) on its object as a private `_...At` field
    (lab/graph/resources/timeline.py)."""
    return min((value for objects in state.values() for obj in objects for key, value in obj.items()
                if key.startswith("_") and key.endswith("At") and isinstance(value, (int, float)) and value > now),
               default=None)


class ClockAdvancer:
    """While active, moves the Graph lab's clock to the next moment its Autopilot pipeline has work due, in
    the background: the product keeps polling in real time and sees each stage happen at the lab time
    Intune's delays put it. A stage that follows another is scheduled when the lab next serves a request
    (the product's next poll), so the waits still poll and a chain plays in a few polls."""

    def __init__(self, graph: LabClient) -> None:
        self.graph = graph
        self.advanced = 0.0   # lab seconds moved ahead of real time
        self.error: Exception | None = None
        self._active = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "ClockAdvancer":
        self._thread.start()
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        self._stopped.set()
        self._thread.join()
        if self.error is not None and exc_type is None:
            # Without it the role's waits would have run out on a still clock: say why, not "not ready".
            raise LabError("moving the Graph lab's clock failed: %s" % self.error) from self.error

    def set_active(self, active: bool) -> None:
        if active:
            self._active.set()
        else:
            self._active.clear()

    def _run(self) -> None:
        while not self._stopped.wait(ADVANCE_POLL_SECONDS):
            if self._active.is_set():
                try:
                    self.step()
                except (OSError, LabAdminError, ValueError) as error:
                    self.error = error
                    return

    def step(self) -> None:
        """Move the clock to the next due moment, if the lab has one."""
        now = lab_time(self.graph.advance_clock(0)["now"])
        due = next_due(self.graph.state(), now)
        if due is not None:
            self.graph.advance_clock(due - now)
            self.advanced += due - now


def sample_serials() -> list[str]:
    rows = SAMPLE_DEVICES_CSV.read_text(encoding="utf-8").splitlines()[1:]
    return sorted(row.split(",", 1)[0] for row in rows if row.strip())


def role_default(name: str):
    return yaml.safe_load((CHECKOUT_ROOT / "roles" / "hybrid_join" / "defaults" / "main.yml").read_text())[name]


def show_sample_devices_in_group(graph: LabClient, ca: str, group_name: str) -> None:
    """Wait until the imported sample devices are members of step 5's dynamic group, as an admin would
    watch them arrive in the portal, and list them; read through Graph, as a client would."""
    token = graph.mint_token(kind="app", app=LAB_CLIENT_ID)
    headers = {"Authorization": "Bearer " + token}
    context = ssl.create_default_context(cafile=ca)

    def get(path: str, **query: str) -> dict:
        url = graph.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), context=context, timeout=30) as response:
            return json.loads(response.read())

    groups = get("/v1.0/groups", **{"$filter": "displayName eq '%s'" % group_name})["value"]
    if len(groups) != 1:
        raise LabError("step 5 left %d groups named %s in the Graph lab" % (len(groups), group_name))
    expected = sample_serials()
    deadline = time.monotonic() + GROUP_WAIT_SECONDS
    while True:
        members = sorted(get("/v1.0/devices/%s" % member["id"])["displayName"]
                         for member in get("/v1.0/groups/%s/members" % groups[0]["id"])["value"])
        if set(expected) <= set(members) or time.monotonic() > deadline:
            break
        time.sleep(1)
    missing = sorted(set(expected) - set(members))
    if missing:
        raise LabError("after %d s the group %s lacks the imported devices %s (members: %s)"
                       % (GROUP_WAIT_SECONDS, group_name, ", ".join(missing), ", ".join(members) or "none"))
    print("\nThe imported devices are members of %s: %s" % (group_name, ", ".join(members)), flush=True)


def command_with_lab(arguments: argparse.Namespace) -> int:
    command = arguments.command[1:] if arguments.command[:1] == ["--"] else arguments.command
    if not command:
        raise LabError("with-lab needs a command after --")
    config_path = Path(arguments.integration_config)
    with tempfile.TemporaryDirectory(prefix="intune-autopilot-lab-") as work_dir:
        with running_labs(Path(work_dir)) as (graph_details, ad_details):
            config_text = "# Generated by python -m lab with-lab for the labs of one run.\n" + yaml.safe_dump(
                integration_vars(graph_details, ad_details), sort_keys=True)
            write_private(config_path, config_text)
            try:
                return subprocess.run(command, cwd=CHECKOUT_ROOT, check=False).returncode
            finally:
                # Stale once the labs stop, and it holds lab secrets that a collection build would ship.
                config_path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="name", required=True)
    # "playbook" is the name the runner had before it moved under lab/.
    playbook_parser = commands.add_parser("run", aliases=["playbook"], help="run a playbook twice against the labs; the second run must change nothing")
    playbook_parser.add_argument("playbook", help="e.g. playbooks/hybrid_join.yml")
    # The labs need this Python (3.12+); the playbook may run on another ansible-core and Python (make matrix).
    playbook_parser.add_argument("--ansible-python", default=sys.executable,
                                 help="the Python of the ansible-core to run the playbook with: its bin/ansible-playbook runs "
                                      "the playbook and it runs the modules (default: this Python)")
    playbook_parser.set_defaults(handler=command_playbook)
    with_lab_parser = commands.add_parser("with-lab", help="write the integration config for the running labs, then run a command")
    with_lab_parser.add_argument("--integration-config", required=True, help="e.g. tests/integration/integration_config.yml")
    with_lab_parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    with_lab_parser.set_defaults(handler=command_with_lab)
    arguments = parser.parse_args(argv)
    try:
        return arguments.handler(arguments)
    except LabError as error:
        print("python -m lab: %s" % error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
