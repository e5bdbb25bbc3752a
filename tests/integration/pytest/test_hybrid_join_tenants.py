# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/hybrid_join_tenants.yml against five tenants of one Graph lab, five forks at once: each tenant's
objects, requests and token stay its own, each gets its report, the summary lists them all, and a tenant that
fails fails alone. All five sign in with one multi-tenant app (the same client id and secret), so only the
tenant id tells their tokens and cached group ids apart. The runs leave out the preflight (--skip-tags), which only
reads, through the same token cache as the steps, but for the case about a preflight that refuses: five tenants make
each task of a run cost five."""

from __future__ import annotations

import json
import re

import pytest

from harness import REPO, graph_auth, run_playbook, writes

PLAYBOOK = REPO / "playbooks" / "hybrid_join_tenants.yml"
NAMES = ["t1", "t2", "t3", "t4", "t5"]
READS_ONLY = ("--skip-tags", "preflight")


@pytest.fixture(scope="module")
def tenants_lab():
    from lab.graph.testing import running_lab  # pylint: disable=import-outside-toplevel

    with running_lab(tenants=len(NAMES)) as lab:
        yield lab


@pytest.fixture
def tenants(tenants_lab):
    """{inventory name: (tenant id, domain, LabClient of that tenant)}, every tenant reset to its seed."""
    domains = {t["id"]: t["domain"] for t in tenants_lab.client.tenants()}
    found = {}
    for name, tenant_id in zip(NAMES, tenants_lab.tenants):
        client = tenants_lab.client_for(tenant_id)
        client.reset()
        found[name] = (tenant_id, domains[tenant_id], client)
    return found


def device_group(name):
    return "Autopilot-HAADJ-" + name


def inventory(lab, tenants, tmp_path):
    """An inventory as playbooks/inventories/tenants.example.yml lays it out (JSON is YAML)."""
    hosts = {}
    for name, (tenant_id, domain, _client) in tenants.items():
        dc = ",".join("DC=" + part for part in domain.split("."))
        hosts[name] = dict(hybrid_join_graph_auth=dict(graph_auth(lab), tenant_id=tenant_id), hybrid_join_domain_name=domain,
                           hybrid_join_domain_join_ou="OU=Autopilot," + dc, hybrid_join_device_group=device_group(name))
    path = tmp_path / "tenants.yml"
    path.write_text(json.dumps({"tenants": {"vars": {"ansible_connection": "local"}, "hosts": hosts}}))
    return path


def run(lab, tenants, tmp_path, reports, *extra_args):
    _results, completed = run_playbook(PLAYBOOK, extra_args=["-i", str(inventory(lab, tenants, tmp_path)), "-f", "5",
                                                             "-e", "hybrid_join_tenants_report_dir=%s" % reports, *extra_args])
    return completed


def recap(completed):
    """{host: {"ok": n, "changed": n, "failed": n, ...}} from the PLAY RECAP."""
    rows = re.findall(r"^(\S+)\s+: (.*)$", completed.stdout.split("PLAY RECAP")[-1], re.MULTILINE)
    return {host: {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counts)} for host, counts in rows}


def summary_rows(reports, name="summary"):
    """{tenant: [cells]} of the Markdown summary's table."""
    lines = (reports / (name + ".md")).read_text().splitlines()
    cells = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines if line.startswith("| t")]
    return {row[0]: row for row in cells}


