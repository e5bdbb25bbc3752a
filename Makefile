# Development entry points for intune.autopilot (not shipped: galaxy.yml build_ignore lists it).
# `make help` lists the targets. The two that matter: `make lab` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.requirements-installed
REQUIREMENT_FILES := requirements.txt test-requirements.txt
COLLECTION_LINK := .collections/ansible_collections/intune/autopilot
COLLECTION_PATH := ansible_collections/intune/autopilot
# tests/unit is shipped and runs from the collection as shipped (a copy of it, as sanity does); the
# lab-backed suites run in the checkout: in-process module tests, the labs' own tests, and (make
# integration) the playbook-level tests.
SHIPPED_PYTEST_DIRS := tests/unit
LAB_PYTEST_DIRS := tests/lab lab/graph/tests lab/tests
PLAYBOOK_PYTEST_DIRS := tests/integration/pytest
PYTEST_LOG := tests/output/pytest.log
PYTEST_INTEGRATION_LOG := tests/output/pytest-integration.log
# Seconds per ansible-test integration target of the last `make integration` (ansible-test's own timing).
TARGET_TIMES := tests/output/integration-target-times.txt
# Seconds per suite of the last `make test`.
SUITE_TIMES := tests/output/suite-times.txt
# One JSON line per ansible-playbook run of the playbook-level tests: the test, wall and CPU seconds (harness.py).
PLAYBOOK_RUNS_LOG := tests/output/playbook-runs.jsonl
PYTEST_WORKERS ?= 2
# The playbook-level tests wait much of their time (Intune budgets in the device bench, retry waits, subprocesses):
# a 2-core machine averaged ~1.5 busy cores under 2 workers; a third worker fills the waits (pytest 498 -> 423 s).
PYTEST_INTEGRATION_WORKERS ?= 3
PLAYBOOK ?= playbooks/hybrid_join.yml
INTEGRATION_CONFIG := tests/integration/integration_config.yml
# Set PYTHON=/path/to/python3.x to use that one instead of the newest Python >= 3.12 found.
PYTHON ?=
# The environment sets PYTHONDONTWRITEBYTECODE=1; pip must still write .pyc files, or every module
# run pays the compile cost again.
PIP := env -u PYTHONDONTWRITEBYTECODE $(VENV_PYTHON) -m pip
ANSIBLE_TEST := $(CURDIR)/$(VENV)/bin/ansible-test

.PHONY: help venv shipped-files units sanity lint docs-lint docs integration ansible-test-integration test test-summary lab bench-devices changelog-lint get-pip-standin clean

help:
	@echo "make lab          run $(PLAYBOOK) twice against the Graph (and AD) lab; the 2nd run must change nothing"
	@echo "make test         units + sanity + lint + integration, then what each cost (slowest tests, targets); non-zero if any fails"
	@echo "make venv         create $(VENV) (newest Python >= 3.12) and link the collection under .collections/"
	@echo "make units        pytest $(SHIPPED_PYTEST_DIRS) (as shipped), $(LAB_PYTEST_DIRS)"
	@echo "make sanity       ansible-test sanity on the collection as shipped (build_ignore paths left out)"
	@echo "make shipped-files  list the files of the collection as shipped (what ansible-test sees)"
	@echo "make integration  pytest $(PLAYBOOK_PYTEST_DIRS), then ansible-test integration --local on tests/integration/targets against the lab"
	@echo "make bench-devices  import 10,000 devices against the Graph lab's Intune budgets, then a no-op re-run (issue #11; ~15 min)"
	@echo "make changelog-lint  antsibull-changelog lint"
	@echo "make lint         ansible-lint (production profile, Graph modules' options checked), then make docs-lint"
	@echo "make docs-lint    antsibull-docs lint-collection-docs on the module and role docs"
	@echo "make docs         an HTML docsite of the modules and the role in tests/output/docs/build/html"
	@echo "make clean        remove $(VENV), .collections/ and tests/output/"

venv: $(VENV_STAMP) $(COLLECTION_LINK)

# Looks for the newest Python >= 3.12 (with venv and ensurepip) on PATH and under pyenv, whose root
# may not be on PATH. pyenv shims exist for versions that are not selected and then fail to run,
# so every candidate is run, not just found.
define FIND_PYTHON
for candidate in $(or $(PYTHON),python3.14 python3.13 python3.12 python3 \
    $$(pyenv root 2>/dev/null || true)/versions/3.1[2-9]*/bin/python3 \
    "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 \
    /root/.pyenv/versions/3.1[2-9]*/bin/python3); do \
  "$$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 12))' 2>/dev/null || continue; \
  "$$candidate" -c 'import sys; print(*sys.version_info[:2], sys.argv[1])' "$$candidate"; \
done | sort -k1,1n -k2,2n | tail -n 1 | cut -d' ' -f3-
endef

