"""Release the changelog: `make release-changelog` (development only; galaxy.yml's build_ignore lists tools/).

Runs `antsibull-changelog release` for galaxy.yml's version, which folds changelogs/fragments into
changelogs/changelog.yaml and CHANGELOG.rst and deletes the fragments (keep_fragments: false). Re-run it
after merging more fragments; once a release is recorded, a new version in galaxy.yml is needed first.

The first release (changelog.yaml records none) has no earlier release whose behaviour could break or
have bugs: before releasing, the fragments' breaking_changes and bugfixes entries move to the trivial
section, which antsibull-changelog neither renders nor records (they stay in git's history of the
fragments), so the notes tell nobody about a history no user has seen.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHANGELOGS = ROOT / "changelogs"
# Sections that speak of an earlier release.
HISTORY_SECTIONS = ("breaking_changes", "bugfixes")
TRIVIAL = "trivial"


def is_first_release() -> bool:
    recorded = yaml.safe_load((CHANGELOGS / "changelog.yaml").read_text(encoding="utf-8")) or {}
    return not recorded.get("releases")


def fold_history_into_trivial(fragment: Path) -> bool:
    """Move the fragment's breaking_changes/bugfixes entries to trivial; return whether it changed."""
    content = yaml.safe_load(fragment.read_text(encoding="utf-8")) or {}
    moved = [entry for section in HISTORY_SECTIONS for entry in content.pop(section, None) or []]
    if not moved:
        return False
    content[TRIVIAL] = list(content.get(TRIVIAL) or []) + moved
    fragment.write_text(yaml.safe_dump(content, sort_keys=False, width=1000), encoding="utf-8")
    return True


def main() -> int:
    tools = Path(sys.executable).parent
    antsibull_changelog = str(tools / "antsibull-changelog")
    # The release lists new plugins and roles through ansible-doc, found on PATH.
    environment = dict(os.environ, PATH="%s%s%s" % (tools, os.pathsep, os.environ.get("PATH", "")))
    if is_first_release():
        folded = [path.name for path in sorted((CHANGELOGS / "fragments").glob("*.y*ml")) if fold_history_into_trivial(path)]
        if folded:
            print("First release: breaking_changes and bugfixes entries left out of the notes (trivial) in: " + ", ".join(folded))
    subprocess.run([antsibull_changelog, "lint"], cwd=ROOT, env=environment, check=True)
    subprocess.run([antsibull_changelog, "release"], cwd=ROOT, env=environment, check=True)
    print("Released: CHANGELOG.rst and changelogs/changelog.yaml; commit them with the deleted fragments.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
