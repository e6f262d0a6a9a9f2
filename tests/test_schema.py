"""Tests for pegtool.grammar.schema: JSON Schema -> IR, read as PEG and as CFG, plus the parser."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from schema_instances import invalid_texts, valid_texts
from schema_reference import cfg_match, peg_match

from pegtool.errors import SchemaError
from pegtool.grammar.builder import GrammarBuilder, json_schema, json_value, lit, schema_text, seq
from pegtool.grammar.ir import Grammar, Json, JsonSchema, SchemaText, walk
from pegtool.grammar.schema import SchemaWarning, UnsupportedSchemaWarning, lower, schema_to_ir

TOOLS = json.loads((Path(__file__).parent / "fixtures" / "tools.json").read_text())
PARAMS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


def compile_schema(schema: Any) -> tuple[Grammar, list[SchemaWarning]]:
    b = GrammarBuilder()
    ref, warns = schema_to_ir(schema, b)
    b.define("root", ref)
    return b.build("root"), warns


def accepts(grammar: Grammar, text: str) -> bool:
    """PEG and CFG readings must agree; the answer is theirs."""
    peg, cfg = peg_match(grammar, text), cfg_match(grammar, text)
    assert peg == cfg, f"PEG {peg} vs CFG {cfg} on {text!r}"
    return peg


@pytest.mark.parametrize("name", list(PARAMS))
def test_fixture_schemas_accept_valid_and_reject_invalid(name: str) -> None:
    schema = PARAMS[name]
    grammar, _ = compile_schema(schema)
    for text in valid_texts(schema):
        assert accepts(grammar, text), text
    for text in invalid_texts(schema):
        assert not accepts(grammar, text), text


def test_instance_generator_counts() -> None:
    for name, schema in PARAMS.items():
        if name != "list_files":  # {"properties": {}}: only `{}` is valid (white-space variants)
            assert len(valid_texts(schema)) >= 20 and len(invalid_texts(schema)) >= 20, name


def test_parser_engine_agrees_on_fixtures() -> None:
    engine = pytest.importorskip("pegtool.parser.engine")
    for schema in PARAMS.values():
        parser = engine.Parser(compile_schema(schema)[0])
        assert all(parser.match(t) for t in valid_texts(schema))
        assert not any(parser.match(t) for t in invalid_texts(schema))


def test_rule_names_are_gbnf_safe() -> None:
    for schema in PARAMS.values():
        grammar, _ = compile_schema(schema)
        assert all(re.fullmatch(r"[a-zA-Z0-9-]+", n) for n, _ in grammar.rules)


CASES: list[tuple[Any, list[str], list[str]]] = [
    ({"type": ["integer", "null"]}, ["1", "null", "-20"], ["1.5", "nul", '"1"']),
    ({"type": ["integer", "number"]}, ["1", "1.5", "-2e3"], ["1.", "+1"]),
    ({"enum": [1, 10, "a", None, [1, 2]]}, ["1", "10", '"a"', "null", "[1, 2]"], ["100", "11", '"b"', "[1]"]),
    (
        {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 5}, {"type": "integer", "minimum": 10}]},
        ["3", "15", "10"],
        ["7", "0", "1.5"],
    ),
    ({"type": "integer", "exclusiveMinimum": -3, "maximum": 12}, ["-2", "0", "12"], ["-3", "13", "-0"]),
    ({"type": "string", "minLength": 2, "maxLength": 3}, ['"ab"', '"a\\nb"'], ['"a"', '"abcd"']),
    ({"type": "string", "pattern": "^a+b$", "maxLength": 3}, ['"ab"', '"aab"'], ['"aaab"', '"b"']),
    ({"type": "string", "pattern": "x"}, ['"x"', '"axb"'], ['"ab"']),
    ({"type": "string", "format": "uuid"}, ['"123e4567-e89b-12d3-a456-426614174000"'], ['"123"']),
    (
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
        ["[]", '["a"]', '["a", 1]'],
        ['["a", 1, 2]', "[1]"],
    ),
    (
        {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 2},
        ["[true]", "[ true , false ]"],
        ["[]", "[true,true,true]"],
    ),
    (
        {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
        ["{}", '{"a":1}', '{"b":2}', '{"a":1,"b":2}'],
        ['{"b":2,"a":1}', '{,"b":2}', '{"c":1}'],
    ),
    (
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}},
            "additionalProperties": {"type": "string"},
        },
        ['{"a":1,"x":"y"}', '{"x":"y","z":"w"}', '{"ab":"y"}'],
        ['{"a":"y"}', '{"x":1}'],
    ),
    ({"type": "object"}, ["{}", '{"k": [1, {"n": null}]}'], ["[]"]),
    (
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"properties": {"b": {"type": "string"}}, "required": ["b"]},
            ]
        },
        ['{"a":1,"b":"x"}'],
        ['{"a":1}', '{"b":"x"}'],
    ),
    (
        {
            "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
            "$ref": "#/$defs/node",
        },
        ["{}", '{"next":{"next":{}}}'],
        ['{"next":1}'],
    ),
    ({"type": "number", "nullable": True}, ["null", "0.5"], ['"x"']),
    (True, ["1", '"s"', "[]"], ["", "tru"]),
]


@pytest.mark.parametrize(("schema", "good", "bad"), CASES)
def test_keyword_cases(schema: Any, good: list[str], bad: list[str]) -> None:
    grammar, _ = compile_schema(schema)
    for text in good:
        assert accepts(grammar, text), text
    for text in bad:
        assert not accepts(grammar, text), text


@pytest.mark.parametrize(
    ("schema", "pointer"),
    [
        (False, "#"),
        ({"enum": []}, "#/enum"),
        ({"type": "array", "minItems": 3, "maxItems": 1}, "#"),
        ({"properties": {"a": {"type": "integer", "minimum": 5, "maximum": 1}}}, "#/properties/a"),
        ({"type": "string", "const": 3}, "#/const"),
        ({"$ref": "#/$defs/missing"}, "#"),
        ({"properties": {"p": {"type": "string", "pattern": "(?=x)"}}}, "#/properties/p/pattern"),
        ({"type": "string", "minLength": 5, "maxLength": 2}, "#"),
    ],
)
def test_unsatisfiable_schemas_raise_with_pointer(schema: Any, pointer: str) -> None:
    with pytest.raises(SchemaError) as info:
        compile_schema(schema)
    assert info.value.pointer == pointer


def test_unsupported_keywords_warn_with_pointer() -> None:
    schema = {
        "type": "object",
        "properties": {"t": {"type": "array", "uniqueItems": True}},
        "minProperties": 1,
    }
    _, warns = compile_schema(schema)
    assert {(w.pointer, w.keyword) for w in warns} == {
        ("#/properties/t/uniqueItems", "uniqueItems"),
        ("#/minProperties", "minProperties"),
    }
    _, warns = compile_schema({"type": "string", "maxLength": 5000, "format": "uri"})
    assert {w.keyword for w in warns} == {"maxLength", "format"}


def test_lower_replaces_json_nodes_and_shares_rules() -> None:
    g = Grammar.of(
        {
            "root": seq(
                json_value(),
                lit(";"),
                json_schema({"type": "object"}),
                lit(";"),
                schema_text({"type": "string"}, "</p>"),
            )
        }
    )
    lowered, warns = lower(g)
    assert warns == []
    assert not any(isinstance(n, (Json, JsonSchema, SchemaText)) for _, r in lowered.rules for n in walk(r))
    assert [n for n, _ in lowered.rules].count("json-string") == 1
    assert lower(g)[0] is lowered  # cached
    assert accepts(lowered, '[1];{"a": 2};raw text')


def test_lower_returns_warnings_and_to_gbnf_issues_them() -> None:
    from pegtool.gbnf import to_gbnf

    g = Grammar.of({"root": json_schema({"type": "integer", "multipleOf": 2})})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, found = lower(g)
    assert [w.keyword for w in found] == ["multipleOf"] and not caught
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = to_gbnf(g)
    assert any(
        isinstance(w.message, UnsupportedSchemaWarning) and w.message.keyword == "multipleOf" for w in caught
    )
    assert any("multipleOf" in line for line in text.warnings)


@pytest.mark.parametrize(
    ("schema", "keyword", "where"),
    [
        ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, "uniqueItems", "#/uniqueItems"),
        ({"type": "object", "properties": {"a": {"not": {"type": "string"}}}}, "not", "#/properties/a/not"),
        ({"type": "number", "multipleOf": 0.5}, "multipleOf", "#/multipleOf"),
    ],
)
def test_json_schema_to_gbnf_warns_like_the_readme_says(schema: dict, keyword: str, where: str) -> None:
    from pegtool import UnsupportedSchemaWarning as Exported
    from pegtool import json_schema_to_gbnf

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        json_schema_to_gbnf(schema)
    msgs = [w.message for w in caught if isinstance(w.message, Exported)]
    assert len(msgs) == 1 and msgs[0].keyword == keyword
    assert str(msgs[0]).startswith(f"schema {where}: ") and keyword in str(msgs[0])


def test_chat_grammar_warnings_name_the_tool_and_parameter() -> None:
    from pegtool import ChatFormat

    tools = [{"type": "function", "function": {"name": "create_event", "parameters": {
        "type": "object", "properties": {"title": {"type": "string", "maxLength": 200},
                                         "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
        "required": ["title"]}}}]
    for template in ("Qwen3-Coder.jinja", "Qwen-Qwen2.5-7B-Instruct.jinja"):
        fmt = ChatFormat.load(Path(__file__).resolve().parent.parent / "templates" / template)
        prep = fmt.prepare([{"role": "user", "content": "hi"}], tools)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert prep.grammar
        msgs = [str(w.message) for w in caught if isinstance(w.message, UnsupportedSchemaWarning)]
        assert "tool 'create_event', parameter 'tags': keyword 'uniqueItems' is not enforced" in " ".join(msgs)
        assert len(msgs) == len(set(msgs)) and set(msgs) == set(prep.schema_warnings)
        if template == "Qwen3-Coder.jinja":  # raw-text arguments: a long maxLength is not enforced
            assert any(m.startswith("tool 'create_event', parameter 'title': maxLength 200 is not enforced")
                       for m in msgs)


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "string"}, ["", "a<b", "x\ny"], ["a</p>b"]),
        ({"enum": ["on", "only", "o"]}, ["on", "only", "o"], ["onl", "x", "on<"]),
        ({"type": "string", "pattern": "^[0-9]+$"}, ["12"], ["", "1a"]),
        ({"type": "string", "maxLength": 3}, ["abc", "a"], ["abcd"]),
        ({"type": "integer"}, ["12"], ['"12"', "x"]),
    ],
)
def test_schema_text_raw_values(schema: Any, good: list[str], bad: list[str]) -> None:
    g, _ = lower(Grammar.of({"root": seq(schema_text(schema, "</p>", "</q>"), lit("</p>"))}))
    for value in good:
        assert accepts(g, value + "</p>"), value
    for value in bad:
        assert not accepts(g, value + "</p>"), value
