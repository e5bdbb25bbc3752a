# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An execution environment that installs this collection: ansible-builder writes its build context, and
the steps its container build would run on that context are run here, without a container engine.

The collection is built from the checkout as users get it (galaxy.yml's build_ignore applied), so a
file meta/execution-environment.yml names but the build leaves out fails here. The build context's
own introspect script then reads the installed collection as the builder stage does, and bindep
resolves the system packages for RPM- and deb-based base images, with and without the [compile]
profile ansible-builder uses for building wheels.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
# bindep comes with ansible-builder (test-requirements.txt), which the fixtures run.
from bindep.depends import Depends
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
# The platform profiles bindep detects on a UBI/RHEL/Fedora image and on a Debian/Ubuntu image.
RPM_PLATFORM = ["platform:rpm", "platform:redhat", "platform:fedora"]
DPKG_PLATFORM = ["platform:dpkg", "platform:debian", "platform:ubuntu"]
RUNTIME_PYTHON = {"certifi", "azure-identity", "ldap3", "winacl", "cryptography"}


def run(*command, cwd=None):
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def build_context(tmp_path_factory):
    """(context directory, the definition's tarball name) after `ansible-builder create`."""
    work = tmp_path_factory.mktemp("ee")
    run(str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work / "dist"), str(REPO))
    tarball = next((work / "dist").glob("intune-autopilot-*.tar.gz"))
    definition = {
        "version": 3,
        "images": {"base_image": {"name": "quay.io/fedora/fedora:41"}},
        "dependencies": {
            "python_interpreter": {"package_system": "python3", "python_path": "/usr/bin/python3"},
            "ansible_core": {"package_pip": "ansible-core>=2.20,<2.22"},
            "ansible_runner": {"package_pip": "ansible-runner"},
            "galaxy": {"collections": [{"name": "collections/" + tarball.name, "type": "file"}]},
        },
        "additional_build_files": [{"src": str(tarball), "dest": "collections"}],
    }
    (work / "execution-environment.yml").write_text(yaml.safe_dump(definition), encoding="utf-8")
    run(str(BIN / "ansible-builder"), "create", "--file", "execution-environment.yml", "--context", "context", cwd=work)
    return work / "context", tarball.name


@pytest.fixture(scope="module")
def introspected(build_context, tmp_path_factory):
    """The pip and bindep files the builder stage writes, from the collection the galaxy stage installs."""
    context, _tarball = build_context
    collections = tmp_path_factory.mktemp("collections")
    # The galaxy stage: the context's requirements.yml, from its _build directory (copied to /build).
    run(str(BIN / "ansible-galaxy"), "collection", "install", "-r", "requirements.yml", "-p", str(collections),
        cwd=context / "_build")
    pip_file, bindep_file = collections / "requirements.txt", collections / "bindep.txt"
    run(sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect",
        "--write-pip", str(pip_file), "--write-bindep", str(bindep_file), str(collections))
    return pip_file.read_text(encoding="utf-8"), bindep_file.read_text(encoding="utf-8")


def test_the_context_installs_the_collection_built_from_this_checkout(build_context):
    context, tarball = build_context
    containerfile = next(path for path in (context / "Containerfile", context / "Dockerfile") if path.exists())
    assert (context / "_build" / "collections" / tarball).is_file()
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert requirements["collections"] == [{"name": "collections/" + tarball, "type": "file"}]
    text = containerfile.read_text(encoding="utf-8")
    assert "ansible-galaxy collection install" in text and "introspect.py introspect" in text


def test_the_image_gets_the_modules_and_the_optional_ldap_authentications_python_packages(introspected):
    pip_text, _bindep = introspected
    names = {Requirement(line.split("#")[0].strip()).name.lower() for line in pip_text.splitlines() if line.split("#")[0].strip()}
    assert RUNTIME_PYTHON <= names, "requirements.txt is not reached from meta/ee-requirements.txt"
    # auth=kerberos (gssapi) and auth=ntlm (MD4 from pycryptodome, as OpenSSL 3 has none).
    assert {"gssapi", "pycryptodome"} <= names


@pytest.mark.parametrize("platform, build_only, run_time", [
    (RPM_PLATFORM, {"gcc", "krb5-devel", "python3-devel"}, {"krb5-libs", "krb5-workstation"}),
    (DPKG_PLATFORM, {"gcc", "libkrb5-dev", "python3-dev"}, {"libgssapi-krb5-2", "krb5-user"}),
])
def test_bindep_builds_gssapi_and_runs_kerberos_on_rpm_and_deb_images(introspected, platform, build_only, run_time):
    _pip, bindep_text = introspected
    depends = Depends(bindep_text)

    def packages(profiles):
        return {rule[0] for rule in depends.active_rules(profiles)}

    final_image = packages(platform + ["default"])
    builder_stage = packages(platform + ["compile"])
    assert run_time <= final_image
    assert build_only <= builder_stage
    # The compiler and headers stay in the builder stage, out of the final image.
    assert not build_only & final_image
    # The lab's Samba packages ([test]) are for this project's tests, never for an image.
    assert "samba" not in final_image | builder_stage