# Rebuilt when a requirement file changes; the venv itself is recreated only when missing or when
# its Python no longer runs or is older than 3.12.
$(VENV_STAMP): $(REQUIREMENT_FILES)
	@if ! $(VENV_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  python=$$($(FIND_PYTHON)); \
	  if [ -z "$$python" ] && [ -n "$(PYTHON)" ]; then \
	    echo "PYTHON=$(PYTHON) does not run as a Python >= 3.12 with venv and ensurepip." >&2; exit 1; \
	  elif [ -z "$$python" ]; then \
	    echo "No Python >= 3.12 with venv/ensurepip found on PATH (python3.14..python3.12, python3) or under pyenv." >&2; \
	    echo "ansible-core 2.20+ needs Python >= 3.12. Install one (e.g. 'pyenv install 3.13', or apt python3.12 + python3.12-venv)" >&2; \
	    echo "or point at it: make PYTHON=/path/to/python3.12 venv" >&2; \
	    exit 1; \
	  fi; \
	  echo "Creating $(VENV) with $$python ($$("$$python" --version))"; \
	  rm -rf $(VENV); \
	  "$$python" -m venv $(VENV); \
	fi
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(addprefix -r ,$(REQUIREMENT_FILES))
	@touch $@

# A fresh clone needs this to import the checkout as ansible_collections.intune.autopilot
# (ansible.cfg points collections_path at .collections).
$(COLLECTION_LINK):
	@mkdir -p $(dir $@)
	ln -sfn ../../.. $@

# $(call pytest_in,DIRECTORY,PYTHONPATH,TEST_DIRS,LOG[,WORKERS]): pytest -n WORKERS ($(PYTEST_WORKERS)) run in DIRECTORY,
# output appended to LOG; sets `status` (5, nothing collected, counts as a failure: a run that tests
# nothing is not a pass). -r fEs: the reasons for failures, errors and skips, so a skipped suite is
# never mistaken for a pass. --durations: the slowest tests, so a change sees what its tests cost
# (make test's summary lists the slowest of all its runs). --dist worksteal: an idle worker takes
# tests queued on the other, so one long test does not leave a worker idle at the end.
define pytest_in
set +e; \
(cd "$(1)" && PYTHONPATH="$(2)" $(CURDIR)/$(VENV_PYTHON) -m pytest -p no:cacheprovider -n $(or $(5),$(PYTEST_WORKERS)) --dist worksteal \
  --durations=15 --durations-min=1 -r fEs $(3)) 2>&1 \
  | tee -a "$(CURDIR)/$(4)"; \
status=$${PIPESTATUS[0]}; \
set -e; \
if [ "$$status" = 5 ]; then echo "FAILED: pytest collected no tests from $(3)" >&2; status=1; fi
endef

# tests/unit runs on a copy of the collection as shipped (where lab/, tests/lab and tests/conftest.py
# are absent), so a shipped test that needs a development-only file fails here.
units: venv
	@mkdir -p tests/output; rm -f $(PYTEST_LOG); \
	tree=$$(mktemp -d); trap 'rm -rf "$$tree"' EXIT; \
	$(call copy_shipped_tree,$$tree); \
	failed=""; \
	$(call pytest_in,$$tree/$(COLLECTION_PATH),$$tree,$(SHIPPED_PYTEST_DIRS),$(PYTEST_LOG)); \
	[ "$$status" = 0 ] || failed="$(SHIPPED_PYTEST_DIRS)"; \
	$(call pytest_in,$(CURDIR),,$(LAB_PYTEST_DIRS),$(PYTEST_LOG)); \
	[ "$$status" = 0 ] || failed="$$failed $(LAB_PYTEST_DIRS)"; \
	if [ -n "$$failed" ]; then echo "units: FAILED:$$failed" >&2; exit 1; fi

# ansible-test needs the collection physically at .../ansible_collections/intune/autopilot (a
# symlink fails). It gets the tree as shipped: tracked and untracked-not-ignored files, minus the
# galaxy.yml build_ignore paths (lab/, bench/, .ci/, Makefile, ansible.cfg), which never reach
# users and so are not held to ansible-test's rules.
define SHIPPED_FILES_FILTER
import fnmatch, os, sys, yaml
with open("galaxy.yml") as galaxy:
    patterns = yaml.safe_load(galaxy).get("build_ignore") or []
for path in filter(None, sys.stdin.read().split("\0")):
    parts = path.split("/")
    prefixes = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    ignored = any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes for pattern in patterns)
    # ls-files still lists tracked files deleted from the working tree.
    if not ignored and os.path.lexists(path):
        sys.stdout.write(path + "\0")
