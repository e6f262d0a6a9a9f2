"""pegtool's GBNF judged by llama.cpp itself (skipped without llama-cpp-python, failed under CI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pegtool.gbnf import Recognizer, check_gbnf, json_schema_to_gbnf, to_gbnf
from pegtool.grammar.builder import seq, until
from pegtool.grammar.ir import Grammar

GOLDEN = Path(__file__).parent / "golden" / "gbnf"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.gbnf")), ids=lambda p: p.name)
def test_golden_grammars_load_in_llama(llama_judge: Any, path: Path) -> None:
    assert llama_judge.is_valid(path.read_text(encoding="utf-8")), llama_judge.last_error


def test_tool_schemas_load_in_llama(llama_judge: Any, tools: list[dict[str, Any]]) -> None:
    for tool in tools:
        fn = tool.get("function", tool)
        text = json_schema_to_gbnf(fn["parameters"])
        assert check_gbnf(text) == []
        assert llama_judge.is_valid(text), (fn["name"], llama_judge.last_error)


def test_bad_grammars_rejected_by_both(llama_judge: Any) -> None:
    for bad in ["root ::= foo\n", 'root ::= a\na ::= a "x"\n', 'root ::= "a"{2001}\n', 'root ::= "\\q"\n']:
        assert check_gbnf(bad) and not llama_judge.is_valid(bad), bad


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.text(alphabet="ab<>/", min_size=1, max_size=4), min_size=1, max_size=3),
    st.lists(st.text(alphabet="ab<>/c", max_size=10), min_size=1, max_size=8),
)
def test_until_agrees_with_llama(llama_judge: Any, delims: list[str], texts: list[str]) -> None:
    follow = sorted(delims)[0]
    for grammar in (Grammar.of({"root": until(*delims)}), Grammar.of({"root": seq(until(*delims), follow)})):
        text_g = to_gbnf(grammar)
        rec = Recognizer(text_g)
        for text in texts + [follow, "a" + follow]:
            if text:
                assert llama_judge.accepts(text_g, text) == rec.accepts(text), (delims, text, text_g)


def test_tool_call_instance_accepted(llama_judge: Any) -> None:
    text = json_schema_to_gbnf(
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    )
    assert llama_judge.accepts(text, json.dumps({"city": "Paris"}))
    assert not llama_judge.accepts(text, json.dumps({"town": "Paris"}))
