"""lab/run.py (python -m lab): the recap check behind `make lab`, fed by real ansible-playbook runs."""

import json
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from lab import run as run_against_lab
from lab.graph.resources.timeline import DELAYS
from lab.graph.testing import running_lab

CHECKOUT_ROOT = Path(__file__).resolve().parents[2]

# One task that always reports changed and one that never does; `flip` turns the first off.
PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Pretend to write
      ansible.builtin.debug:
        msg: write
      changed_when: not (flip | default(false) | bool)
    - name: Only read
      ansible.builtin.debug:
        msg: read
"""


@pytest.fixture(name="playbook_run")
def fixture_playbook_run(tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)

    def run(on_task=None, **extra_vars):
        extra_vars_file = tmp_path / "vars.json"
        extra_vars_file.write_text(json.dumps(dict(extra_vars, ansible_python_interpreter=sys.executable)))
        return run_against_lab.run_playbook(str(playbook), extra_vars_file, on_task)

    return run


def test_a_run_that_changes_something_fails_the_check_and_names_the_task(playbook_run):
    output = playbook_run()

    assert run_against_lab.parse_recap(output)["localhost"]["changed"] == 1
    with pytest.raises(run_against_lab.LabError) as raised:
        run_against_lab.check_idempotent(output)
    assert "Pretend to write [localhost]" in str(raised.value)
    assert "Only read" not in str(raised.value)


def test_a_run_that_changes_nothing_passes_the_check(playbook_run):
    output = playbook_run(flip=True)

    assert run_against_lab.parse_recap(output)["localhost"] == {
        "ok": 2, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 0, "rescued": 0, "ignored": 0,
    }
    run_against_lab.check_idempotent(output)


def test_a_failing_playbook_raises_with_its_exit_code(tmp_path):
    playbook = tmp_path / "fail.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.fail:\n        msg: boom\n")
    extra_vars_file = tmp_path / "vars.json"
    extra_vars_file.write_text("{}")

    with pytest.raises(run_against_lab.LabError, match=r"failed \(exit 2\)"):
        run_against_lab.run_playbook(str(playbook), extra_vars_file)


def test_output_without_a_recap_cannot_pass_as_idempotent():
    with pytest.raises(run_against_lab.LabError, match="No PLAY RECAP"):
        run_against_lab.check_idempotent("ERROR! the playbook could not be found\n")


def test_extra_vars_point_graph_at_the_lab_and_log_in_to_ad_as_the_ou_delegate():
    graph = {"url": "https://127.0.0.1:4443", "ca": "/tmp/lab/ca.pem", "tenant": "tenant-from-lab"}
    ad = {"host": "localhost", "ldaps_port": 636, "admin_dn": "CN=Administrator,CN=Users,DC=autopilot,DC=test",
          "admin_password": "admin-pw", "ca_path": "/tmp/ad/ca.pem", "autopilot_ou": "OU=Autopilot,DC=autopilot,DC=test",
          "realm": "AUTOPILOT.TEST",
          "delegate_user": {"dn": "CN=ou-delegator,CN=Users,DC=autopilot,DC=test", "password": "delegate-pw"}}

    extra_vars = run_against_lab.playbook_extra_vars(graph, ad)

    assert extra_vars["hybrid_join_graph_auth"] == {
        "tenant_id": "tenant-from-lab", "client_id": run_against_lab.LAB_CLIENT_ID,
        "client_secret": run_against_lab.LAB_CLIENT_SECRET, "graph_endpoint": "https://127.0.0.1:4443",
        "authority_host": "https://127.0.0.1:4443", "ca_path": "/tmp/lab/ca.pem",
    }
    assert extra_vars["hybrid_join_ldap_server"] == "localhost"
    assert extra_vars["hybrid_join_ldap_username"] == "CN=ou-delegator,CN=Users,DC=autopilot,DC=test"
    assert extra_vars["hybrid_join_ldap_password"] == "delegate-pw"
    assert extra_vars["hybrid_join_ldap_port"] == 636
    assert extra_vars["hybrid_join_ldap_ca_path"] == "/tmp/ad/ca.pem"
    assert extra_vars["hybrid_join_domain_name"] == "autopilot.test"
    assert extra_vars["hybrid_join_domain_join_ou"] == "OU=Autopilot,DC=autopilot,DC=test"
    # make lab's report outlives the labs' temporary directory and stays out of git.
    assert extra_vars["hybrid_join_report_dir"] == str(CHECKOUT_ROOT / "tests" / "output" / "lab-report")


def test_without_the_ad_lab_no_ldap_vars_are_passed_and_the_graph_steps_get_the_graph_labs_domain():
    extra_vars = run_against_lab.playbook_extra_vars({"url": "https://lab", "ca": "/ca.pem", "tenant": "t"}, None)

    assert not [name for name in extra_vars if name.startswith("hybrid_join_ldap_")]
    # The role requires a domain for step 8 even when step 3 is skipped.
    assert extra_vars["hybrid_join_domain_name"] == "lab.example"
    assert extra_vars["hybrid_join_domain_join_ou"] == "OU=Autopilot,DC=lab,DC=example"


@pytest.mark.parametrize("name", ["run", "playbook"])
def test_python_dash_m_lab_offers_both_commands(name):
    result = subprocess.run([sys.executable, "-m", "lab", name, "--help"], cwd=CHECKOUT_ROOT,
                            capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
    assert "usage: python -m lab" in result.stdout
    with_lab = subprocess.run([sys.executable, "-m", "lab", "with-lab", "--help"], cwd=CHECKOUT_ROOT,
                              capture_output=True, text=True, check=False)
    assert "--integration-config" in with_lab.stdout


def test_the_role_tasks_that_wait_on_intune_are_those_the_clock_is_moved_for():
    waits = run_against_lab.waiting_tasks()

    assert {"Register the Autopilot devices by hardware hash, then sync Autopilot", "Is each device ready to deploy?"} <= waits
    assert "Dynamic security group of the Autopilot devices, the assignment target of steps 6 to 8" not in waits
    assert "Assign users to registered Autopilot devices" not in waits   # step 9 waits on nothing


def test_each_task_is_named_to_the_caller_as_it_starts(playbook_run):
    started = []

    playbook_run(on_task=started.append)

    assert started == ["Pretend to write", "Only read"]


def test_the_clock_moves_to_each_due_stage_of_an_import_and_no_further():
    with running_lab() as lab:
        token = lab.client.mint_token(app=lab.apps["lab-admin"]["client_id"])
        graph = httpx.Client(base_url=lab.url, verify=ssl.create_default_context(cafile=lab.ca),
                             headers={"Authorization": "Bearer " + token}, timeout=30)
        rows = graph.post("/beta/deviceManagement/importedWindowsAutopilotDeviceIdentities/import", json={
            "importedWindowsAutopilotDeviceIdentities": [{"serialNumber": "CLOCK-1", "hardwareIdentifier": "AQ" * 300}]})
        (row,) = rows.json()["value"]
        advancer = run_against_lab.ClockAdvancer(lab.client)
        started = time.monotonic()

        advancer.step()   # to pending
        advancer.step()   # to processed
        advancer.step()   # nothing due: the clock stays

        state = graph.get("/beta/deviceManagement/importedWindowsAutopilotDeviceIdentities/" + row["id"]).json()["state"]
        assert state["deviceImportStatus"] == "complete"
        # The documented delay in lab time, not in real time.
        assert DELAYS["import_done"] - 1 <= advancer.advanced + (time.monotonic() - started) <= DELAYS["import_done"] + 1
        assert time.monotonic() - started < DELAYS["import_done"] / 10


def test_a_run_warned_that_the_collection_does_not_support_its_ansible_core_fails(tmp_path, monkeypatch):
    """make matrix runs the role on every ansible-core the collection declares: the warning that it does
    not (meta/runtime.yml's requires_ansible) fails the run, as it did on 2.16 before the floor moved."""
    collection = tmp_path / "ansible_collections" / "floor" / "check"
    (collection / "meta").mkdir(parents=True)
    (collection / "meta" / "runtime.yml").write_text('requires_ansible: ">=99.0"\n')
    (collection / "roles" / "noop" / "tasks").mkdir(parents=True)
    (collection / "roles" / "noop" / "tasks" / "main.yml").write_text("- ansible.builtin.debug:\n    msg: hi\n")
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  roles: [floor.check.noop]\n")
    extra_vars_file = tmp_path / "vars.json"
    extra_vars_file.write_text(json.dumps({"ansible_python_interpreter": sys.executable}))
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", str(tmp_path))

    with pytest.raises(run_against_lab.LabError, match="floor.check does not support Ansible version"):
        run_against_lab.run_playbook(str(playbook), extra_vars_file)
