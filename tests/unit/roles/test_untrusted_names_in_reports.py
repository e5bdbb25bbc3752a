# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an inventory or a tenant can put in the reports and their paths: a host name is a file name and a
relative link only (no .., no javascript:), Markdown shows HTML as text, a looped task's failure keeps its first
item's message, and the tenants playbook names two hosts on one tenant. The templates are rendered with Jinja2
and Ansible's filters, the role's variables with Ansible's Templar: no playbook runs (the playbook's refusal as it
runs: tests/integration/pytest/test_tenants_run_safety.py)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.filter.core import FilterModule
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 (the 2.16 floor) templates every string it is given: nothing to mark
    def trust_as_template(value):
        return value

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "hybrid_join"
PLAYBOOKS = REPO / "playbooks"
HOSTILE = ["../../etc/cron.d/x", "..", ".hidden", "javascript:alert(1)//", "a/b", "<img src=x onerror=alert(1)>", "contoso"]
# An HTML tag or comment opening in text meant to be shown as it is.
RAW_HTML = re.compile(r"<[A-Za-z/!]")


def environment(folder):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined)
    # Ansible's filters that Jinja2 lacks (regex_replace); Jinja2's own (default) behave as Ansible's here.
    env.filters.update({name: function for name, function in FilterModule().filters().items() if name not in env.filters})
    env.globals["now"] = lambda utc=False: datetime.datetime(2026, 12, 7, 4, 0)
    return env


def role_variable(name, **variables):
    """A variable of the role's vars/main.yml as Ansible templates it."""
    role_vars = {key: trust_as_template(value) if isinstance(value, str) else value
                 for key, value in yaml.safe_load((ROLE / "vars" / "main.yml").read_text()).items()}
    return Templar(loader=DataLoader(), variables=dict(role_vars, **variables)).template(trust_as_template("{{ %s }}" % name))


def tenants_macros(**context):
    return environment(PLAYBOOKS / "templates").get_template("hybrid_join_tenants_macros.j2").make_module(context)


@pytest.mark.parametrize("host", HOSTILE)
def test_a_host_name_makes_one_file_name_in_the_directory(host):
    name = role_variable("hybrid_join_report_name", inventory_hostname=host)
    assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", name), name
    # The tenants summary links to the directory the playbook gave the role under the same name.
    macros = tenants_macros(hostvars={host: {}})
    assert macros.file_name(host) == name
    assert macros.report_link(host) == "%s/hybrid_join_%s.html" % (name, name)


def test_the_role_and_the_tenants_playbook_write_under_the_safe_name():
    report = yaml.safe_load((ROLE / "tasks" / "report.yml").read_text())[0]
    assert report["vars"]["hybrid_join_report_path"] == "{{ hybrid_join_report_dir }}/hybrid_join_{{ hybrid_join_report_name }}"
    play = yaml.safe_load((PLAYBOOKS / "hybrid_join_tenants.yml").read_text())[0]
    role = next(task for task in play["tasks"] if "block" in task and "rescue" in task)
    assert "'/' ~ hybrid_join_report_name" in role["block"][0]["vars"]["hybrid_join_report_dir"]


def summary(template, hosts):
    context = dict(hostvars=hosts, hybrid_join_tenants_in_run=list(hosts), ansible_check_mode=False)
    return environment(PLAYBOOKS / "templates").get_template(template).render(context)


HOSTS = {
    "javascript:alert(1)//": {"hybrid_join_graph_auth": {"tenant_id": "t1"}},
    "<img src=x onerror=alert(1)>": {"hybrid_join_graph_auth": {"tenant_id": "<b>t2</b>"},
                                     "hybrid_join_tenants_failure": "<script>alert(2)</script> | AADSTS700016"},
}


def test_the_summary_links_only_to_relative_files():
    html = summary("hybrid_join_tenants_summary.html.j2", HOSTS)
    links = re.findall(r'href="([^"]*)"', html)
    assert links == ["javascript_alert_1___/hybrid_join_javascript_alert_1___.html"]
    assert "<script>" not in html and "<img" not in html


def test_markdown_summary_shows_html_as_text():
    markdown = summary("hybrid_join_tenants_summary.md.j2", HOSTS)
    assert not RAW_HTML.search(markdown), markdown
    assert "&lt;script&gt;alert(2)&lt;/script&gt; \\| AADSTS700016" in markdown


