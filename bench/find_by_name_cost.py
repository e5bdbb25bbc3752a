"""What a no-op run of each resource module costs at N unrelated objects in its collection (issue #14):
requests and response bytes, with the engine's find by name ("after") and with the listing it replaced
(every object with its assignments, Graph's 100 a page) patched back in ("before"). Run by hand against a
fresh lab; prints a Markdown table; asserts nothing but changed=false.

    .venv/bin/python bench/find_by_name_cost.py
"""
import contextlib
import sys
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections"), str(REPO / "tests/lab")]

import httpx  # noqa: E402
from lab.graph.testing import running_lab  # noqa: E402
from module_runner import graph_auth, run_module  # noqa: E402
import test_find_by_name as cases  # noqa: E402
from ansible_collections.intune.autopilot.plugins.module_utils._graph import engine  # noqa: E402


def old_matches_by_key(self):
    wanted = self.params.get(self.resource.key_option)
    return [obj for obj in self.graph.list(self.collection, api=self.resource.api, params=self.read_params)
            if self.resource.owns(obj) and self.resource.key_matches(obj, wanted)]


stats = {"requests": 0, "bytes": 0}
real_send = httpx.Client.send


def counting_send(self, request, *args, **kwargs):
    response = real_send(self, request, *args, **kwargs)
    response.read()
    stats["requests"] += 1
    stats["bytes"] += len(response.content)
    return response


with running_lab() as lab, mock.patch.object(httpx.Client, "send", counting_send):
    print("| module | N | before: requests | before: bytes | after: requests | after: bytes |")
    print("|---|---:|---:|---:|---:|---:|")
    for module in sorted(cases.CASES):
        collection, store_key, options, template = cases.CASES[module]
        for count in (10, 1000, 3000):
            lab.client.reset()
            run_module(module, dict(graph_auth(lab), **options))
            cases.seed_unrelated(lab, store_key, template, count)
            row = []
            for variant in ("before", "after"):
                stats.update(requests=0, bytes=0)
                with (mock.patch.object(engine.DesiredStateEngine, "matches_by_key", old_matches_by_key)
                      if variant == "before" else contextlib.nullcontext()):
                    result = run_module(module, dict(graph_auth(lab), **options))
                assert result["changed"] is False, result
                row += [stats["requests"], stats["bytes"]]
            print("| %s | %d | %d | %d | %d | %d |" % ((module, count) + tuple(row)))
