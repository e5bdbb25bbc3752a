# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""make release-changelog (tools/release_changelog.py) on a copy of the checkout: the first release's notes
have no breaking changes or bugfixes about a history no user has seen, and the tarball built afterwards ships
CHANGELOG.rst and no pending fragment."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]


def test_the_first_release_notes_have_no_history_sections_and_the_tarball_ships_them_without_fragments(tmp_path):
    checkout = tmp_path / "checkout"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, check=True,
                           capture_output=True).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        source = REPO / name
        if source.is_file() and not source.is_symlink():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            (checkout / name).write_bytes(source.read_bytes())
    fragments = sorted((checkout / "changelogs" / "fragments").glob("*.yml"))
    history = [entry for path in fragments for section in ("breaking_changes", "bugfixes")
               for entry in (yaml.safe_load(path.read_text()) or {}).get(section) or []]
    assert fragments and not yaml.safe_load((checkout / "changelogs" / "changelog.yaml").read_text()).get("releases")

    subprocess.run([sys.executable, "tools/release_changelog.py"], cwd=checkout, check=True, capture_output=True)

    notes = (checkout / "CHANGELOG.rst").read_text()
    version = yaml.safe_load((checkout / "galaxy.yml").read_text())["version"]
    assert "v%s" % version in notes and "Minor Changes" in notes and "Release Summary" in notes
    assert "Breaking Changes" not in notes and "Bugfixes" not in notes
    release = yaml.safe_load((checkout / "changelogs" / "changelog.yaml").read_text())["releases"][version]
    assert history and not {"breaking_changes", "bugfixes"} & set(release["changes"])
    flat_notes = " ".join(notes.split())
    assert not [entry for entry in history if " ".join(entry.split())[:60] in flat_notes]
    assert not list((checkout / "changelogs" / "fragments").glob("*.yml"))

    galaxy = str(Path(sys.executable).with_name("ansible-galaxy"))
    subprocess.run([galaxy, "collection", "build", "--output-path", str(tmp_path / "dist"), str(checkout)], check=True,
                   capture_output=True)
    with tarfile.open(next((tmp_path / "dist").glob("*.tar.gz"))) as tarball:
        names = tarball.getnames()
    assert "CHANGELOG.rst" in names and "changelogs/changelog.yaml" in names
    assert not [name for name in names if name.startswith("changelogs/fragments/")]
