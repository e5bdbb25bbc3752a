#!/usr/bin/env python3
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of autopilot_device importing N devices against Intune's throttling budgets (issue #11).

The Graph lab runs with its throttling budgets on (lab/graph/README.md, "Throttling budgets": per app 100
writes and 1000 requests, per tenant 200 and 2000, per window) and its Autopilot pipeline at delay_scale 0
(imports and syncs finish at the next request): the bench measures our module against the budgets, not the
lab's simulated minutes. The window is scaled down from Intune's 20 s (--window) so a 10,000-device import
takes minutes instead of the ~35 it takes at Intune's scale; the budgets stay per window.

The module runs through ansible-playbook with the real action plugin (the token is fetched on the
controller) and really sleeps on Retry-After; the lab's clock is not frozen, so it follows real time and
the windows free in real time: the wall time is honest. (tests/lab/module_runner.py would move the lab clock
instead of sleeping, and the waits would cost no wall time.)

Steps: a fresh lab imports N/10 devices (for the memory comparison), then a fresh lab imports N with
`cleanup: all` (a DELETE per staging row: the run the budgets bound), then the same task runs again with nothing
to do, then a fresh lab imports N with the module's default `cleanup: none` (issue #23: no DELETEs); then steps 5 and 7
make the device group and the hybrid profile assigned to it (as the role names them), and autopilot_device_info reads
the readiness of the N devices of the CSV (step 10, issue #23: requests, wall time, module peak RSS). Devices come from
one portal CSV per size (unique serials, random 4,000-byte hardware hashes, base64, the size of real 4K hashes).

Printed: requests and writes per device, 429s, wall time (the task, as the playbook's user waits for it) and
the floor the budgets impose: max(admitted writes / 100, requests / 1000) x window, with targets:
  - import: at most 1.05 requests per device in all (429s included);
  - import wall time within 1.2x of the floor;
  - import with cleanup none: within 5 minutes at Intune's 20 s window, scaled with the window;
  - no-op re-run: at most 0.02 requests per device, and no writes;
  - memory flat beyond the input: the peak RSS of the module process grows from N/10 to N devices by at
    most the growth of the input (the CSV's bytes) times MEMORY_INPUT_FACTOR, plus MEMORY_SLACK_KB for the
    noise of a Python process's peak (see those constants).
  - the readiness read: at most 3 x ceil(N/999) + 12 requests (issue #23 item 1's target), no writes.
A smaller window makes the client's own time to send a window's requests weigh more against the floor, so a
scaled run is stricter on the wall-time target than Intune's 20 s would be.

    .venv/bin/python bench/device_import_bench.py [--devices 10000] [--window 5]     # or: make bench-devices

Exits 1 when a target fails (tests/integration/pytest/test_device_import_bench.py runs it at N = 300 with a
6 s window; at that size the memory check is weak, the slack dominates the input's growth).

Measured on this machine (2 cores, nothing else running) on 2026-12-07, defaults (--devices 10000 --window 5), 569 s:

    run         devices requests  writes   reads  429s  req/device wr/device    wall s floor s wall/floor  module RSS
    mem-small      1000       11       3       8     0      0.0110    0.0030       1.6     off                45.0 MB
    mem-N         10000      155      21     134     0      0.0155    0.0021       6.2     off                88.3 MB
    import        10000    10155   10121      34   100      1.0155    1.0121     518.5   501.0       1.03     87.4 MB
    noop          10000       12       0      12     0      0.0012    0.0000       1.7     0.1                82.4 MB
    import-keep   10000      155      21     134     0      0.0155    0.0021       6.4     1.1                88.2 MB
    memory: module peak RSS 45.0 MB at 1000 devices, 88.3 MB at 10000; grew 43.3 MB for 45.9 MB more input
    readiness read of the 10000 devices: 35 requests (+0 inside $batch), 0 writes, 8.7 s, module peak RSS 117.3 MB

    every target PASS: 1.0155 requests per device; 1.03x the floor; cleanup none in 6.4 s (21 writes); no-op 0.0012
    requests per device, 0 writes; memory grew 43.3 MB against a 61.4 MB bound; readiness 35 requests against 45.

  Cleanup is the whole cost. Writes of `import` (`cleanup: all`): 20 import POSTs, 10,000 staging-row DELETEs, 1 sync;
  each window admits 99 writes after the first (the refused request counts, README "Throttling budgets"); the
  refused ones are the 429s; the module and the lab are far faster than the budgets, so the wall time is the
  budgets' (518 s here, ~35 minutes at Intune's 20 s window). The default `cleanup: none` (`import-keep`) sends the
  20 POSTs and the sync, and reads the staging rows while the lab's pipeline works (6.4 s here; its floor at a 20 s
  window is 4.4 s). The readiness read lists pages of 999 of the identities, the step 5 group's members and the
  hybrid profile's assigned devices, and the role's objects once (device_readiness.py); its peak RSS holds the
  10,000 devices' rows as the module returns them.
  2026-11-30, before issue #23 (a DELETE per row in every run, no readiness read): import 10,257 requests, 555.0 s,
  1.11x the floor; memory 56.2 MB at 1,000 devices, 103.0 MB at 10,000.
  Memory: the 186.2 MB recorded here before was the module that read a CSV file whole (before commit 8c06a51;
  that tree measures 57.3 and 186.5 MB under this bench). Read a line at a time it measured 54.9 and 111.8 MB:
  +56.9 MB, 1.24x the input's growth. Per phase, in-process (tests/lab/module_runner.py, the peak RSS reset at
  each phase, 1,000 against 10,000 devices): reading the input grew 1.09x the input, the hashes' base64 text
  being most of it; each import batch peaks ~11 MB above what it leaves (its body, and its answer, which echoes
  the 500 hashes), the same at any N; the listing after the sync held every identity at once (+5.4 MB at
  10,000); the batches leave ~6.5 MB more at 10,000 than at 1,000 (outcomes, allocator fragments). Now a CSV
  row's hash is held as the bytes it encodes (3/4 of its text) and the listing after the sync is read a page at
  a time. The measure is fair: the module's arguments are a path, and Ansible's module wrapper adds ~3 MB at
  any N (54.9 MB against 51.8 MB in-process at 1,000 devices).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.graph.testing import running_lab  # noqa: E402  pylint: disable=wrong-import-position
from lab.graph.throttling import BUDGETS  # noqa: E402  pylint: disable=wrong-import-position

APP_WRITES = next(b.limit for b in BUDGETS if b.scope == "app" and b.writes_only)
APP_REQUESTS = next(b.limit for b in BUDGETS if b.scope == "app" and not b.writes_only)
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
HASH_BYTES = 4000
DEFAULT_BATCH = 500  # the module's default batch_size
CSV_HEADER = "Device Serial Number,Windows Product ID,Hardware Hash"
MAX_IMPORT_REQUESTS_PER_DEVICE = 1.05
MAX_FLOOR_RATIO = 1.2
MAX_NOOP_REQUESTS_PER_DEVICE = 0.02
# Issue #23: with cleanup none (the module's default) an import sends a POST per batch and a sync, so at Intune's
# 20 s window 10,000 devices must take at most 5 minutes of the module's own time; scaled with --window.
INTUNE_WINDOW = 20
KEEP_ROWS_SECONDS_AT_INTUNE_WINDOW = 300
# The module may hold its input once (parsed: a hash string per device is about its CSV bytes) and nothing
# more per device: growth of the peak RSS <= growth of the input x this factor + the slack.
MEMORY_INPUT_FACTOR = 1.25
MEMORY_SLACK_KB = 4096
PLAYBOOK_TIMEOUT = 7200
# Steps 5 and 7 as the role names them, for the readiness read after the import.
READINESS_GROUP = "Autopilot-HAADJ-Devices"
READINESS_PROFILE = "Autopilot hybrid join user driven"


def write_csv(path, count, seed):
    """A portal CSV of `count` devices with unique serials and hashes; returns its size in bytes."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(CSV_HEADER + "\n")
        for index in range(count):
            handle.write("BENCH-%07d,,%s\n" % (index, base64.b64encode(rng.randbytes(HASH_BYTES)).decode()))
    return os.path.getsize(path)


def auth_options(lab):
    admin = lab.apps["lab-admin"]
    return {"tenant_id": lab.tenant, "client_id": admin["client_id"], "client_secret": admin["secret"],
            "graph_endpoint": lab.url, "authority_host": lab.url, "ca_path": lab.ca}


def measuring_interpreter(workdir):
    """A python for modules that appends the peak RSS (KB) of each module process to $MODULE_RSS_FILE."""
    wrapper = Path(workdir, "python-rss")
    wrapper.write_text('#!/bin/sh\nexec /usr/bin/time -a -f %%M -o "$MODULE_RSS_FILE" %s "$@"\n' % sys.executable)
    wrapper.chmod(0o755)
    return wrapper


def run_task(lab, workdir, csv_path, label, batch_size, cleanup):
    """One ansible-playbook run of autopilot_device on csv_path: (module result, task seconds, peak RSS KB)."""
    return run_module_task(lab, workdir, label, "autopilot_device", dict(
        csv_files=[str(csv_path)], state="present", sync=True, batch_size=batch_size, cleanup=cleanup))


def run_module_task(lab, workdir, label, module, options):
    """One ansible-playbook run of a task of intune.autopilot.<module>: (module result, task seconds, peak RSS KB)."""
    result_file = Path(workdir, "result-%s.json" % label)
    times_file = Path(workdir, "times-%s.jsonl" % label)
    rss_file = Path(workdir, "rss-%s" % label)
    for stale in (result_file, times_file, rss_file):
        stale.unlink(missing_ok=True)
    task = dict(auth_options(lab), **options)
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "import", "intune.autopilot.%s" % module: task, "register": "imported", "ignore_errors": True},
        {"name": "keep the result", "ansible.builtin.copy": {"content": "{{ imported | to_json }}",
                                                             "dest": str(result_file)}},
    ]}]
    playbook = Path(workdir, "%s.yml" % label)
    playbook.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_CALLBACK_PLUGINS=str(REPO / "bench" / "callback_plugins"), ANSIBLE_CALLBACKS_ENABLED="task_timer",
               TASK_TIMES_FILE=str(times_file), MODULE_RSS_FILE=str(rss_file),
               ANSIBLE_PYTHON_INTERPRETER=str(measuring_interpreter(workdir)))
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), str(playbook), "-i", "localhost,"],
        env=env, capture_output=True, text=True, check=False, cwd=str(REPO), timeout=PLAYBOOK_TIMEOUT)
    if completed.returncode or not result_file.exists():
        sys.exit("ansible-playbook (%s) failed:\n%s\n%s" % (label, completed.stdout[-4000:], completed.stderr[-2000:]))
    seconds = next(json.loads(line)["seconds"] for line in times_file.read_text().splitlines()
                   if json.loads(line)["task"] == "import")
    # The first module process is the task's; the copy task's come after it.
    return json.loads(result_file.read_text()), seconds, int(rss_file.read_text().split()[0])


def measure(lab, workdir, csv_path, devices, label, batch_size=DEFAULT_BATCH, cleanup="none"):
    """Run the task once with the lab's log cleared; what it cost Graph, how long it took, its memory."""
    lab.client.clear_log()
    result, seconds, rss_kb = run_task(lab, workdir, csv_path, label, batch_size, cleanup)
    log = lab.client.requests()
    throttled = lab.client.counts()["throttled"]
    writes = [entry for entry in log if entry["method"] in WRITE_METHODS]
    admitted_writes = [entry for entry in writes if entry["throttle"] is None]
    admitted = [entry for entry in log if entry["throttle"] is None]
    window = lab.client.config()["throttle_window"]
    floor = max(len(admitted_writes) / APP_WRITES, len(admitted) / APP_REQUESTS) * window
    return {"label": label, "devices": devices, "result": result, "seconds": seconds, "rss_kb": rss_kb,
            "requests": len(log), "writes": len(writes), "throttled": throttled, "floor": floor,
            "reads": len(log) - len(writes)}


def readiness_budget(devices):
    """Issue 23's target for one readiness check: three paged listings of 999 and a dozen requests besides."""
    return 3 * -(-devices // 999) + 12


def measure_readiness(lab, workdir, csv_path, devices):
    """Step 10's read of the imported devices (autopilot_device_info on the same CSV), once steps 5 and 7 made the
    device group and the hybrid profile assigned to it as the role makes them: requests, wall time, module RSS."""
    for label, module, options in (("group", "device_group", dict(display_name=READINESS_GROUP, membership={"all_autopilot_devices": True})),
                                   ("profile", "autopilot_profile", dict(display_name=READINESS_PROFILE,
                                                                         assignments={"set": [{"group": READINESS_GROUP}]}))):
        made = run_module_task(lab, workdir, label, module, options)[0]
        if made.get("failed"):
            sys.exit("%s for the readiness read failed: %s" % (module, made.get("msg")))
    lab.client.clear_log()
    result, seconds, rss_kb = run_module_task(lab, workdir, "readiness", "autopilot_device_info", dict(
        csv_files=[str(csv_path)], device_group=READINESS_GROUP, profile=READINESS_PROFILE))
    if result.get("failed"):
        sys.exit("the readiness read failed: %s" % result.get("msg"))
    log = lab.client.requests()
    return {"devices": devices, "seconds": seconds, "rss_kb": rss_kb, "requests": sum(1 for entry in log if not entry.get("batch")),
            "in_batches": sum(1 for entry in log if entry.get("batch")), "writes": len([e for e in log if e["method"] in WRITE_METHODS]),
            "summary": result["summary"]}


def fresh_lab(lab, budgets):
    lab.client.reset()   # back to the start flags: budgets on, the scaled window
    lab.client.config(delay_scale=0, throttle_budgets=budgets)


def check_result(run, expect_changed):
    result = run["result"]
    counts = result.get("counts") or {}
    problems = []
    if result.get("failed"):
        problems.append("the task failed: %s" % result.get("msg"))
    if bool(result.get("changed")) != expect_changed:
        problems.append("changed=%s" % result.get("changed"))
    expected = "imported" if expect_changed else "unchanged"
    if counts.get(expected) != run["devices"]:
        problems.append("counts %s (expected %d %s)" % (counts, run["devices"], expected))
    return problems


def verdict(ok):
    return "PASS" if ok else "FAIL"


def run_bench(devices, window):
    """Memory at N/10 and N devices (budgets off, one batch size for both, so the batch in flight weighs the
    same), then the import of N with the budgets on (the module's default batch size) and its no-op re-run."""
    small = devices // 10
    memory_batch = min(DEFAULT_BATCH, small)
    began = time.perf_counter()
    with running_lab(throttle_budgets=True, throttle_window=window) as lab, tempfile.TemporaryDirectory() as workdir:
        csv_paths, inputs, runs = {}, {}, {}
        for count in (small, devices):
            csv_paths[count] = Path(workdir, "devices-%d.csv" % count)
            inputs[count] = write_csv(csv_paths[count], count, seed=count)
        for label, count in (("mem-small", small), ("mem-N", devices)):
            fresh_lab(lab, budgets=False)
            runs[label] = measure(lab, workdir, csv_paths[count], count, label, batch_size=memory_batch)
        fresh_lab(lab, budgets=True)
        runs["import"] = measure(lab, workdir, csv_paths[devices], devices, "import", cleanup="all")
        runs["noop"] = measure(lab, workdir, csv_paths[devices], devices, "noop")
        fresh_lab(lab, budgets=True)
        runs["import-keep"] = measure(lab, workdir, csv_paths[devices], devices, "import-keep")
        readiness = measure_readiness(lab, workdir, csv_paths[devices], devices)
    problems = {label: check_result(run, expect_changed=label != "noop") for label, run in runs.items()}
    return runs, readiness, inputs, memory_batch, problems, time.perf_counter() - began


def report(devices, window, runs, readiness, inputs, memory_batch, problems, total):
    print("autopilot_device import bench: N = %d devices, throttle window %.3g s (Intune's: 20 s), lab pipeline "
          "delays x0; budgets per app %d writes / %d requests per window" % (devices, window, APP_WRITES, APP_REQUESTS))
    print("%-11s %7s %8s %7s %7s %5s %11s %9s %9s %7s %10s %11s"
          % ("run", "devices", "requests", "writes", "reads", "429s", "req/device", "wr/device", "wall s",
             "floor s", "wall/floor", "module RSS"))
    for run in runs.values():
        budgeted = run["label"] in ("import", "noop", "import-keep")
        print("%-11s %7d %8d %7d %7d %5d %11.4f %9.4f %9.1f %7s %10s %8.1f MB"
              % (run["label"], run["devices"], run["requests"], run["writes"], run["reads"], run["throttled"],
                 run["requests"] / run["devices"], run["writes"] / run["devices"], run["seconds"],
                 "%.1f" % run["floor"] if budgeted else "off", "%.2f" % (run["seconds"] / run["floor"])
                 if run["label"] == "import" else "", run["rss_kb"] / 1024))
    for label, found in problems.items():
        for problem in found:
            print("  %s run: %s" % (label, problem))
    imported, noop, small, large = runs["import"], runs["noop"], runs["mem-small"], runs["mem-N"]
    kept = runs["import-keep"]
    keep_bound = KEEP_ROWS_SECONDS_AT_INTUNE_WINDOW * window / INTUNE_WINDOW
    rss_growth = large["rss_kb"] - small["rss_kb"]
    input_growth = (inputs[large["devices"]] - inputs[small["devices"]]) / 1024
    memory_bound = input_growth * MEMORY_INPUT_FACTOR + MEMORY_SLACK_KB
    print("(mem-* runs: budgets off, batch_size %d in both; their wall time is the module's and the lab's own pace)"
          % memory_batch)
    print("memory: module peak RSS %.1f MB at %d devices, %.1f MB at %d; grew %.1f MB for %.1f MB more input "
          "(CSV: %.1f MB at N)" % (small["rss_kb"] / 1024, small["devices"], large["rss_kb"] / 1024, large["devices"],
                                   rss_growth / 1024, input_growth / 1024, inputs[large["devices"]] / 1024 / 1024))
    checks = [
        ("every run did what it should (imported all, then nothing to do)", not any(problems.values()),
         "; ".join("%s: %s" % (k, ", ".join(v)) for k, v in problems.items() if v) or "yes"),
        ("import <= %.2f requests per device" % MAX_IMPORT_REQUESTS_PER_DEVICE,
         imported["requests"] / imported["devices"] <= MAX_IMPORT_REQUESTS_PER_DEVICE,
         "%.4f" % (imported["requests"] / imported["devices"])),
        ("import wall time <= %.1fx the budget floor" % MAX_FLOOR_RATIO,
         imported["seconds"] <= MAX_FLOOR_RATIO * imported["floor"],
         "%.1f s against %.1f s (%.2fx)" % (imported["seconds"], imported["floor"], imported["seconds"] / imported["floor"])),
        ("import with cleanup none within %.0f s (%d min at Intune's %d s window)"
         % (keep_bound, KEEP_ROWS_SECONDS_AT_INTUNE_WINDOW // 60, INTUNE_WINDOW), kept["seconds"] <= keep_bound,
         "%.1f s, %d writes" % (kept["seconds"], kept["writes"])),
        ("no-op re-run <= %.2f requests per device" % MAX_NOOP_REQUESTS_PER_DEVICE,
         noop["requests"] / noop["devices"] <= MAX_NOOP_REQUESTS_PER_DEVICE,
         "%.4f (%d requests)" % (noop["requests"] / noop["devices"], noop["requests"])),
        ("no-op re-run writes nothing", noop["writes"] == 0, "%d writes" % noop["writes"]),
        ("module memory flat beyond the input (growth <= %.2fx input growth + %d MB)"
         % (MEMORY_INPUT_FACTOR, MEMORY_SLACK_KB // 1024), rss_growth <= memory_bound,
         "%.1f MB against %.1f MB" % (rss_growth / 1024, memory_bound / 1024)),
    ]
    summary = readiness["summary"]
    print("readiness read (autopilot_device_info, step 10) of the %d devices: %d requests (+%d inside $batch), %d writes, "
          "%.1f s, module peak RSS %.1f MB; %d of %d ready" % (readiness["devices"], readiness["requests"], readiness["in_batches"],
                                                             readiness["writes"], readiness["seconds"], readiness["rss_kb"] / 1024,
                                                             summary["ready"], summary["total"]))
    checks.append(("readiness read <= 3 x ceil(N/999) + 12 requests, no writes",
                   readiness["requests"] <= readiness_budget(devices) and not readiness["writes"],
                   "%d requests against %d, %d writes" % (readiness["requests"], readiness_budget(devices), readiness["writes"])))
    print("\nTargets (issues #11, #23):")
    for name, ok, value in checks:
        print("  %s  %-70s measured %s" % (verdict(ok), name, value))
    print("\ntotal %.0f s" % total)
    return all(ok for _name, ok, _value in checks)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10000, help="devices to import (N); N/10 more for the memory comparison")
    parser.add_argument("--window", type=float, default=5.0, help="the lab's throttle window in seconds (Intune's: 20)")
    args = parser.parse_args()
    if args.devices < 10:
        parser.error("--devices must be at least 10 (the memory comparison imports N/10)")
    runs, readiness, inputs, memory_batch, problems, total = run_bench(args.devices, args.window)
    sys.exit(0 if report(args.devices, args.window, runs, readiness, inputs, memory_batch, problems, total) else 1)


if __name__ == "__main__":
    main()
