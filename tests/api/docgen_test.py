"""Tests for vdsm.api.docgen: the Markdown API reference."""

from __future__ import annotations

import re

import pytest
import yaml

from vdsm.api import docgen, schema

SMALL_API = """\
types:
    Color:
        description: A color.
        type: enum
        values:
            red: The color red
            blue: The color blue
    Paint:
        description: Paint in a can.
        type: object
        properties:
        -   name: color
            description: Its color
            type: Color
        -   name: liters
            description: How much | in liters
            type: float
            defaultvalue: 1.5
    PaintMap:
        description: Paints by name.
        type: map
        key-type: string
        value-type: Paint
    Thing:
        description: Paint or a name.
        type: union
        values: [Paint, string]
Shop.buy:
    added: '4.60'
    description: Buy some paint.
    params:
    -   name: paints
        description: What to buy
        type: [Paint]
    -   name: express
        description: Deliver today
        type: boolean
        defaultvalue: false
    return:
        description: The order id
        type: string
Shop.close:
    description: Close the shop.
"""

SMALL_EVENTS = """\
'|shop|sold':
    params:
    -   name: '*'
        description: What was sold
        type: Paint
"""


@pytest.fixture
def small_schema(tmp_path):
    api = tmp_path / "api.yml"
    api.write_text(SMALL_API)
    events = tmp_path / "events.yml"
    events.write_text(SMALL_EVENTS)
    return str(api), str(events)


def test_every_verb_type_and_event_of_the_real_schema():
    sch = schema.Schema()
    text = docgen.generate()
    headings = set(re.findall(r"^### (.+)$", text, re.M))
    for name in sch.verbs:
        assert name in headings, f"verb {name} missing"
    for name in sch.types:
        assert name in headings, f"type {name} missing"
    for name in sch.events:
        assert f"`{name}|<id>`" in headings, f"event {name} missing"


def test_output_is_stable():
    assert docgen.generate() == docgen.generate()


def test_output_does_not_depend_on_schema_order(small_schema, tmp_path):
    api, events = small_schema
    raw = yaml.safe_load(open(api))
    raw["types"] = dict(reversed(list(raw["types"].items())))
    shuffled = {k: raw[k] for k in reversed(list(raw))}
    other = tmp_path / "shuffled.yml"
    other.write_text(yaml.safe_dump(shuffled, sort_keys=False))
    assert docgen.generate(str(other), events) == \
        docgen.generate(api, events)


def test_verb_params_defaults_and_return(small_schema):
    text = docgen.generate(*small_schema)
    buy = _section(text, "### Shop.buy")
    assert "Buy some paint." in buy
    assert "Added in 4.60." in buy
    assert ("| `paints` | list of [`Paint`](#type-paint) | required "
            "| What to buy |") in buy
    assert "| `express` | `boolean` | `false` | Deliver today |" in buy
    assert "Returns: `string`: The order id" in buy
    close = _section(text, "### Shop.close")
    assert "No parameters." in close
    assert "Returns: `true`." in close


def test_types(small_schema):
    text = docgen.generate(*small_schema)
    assert '<a id="type-paint"></a>' in text
    paint = _section(text, "### Paint\n")
    assert "| `color` | [`Color`](#type-color) | required | Its color |" \
        in paint
    # A "|" in a description must not split the table cell.
    assert "| `liters` | `float` | `1.5` | How much \\| in liters |" in paint
    color = _section(text, "### Color")
    assert '| `"red"` | The color red |' in color
    assert "Map from `string` to [`Paint`](#type-paint)." in text
    assert "Any one of: [`Paint`](#type-paint), `string`." in text


def test_events(small_schema):
    text = docgen.generate(*small_schema)
    sold = _section(text, "### `|shop|sold|<id>`")
    assert "a map from an id to [`Paint`](#type-paint): What was sold" \
        in sold


def test_contents_counts(small_schema):
    text = docgen.generate(*small_schema)
    assert "- [Shop](#shop): 2 verbs" in text
    assert "- [Types](#types): 4" in text
    assert "- [Events](#events): 1" in text


def test_main_writes_file(small_schema, tmp_path):
    api, events = small_schema
    out = tmp_path / "api.md"
    docgen.main(["--api", api, "--events", events, "-o", str(out)])
    assert out.read_text() == docgen.generate(api, events)


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n### ", start + len(heading))
    return text[start:end if end != -1 else len(text)]