@pytest.mark.parametrize("teardown", [False, True])
def test_markdown_report_shows_html_as_text(teardown):
    tag = "<img src=x onerror=alert(1)>"
    steps = [dict(number=number, title="Step %d" % number, result=None, skip_reason="", details=[]) for number in range(1, 11)]
    steps[3]["result"] = dict(changed=True)
    steps[3]["details"] = [["Imported", tag]]
    context = dict(
        inventory_hostname=tag, hybrid_join_report_tenant=tag, ansible_check_mode=False, ansible_run_tags=["all"], ansible_skip_tags=[],
        hybrid_join_report_failure=dict(step=5, task=tag, msg=tag), hybrid_join_report_steps=steps,
        hybrid_join_report_checks=[dict(name=tag, passed=False, reason=tag)],
        hybrid_join_report_sync=dict(request="accepted", status="completed", found=1, missing=0, msg=tag),
        hybrid_join_report_devices=[dict(serial_number=tag, verdict=tag, ready=False,
                                         chain=[dict(link="device", ok=False, state="missing", reason=tag, fix_step=4)])],
        hybrid_join_readiness=dict(summary=dict(ready=0, total=1, enrolled=0)),
        # hybrid_join_state: absent - the teardown's rows replace the steps' sections; names come from the variables.
        hybrid_join_report_teardown=[[8, "domain join profile", tag, dict(changed=True), ""], [5, "device group", tag, None, tag]]
        if teardown else [])
    markdown = environment(ROLE / "templates").get_template("report.md.j2").render(context)
    assert not RAW_HTML.search(markdown), markdown
    assert markdown.count("&lt;img src=x onerror=alert(1)&gt;") >= (5 if teardown else 8)
    assert ("## Teardown" in markdown) is teardown and ("| 8 | domain join profile | &lt;img" in markdown) is teardown


@pytest.mark.parametrize("failed_result, message", [
    # The preflight's first read loops over three kinds: a sign-in failure fails each item.
    (dict(msg="One or more items failed", results=[dict(failed=False, msg="ok"), dict(failed=True, msg="AADSTS7000215: Invalid client secret"),
                                                   dict(failed=True, msg="AADSTS7000215 again")]), "AADSTS7000215: Invalid client secret"),
    (dict(msg="One or more items failed", results=[dict(failed=True)]), "an item failed without a message"),
    (dict(msg="Step 5 failed"), "Step 5 failed"),
    (dict(msg=["Preflight: nothing was written", "a problem"]), ["Preflight: nothing was written", "a problem"]),
    (dict(failed=True), "the task failed without a message"),
])
def test_a_looped_tasks_failure_keeps_its_first_items_message(failed_result, message):
    assert role_variable("hybrid_join_failed_task_msg", ansible_failed_result=failed_result) == message


def test_both_rescues_note_that_message():
    main = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    steps = next(task for task in main if "rescue" in task)
    assert steps["rescue"][0]["ansible.builtin.set_fact"]["hybrid_join_failure"]["msg"] == "{{ hybrid_join_failed_task_msg }}"
    play = yaml.safe_load((PLAYBOOKS / "hybrid_join_tenants.yml").read_text())[0]
    role = next(task for task in play["tasks"] if "rescue" in task)
    assert role["rescue"][0]["ansible.builtin.set_fact"]["hybrid_join_tenants_failure"] == "{{ hybrid_join_failed_task_msg }}"


def clashes(host, hosts):
    context = dict(hostvars=hosts, inventory_hostname=host, ansible_play_hosts_all=list(hosts))
    text = environment(PLAYBOOKS / "templates").get_template("hybrid_join_tenants_clashes.j2").render(context)
    return [line for line in text.splitlines() if line]


def auth(tenant_id=None):
    return {"hybrid_join_graph_auth": {"tenant_id": tenant_id} if tenant_id is not None else {}}


def test_two_hosts_on_one_tenant_are_each_named_with_the_tenant():
    hosts = {"contoso": auth("0000-C0DE"), "fabrikam": auth("fabrikam.onmicrosoft.com"), "contoso-again": auth(" 0000-c0de")}
    (line,) = clashes("contoso", hosts)
    assert "contoso and contoso-again both name the tenant 0000-c0de" in line and "duplicate" in line
    (line,) = clashes("contoso-again", hosts)
    assert "contoso-again and contoso both name the tenant 0000-c0de" in line
    assert clashes("fabrikam", hosts) == []


def test_two_hosts_without_a_tenant_id_share_the_environments_tenant():
    (line,) = clashes("a", {"a": auth(), "b": {}})
    assert "a and b both name the tenant (no tenant_id" in line


def test_two_host_names_making_one_report_directory_are_named():
    (line,) = clashes("a:b", {"a:b": auth("t1"), "a_b": auth("t2")})
    assert "a:b and a_b make the same report directory name, a_b" in line
