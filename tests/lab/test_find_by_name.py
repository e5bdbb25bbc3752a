# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How much a resource module reads to find its object by name (issue #14), from the lab's request log: a
no-op run in a tenant with many unrelated objects lists only id and name (page size LIST_PAGE_SIZE, or a
server-side name filter where Graph takes one), then reads the match whole; it never writes."""

from __future__ import annotations

import math
from urllib.parse import parse_qs

import pytest

from module_runner import graph_auth, run_module, writes

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import LIST_PAGE_SIZE

ESP_COLLECTION = "/beta/deviceManagement/deviceEnrollmentConfigurations"
PROFILE_COLLECTION = "/beta/deviceManagement/windowsAutopilotDeploymentProfiles"
CONFIG_COLLECTION = "/beta/deviceManagement/deviceConfigurations"
PILOT = "7e1ab000-0000-4000-8000-00000000b001"  # Lab-Pilot-Devices

# module, its collection, the lab's store key, options for a no-op re-run, an unrelated object of the same type
CASES = {
    "autopilot_esp": (
        ESP_COLLECTION, "deviceEnrollmentConfigurations",
        dict(display_name="Autopilot ESP", assignments={"set": [{"group": "Lab-Pilot-Devices"}]}),
        {"@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration"},
    ),
    "autopilot_profile": (
        PROFILE_COLLECTION, "windowsAutopilotDeploymentProfiles",
        dict(display_name="Autopilot hybrid join user driven", assignments={"set": [{"group": PILOT}]}),
        {"@odata.type": "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile", "locale": "os-default",
         "deviceType": "windowsPc", "outOfBoxExperienceSetting": {"deviceUsageType": "singleUser"}},
    ),
    "domain_join_profile": (
        CONFIG_COLLECTION, "deviceConfigurations",
        dict(display_name="Autopilot domain join", computer_name_prefix="HAADJ-", domain="lab.example",
             organizational_unit="OU=Autopilot,DC=lab,DC=example", assignments={"set": [{"group": "Lab-Pilot-Devices"}]}),
        {"@odata.type": "#microsoft.graph.windowsDomainJoinConfiguration", "computerNameStaticPrefix": "X-",
         "activeDirectoryDomainName": "lab.example", "organizationalUnit": "OU=Other,DC=lab,DC=example"},
    ),
}


NAME_FILTERED = ("autopilot_esp", "domain_join_profile")


def seed_unrelated(lab, store_key, template, count):
    lab.client.seed({store_key: [dict(template, displayName="Unrelated %04d" % index) for index in range(count)]})
    return len(lab.client.state()[store_key])


def reads(entries, path):
    return [entry for entry in entries if entry["method"] == "GET" and entry["path"].startswith(path)]


@pytest.mark.parametrize("module", sorted(CASES))
@pytest.mark.parametrize("unrelated", [10, 1000])
def test_a_no_op_run_lists_only_names_and_reads_the_match(lab, module, unrelated):
    collection, store_key, options, template = CASES[module]
    created = run_module(module, dict(graph_auth(lab), **options))
    assert created["changed"] is True, created
    total = seed_unrelated(lab, store_key, template, unrelated)
    lab.client.clear_log()

    again = run_module(module, dict(graph_auth(lab), **options))

    assert again["changed"] is False and again["id"] == created["id"], again
    log = lab.client.requests()
    assert writes(log) == []
    own = reads(log, collection)
    listings = [entry for entry in own if entry["path"] == collection]
    assert own == listings + [entry for entry in own if entry["path"] == "%s/%s" % (collection, created["id"])]
    assert len(own) - len(listings) == 1, own  # the match, read once, with its assignments
    assert parse_qs(own[-1]["query"]) == {"$expand": ["assignments"]}
    for listing in listings:
        query = parse_qs(listing["query"])
        assert query["$select"] == ["id,displayName"] and "$expand" not in query, listing
    if module in NAME_FILTERED:  # Graph filters these collections by name: one page whatever the tenant holds
        assert len(listings) == 1 and parse_qs(listings[0]["query"])["$filter"] == ["displayName eq '%s'" % options["display_name"]]
    else:
        assert len(listings) == math.ceil(total / LIST_PAGE_SIZE), listings
        assert all("$filter" not in parse_qs(entry["query"]) for entry in listings)
    # Everything else read is the group look-up.
    others = [entry for entry in log if entry not in own]
    assert all(entry["method"] == "GET" and "/groups" in entry["path"] for entry in others), others


def test_a_refused_name_filter_falls_back_to_the_listing(lab):
    collection, store_key, options, template = CASES["domain_join_profile"]
    created = run_module("domain_join_profile", dict(graph_auth(lab), **options))
    seed_unrelated(lab, store_key, template, 5)
    lab.client.clear_log()
    lab.client.fault("status", method="GET", path="^%s$" % collection, count=1, status=400)

    again = run_module("domain_join_profile", dict(graph_auth(lab), **options))

    assert again["changed"] is False and again["id"] == created["id"], again
    listings = [entry for entry in lab.client.requests() if entry["method"] == "GET" and entry["path"] == collection]
    assert [entry["status"] for entry in listings] == [400, 200]
    assert "$filter" in parse_qs(listings[0]["query"]) and "$filter" not in parse_qs(listings[1]["query"])
    assert parse_qs(listings[1]["query"])["$top"] == [str(LIST_PAGE_SIZE)]


def test_a_refused_page_size_falls_back_to_graphs_own_pages(lab):
    collection, store_key, options, template = CASES["autopilot_profile"]
    created = run_module("autopilot_profile", dict(graph_auth(lab), **options))
    lab.client.clear_log()
    lab.client.fault("status", method="GET", path="^%s$" % collection, count=1, status=400)

    again = run_module("autopilot_profile", dict(graph_auth(lab), **options))

    assert again["changed"] is False and again["id"] == created["id"], again
    listings = [entry for entry in lab.client.requests() if entry["method"] == "GET" and entry["path"] == collection]
    assert [(entry["status"], sorted(parse_qs(entry["query"]))) for entry in listings] == [
        (400, ["$select", "$top"]), (200, ["$select"])]


def test_a_name_differing_only_in_case_is_still_found_through_the_filter(lab):
    collection, store_key, options, template = CASES["domain_join_profile"]
    created = run_module("domain_join_profile", dict(graph_auth(lab), **options))
    renamed = run_module("domain_join_profile", dict(graph_auth(lab), **dict(options, display_name=options["display_name"].upper())))
    assert renamed["changed"] is True and renamed["id"] == created["id"], renamed
    assert [obj["displayName"] for obj in lab.client.state()[store_key] if obj["id"] == created["id"]] == ["AUTOPILOT DOMAIN JOIN"]


def test_an_esp_priority_counts_the_custom_esps_from_a_light_listing(lab):
    collection, store_key, options, template = CASES["autopilot_esp"]
    options = dict(options, priority=1)
    created = run_module("autopilot_esp", dict(graph_auth(lab), **options))
    seed_unrelated(lab, store_key, template, 20)
    lab.client.clear_log()

    again = run_module("autopilot_esp", dict(graph_auth(lab), **options))

    assert again["changed"] is False and again["id"] == created["id"], again
    listings = [entry for entry in lab.client.requests() if entry["method"] == "GET" and entry["path"] == collection]
    assert listings and all("$expand" not in parse_qs(entry["query"]) and "$select" in parse_qs(entry["query"]) for entry in listings)
    # The count of custom ESPs asks Graph for ESPs only, not for every enrollment configuration.
    assert [parse_qs(entry["query"])["$filter"] for entry in listings] == [
        ["displayName eq 'Autopilot ESP'"], ["deviceEnrollmentConfigurationType eq 'windows10EnrollmentCompletionPageConfiguration'"]]
