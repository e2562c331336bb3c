"""The schema: its own consistency, and checking values against it."""

from __future__ import annotations

import pytest

from vdsm.api import registry, schema
from vdsm.api.dispatcher import check_registry

TEST_API = """
types:
    Color:
        type: enum
        values: {red: Red, blue: Blue}
    Point:
        type: object
        properties:
        -   name: x
            type: int
        -   name: label
            type: string
            defaultvalue: ""
        -   name: note
            type: string
            defaultvalue: null
    Labels:
        type: map
        key-type: string
        value-type: uint
    IntOrText:
        type: union
        values: [int, string]
    Id:
        type: alias
        sourcetype: string
    Tree:
        type: object
        properties:
        -   name: name
            type: string
        -   name: children
            type: [Tree]
            defaultvalue: null
Test.draw:
    params:
    -   name: points
        type: [Point]
    -   name: color
        type: Color
        defaultvalue: red
    -   name: labels
        type: Labels
        defaultvalue: {}
    -   name: extra
        type: IntOrText
        defaultvalue: 0
    return:
        type: Id
"""


@pytest.fixture
def test_schema(tmp_path):
    path = tmp_path / "api.yml"
    path.write_text(TEST_API)
    return schema.Schema(str(path), str(tmp_path / "none.yml"))


def test_nested_defaults_filled_on_a_copy(test_schema):
    points = [{"x": 1}, {"x": 2, "label": "b", "note": "n"}]
    params = test_schema.check_params("Test.draw", {"points": points})
    # A null defaultvalue only marks a nested field optional: not added.
    assert params["points"] == [{"x": 1, "label": ""},
                                {"x": 2, "label": "b", "note": "n"}]
    assert points == [{"x": 1}, {"x": 2, "label": "b", "note": "n"}]


def test_defaults_filled(test_schema):
    params = test_schema.check_params("Test.draw", {"points": []})
    assert params == {"points": [], "color": "red", "labels": {},
                      "extra": 0}


def test_positional_params(test_schema):
    params = test_schema.check_params("Test.draw", [[{"x": 1}], "blue"])
    assert params["color"] == "blue"


@pytest.mark.parametrize("params,path", [
    ({}, "points"),
    ({"points": [{"x": "1"}]}, "points[0].x"),
    ({"points": [{"x": True}]}, "points[0].x"),
    ({"points": [{}]}, "points[0].x"),
    ({"points": {}}, "points"),
    ({"points": [], "color": "green"}, "color"),
    ({"points": [], "color": ["red"]}, "color"),
    ({"points": [], "color": {"red": 1}}, "color"),
    ({"points": [], "labels": {"a": -1}}, "labels.a"),
    ({"points": [], "extra": 1.5}, "extra"),
])
def test_bad_params_name_the_field(test_schema, params, path):
    with pytest.raises(schema.SchemaError) as e:
        test_schema.check_params("Test.draw", params)
    assert e.value.path == path


def test_unknown_params_dropped(test_schema):
    params = test_schema.check_params("Test.draw",
                                      {"points": [], "bogus": 1})
    assert "bogus" not in params


def test_strict_refuses_unknown_fields(test_schema):
    test_schema.strict = True
    with pytest.raises(schema.SchemaError) as e:
        test_schema.check_params("Test.draw", {"points": [{"x": 1, "y": 2}]})
    assert e.value.path == "points[0].y"


def test_result_checked(test_schema):
    test_schema.check_result("Test.draw", "id-1")
    with pytest.raises(schema.SchemaError):
        test_schema.check_result("Test.draw", 5)


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("type_,value", [
    ("Point", {"x": 1}), ("Point", {"x": 1, "label": None}),
    ("Point", {"x": 1, "y": 2}), ("Point", {}), ("Point", {"x": None}),
    ("Point", {"x": True}), ("Point", [1]), (["Point"], [{"x": 1}, {}]),
    ("Color", "red"), ("Color", "green"), ("Labels", {"a": 1}),
    ("Labels", {"a": -1}), ("Labels", {1: 1}), ("IntOrText", "t"),
    ("IntOrText", 1.5), ("Id", "x"), ("Id", 1), ("uint", 0), ("uint", -1),
    ("float", 1), ("float", True), ("any", None), ("dict", []),
    ("Color", True), ("Tree", {"name": "a"}),
    ("Tree", {"name": "a", "children": [{"name": "b", "children": []}]}),
    ("Tree", {"name": "a", "children": [{"name": "b", "children": [{}]}]}),
    ("Tree", {"name": "a", "children": [{"name": 1}]}),
])
def test_quick_result_check_agrees_with_full_check(test_schema, strict,
                                                   type_, value):
    test_schema.strict = strict
    try:
        test_schema.check(type_, value, "v")
        valid = True
    except schema.SchemaError:
        valid = False
    assert test_schema._conforms(type_, value) is valid


def test_real_schema_types_resolve():
    """Every type named by a verb or a type of vdsm-api.yml exists."""
    s = schema.Schema()

    def names(type_):
        if isinstance(type_, list):
            yield from names(type_[0])
        elif type_ is not None:
            yield type_

    used = set()
    for verb in s.verbs.values():
        for p in verb.params:
            used.update(names(p.type))
        used.update(names(verb.ret))
    for spec in s.types.values():
        for p in spec.get("properties", []):
            used.update(names(p["type"]))
        for key in ("key-type", "value-type", "sourcetype"):
            used.update(names(spec.get(key)))
        if spec["type"] == "union":
            for t in spec["values"]:
                used.update(names(t))
    for params in s.events.values():
        for p in params:
            used.update(names(p.type))
    unknown = used - set(s.types) - schema.PRIMITIVES
    assert not unknown


def test_every_verb_registered_is_in_schema():
    check_registry(schema.Schema(), registry.load_api_modules())


def test_verb_docs():
    for verb in schema.Schema().verbs.values():
        assert verb.description, verb.name


@pytest.mark.parametrize("value", [True, 1.0, "1", [1], {"1": 1}])
def test_enum_refuses_other_types(value):
    """1 is a StorageDomainClass; True, 1.0, "1" and [1] are not."""
    with pytest.raises(schema.SchemaError) as e:
        schema.Schema().check("StorageDomainClass", value, "domainClass")
    assert e.value.path == "domainClass"
