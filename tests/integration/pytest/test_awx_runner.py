# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/hybrid_join.yml run as AWX runs a job, with ansible-runner, against the Graph lab.

What AWX does for a job, from its source (awx/main/tasks/jobs.py and awx/main/models/credential.py):
- the project's collections/requirements.yml is installed with ansible-galaxy into the job's private data dir
  (requirements_collections), which ANSIBLE_COLLECTIONS_PATH names;
- the project is copied to project/, the inventory written to inventory/, the job template's extra vars to
  env/extravars;
- each credential's environment goes to env/envvars: the built-in "Microsoft Azure Resource Manager" one
  through awx_plugins.credentials.injectors.azure_rm, a custom one by rendering its injectors with only the
  inputs that are set, its file templates written to private files under env/ and its extra vars passed as
  `-e @env/<file>`.
The collection is built and installed as a user's project would get it, and the project's playbook imports
intune.autopilot.hybrid_join by name, as docs/awx.md describes.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from harness import REPO, writes

from ansible_collections.intune.autopilot.plugins.module_utils._graph.auth import ENV_FALLBACKS

ansible_runner = pytest.importorskip("ansible_runner")

BIN = Path(sys.executable).parent
CREDENTIAL_TYPES = REPO / "extensions" / "awx" / "credential_types"
# Any JSON Web Token, which is what every Graph access token is.
JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
DEVICE_GROUP = "Autopilot-HAADJ-Devices"
# Every variable the Graph modules read, cleared so that only what a job's credential injects is there.
AZURE_VARIABLES = {name for names in ENV_FALLBACKS.values() for name in names}


def job_template_vars(lab):
    """The job template's own variables: the tenant's settings and, for the lab, its endpoints (no secret)."""
    return dict(hybrid_join_domain_name="lab.example", hybrid_join_domain_join_ou="OU=Autopilot,DC=lab,DC=example",
                hybrid_join_graph_auth=dict(graph_endpoint=lab.url, authority_host=lab.url, ca_path=lab.ca))


@pytest.fixture(scope="module")
def requirements_collections(tmp_path_factory):
    """The collection as AWX's project update installs it from a project's collections/requirements.yml."""
    work = tmp_path_factory.mktemp("project-update")
    clean = {name: value for name, value in os.environ.items() if not name.startswith("ANSIBLE_")}
    galaxy = str(BIN / "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--output-path", str(work), str(REPO)], cwd=work, env=clean,
                   check=True, capture_output=True)
    (tarball,) = work.glob("intune-autopilot-*.tar.gz")
    requirements = work / "requirements.yml"
    requirements.write_text(yaml.safe_dump({"collections": [{"name": str(tarball), "type": "file"}]}))
    subprocess.run([galaxy, "collection", "install", "-r", str(requirements), "-p", str(work / "requirements_collections")],
                   cwd=work, env=clean, check=True, capture_output=True)
    return work / "requirements_collections"


@pytest.fixture
def job_environment(monkeypatch):
    """Only what the job's credentials inject reaches the job: no AZURE_* or ANSIBLE_* of the test's own."""
    for name in list(os.environ):
        if name.startswith("ANSIBLE_") or name in AZURE_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("PATH", "%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")))


def azure_rm_injection(client, tenant, secret, subscription="", cloud_environment=None):
    """awx_plugins/credentials/injectors.py azure_rm, for a service principal."""
    env = {"AZURE_SUBSCRIPTION_ID": subscription, "AZURE_CLIENT_ID": client, "AZURE_TENANT": tenant, "AZURE_SECRET": secret}
    if cloud_environment is not None:
        env["AZURE_CLOUD_ENVIRONMENT"] = cloud_environment
    return env, []


def custom_injection(type_name, inputs, private_data_dir):
    """CredentialType.inject_credential for a custom type: (environment, extra ansible-playbook arguments)."""
    injectors = yaml.safe_load((CREDENTIAL_TYPES / type_name / "injectors.yml").read_text(encoding="utf-8"))
    namespace = {name: value for name, value in inputs.items() if value}
    tower = namespace["tower"] = type("Tower", (), {})()
    sandbox = ImmutableSandboxedEnvironment()
    env_dir = private_data_dir / "env"

    def private_file(text, mode):
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(path, mode)
        return path

    for template in injectors.get("file", {}).values():  # the single-file syntax our types use
        tower.filename = private_file(sandbox.from_string(template).render(**namespace), stat.S_IRUSR | stat.S_IWUSR)
    env = {name: sandbox.from_string(template).render(**namespace) for name, template in injectors.get("env", {}).items()}
    args = []
    if injectors.get("extra_vars"):
        extra_vars = {name: sandbox.from_string(template).render(**namespace) for name, template in injectors["extra_vars"].items()}
        args = ["-e", "@" + private_file(yaml.safe_dump(extra_vars), stat.S_IRUSR)]
    return env, args


