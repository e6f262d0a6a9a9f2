"""For every tool schema in tests/fixtures/tools.json: the GBNF pegtool makes from the schema is
valid for llama.cpp, and both back-ends (the PEG parser and llama.cpp's grammar engine) accept
20+ valid instances and reject 20+ invalid ones (from tests/schema_instances.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from schema_instances import invalid_texts, valid_texts

from pegtool.gbnf.emit import to_gbnf
from pegtool.grammar.builder import json_schema
from pegtool.grammar.ir import Grammar
from pegtool.grammar.schema import lower
from pegtool.parser.engine import Parser

TOOLS = json.loads((Path(__file__).parent / "fixtures" / "tools.json").read_text(encoding="utf-8"))
N = 20
# ``{"type": "object", "properties": {}}`` has only a handful of distinct instances and near misses
# in pegtool's grammar language (whitespace variants of ``{}``), so fewer are required there.
FEWER: dict[str, int] = {}
# Optional properties: JsonSchema stores canonical (sorted-key) JSON, so the grammar wants optional
# keys alphabetically, while schema_instances writes them in declared order (as models do).


@dataclass(frozen=True)
class SchemaCase:
    name: str
    schema: Any
    parser: Parser
    gbnf: str

    @property
    def wanted(self) -> int:
        return FEWER.get(self.name, N)


def _grammar(schema: Any) -> Grammar:
    """The schema as an IR grammar, JSON nodes already lowered (the same IR for both back-ends)."""
    lowered = lower(Grammar.of({"root": json_schema(schema)}))
    return lowered[0] if isinstance(lowered, tuple) else lowered  # (grammar, warnings) today


@pytest.fixture(scope="module", params=TOOLS, ids=[t["function"]["name"] for t in TOOLS])
def case(request: Any) -> SchemaCase:
    schema = request.param["function"]["parameters"]
    grammar = _grammar(schema)
    return SchemaCase(request.param["function"]["name"], schema, Parser(grammar), to_gbnf(grammar))


def _verdicts(case: SchemaCase, judge: Any, texts: list[str]) -> list[tuple[str, bool, bool]]:
    return [(t, case.parser.match(t), judge.accepts(case.gbnf, t)) for t in texts]


def test_schema_gbnf_is_valid_for_llama_cpp(case: SchemaCase, llama_judge: Any) -> None:
    assert llama_judge.is_valid(case.gbnf), llama_judge.last_error


def test_valid_instances_accepted_by_both(case: SchemaCase, llama_judge: Any) -> None:
    texts = valid_texts(case.schema, n=N)
    assert len(texts) >= case.wanted
    verdicts = _verdicts(case, llama_judge, texts)
    assert [v for v in verdicts if v[1] != v[2]] == [], "the back-ends disagree"
    assert [v for v in verdicts if not v[1]] == []


def test_invalid_instances_rejected_by_both(case: SchemaCase, llama_judge: Any) -> None:
    texts = invalid_texts(case.schema, n=N)
    assert len(texts) >= case.wanted
    assert [v for v in _verdicts(case, llama_judge, texts) if v[1] or v[2]] == []


def test_optional_properties_in_declared_order(llama_judge: Any) -> None:
    """Optional keys are expected in the order the schema declares them (the order models write)."""
    grammar = _grammar({"type": "object", "properties": {"b": {"type": "integer"}, "a": {"type": "integer"}}})
    text = '{"b":1,"a":2}'
    assert Parser(grammar).match(text) and llama_judge.accepts(to_gbnf(grammar), text)


def test_json_schema_to_gbnf_is_valid_for_llama_cpp(llama_judge: Any) -> None:
    import pegtool.gbnf as gbnf_mod

    convert = gbnf_mod.json_schema_to_gbnf
    for tool in TOOLS:
        gbnf = convert(tool["function"]["parameters"])
        assert llama_judge.is_valid(gbnf), (tool["function"]["name"], llama_judge.last_error)
