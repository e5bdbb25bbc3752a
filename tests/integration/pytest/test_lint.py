# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-lint with this project's .ansible-lint reports wrong options of every module of the collection.

One ansible-lint run (it is slow) over a playbook of right and wrong tasks; each wrong task must be
reported on its line by the rule named, each right one not at all. The Graph modules have action
plugins, which ansible-lint's own args rule skips; .ansible-lint-rules/intune_args.py checks them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_LINT = Path(sys.executable).with_name("ansible-lint")

# (task, the rule that must report it or None); each task's `name` says what it shows.
CASES = [
    ({"name": "Graph module, misspelled option", "intune.autopilot.device_group": {"display_name": "G", "nmae": "G"}},
     "intune-args"),
    ({"name": "Graph module, misspelled option whose value is templated",
      "intune.autopilot.device_group": {"display_name": "G", "membership_rulle": "{{ rule }}"}}, "intune-args"),
    ({"name": "Graph module, value outside the choices",
      "intune.autopilot.autopilot_esp": {"display_name": "E", "state": "gone"}}, "intune-args"),
    ({"name": "Graph module, wrong type", "intune.autopilot.device_group": {"display_name": "G", "recreate": "maybe"}},
     "intune-args"),
    ({"name": "LDAP module without an action plugin, misspelled option",
      "intune.autopilot.ou_account_limit": {"server": ["dc01"], "ou": ["OU=A,DC=c,DC=com"], "princpal": "x"}}, "args"),
    ({"name": "Graph module, right options", "intune.autopilot.device_group": {"display_name": "G", "state": "absent"}},
     None),
    ({"name": "Graph module, templated scalar, list and dict",
      "intune.autopilot.connector_check": {"ldap": "{{ ldap }}", "report_only": "{{ only }}", "expected_servers": "{{ servers }}"}},
     None),
    ({"name": "Graph module, templated free-form options", "intune.autopilot.domain_join_profile": "{{ listed }}"}, None),
    ({"name": "Graph module, one of two options given as a list with a template",
      "intune.autopilot.autopilot_device": {"csv_files": ["{{ workdir }}/devices.csv"]}}, None),
    ({"name": "Graph module, misspelled suboption next to a templated one",
      "intune.autopilot.autopilot_esp": {"display_name": "E", "assignments": {"add": "{{ targets }}", "sett": []}}},
     "intune-args"),
    ({"name": "Graph module, templated suboption",
      "intune.autopilot.autopilot_esp": {"display_name": "E", "assignments": {"add": "{{ targets }}"}}}, None),
    ({"name": "Graph module, neither of two options that one of is required",
      "intune.autopilot.autopilot_device": {"report_file": "/tmp/report.csv"}}, "intune-args"),
]
REPORT = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+)(?::\d+)?: (?P<rule>[\w-]+)(?:\[[^\]]*\])*: (?P<message>.*)$")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """{task name: {rule: message}} from one ansible-lint run over a playbook of CASES."""
    playbook = [{"name": "Lint probe", "hosts": "localhost", "gather_facts": False,
                 "tasks": [task for task, _rule in CASES]}]
    path = tmp_path_factory.mktemp("lint") / "probe.yml"
    text = "---\n" + yaml.safe_dump(playbook, sort_keys=False, width=1000)
    path.write_text(text, encoding="utf-8")
    # The line each task starts on, to match reports (which give the task's first line) to cases.
    starts = {line_number: line.split("name: ", 1)[1].strip().strip("'\"")
              for line_number, line in enumerate(text.splitlines(), start=1) if line.lstrip().startswith("- name: ")}
    completed = subprocess.run(
        [str(ANSIBLE_LINT), "--offline", "--nocolor", "-f", "pep8", "-c", str(REPO / ".ansible-lint"), str(path)],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
    )
    found = defaultdict(dict)
    for line in completed.stdout.splitlines():
        match = REPORT.match(line)
        if match:
            task = starts.get(int(match["line"]))
            found[task][match["rule"]] = match["message"]
    assert completed.returncode != 0, "wrong options must fail the lint run:\n" + completed.stdout + completed.stderr
    return found


@pytest.mark.parametrize("task, rule", CASES, ids=[task["name"] for task, _rule in CASES])
def test_each_wrong_option_is_reported_and_no_right_one(reports, task, rule):
    found = reports.get(task["name"], {})
    if rule is None:
        assert not found, found
        return
    assert rule in found, "expected %s for %r; got %s" % (rule, task["name"], dict(reports))
    if rule == "intune-args":
        module = next(key for key in task if key.startswith("intune.autopilot."))
        assert found[rule].startswith(module + ": ")
        # ansible-lint's own rule resolves the action plugin and skips it: why intune-args exists.
        assert "args" not in found


def test_the_misspelled_option_is_named(reports):
    assert "Unsupported parameters: nmae." in reports["Graph module, misspelled option"]["intune-args"]
    assert "princpal" in reports["LDAP module without an action plugin, misspelled option"]["args"]


def test_the_installed_tarball_is_clean_under_the_production_profile_without_the_projects_config(tmp_path):
    """As Automation Hub lints an upload: the collection as `ansible-galaxy collection install` lays it out (no
    .ansible-lint, no custom rule: build_ignore leaves them out), ansible-lint --profile production."""
    galaxy = str(Path(sys.executable).with_name("ansible-galaxy"))
    subprocess.run([galaxy, "collection", "build", "--output-path", str(tmp_path / "dist"), str(REPO)], check=True,
                   capture_output=True)
    tarball = next((tmp_path / "dist").glob("intune-autopilot-*.tar.gz"))
    root = tmp_path / "collections"
    subprocess.run([galaxy, "collection", "install", "--force", "-p", str(root), str(tarball)], check=True, capture_output=True)
    collection = root / "ansible_collections" / "intune" / "autopilot"
    assert not (collection / ".ansible-lint").exists()
    environment = {"PATH": "%s:/usr/bin:/bin" % Path(sys.executable).parent, "HOME": str(tmp_path),
                   "ANSIBLE_COLLECTIONS_PATH": str(root)}
    completed = subprocess.run([str(ANSIBLE_LINT), "--profile", "production", "--offline", "--nocolor"], cwd=collection,
                               env=environment, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "Passed: 0 failure(s), 0 warning(s)" in completed.stdout + completed.stderr


def test_the_changelog_fragments_lint_clean():
    """The tarball leaves changelogs/fragments out (build_ignore), so ansible-test's changelog sanity test no longer
    sees them: antsibull-changelog lints them here."""
    completed = subprocess.run([str(Path(sys.executable).with_name("antsibull-changelog")), "lint"], cwd=REPO,
                               capture_output=True, text=True)
    assert completed.returncode == 0 and not completed.stdout.strip(), completed.stdout + completed.stderr
