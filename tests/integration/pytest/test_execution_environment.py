# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An execution environment that installs this collection: ansible-builder writes its build context, and
the steps its container build would run on that context are run here, without a container engine.

The collection is built from the checkout as users get it (galaxy.yml's build_ignore applied), so a
file meta/execution-environment.yml names but the build leaves out fails here. The build context's
own introspect script then reads the installed collection as the builder stage does, and bindep
resolves the system packages for RPM-based base images (the only ones ansible-builder builds), with and
without the [compile] profile ansible-builder uses for building wheels.

The example EE definitions the collection ships (extensions/ee/: AAP's minimal RHEL 9 base and a plain
UBI 9 base) get a build context each; their wheels are built with the headers of the Python the image
runs Ansible on. No container engine here, so no image is built.
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
# The platform profiles bindep detects on a UBI/RHEL/Fedora image.
RPM_PLATFORM = ["platform:rpm", "platform:redhat", "platform:fedora"]
EXAMPLE_DEFINITIONS = sorted((REPO / "extensions" / "ee").glob("*.yml"))
RUNTIME_PYTHON = {"certifi", "azure-identity", "ldap3", "winacl", "cryptography"}


def run(*command, cwd=None):
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def collection_tarball(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    run(str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(REPO))
    return next(dist.glob("intune-autopilot-*.tar.gz"))


@pytest.fixture(scope="module")
def build_context(tmp_path_factory, collection_tarball):
    """(context directory, the definition's tarball name) after `ansible-builder create`."""
    work = tmp_path_factory.mktemp("ee")
    tarball = collection_tarball
    definition = {
        "version": 3,
        "images": {"base_image": {"name": "quay.io/fedora/fedora:41"}},
        "dependencies": {
            "python_interpreter": {"package_system": "python3", "python_path": "/usr/bin/python3"},
            "ansible_core": {"package_pip": "ansible-core>=2.16"},
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


def bindep_packages(bindep_text, profiles):
    return {rule[0] for rule in Depends(bindep_text).active_rules(RPM_PLATFORM + profiles)}


def test_bindep_builds_gssapi_and_runs_kerberos_on_rpm_images(introspected):
    _pip, bindep_text = introspected
    final_image = bindep_packages(bindep_text, ["default"])
    builder_stage = bindep_packages(bindep_text, ["compile"])
    assert {"krb5-libs", "krb5-workstation"} <= final_image
    assert {"gcc", "krb5-devel"} <= builder_stage
    # The compiler and headers stay in the builder stage, out of the final image.
    assert not {"gcc", "krb5-devel"} & final_image
    # No headers of the distribution's python3 (3.9 on RHEL 9): the EE definition names its own Python's.
    assert not {name for name in builder_stage if name.startswith("python3") and name.endswith("-devel")}
    # The lab's Samba packages ([test]) are for this project's tests, never for an image.
    assert "samba" not in final_image | builder_stage


def test_the_examples_are_aaps_minimal_rhel9_base_and_a_plain_ubi9_base():
    bases = {yaml.safe_load(path.read_text(encoding="utf-8"))["images"]["base_image"]["name"].rsplit(":", 1)[0]
             for path in EXAMPLE_DEFINITIONS}
    assert any(base.startswith("registry.redhat.io/ansible-automation-platform-") and base.endswith("/ee-minimal-rhel9")
               for base in bases)
    assert "registry.access.redhat.com/ubi9/ubi" in bases


@pytest.mark.parametrize("definition_path", EXAMPLE_DEFINITIONS, ids=lambda path: path.stem)
def test_an_example_definition_builds_its_wheels_with_its_own_pythons_headers(definition_path, tmp_path):
    """ansible-builder create on the example as a user has it, next to a requirements.yml that names the
    collection by URL (docs/awx.md); the builder stage installs the headers of the Python named as the
    image's interpreter, not python3-devel."""
    definition = yaml.safe_load(definition_path.read_text(encoding="utf-8"))
    interpreter = definition["dependencies"]["python_interpreter"]
    python_package = interpreter["package_system"]
    assert interpreter["python_path"] == "/usr/bin/" + python_package
    (tmp_path / definition_path.name).write_text(definition_path.read_text(encoding="utf-8"), encoding="utf-8")
    requirement = {"name": "https://artifacts.example.org/intune-autopilot-0.1.0.tar.gz", "type": "url"}
    (tmp_path / "requirements.yml").write_text(yaml.safe_dump({"collections": [requirement]}), encoding="utf-8")
    run(str(BIN / "ansible-builder"), "create", "--file", definition_path.name, "--context", "context", cwd=tmp_path)

    context = tmp_path / "context"
    containerfile = next(path for path in (context / "Containerfile", context / "Dockerfile") if path.exists())
    text = containerfile.read_text(encoding="utf-8")
    assert 'ARG EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in text
    assert 'ARG PYCMD="%s"' % interpreter["python_path"] in text
    assert 'ARG PKGMGR="%s"' % definition["options"]["package_manager_path"] in text
    builder_stage = bindep_packages((context / "_build" / "bindep.txt").read_text(encoding="utf-8"), ["compile"])
    assert python_package + "-devel" in builder_stage
    assert "python3-devel" not in builder_stage
    assert yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))["collections"] == [requirement]
