"""Reset to a snapshot: what tests use to start many cases from one state that took a whole playbook to build
(tests/integration/pytest/conftest.py, converged_lab), so it must leave nothing of the case before behind."""

from .test_faults_and_admin import GROUPS, count_named, new_group


def test_reset_to_a_snapshot_brings_back_its_objects_and_nothing_else_of_what_came_after(lab, graph):
    kept = graph.ok("POST", GROUPS, 201, json=new_group("Kept"))
    lab.client.advance_clock(3600)
    snapshot = lab.client.snapshot()

    # What a test may change after the snapshot: objects, the clock, config, faults, the request log.
    graph.ok("PATCH", "%s/%s" % (GROUPS, kept["id"]), json={"description": "edited"})
    graph.ok("POST", GROUPS, 201, json=new_group("Later"))
    lab.client.config(page_size=1, consistency_delay=30)
    lab.client.advance_clock(7200, freeze=True)
    lab.client.fault("status", method="GET", path="groups", status=503, count=5)

    lab.client.reset(snapshot)

    assert lab.client.requests() == [] and lab.client.counts()["GET"] == 0
    (group,) = [g for g in lab.client.state()["groups"] if g["displayName"] == "Kept"]
    assert "description" not in group or group["description"] != "edited"
    assert count_named(graph, "Later") == 0 and count_named(graph, "Kept") == 1  # no 503: the fault is gone
    assert "@odata.nextLink" not in graph.ok("GET", GROUPS)  # page size back to the start's
    clock = lab.client.advance_clock(0)
    assert clock["offset"] == 3600 and not clock["frozen"]

    # Reset without a snapshot is still the seed's state.
    lab.client.reset()
    assert count_named(graph, "Kept") == 0