def run_job(tmp_path, requirements, credentials, extra_vars, job_tags=None):
    """Lay out the job's private data dir as AWX does and run it; (runner, private data dir)."""
    private_data_dir = tmp_path / "job"
    for sub in ("project", "inventory", "env"):
        (private_data_dir / sub).mkdir(parents=True)
    (private_data_dir / "project" / "hybrid_join.yml").write_text("- ansible.builtin.import_playbook: intune.autopilot.hybrid_join\n")
    (private_data_dir / "inventory" / "hosts").write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    envvars = {"ANSIBLE_COLLECTIONS_PATH": str(requirements), "ANSIBLE_FORCE_COLOR": "False"}
    cmdline = []
    for inject in credentials:
        env, args = inject(private_data_dir)
        envvars.update(env)
        cmdline += args
    (private_data_dir / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    (private_data_dir / "env" / "extravars").write_text(yaml.safe_dump(extra_vars))
    if cmdline:
        (private_data_dir / "env" / "cmdline").write_text(" ".join(cmdline))
    # AWX's default job verbosity is 0; 3 (-vvv) is what people turn on to see why a job failed, and shows most.
    runner = ansible_runner.run(private_data_dir=str(private_data_dir), playbook="hybrid_join.yml", verbosity=3, quiet=True,
                                tags=job_tags)
    return runner, private_data_dir


def assert_no_secret(runner, private_data_dir, secrets):
    """No secret and no token in the job's events (what AWX stores and shows) nor in any artifact.

    Except ansible-runner's `command` artifact: runner records there the environment it was given, by design,
    0600 (AWX keeps only a masked copy, build_safe_env); the collection has no say in it."""
    texts = [json.dumps(event) for event in runner.events]
    for path in (private_data_dir / "artifacts").rglob("*"):
        if path.is_file() and path.name != "command":
            texts.append(path.read_text(errors="replace"))
    command = next((private_data_dir / "artifacts").rglob("command"))
    assert stat.S_IMODE(command.stat().st_mode) == 0o600
    assert len(texts) > 10, "the job left events and artifacts to read"
    for text in texts:
        assert not JWT.search(text), JWT.search(text).group(0)[:20]
        for secret in secrets:
            assert secret not in text


@pytest.mark.usefixtures("job_environment")
def test_a_job_with_awx_azure_credential_then_one_with_the_intune_credential_type(lab, tmp_path, requirements_collections):
    admin, cert_app = lab.apps["lab-admin"], lab.apps["lab-cert"]
    awx_azure = azure_rm_injection(admin["client_id"], lab.tenant, admin["secret"], subscription="unused", cloud_environment="AzureCloud")

    first, first_dir = run_job(tmp_path / "1", requirements_collections, [lambda _dir: awx_azure], job_template_vars(lab))

    assert (first.status, first.rc) == ("successful", 0), first.stdout.read()
    assert first.stats["changed"]["localhost"] == 4, first.stats  # steps 5 to 8 created
    assert [g["displayName"] for g in lab.client.state()["groups"]].count(DEVICE_GROUP) == 1
    assert {entry["app_id"] for entry in lab.client.requests()} == {admin["client_id"]}
    assert lab.client.counts()["token"] == 1
    assert_no_secret(first, first_dir, [admin["secret"]])

    # The shipped Intune credential type holding a certificate (AWX writes the PEM to a file), and job tags as a
    # launch prompt gives them: step 5 (with the preflight, tagged always) finds its group as the first job left it.
    pem = Path(cert_app["cert_path"]).read_text(encoding="utf-8")
    key_line = pem.split("-----BEGIN PRIVATE KEY-----", 1)[1].split()[0]  # the first line of the private key
    intune = dict(tenant_id=lab.tenant, client_id=cert_app["client_id"], client_secret="", client_certificate=pem, cloud="public")
    lab.client.clear_log()

    second, second_dir = run_job(tmp_path / "2", requirements_collections,
                                 [lambda job_dir: custom_injection("intune_graph", intune, job_dir)], job_template_vars(lab),
                                 job_tags="step5")

    assert (second.status, second.rc) == ("successful", 0), second.stdout.read()
    assert not second.stats.get("changed"), second.stats
    step5 = [e for e in second.events if e["event"] == "runner_on_ok" and "Dynamic security group" in e["event_data"]["task"]]
    assert len(step5) == 1 and step5[0]["event_data"]["res"]["changed"] is False
    requests = lab.client.requests()
    assert requests and writes(requests) == [] and {entry["app_id"] for entry in requests} == {cert_app["client_id"]}
    assert_no_secret(second, second_dir, [key_line])


@pytest.mark.usefixtures("job_environment", "single_connector_msa")  # step 3 discovers the one msaODJ account
def test_a_step_3_job_with_the_ad_delegate_credential_type(lab, ad, tmp_path, requirements_collections):
    ou = ad.make_ou()
    usn = ad.usn_changed(ou)
    admin, delegate = lab.apps["lab-admin"], ad.lab["delegate_user"]
    intune = dict(tenant_id=lab.tenant, client_id=admin["client_id"], client_secret=admin["secret"])
    # The DC's CA as a user pastes it into the credential; AWX writes it to a file the role's ca_path names.
    directory = dict(ldap_server=ad.lab["host"], ldap_username=delegate["dn"], ldap_password=delegate["password"],
                     ldap_ca_certificate=Path(ad.lab["ca_path"]).read_text(encoding="utf-8"))
    extra_vars = dict(job_template_vars(lab), hybrid_join_domain_name="autopilot.test", hybrid_join_domain_join_ou=ou)

    job, job_dir = run_job(tmp_path, requirements_collections,
                           [lambda job_dir: custom_injection("intune_graph", intune, job_dir),
                            lambda job_dir: custom_injection("ad_delegate", directory, job_dir)],
                           extra_vars, job_tags="step3")

    assert (job.status, job.rc) == ("successful", 0), job.stdout.read()
    step3 = [e for e in job.events if e["event"] == "runner_on_ok" and "Delegate computer-object creation" in e["event_data"]["task"]]
    assert len(step3) == 1 and step3[0]["event_data"]["res"]["changed"] is True, step3
    assert ad.usn_changed(ou) != usn, "the OU's permissions were written"
    assert_no_secret(job, job_dir, [delegate["password"], admin["secret"]])