endef
export SHIPPED_FILES_FILTER

# NUL-separated paths of the collection as shipped.
define SHIPPED_FILES
git ls-files -z --cached --others --exclude-standard | $(VENV_PYTHON) -c "$$SHIPPED_FILES_FILTER"
endef

# $(call copy_shipped_tree,DESTINATION_ROOT): DESTINATION_ROOT/ansible_collections/intune/autopilot
define copy_shipped_tree
mkdir -p "$(1)/$(COLLECTION_PATH)"; \
$(SHIPPED_FILES) | tar --null --files-from=- -cf - | tar -xf - -C "$(1)/$(COLLECTION_PATH)"
endef

# What ansible-test sees, one path a line.
shipped-files: venv
	@$(SHIPPED_FILES) | tr '\0' '\n'

# ansible-test's --python: the venv's own version, so it never probes pyenv shims that cannot run.
define VENV_PYTHON_VERSION
$$($(VENV_PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
endef

# ansible-test bootstraps pip in its sanity venvs with get-pip.py from a host this network cannot
# reach; it uses ~/.ansible/test/cache/get_pip_<pip version>.py when present. This stand-in gets
# pip from ensurepip and then installs the pinned pip from the package registry.
define GET_PIP_STANDIN
"""Offline stand-in for get-pip.py, written by intune.autopilot's Makefile (make get-pip-standin)."""
import os
import subprocess
import sys

# get-pip.py accepts these; pip install does not.
GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}
# ansible-test points PIP_CONFIG_FILE at an empty file, which would hide /etc/pip.conf (the CA).
environment = {name: value for name, value in os.environ.items() if name != "PIP_CONFIG_FILE"}
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], env=environment)
pip_arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY_OPTIONS]
subprocess.check_call([sys.executable, "-m", "pip", "install", *pip_arguments], env=environment)
endef
export GET_PIP_STANDIN

