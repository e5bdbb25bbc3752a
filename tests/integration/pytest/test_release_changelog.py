# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The first release (0.1.0, made with make release-changelog, tools/release_changelog.py): its notes have no
breaking changes or bugfixes about a history no user has seen, and the tarball ships CHANGELOG.rst and no pending
fragment."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]


def test_the_first_release_notes_have_no_history_sections_and_the_tarball_ships_them_without_fragments(tmp_path):
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    releases = yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text())["releases"]
    first = min(releases, key=lambda release: tuple(int(part) for part in release.split(".")))
    notes = (REPO / "CHANGELOG.rst").read_text()

    assert "v%s" % first in notes and "Minor Changes" in notes and "Release Summary" in notes
    assert not {"breaking_changes", "bugfixes"} & set(releases[first]["changes"])
    first_notes = notes.split("v%s\n" % first, 1)[1]
    assert "Breaking Changes" not in first_notes and "Bugfixes" not in first_notes

    galaxy = str(Path(sys.executable).with_name("ansible-galaxy"))
    subprocess.run([galaxy, "collection", "build", "--output-path", str(tmp_path / "dist"), str(REPO)], check=True,
                   capture_output=True)
    with tarfile.open(next((tmp_path / "dist").glob("intune-autopilot-%s.tar.gz" % version))) as tarball:
        names = tarball.getnames()
    assert "CHANGELOG.rst" in names and "changelogs/changelog.yaml" in names
    assert not [name for name in names if name.startswith("changelogs/fragments")]
