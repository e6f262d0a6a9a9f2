"""Values in a template's own notation with marker-quoted strings (Gemma 4): the grammar
(pegtool.dialects.marker_quoted, PEG parser and GBNF recognizer agree), the converter to JSON
(pegtool.dialects.marker_quoted), the analysis that finds the notation, and parsing / streaming calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pegtool.analysis import analyze
from pegtool.analysis.record import Analysis, TaggedArgs
from pegtool.dialects.marker_quoted import (
    decode_marker_literal,
    marker_for_schema,
    marker_generic,
    marker_literal_json,
    marker_value,
    render_marker_literal,
)
from pegtool.gbnf import Recognizer, to_gbnf
from pegtool.grammar.builder import GrammarBuilder, end
from pegtool.grammar.chat import build_chat_grammar
from pegtool.grammar.ir import one_side
from pegtool.parser import Status, parse
from pegtool.parser.chat import ChatParser
from pegtool.template import load_template

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream_support import stream_by_character  # noqa: E402

Q = '<|"|>'
ROOT = Path(__file__).resolve().parents[1]
TOOLS = json.loads((ROOT / "tests/fixtures/tools.json").read_text(encoding="utf-8"))


def _grammar(kind: str, schema: Any = None):  # type: ignore[no-untyped-def]
    b = GrammarBuilder()
    value = {"read": lambda: marker_value(b, Q), "generic": lambda: marker_generic(b, Q),
             "schema": lambda: marker_for_schema(b, Q, schema)}[kind]()
    b.define("root", value + end())
    return b.build("root")


READ, GENERIC = _grammar("read"), _grammar("generic")


def _both(g: Any, text: str) -> tuple[bool, bool]:
    """(PEG parser accepts, GBNF recognizer accepts)."""
    g = one_side(g, "read")
    return parse(g, text).status is Status.OK, Recognizer(to_gbnf(g)).accepts(text)


RENDERED = ['{lang:<|"|>fr<|"|>,max_results:5}', '[<|"|>a<|"|>,<|"|>b c<|"|>]', "None", "true", "-2.5e-3",
            '<|"|>naïve "quoted" \\ back – 東京<|"|>', "{}", "[]", '{a:{b:[1,None,false]}}', '<|"|><|"|>']
LOOSE_ONLY = ['{ lang : <|"|>fr<|"|> , n : 1 }', "[ 1 , 2 ]", "null", "True", '{<|"|>k k<|"|>:1}', "007",
              "{my key:1}"]
BAD = ['{lang:fr}', "[1,,2]", "{a:1", '<|"|>x', "none", "{:1}", "[1 2]", '{"a":1}x', "1.", "{a:1,}"]


@pytest.mark.parametrize("text", RENDERED)
def test_rendered_values_are_read_and_generated(text: str) -> None:
    assert _both(READ, text) == (True, True)
    assert _both(GENERIC, text) == (True, True)


@pytest.mark.parametrize("text", LOOSE_ONLY)
def test_reading_is_looser_than_generation(text: str) -> None:
    assert _both(READ, text) == (True, True)
    assert _both(GENERIC, text) == (False, False)


@pytest.mark.parametrize("text", BAD)
def test_rejects_non_values(text: str) -> None:
    assert _both(READ, text) == (False, False)


def test_schema_narrows_generation() -> None:
    search = TOOLS[2]["function"]["parameters"]["properties"]
    filters = _grammar("schema", search["filters"])
    assert _both(filters, '{lang:<|"|>fr<|"|>,max_results:5}') == (True, True)
    assert _both(filters, "{max_results:51}") == (False, False)  # maximum 50
    assert _both(filters, "{other:1}") == (False, False)  # not a declared key
    days = _grammar("schema", TOOLS[3]["function"]["parameters"]["properties"]["days"])
    assert _both(days, '[<|"|>mon<|"|>,<|"|>fri<|"|>]') == (True, True)
    assert _both(days, '[<|"|>monday<|"|>]') == (False, False)
    precision = _grammar("schema", {"type": ["integer", "null"]})
    assert [_both(precision, t) for t in ("None", "3", "2.5", "null")] == [(True, True), (True, True),
                                                                           (False, False), (False, False)]
    pair = _grammar("schema", {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 2})
    assert [_both(pair, t)[0] for t in ("[]", "[true]", "[true,false]", "[true,true,true]")] == \
        [False, True, True, False]


def test_converter() -> None:
    assert json.loads(marker_literal_json('{b:[1,true,None],a:<|"|>x "y" \\ {z}, w:<|"|>}', Q)) == \
        {"b": [1, True, None], "a": 'x "y" \\ {z}, w:'}
    assert json.loads(marker_literal_json("[1, 2.5, false, null]", "")) == [1, 2.5, False, None]
    assert marker_literal_json("{a:1", Q) == '"{a:1"'  # not a value: kept as text
    assert marker_literal_json("1e999", Q) == '"1e999"'
    assert decode_marker_literal('x {k:<|"|>v<|"|>} y', 1, Q) == ({"k": "v"}, 17)


values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8).filter(lambda s: Q not in s),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,4}", fullmatch=True), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(values)
def test_rendered_value_round_trips(value: Any) -> None:
    text = render_marker_literal(value, Q)
    assert text is not None
    assert _both(READ, text) == (True, True)
    assert parse(one_side(GENERIC, "generate"), text).status is Status.OK
    assert json.loads(marker_literal_json(text, Q)) == value


def test_analysis_finds_the_notation_and_the_key_order() -> None:
    a = analyze(load_template(ROOT / "templates/google-gemma-4-31B-it.jinja"))
    ta = a.tools.tagged
    assert ta is not None and ta.value_style == "marker_quoted" and ta.string_quote == Q
    assert (ta.arg_mid, ta.arg_mid_json, ta.arg_suffix, ta.sorted_keys) == (":", ":", "", True)
    other = analyze(load_template(ROOT / "templates/Qwen3-Coder.jinja")).tools.tagged
    assert other is not None and not other.sorted_keys


def test_old_records_load_with_defaults() -> None:
    data = Analysis(tools=analyze(load_template(ROOT / "templates/Qwen3-Coder.jinja")).tools).to_dict()
    del data["tools"]["tagged"]["sorted_keys"]
    assert Analysis.from_dict(data).tools.tagged == TaggedArgs(**{**data["tools"]["tagged"],
                                                                  "string_wrap": (), "elements": ()})


@pytest.fixture(scope="module")
def gemma() -> ChatParser:
    a = analyze(load_template(ROOT / "templates/google-gemma-4-31B-it.jinja"))
    return ChatParser(build_chat_grammar(a, TOOLS), id_seed=0)


CALLS = ('<|tool_call>call:search{query:<|"|>a "b" \\ c<|"|>,filters:{ max_results : 5 , lang:<|"|>fr<|"|> },'
         'tags:[<|"|>x,y<|"|>]}<tool_call|><|tool_call>call:calculate{expression:<|"|>1+1<|"|>,precision:None}'
         '<tool_call|>')


def test_calls_parse_in_any_key_order(gemma: ChatParser) -> None:
    msg = gemma.parse(CALLS)
    assert [(c.name, json.loads(c.arguments)) for c in msg.tool_calls] == [
        ("search", {"query": 'a "b" \\ c', "filters": {"max_results": 5, "lang": "fr"}, "tags": ["x,y"]}),
        ("calculate", {"expression": "1+1", "precision": None})]
    assert not msg.diagnostics


def test_streamed_values_are_held_back_until_complete(gemma: ChatParser) -> None:
    final, at_open_value, sent = stream_by_character(gemma, CALLS, "filters:{ max_results : 5 , lang:<|\"|>f")
    assert at_open_value.endswith('"filters": ')  # the open value is not sent yet
    assert final == gemma.parse(CALLS)
    assert sent == "".join(c.arguments for c in final.tool_calls)


OK_CALL = '<|tool_call>call:set_alarm{days:[<|"|>mon<|"|>],repeat:true,time:<|"|>07:30<|"|>}<tool_call|>'


def _required_gbnf() -> str:
    a = analyze(load_template(ROOT / "templates/google-gemma-4-31B-it.jinja"))
    return str(to_gbnf(build_chat_grammar(a, TOOLS, tool_choice="required"), check=False))


def test_generation_follows_the_template_key_order() -> None:
    recognizer = Recognizer(_required_gbnf())
    assert recognizer.accepts(OK_CALL)
    assert not recognizer.accepts(OK_CALL.replace("repeat:true", "repeat:True"))
    assert not recognizer.accepts('<|tool_call>call:set_alarm{time:<|"|>07:30<|"|>,repeat:true}<tool_call|>')


def test_llama_cpp_accepts_a_rendered_call(llama_judge: Any) -> None:
    assert llama_judge.accepts(_required_gbnf(), OK_CALL)
    assert not llama_judge.accepts(_required_gbnf(), OK_CALL.replace("[<|\"|>mon<|\"|>]", "[<|\"|>monday<|\"|>]"))