get-pip-standin: venv
	@source=$$(ls $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py); \
	version=$$(grep -o "pip='[0-9.]*'" "$$source" | head -n 1 | cut -d"'" -f2); \
	if [ -z "$$version" ]; then echo "Cannot find the pip version ansible-test pins in $$source" >&2; exit 1; fi; \
	target=$$HOME/.ansible/test/cache/get_pip_$${version//./_}.py; \
	mkdir -p "$$(dirname "$$target")"; \
	if [ -f "$$target" ] && ! grep -q "intune.autopilot's Makefile" "$$target"; then \
	  echo "Keeping the existing $$target (not our stand-in)"; \
	else \
	  printf '%s\n' "$$GET_PIP_STANDIN" > "$$target"; \
	fi

sanity: venv get-pip-standin
	@tree=$$(mktemp -d); trap 'rm -rf "$$tree"' EXIT; \
	python_version=$(VENV_PYTHON_VERSION); \
	$(call copy_shipped_tree,$$tree); \
	cd "$$tree/$(COLLECTION_PATH)"; \
	$(ANSIBLE_TEST) sanity --color no --python "$$python_version"

# Runs the playbook-level pytest suite (it starts its own labs), then starts the labs, writes
# $(INTEGRATION_CONFIG) from their connection details, runs the targets through
# ansible-test-integration, and stops the labs again. A pytest failure fails the target at the end,
# after the targets ran.
integration: venv get-pip-standin
	@mkdir -p tests/output; rm -f $(PYTEST_INTEGRATION_LOG) $(PLAYBOOK_RUNS_LOG); \
	export PLAYBOOK_RUNS_LOG="$(CURDIR)/$(PLAYBOOK_RUNS_LOG)"; \
	$(call pytest_in,$(CURDIR),,$(PLAYBOOK_PYTEST_DIRS),$(PYTEST_INTEGRATION_LOG),$(PYTEST_INTEGRATION_WORKERS)); \
	$(VENV_PYTHON) -c "$$PLAYBOOK_RUNS_REPORT" $(PLAYBOOK_RUNS_LOG) | tee -a $(PYTEST_INTEGRATION_LOG); \
	echo "$$status" > tests/output/pytest-integration.status
	$(VENV_PYTHON) -m lab with-lab --integration-config $(INTEGRATION_CONFIG) \
	  -- $(MAKE) --no-print-directory ansible-test-integration
	@status=$$(cat tests/output/pytest-integration.status); \
	if [ "$$status" != 0 ]; then echo "integration: FAILED: pytest $(PLAYBOOK_PYTEST_DIRS) (see $(PYTEST_INTEGRATION_LOG))" >&2; exit 1; fi

# Seconds per target from ansible-test's results file (tests/output/data/integration-*.json of the tree
# it ran in), slowest first; the targets a failure left unrun are not listed.
define TARGET_TIMES_REPORT
import json, sys
targets = {}
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as handle:
            targets.update(json.load(handle)["targets"])
    except (OSError, ValueError, KeyError):
        pass
for name, target in sorted(targets.items(), key=lambda item: -item[1]["run_time_seconds"]):
    print("%5d s  ansible-test integration target %s" % (target["run_time_seconds"], name))
print("%5d s  ansible-test integration, %d targets" % (sum(t["run_time_seconds"] for t in targets.values()), len(targets)))
endef
export TARGET_TIMES_REPORT

# Internal: needs a running lab and a fresh $(INTEGRATION_CONFIG) (gitignored, so copied explicitly).
ansible-test-integration:
	@test -f $(INTEGRATION_CONFIG) || { echo "$(INTEGRATION_CONFIG) is missing: run 'make integration'" >&2; exit 1; }
	@tree=$$(mktemp -d); trap 'rm -rf "$$tree"' EXIT; \
	python_version=$(VENV_PYTHON_VERSION); \
	$(call copy_shipped_tree,$$tree); \
	cp $(INTEGRATION_CONFIG) "$$tree/$(COLLECTION_PATH)/$(INTEGRATION_CONFIG)"; \
	mkdir -p tests/output; rm -f $(TARGET_TIMES); \
	status=0; \
	(cd "$$tree/$(COLLECTION_PATH)" && $(ANSIBLE_TEST) integration --color no --local --python "$$python_version") || status=$$?; \
	$(VENV_PYTHON) -c "$$TARGET_TIMES_REPORT" "$$tree/$(COLLECTION_PATH)"/tests/output/data/integration-*.json | tee $(TARGET_TIMES); \
	exit $$status

# The 15 slowest tests of every pytest run whose log is named (pytest's --durations lines), slowest first.
define SLOWEST_TESTS_REPORT
import re, sys
duration = re.compile(r"^([0-9.]+)s (call|setup|teardown) +(\S+)")
durations = []
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as handle:
            matches = [duration.match(line) for line in handle]
    except OSError:
        continue
    durations += [(float(m.group(1)), "%-8s %s" % (m.group(2), m.group(3))) for m in matches if m]
for seconds, what in sorted(durations, reverse=True)[:15]:
    print("%7.1f s  %s" % (seconds, what))
endef
export SLOWEST_TESTS_REPORT

# ansible-playbook runs of the playbook-level tests per test file (harness.py logs them): how many, their CPU
# seconds and wall seconds, costliest first.
define PLAYBOOK_RUNS_REPORT
import collections, json, sys
files = collections.defaultdict(lambda: [0, 0.0, 0.0])
try:
    with open(sys.argv[1], encoding="utf-8") as log:
        for run in map(json.loads, log):
            totals = files[run["test"].split("::")[0]]
            totals[0] += 1
            totals[1] += run["cpu_seconds"]
            totals[2] += run["seconds"]
except OSError:
    pass
print("ansible-playbook runs per test file: runs, CPU s, wall s")
for name, (runs, cpu, wall) in sorted(files.items(), key=lambda item: -item[1][1]):
    print("%5d %8.1f %8.1f  %s" % (runs, cpu, wall, name))
print("%5d %8.1f %8.1f  in all" % tuple(sum(totals[i] for totals in files.values()) for i in range(3)))
endef
export PLAYBOOK_RUNS_REPORT

# Runs every suite even when an earlier one fails, then reports what each cost (test-summary) and fails if
# any failed.
test: venv
	@rm -f $(PYTEST_LOG) $(PYTEST_INTEGRATION_LOG) $(TARGET_TIMES) $(PLAYBOOK_RUNS_LOG); mkdir -p tests/output; \
	: > $(SUITE_TIMES); \
	failed=""; \
	for suite in units sanity lint integration matrix-oldest; do \
	  started=$$SECONDS; verdict=passed; \
	  $(MAKE) --no-print-directory $$suite || { failed="$$failed $$suite"; verdict=FAILED; }; \
	  echo "$$suite $$verdict $$((SECONDS - started))" >> $(SUITE_TIMES); \
	done; \
	$(MAKE) --no-print-directory test-summary; \
	test -z "$$failed"

# The summary of the last `make test` from what its suites left in tests/output: the 15 slowest tests, the
# ansible-playbook runs per playbook-level test file, each ansible-test target's and each suite's seconds.
test-summary:
	@echo "== make test summary"; \
	echo "-- the 15 slowest tests (pytest --durations)"; \
	$(VENV_PYTHON) -c "$$SLOWEST_TESTS_REPORT" $(PYTEST_LOG) $(PYTEST_INTEGRATION_LOG); \
	echo "-- ansible-playbook runs of $(PLAYBOOK_PYTEST_DIRS)"; \
	$(VENV_PYTHON) -c "$$PLAYBOOK_RUNS_REPORT" $(PLAYBOOK_RUNS_LOG); \
	echo "-- ansible-test integration targets"; \
	cat $(TARGET_TIMES) 2>/dev/null || echo "no target ran"; \
	echo "-- suites"; \
	for log in $(PYTEST_LOG) $(PYTEST_INTEGRATION_LOG); do \
	  { grep -E '^=+ .* in [0-9.]+s' "$$log" 2>/dev/null || echo "no summary line"; } | sed "s|^|pytest ($$log): |"; \
	done; \
	while read -r suite verdict seconds; do printf '%s: %s (%d s)\n' "$$suite" "$$verdict" "$$seconds"; done \
	  < $(SUITE_TIMES) 2>/dev/null || true

# The device import bench at full size (tests/integration/pytest runs it at 300 devices).
bench-devices: venv
	$(VENV_PYTHON) bench/device_import_bench.py --devices 10000

lab: venv
	$(VENV_PYTHON) -m lab run $(PLAYBOOK)

changelog-lint: venv
	$(VENV)/bin/antsibull-changelog lint

# ansible-lint with .ansible-lint (production profile; the intune-args rule checks the Graph modules'
# options, which ansible-lint's own args rule skips), then the module and role docs as antsibull-docs
# renders them. Both call ansible tools by name, hence the venv first on PATH.
LINT_PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

lint: venv
	PATH="$(LINT_PATH)" $(VENV)/bin/ansible-lint --offline --nocolor
	$(MAKE) --no-print-directory docs-lint

docs-lint: venv
	PATH="$(LINT_PATH)" $(VENV)/bin/antsibull-docs lint-collection-docs --plugin-docs $(COLLECTION_LINK)

# An HTML docsite of the modules and the role in tests/output/docs/build/html. Offline, references to
# docs.ansible.com and docs.python.org stay unresolved (Sphinx warns that their inventories are unreachable).
docs: venv
	@rm -rf tests/output/docs; mkdir -p tests/output/docs/rst; chmod og-w tests/output/docs/rst; \
	export PATH="$(LINT_PATH)" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/.collections"; \
	antsibull-docs sphinx-init --use-current --squash-hierarchy --dest-dir tests/output/docs intune.autopilot >/dev/null; \
	cd tests/output/docs; \
	antsibull-docs --config-file antsibull-docs.cfg collection --use-current --squash-hierarchy --dest-dir rst intune.autopilot; \
	sphinx-build -M html rst build -c . -q
	@echo "Docs: tests/output/docs/build/html/index.html"

clean:
	rm -rf $(VENV) .collections tests/output

# The ansible-core / Python matrix (noxfile.py): each leg builds the tarball with its ansible-core, installs
# it, and runs tests/unit, ansible-test sanity and the hybrid_join playbook twice against the labs (the
# second run changed=0, no "unsupported version" warning). matrix-oldest: ansible-core 2.16 on Python 3.11
# (meta/runtime.yml's floor, as AAP's minimal EE ships it), part of `make test`; the rest of `make test`
# covers the newest. matrix: every leg (2.16/3.11, 2.18/3.11, 2.21/3.13). The labs run on $(VENV)'s Python.
NOX ?= $(CURDIR)/$(VENV)/bin/nox
.PHONY: matrix-oldest matrix

matrix-oldest: venv get-pip-standin
	LAB_PYTHON="$(CURDIR)/$(VENV_PYTHON)" $(NOX) --tags oldest

matrix: venv get-pip-standin
	LAB_PYTHON="$(CURDIR)/$(VENV_PYTHON)" $(NOX)

# The release notes: antsibull-changelog release for galaxy.yml's version (CHANGELOG.rst, changelog.yaml; the
# fragments are deleted). The first release leaves the fragments' breaking_changes and bugfixes out of the notes
# (tools/release_changelog.py). Run it last, after every fragment of the release is merged.
.PHONY: release-changelog
release-changelog: venv
	$(VENV_PYTHON) tools/release_changelog.py
