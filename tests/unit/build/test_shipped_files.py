"""`make sanity` and `make integration` hand ansible-test the collection as shipped (make shipped-files)."""

import shutil
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[3]
DEVELOPMENT_ONLY_DIRECTORIES = ("lab/", "bench/", ".ci/")
DEVELOPMENT_ONLY_FILES = ("Makefile", "ansible.cfg")


@pytest.fixture(name="shipped_files", scope="module")
def fixture_shipped_files():
    if not (CHECKOUT / ".git").exists() or shutil.which("git") is None or shutil.which("make") is None:
        pytest.skip("make shipped-files lists a git checkout's files; this is not one (or git/make is missing)")
    listing = subprocess.run(["make", "--no-print-directory", "-s", "shipped-files"], cwd=CHECKOUT,
                             capture_output=True, text=True, check=True).stdout
    return listing.splitlines()


def test_build_ignore_paths_are_left_out(shipped_files):
    assert not [path for path in shipped_files
                if path.startswith(DEVELOPMENT_ONLY_DIRECTORIES) or path in DEVELOPMENT_ONLY_FILES]


def test_the_collection_itself_is_kept(shipped_files):
    assert {"galaxy.yml", "meta/runtime.yml", "README.md", "COPYING"} <= set(shipped_files)
    assert [path for path in shipped_files if path.startswith("plugins/modules/")]


def test_generated_and_ignored_files_are_left_out(shipped_files):
    # Lab secrets written by make integration, and bytecode, are gitignored.
    assert "tests/integration/integration_config.yml" not in shipped_files
    assert not [path for path in shipped_files if "__pycache__" in path or path.endswith(".pyc")]


def test_every_listed_path_exists(shipped_files):
    assert [path for path in shipped_files if not (CHECKOUT / path).exists()] == []
