"""The resumable JSON scanner (pegtool.parser.jsonscan) stands in for the core JSON rules in the
fast engine: it must give the outcome the rules themselves give (the interpreter, fast=False) on
every text, in full and partial mode, and a stream that grows it must agree with a re-parse."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pegtool.grammar.builder import GrammarBuilder, seq
from pegtool.grammar.ir import Capture, Tag
from pegtool.grammar.json_rules import json_array_any, json_object_any, json_value
from pegtool.parser.engine import Parser, Status
from pegtool.parser.jsonscan import JsonRun


@functools.cache
def _grammar(entry: str, after: str = "") -> tuple[Parser, Parser]:
    b = GrammarBuilder()
    ref = {"json-value": json_value, "json-object": json_object_any, "json-array": json_array_any}[entry](b)
    b.define("root", seq(Capture(Tag.TOOL_ARGS, ref), after) if after else Capture(Tag.TOOL_ARGS, ref))
    g = b.build()
    return Parser(g, fast=True), Parser(g, fast=False)


PIECES = ["[", "]", "{", "}", ",", ":", '"', '"a"', "\\", "\\u", "00", "4", "1", "-", ".", "e", "E", "+",
          "true", "tr", "false", "null", "nu", " ", "  ", "\n", "\t", "x", "\x01", "é", " " * 40]
texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


def _outcome(parser: Parser, text: str, partial: bool) -> tuple[Status, int]:
    r = parser.parse(text, partial=partial)
    return r.status, r.end if r.status is not Status.FAIL else -1


@pytest.mark.parametrize("entry", ["json-value", "json-object", "json-array"])
@settings(max_examples=400, deadline=None)
@given(text=texts)
def test_scanner_agrees_with_the_rules(entry: str, text: str) -> None:
    fast, exact = _grammar(entry)
    for partial in (False, True):
        assert _outcome(fast, text, partial) == _outcome(exact, text, partial), (text, partial)


@settings(max_examples=200, deadline=None)
@given(text=texts, cut=st.integers(0, 60))
def test_grown_stream_equals_a_reparse(text: str, cut: int) -> None:
    fast, _ = _grammar("json-value", after="!")
    session = fast.session()
    session.extend(text[:cut])
    grown = session.extend(text[cut:] + "!"[: cut % 2])
    again = fast.parse(session.text, partial=True)
    assert (grown.status, grown.end) == (again.status, again.end)


def test_deep_nesting_grows_without_reparsing() -> None:
    fast, _ = _grammar("json-value", after="!")
    session = fast.session()
    session.extend("[")
    for _ in range(5000):
        session.extend("[")
    assert session.parsed <= 2 and session.grown >= 5000
    assert isinstance(session.result().frontier.run, JsonRun)  # type: ignore[union-attr]
    done = fast.parse("[" * 5001 + "]" * 5001 + "!")
    assert done.status is Status.OK and done.end == 10003


def test_ws_bound_is_kept() -> None:
    fast, exact = _grammar("json-value")
    for text in ["[" + " " * 40 + "1]", "[" + " " * 41 + "1]", "{" + " " * 41 + "}"]:
        assert _outcome(fast, text, False) == _outcome(exact, text, False)
