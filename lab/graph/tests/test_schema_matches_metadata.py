"""The lab's hand-written types (schema.py) against Microsoft's metadata (the shared subset), so the
lab cannot drift from Graph: same properties, types, nullability, base types and enum members."""

import json
from pathlib import Path

import pytest

from lab.graph import schema

METADATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "graph-schema" / "graph-schema-subset.json"
KINDS = {"entity": "EntityType", "complex": "ComplexType", "enum": "EnumType"}
# Served (seeded) but absent from the subset; listed so that a new type cannot skip the comparison.
UNVERIFIED = {"deviceEnrollmentLimitConfiguration", "deviceEnrollmentPlatformRestriction",
              "deviceEnrollmentPlatformRestrictionsConfiguration", "omaSetting", "omaSettingString",
              "omaSettingInteger", "windows10CustomConfiguration", "managedDevice", "user"}


@pytest.fixture(scope="module")
def metadata():
    if not METADATA.exists():
        pytest.skip(f"Graph metadata subset not found at {METADATA.resolve()} (it lives outside the repo, in "
                    "../shared); the schema comparison needs it")
    return json.loads(METADATA.read_text())


def cases():
    for name, typedef in sorted(schema.SCHEMA.items()):
        for version in schema.VERSIONS:
            if not typedef.unverified and typedef.in_version(version):
                yield pytest.param(name, version, id=f"{version}:{name}")


@pytest.mark.parametrize("name,version", list(cases()))
def test_type_matches_metadata(metadata, name, version):
    typedef = schema.SCHEMA[name]
    real = metadata[version]["types"].get(name)
    assert real is not None, f"{name} is served under /{version} but Graph's {version} metadata has no such type"
    assert KINDS[typedef.kind] == real["kind"]
    if typedef.kind == "enum":
        assert typedef.enum_members(version) == [m["name"] for m in real["members"]]
        return
    assert typedef.base == real.get("baseType")
    assert typedef.abstract == bool(real.get("abstract"))
    ours = {p.name: p for p in typedef.props if p.in_version(version)}
    theirs = {p["name"]: p for p in real.get("properties", [])}
    assert sorted(ours) == sorted(theirs)
    for prop_name, prop in ours.items():
        assert prop.type == theirs[prop_name]["type"], prop_name
        if theirs[prop_name]["nullable"] is not None:
            assert prop.nullable == theirs[prop_name]["nullable"], prop_name
    real_navs = {n["name"] for n in real.get("navigationProperties", [])}
    navs = set(typedef.navs) - (set(typedef.beta_only_navs) if version == schema.V1 else set())
    assert navs <= real_navs


def test_beta_only_types_are_absent_from_v1(metadata):
    for name, typedef in schema.SCHEMA.items():
        if not typedef.unverified and not typedef.in_version(schema.V1):
            assert name not in metadata["v1.0"]["types"], f"{name} exists in v1.0; drop only='beta'"


def test_unverified_types_are_exactly_the_known_ones(metadata):
    unverified = {name for name, t in schema.SCHEMA.items() if t.unverified}
    assert unverified == UNVERIFIED
    assert not unverified & set(metadata["beta"]["types"]), "now in the metadata: verify them"


def test_writable_properties_have_types_the_lab_understands():
    for typedef in schema.SCHEMA.values():
        for prop in typedef.props:
            if prop.read_only:
                continue
            base = schema.collection_item(prop.type) or prop.type
            assert base.startswith("Edm.") or base in schema.SCHEMA, f"{typedef.name}.{prop.name}: {prop.type}"