def test_five_tenants_at_once_keep_to_their_own_a_second_run_changes_nothing_and_a_failing_tenant_fails_alone(tenants_lab, tenants, tmp_path):
    reports = tmp_path / "reports"
    completed = run(tenants_lab, tenants, tmp_path, reports, *READS_ONLY)

    assert completed.returncode == 0, completed.stdout[-3000:]
    counts = recap(completed)
    assert all(counts[name]["failed"] == 0 and counts[name]["changed"] > 0 for name in NAMES), counts
    for name, (tenant_id, domain, client) in tenants.items():
        state = client.state()
        own_groups = [g for g in state["groups"] if g["displayName"].startswith("Autopilot-HAADJ-")]
        # Its group only, never another tenant's: each tenant's requests reached its own state.
        assert [g["displayName"] for g in own_groups] == [device_group(name)], (name, own_groups)
        (profile,) = state["windowsAutopilotDeploymentProfiles"]
        # Steps 6-8 assign to the id step 5 cached: this tenant's group, not one cached for another tenant.
        assert [a["target"]["groupId"] for a in profile["assignments"]] == [own_groups[0]["id"]], name
        (join_profile,) = [c for c in state["deviceConfigurations"] if c.get("activeDirectoryDomainName")]
        assert join_profile["activeDirectoryDomainName"] == domain
        log = client.requests()
        # Every request this tenant received came with its token (the lab files a request under its token's tenant),
        # and only one group was created in it: its own.
        created = [e["body"]["displayName"] for e in log if e["method"] == "POST" and e["path"] == "/v1.0/groups"]
        assert created == [device_group(name)], (name, created)
        assert client.counts()["token"] == 1, name
        report = reports / name / ("hybrid_join_%s.md" % name)
        assert tenant_id in report.read_text() and (reports / name / ("hybrid_join_%s.html" % name)).is_file()
        assert not [other for other, (other_id, _d, _c) in tenants.items() if other != name and other_id in report.read_text()]
    rows = summary_rows(reports)
    assert sorted(rows) == NAMES and {row[2] for row in rows.values()} == {"changed"}, rows
    assert all(rows[name][1] == tenants[name][0] and rows[name][3] == "5, 6, 7, 8" for name in NAMES), rows
    html = (reports / "summary.html").read_text()
    assert all('href="%s/hybrid_join_%s.html"' % (name, name) in html for name in NAMES)
    assert "client_secret" not in html and tenants_lab.apps["lab-admin"]["secret"] not in html

    # The second run, with one tenant whose Graph now refuses a read: the others change nothing and write nothing,
    # the refused one fails at that step (no write either) and the summary says so; nobody waits for it.
    for _tenant_id, _domain, client in tenants.values():
        client.clear_log()
    tenants["t3"][2].fault("status", method="GET", path="domainJoinConnectors", status=403, count=100)
    completed = run(tenants_lab, tenants, tmp_path, reports, *READS_ONLY)

    assert completed.returncode != 0
    counts = recap(completed)
    assert counts["t3"]["failed"] == 1, counts
    assert all(counts[name]["failed"] == 0 and counts[name]["changed"] == 0 for name in NAMES if name != "t3"), counts
    for name, (_tenant_id, _domain, client) in tenants.items():
        assert writes(client.requests()) == [], name
        assert client.counts()["token"] == 1, name
    rows = summary_rows(reports)
    assert sorted(rows) == NAMES, rows
    assert rows["t3"][2] == "failed" and rows["t3"][5].startswith("step 2 ("), rows["t3"]
    assert all(rows[name][2] == "no change" and rows[name][5] == "" for name in NAMES if name != "t3"), rows
    assert "The run failed at step 2" in (reports / "t3" / "hybrid_join_t3.md").read_text()  # its report, written anyway
    html = (reports / "summary.html").read_text()
    assert html.count('<tr class="failed">') == 1 and html.count('<tr class="no-change">') == 4


def test_the_summary_is_written_when_every_tenant_of_the_run_failed_before_step_1(tenants_lab, tenants, tmp_path):
    reports = tmp_path / "reports"
    # --limit: one tenant in this run, and its preflight checks refuse the OU, so no tenant is left to write from.
    completed = run(tenants_lab, tenants, tmp_path, reports, "--limit", "t2", "-e", "hybrid_join_domain_join_ou=CN=Computers,DC=x")

    assert completed.returncode != 0 and recap(completed)["t2"]["failed"] == 1, completed.stdout[-3000:]
    rows = summary_rows(reports)
    assert sorted(rows) == ["t2"], rows
    assert rows["t2"][2] == "failed" and rows["t2"][5].startswith("before step 1: Preflight") and "CN=Computers" in rows["t2"][5], rows
    assert all(writes(client.requests()) == [] for _tenant_id, _domain, client in tenants.values())


def test_two_awx_job_slices_each_write_the_summary_of_their_tenants_named_by_their_job(tenants_lab, tenants, tmp_path):
    """AWX job slicing (job_slice_count: 2) runs one job per slice, each with its own awx_job_id and its part
    of the inventory; here, as there, into one shared report directory, each with --limit to its tenants (and
    step 5 only: the summary is what is tested, and it is written whatever the tags)."""
    reports = tmp_path / "reports"
    slices = {"101": ["t1", "t3", "t5"], "102": ["t2", "t4"]}
    for job_id, names in slices.items():
        completed = run(tenants_lab, tenants, tmp_path, reports, "--limit", ",".join(names), "--tags", "step5", *READS_ONLY,
                        "-e", "awx_job_id=" + job_id)
        assert completed.returncode == 0, completed.stdout[-3000:]
        assert sorted(recap(completed)) == names

    assert sorted(path.name for path in reports.glob("summary*")) == [
        "summary-job101.html", "summary-job101.md", "summary-job102.html", "summary-job102.md"]
    for job_id, names in slices.items():
        rows = summary_rows(reports, "summary-job" + job_id)
        assert sorted(rows) == names and {(row[2], row[3]) for row in rows.values()} == {("changed", "5")}, (job_id, rows)
    # Read together, the slices' summaries cover every tenant once.
    together = [row for job_id in slices for row in summary_rows(reports, "summary-job" + job_id)]
    assert sorted(together) == NAMES
