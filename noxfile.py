"""The ansible-core / Python matrix of intune.autopilot (development only: galaxy.yml's build_ignore lists it).

Each leg is one session, `leg`, with its own venv (.nox/, gitignored) holding one ansible-core series and one
Python; it builds the collection tarball with that ansible-core once, installs it, and tests the collection as
installed:

- units: tests/unit of the installed collection;
- sanity: ansible-test sanity of the installed collection, on the leg's Python (pylint on the newest leg only);
- lab: the hybrid_join playbook, by name from the installed collection, twice against the Graph (and AD)
  lab: the second run must change nothing, and ansible-core must not warn that it is unsupported
  (python -m lab run --ansible-python). The labs themselves run on the development venv's Python (3.12+).

`make matrix-oldest` runs the oldest leg (what AAP's minimal EE with ansible-core 2.16 on RHEL 9's
Python 3.11 runs), `make matrix` every leg. `nox -l` lists them; `nox -s 'leg(aap-2.18)'` runs one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
# Only interpreters on this machine (PATH, pyenv): a missing one fails the leg instead of being downloaded.
nox.options.download_python = "never"
nox.options.error_on_missing_interpreters = True
# The installs are most of a cold leg's time; requirement changes are picked up by pip on each run.
nox.options.reuse_venv = "yes"

CHECKOUT = Path(__file__).resolve().parent
# (id, Python, ansible-core series). The oldest: meta/runtime.yml's floor, as AAP's "Minimal EE - Ansible
# Core 2.16" ships it on RHEL 9's Python 3.11. AAP's other minimal EE: 2.18 on 3.11. The newest release, on
# the newest Python the development venv uses. Keep the oldest and the newest in step with meta/runtime.yml
# and test-requirements.txt.
NEWEST_ANSIBLE_CORE = "2.21"
LEGS = [
    nox.param("3.11", "2.16", id="oldest", tags=["oldest"]),
    nox.param("3.11", "2.18", id="aap-2.18", tags=["middle"]),
    nox.param("3.13", NEWEST_ANSIBLE_CORE, id="newest", tags=["newest"]),
]
# The labs' Python (lab/ needs 3.12+): the development venv's, unless LAB_PYTHON names another.
LAB_PYTHON = os.environ.get("LAB_PYTHON", str(CHECKOUT / ".venv" / "bin" / "python"))
# `make get-pip-standin` writes ansible-test's offline get-pip stand-in for the development venv's
# ansible-test; every leg's ansible-test pins its own pip version and so looks for its own file name.
GET_PIP_CACHE = Path.home() / ".ansible" / "test" / "cache"
GET_PIP_STANDIN_MARK = "intune.autopilot's Makefile"


def install(session: nox.Session, ansible_core: str) -> None:
    session.install("ansible-core==%s.*" % ansible_core, "-r", str(CHECKOUT / "requirements.txt"), "pytest>=8",
                    env={"PYTHONDONTWRITEBYTECODE": ""})


@contextlib.contextmanager
def installed_collection(session: nox.Session):
    """Build the tarball from the checkout with the leg's ansible-galaxy and install it into a temporary
    directory; yield the collections root (its ansible_collections/intune/autopilot is the collection). The
    directory is outside the checkout: inside it, ansible-test would list files with the checkout's git and
    find none of them (.nox is ignored)."""
    with tempfile.TemporaryDirectory(prefix="intune-autopilot-matrix-") as work:
        dist, root = Path(work) / "dist", Path(work) / "collections"
        session.run("ansible-galaxy", "collection", "build", "--output-path", str(dist), str(CHECKOUT), silent=True)
        tarball = next(dist.glob("intune-autopilot-*.tar.gz"))
        session.run("ansible-galaxy", "collection", "install", "--force", "-p", str(root), str(tarball), silent=True)
        yield root


def collection_dir(root: Path) -> Path:
    return root / "ansible_collections" / "intune" / "autopilot"


def ensure_get_pip_standin(session: nox.Session) -> None:
    """Copy the Makefile's stand-in to the name this leg's ansible-test looks for (get_pip_<its pip>.py)."""
    source = session.run("python", "-c", "import ansible_test._internal.python_requirements as r, inspect, re; "
                         "print(re.search(r\"pip='([0-9.]+)'\", inspect.getsource(r)).group(1))", silent=True)
    target = GET_PIP_CACHE / ("get_pip_%s.py" % source.strip().replace(".", "_"))
    if target.exists():
        return
    standins = [path for path in glob.glob(str(GET_PIP_CACHE / "get_pip_*.py"))
                if GET_PIP_STANDIN_MARK in Path(path).read_text(encoding="utf-8")]
    if not standins:
        session.error("No get-pip stand-in in %s: run `make get-pip-standin` first (ansible-test cannot download "
                      "get-pip.py offline)." % GET_PIP_CACHE)
    shutil.copyfile(standins[0], target)


@nox.session
@nox.parametrize("python,ansible_core", LEGS)
def leg(session: nox.Session, ansible_core: str) -> None:
    """One leg, in one venv and on one tarball (three sessions paid the venv, the install and the build three times):
    tests/unit of the installed collection, ansible-test sanity on the leg's Python, and the hybrid_join
    playbook twice against the labs (changed, then changed=0)."""
    install(session, ansible_core)
    ensure_get_pip_standin(session)
    ansible_python = str(Path(session.bin) / "python")
    with installed_collection(session) as root:
        with session.chdir(collection_dir(root)):
            session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "-r", "fEs", "tests/unit",
                        env={"PYTHONPATH": str(root)})
            # pylint runs on the newest leg only (make sanity, and this leg's newest): its verdict follows the pylint
            # release each ansible-test pins, not the ansible-core the collection runs on; the tests that do depend
            # on the leg (compile, import, validate-modules, runtime-metadata) run on every leg.
            skip = [] if ansible_core == NEWEST_ANSIBLE_CORE else ["--skip-test", "pylint"]
            session.run("ansible-test", "sanity", "--color", "no", "--python", session.python, *skip)
        # The environment's collections path wins over ansible.cfg's (.collections, the checkout).
        with session.chdir(CHECKOUT):
            session.run(LAB_PYTHON, "-m", "lab", "run", "intune.autopilot.hybrid_join", "--ansible-python", ansible_python,
                        external=True, env={"ANSIBLE_COLLECTIONS_PATH": str(root)})
