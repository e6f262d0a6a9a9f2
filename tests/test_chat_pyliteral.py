"""Python-literal values (pegtool.dialects.python_literal): PEG parser and GBNF recognizer agree."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pegtool.dialects.python_literal import python_for_schema, python_value
from pegtool.gbnf import Recognizer, to_gbnf
from pegtool.grammar.builder import GrammarBuilder, end
from pegtool.parser import Status, parse


def _grammar(schema: object = None):  # type: ignore[no-untyped-def]
    b = GrammarBuilder()
    value = python_value(b) if schema is None else python_for_schema(b, schema)
    b.define("root", value + end())
    return b.build("root")


GENERIC = _grammar()
GOOD = ["None", "True", "False", "-1.5e3", "'a\\'b'", '"x"', "[1, 'a', None]", "{'k': [1, True, None]}",
        "(1,)", "()", "{}", "[]", "{'a': {'b': (1, 2)}}"]
BAD = ["none", "true", "[1,,2]", "{'a' 1}", "'unterminated", "[1, 2", "01"]


@pytest.mark.parametrize("text", GOOD)
def test_accepts_python_literals(text: str) -> None:
    assert parse(GENERIC, text).status is Status.OK
    assert Recognizer(to_gbnf(GENERIC)).accepts(text)


@pytest.mark.parametrize("text", BAD)
def test_rejects_non_literals(text: str) -> None:
    assert parse(GENERIC, text).status is not Status.OK
    assert not Recognizer(to_gbnf(GENERIC)).accepts(text)


values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(values)
def test_repr_of_any_value_parses_and_evaluates(value: object) -> None:
    text = repr(value)
    assert parse(GENERIC, text).status is Status.OK
    assert ast.literal_eval(text) == value


def test_schema_narrows_the_literal() -> None:
    g = _grammar({"type": "array", "items": {"type": "boolean"}})
    assert parse(g, "[True, False]").status is Status.OK
    assert parse(g, "[1]").status is not Status.OK
    e = _grammar({"enum": ["fr", "en"]})
    assert parse(e, "'fr'").status is Status.OK and parse(e, "'de'").status is not Status.OK
