"""``doctor --tools``: scenarios made from the given tools, with arguments valid under their schemas."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pegtool.analysis.examples import example_arguments, shortest_match
from pegtool.analysis.roundtrip import SCENARIOS, load_tools, roundtrip_source, scenarios_for
from pegtool.template import load_template

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = [
    {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{3}$"},
                                      "when": {"type": "string", "format": "date-time"},
                                      "n": {"type": "integer", "minimum": 10, "maximum": 12},
                                      "x": {"type": "number", "exclusiveMaximum": 0},
                                      "short": {"type": "string", "minLength": 20, "maxLength": 25}},
     "required": ["code"]},
    {"type": "object", "properties": {"choice": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
                                      "ref": {"$ref": "#/$defs/item"}},
     "$defs": {"item": {"type": "object", "properties": {"k": {"enum": ["a", "b"]}}, "required": ["k"]}}},
    {"type": "object", "properties": {"list": {"type": "array", "items": {"type": "integer"}, "minItems": 3}}},
]


@pytest.mark.parametrize("schema", SCHEMAS + [t["function"]["parameters"] for t in load_tools()])
def test_example_arguments_are_valid(schema: dict) -> None:
    args = example_arguments(schema)
    assert isinstance(args, dict) and set(args) == set(schema.get("properties", {}))
    jsonschema.validate(args, schema)


def test_no_example_for_an_impossible_pattern() -> None:
    assert example_arguments({"type": "object", "properties": {"a": {"type": "string", "pattern": "[]"}},
                              "required": ["a"]}) is None
    assert shortest_match("ab+c") == "abc"


def test_standard_tools_keep_the_standard_scenarios() -> None:
    assert scenarios_for(None) is SCENARIOS and scenarios_for(load_tools()) is SCENARIOS


def test_custom_tools_make_their_own_scenarios() -> None:
    tools = [{"type": "function", "function": {"name": n, "parameters": s}} for n, s in zip("abc", SCHEMAS, strict=True)]
    scen = scenarios_for(tools)
    assert set(scen) == {"content", "reasoning_content", "call:a", "call:b", "call:c", "two_calls", "content_call"}
    assert scen["two_calls"]["calls"][0][0] == "a" and scen["two_calls"]["calls"][1][0] == "b"
    report = roundtrip_source(load_template(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"), tools)
    status = {o.scenario: o.status for o in report.outcomes}
    assert status["call:a"] == status["call:b"] == status["call:c"] == "pass", report.row()
    assert json.dumps(report.row())  # serialisable
