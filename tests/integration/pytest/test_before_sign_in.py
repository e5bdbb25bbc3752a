# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Graph modules' action plugin settles on the controller before it signs in: options the module would
refuse fail with the module's own message and no token request; a sign-in host whose certificate cannot be verified
fails pointing to ca_path. Through ansible-playbook (harness.py); the evidence is the Graph lab's token count."""

from __future__ import annotations

import contextlib
import importlib
import io
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from harness import graph_auth, run_tasks

COLLECTION = "intune.autopilot."
DEVICE = {"serial_number": "SN-1", "hardware_hash": "aGFzaA=="}
# (module, options beyond the lab's credentials, what the message must name): one of each check AnsibleModule makes.
REFUSED = [
    ("device_group", {"display_name": "G", "membership_rulle": "(device.devicePhysicalIds -any _ -eq \"[ZTDId]\")"},
     "membership_rulle"),
    ("autopilot_esp", {"display_name": "E", "state": "gone"}, "state must be one of: present, absent, got: gone"),
    ("autopilot_device", {"devices": [DEVICE], "batch_size": "many"}, "batch_size"),
    ("autopilot_device", {"devices": [{"hardware_hash": "aGFzaA=="}]}, "serial_number"),
    ("autopilot_device", {"state": "present"}, "one of the following is required: csv_files, devices"),
    ("autopilot_device_info", {"serial_numbers": ["SN-1"], "group_tag": "T"}, "mutually exclusive: serial_numbers|group_tag"),
    ("connector_check", {"ldap": {"server": ["dc1"], "username": "delegate", "pasword": "typo"}}, "ldap.pasword"),
    ("automatic_enrollment", {"scope": "everybody"}, "scope"),
]


def module_own_message(module, args):
    """The message the module itself fails with for args (run in-process; it fails before any request)."""
    code = importlib.import_module("ansible_collections.intune.autopilot.plugins.modules." + module)
    stdout = io.StringIO()
    with patch_module_args(dict(args, _ansible_module_name=COLLECTION + module)), contextlib.redirect_stdout(stdout):
        with pytest.raises(SystemExit):
            code.main()
    result = json.loads(stdout.getvalue())
    assert result["failed"], result
    return result["msg"]


def test_options_the_module_would_refuse_fail_with_its_message_before_the_token_request(lab):
    auth = graph_auth(lab)
    tasks = [{"name": "refused %d" % number, COLLECTION + module: dict(auth, **options), "ignore_errors": True}
             for number, (module, options, _named) in enumerate(REFUSED)]
    results = run_tasks(tasks)
    assert lab.client.counts()["token"] == 0 and lab.client.requests() == [], "no sign-in, no Graph request"
    for (module, options, named), result in zip(REFUSED, results):
        assert result["failed"] and named in result["msg"], (module, result)
        assert result["msg"] == module_own_message(module, dict(auth, **options)), module
        assert auth["client_secret"] not in json.dumps(result)

    # The same play with the options right signs in once: the count above could have moved.
    valid = run_tasks([{"name": "valid", COLLECTION + "autopilot_esp": dict(auth, display_name="E", state="absent")}])
    assert not valid[0]["failed"] and lab.client.counts()["token"] == 1, valid


def test_a_sign_in_host_whose_certificate_cannot_be_verified_points_to_ca_path(lab):
    auth = graph_auth(lab)
    del auth["ca_path"]  # the lab's sign-in endpoint is served under its private CA
    (result,) = run_tasks([{"name": "untrusted", COLLECTION + "autopilot_config_info": auth, "ignore_errors": True}])
    assert result["failed"] and "the TLS certificate of %s could not be verified" % lab.url in result["msg"], result
    assert "set ca_path to its CA certificate" in result["msg"]
    assert auth["client_secret"] not in json.dumps(result)
    assert lab.client.counts()["token"] == 0 and lab.client.requests() == []
