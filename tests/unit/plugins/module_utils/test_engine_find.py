# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's find by name when Graph's light listing leaves @odata.type out under $select
(unverified on the Intune collections): the read by id must still find the object, or a run would create
it again."""

from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import DesiredStateEngine
from ansible_collections.intune.autopilot.plugins.module_utils._graph.resource_domain_join_profile import PROFILE

DOMAIN_JOIN = {"id": "a1", "@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration", "displayName": "Join", "assignments": []}
CUSTOM = {"id": "b2", "@odata.type": "#microsoft.graph.windows10CustomConfiguration", "displayName": "Join", "assignments": []}


class Graph:
    """Lists without @odata.type, reads by id whole; records what was read."""

    def __init__(self, objects):
        self.objects = {obj["id"]: obj for obj in objects}
        self.reads = []

    def list(self, path, api=None, params=None):
        return [{"id": obj["id"], "displayName": obj["displayName"]} for obj in self.objects.values()]

    def get_or_none(self, path, api=None, params=None):
        object_id = path.rsplit("/", 1)[-1]
        self.reads.append(object_id)
        return dict(self.objects[object_id]) if object_id in self.objects else None


def engine(graph):
    module = SimpleNamespace(params={"display_name": "join", "id": None, "recreate": False, "state": "present"},
                             graph=graph, check_mode=True, _diff=False)
    return DesiredStateEngine(module, PROFILE)


def test_an_untyped_listing_still_finds_the_object_by_reading_it():
    graph = Graph([DOMAIN_JOIN, CUSTOM])
    assert engine(graph).find()["id"] == "a1"
    assert sorted(graph.reads) == ["a1", "b2"]  # the other type is told apart by its read


def test_an_untyped_listing_of_another_type_only_finds_nothing():
    assert engine(Graph([CUSTOM])).find() is None
