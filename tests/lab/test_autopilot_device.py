# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autopilot_device against the Graph lab: the import state machine to its end, its errors and faults,
the sync's 409 and 429, updates of registered devices, absent, and re-runs that write nothing. Every
claim about what was sent is read from the lab's request log."""

from __future__ import annotations

import base64
import json

import pytest

from module_runner import graph_auth, run_module, writes

STAGING = "/beta/deviceManagement/importedWindowsAutopilotDeviceIdentities"
IDENTITIES = "/beta/deviceManagement/windowsAutopilotDeviceIdentities"
SYNC = "/beta/deviceManagement/windowsAutopilotSettings/sync"
HEADER = "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User"
USER = "adele.vance@lab.example"


def hardware_hash(serial):
    """A base64 value as long as the lab wants a hash to be (100 bytes or more), one per serial."""
    return base64.b64encode(("hash of %s " % serial).encode() * 8).decode()


def device(serial, **fields):
    return dict(serial_number=serial, hardware_hash=hardware_hash(serial), **fields)


def run(lab, check=False, diff=False, **args):
    return run_module("autopilot_device", dict(graph_auth(lab), **args), check=check, diff=diff)


def graph_writes(lab):
    return [(entry["method"], entry["path"]) for entry in writes(lab.client.requests())]


def identities(lab):
    return {identity["serialNumber"]: identity for identity in lab.client.state().get("windowsAutopilotDeviceIdentities", [])}


def staging(lab):
    return lab.client.state().get("importedWindowsAutopilotDeviceIdentities", [])


def seed_identity(lab, serial, **fields):
    lab.client.seed({"windowsAutopilotDeviceIdentities": [dict(serialNumber=serial, **fields)]})


@pytest.fixture
def frozen(lab):
    """The lab's clock stands still but for the module's own waits, so its delays are exact."""
    lab.client.advance_clock(0, freeze=True)
    return lab


def test_import_follows_each_batch_deletes_its_rows_and_syncs_once(frozen):
    lab = frozen
    devices = [device("LAB-%04d" % n, group_tag="Pilot") for n in range(5)]

    result = run(lab, devices=devices, batch_size=2)

    assert result["changed"] and not result["failed"], result
    assert result["counts"] == dict(imported=5, updated=0, unchanged=0, deleted=0, skipped=0, failed=0)
    assert result["sync"]["status"] == "completed"
    sent = graph_writes(lab)
    imports = [entry for entry in sent if entry == ("POST", STAGING + "/import")]
    deletes = [entry for entry in sent if entry[0] == "DELETE"]
    assert len(imports) == 3 and len(deletes) == 5 and sent.count(("POST", SYNC)) == 1
    assert sent[-1] == ("POST", SYNC) and len(sent) == 9
    # Each batch is finished (its rows deleted) before the next is sent.
    assert [method for method, _path in sent[:-1]] == ["POST", "DELETE", "DELETE", "POST", "DELETE", "DELETE", "POST", "DELETE"]
    assert staging(lab) == []
    registered = identities(lab)
    assert sorted(registered) == ["LAB-%04d" % n for n in range(5)]
    assert {identity["groupTag"] for identity in registered.values()} == {"Pilot"}
    assert result["progress"][0] == "Batch 1 of 3: 2 devices sent"

    lab.client.clear_log()
    again = run(lab, devices=devices, batch_size=2)
    assert not again["changed"] and again["counts"]["unchanged"] == 5, again
    assert graph_writes(lab) == []
    # Two listings (identities, staging rows), one page each.
    assert len(lab.client.requests()) == 2
