"""Values rendered as nested elements (MiniMax-M3): the grammar (pegtool.dialects.xml_elements, PEG
parser and GBNF recognizer agree), the converter to JSON (pegtool.dialects.xml_elements), the analysis
that finds the notation, and parsing / streaming calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pegtool.analysis import analyze
from pegtool.analysis.record import TaggedArgs
from pegtool.dialects.xml_elements import (
    Elements,
    render_xml,
    scalar,
    xml_for_schema,
    xml_generic,
    xml_read,
    xml_value_json,
)
from pegtool.gbnf import Recognizer, to_gbnf
from pegtool.grammar.builder import GrammarBuilder, capture, end
from pegtool.grammar.chat import build_chat_grammar
from pegtool.grammar.ir import Tag, one_side
from pegtool.parser import Status, parse
from pegtool.parser.chat import ChatParser
from pegtool.template import load_template

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream_support import stream_by_character  # noqa: E402

NS = "]<]minimax[>["
ROOT = Path(__file__).resolve().parents[1]
TOOLS = json.loads((ROOT / "tests/fixtures/tools.json").read_text(encoding="utf-8"))
TA = TaggedArgs("<", ">", ">", NS + "</{{arg}}>" + NS, value_style="xml_elements",
                elements=(NS + "<{{arg}}>", NS + "</{{arg}}>"), item_tag="item")
E = Elements.of(TA)
assert E is not None
SEARCH = TOOLS[2]["function"]["parameters"]["properties"]


def x(name: str, inner: str) -> str:
    return f"{NS}<{name}>{inner}{NS}</{name}>"


def _grammar(kind: str, schema: Any = None):  # type: ignore[no-untyped-def]
    assert E is not None
    b = GrammarBuilder()
    value = {"read": lambda: xml_read(b, E, schema), "generic": lambda: xml_generic(b, E),
             "schema": lambda: xml_for_schema(b, E, schema)}[kind]()
    b.define("root", capture(Tag.ARG_XML, value) + end())
    return b.build("root")


READ, GENERIC = _grammar("read"), _grammar("generic")


def _both(g: Any, text: str) -> tuple[bool, bool]:
    """(PEG parser accepts, GBNF recognizer accepts)."""
    g = one_side(g, "read")
    return parse(g, text).status is Status.OK, Recognizer(to_gbnf(g)).accepts(text)


def _json(g: Any, text: str) -> Any:
    result = parse(g, text)
    assert result.status is Status.OK
    return json.loads(xml_value_json(text, result.captures[0]))


RENDERED = [x("lang", "fr") + x("max_results", "5"), x("item", "a") + x("item", "b c"), "", "true", "-2.5",
            'naïve "quoted" \\ back – 東京', x("a", x("b", x("item", "1") + x("item", "") + x("item", "false")))]
#: values off the schema of ``filters``: read, never generated
LOOSE_ONLY = [x("other", "1"), x("max_results", "51"), x("max_results", "five"), x("lang", x("item", "a")), "x"]
#: (a broken argument value is read as text one level up, by the argument's grammar)
BAD = [x("a", "1")[:-1], x("a", "1") + "x", "x" + x("a", "1"), NS + "</a>", x("a", "1") + NS + "</a>",
       NS + "<a>1", NS + "<a>" + x("b", "1")]


@pytest.mark.parametrize("text", RENDERED)
def test_rendered_values_are_read_and_generated(text: str) -> None:
    assert _both(READ, text) == (True, True)
    assert _both(GENERIC, text) == (True, True)


@pytest.mark.parametrize("text", LOOSE_ONLY)
def test_reading_is_looser_than_generation(text: str) -> None:
    assert _both(_grammar("read", SEARCH["filters"]), text) == (True, True)
    assert _both(_grammar("schema", SEARCH["filters"]), text) == (False, False)


@pytest.mark.parametrize("text", BAD)
def test_rejects_broken_trees(text: str) -> None:
    assert _both(READ, text) == (False, False)
    assert _both(GENERIC, text) == (False, False)


def test_schema_narrows_generation() -> None:
    filters = _grammar("schema", SEARCH["filters"])
    assert _both(filters, x("lang", "fr") + x("max_results", "5")) == (True, True)
    assert _both(filters, x("max_results", "51")) == (False, False)  # maximum 50
    assert _both(filters, x("max_results", "five")) == (False, False)
    assert _both(filters, x("other", "1")) == (False, False)  # not a declared key
    assert _both(filters, "") == (True, True)  # {} renders as nothing
    days = _grammar("schema", TOOLS[3]["function"]["parameters"]["properties"]["days"])
    assert _both(days, x("item", "mon") + x("item", "fri")) == (True, True)
    assert _both(days, x("item", "monday")) == (False, False)
    assert _both(days, x("day", "mon")) == (False, False)
    precision = _grammar("schema", {"type": ["integer", "null"]})
    assert [_both(precision, t) for t in ("", "3", "2.5", "None")] == [(True, True), (True, True),
                                                                       (False, False), (False, False)]
    pair = _grammar("schema", {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 2})
    assert [_both(pair, x("item", "true") * k)[0] for k in range(4)] == [False, True, True, False]


def test_converter_reads_leaves_by_the_schema() -> None:
    tags = _grammar("read", SEARCH["tags"])
    assert _json(tags, x("item", "5") + x("item", "b c")) == ["5", "b c"]  # strings by the schema
    assert _json(READ, x("item", "5") + x("item", "b c")) == [5, "b c"]  # untyped: JSON scalars first
    filters = _grammar("read", SEARCH["filters"])
    text = x("lang", "true") + x("max_results", "5") + x("extra", x("item", "null")) + x("lang", "x")
    assert _json(filters, text) == {"lang": "true", "max_results": 5, "extra": [None]}
    assert _json(READ, x("item", "1") + x("k", "2")) == {"item": 1, "k": 2}  # mixed: an object
    assert _json(READ, "") == "" and _json(READ, "07:30") == "07:30"
    assert [scalar(s) for s in ("1e400", "NaN", '"a"', "[1]", "-0.5")] == ["1e400", "NaN", '"a"', "[1]", -0.5]


values = st.recursive(
    st.booleans() | st.integers(-10**6, 10**6) | st.text(min_size=1, max_size=8).filter(
        lambda s: "]" not in s and json.dumps(scalar(s)) == json.dumps(s)),
    lambda inner: st.lists(inner, min_size=1, max_size=3)
    | st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,4}", fullmatch=True).filter(lambda k: k != "item"),
                      inner, min_size=1, max_size=3),
    max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(values)
def test_rendered_value_round_trips(value: Any) -> None:
    assert E is not None
    text = render_xml(value, E)
    assert text is not None
    assert _both(READ, text) == (True, True)
    assert parse(one_side(GENERIC, "generate"), text).status is Status.OK
    assert _json(READ, text) == value


def test_analysis_finds_the_notation() -> None:
    ta = analyze(load_template(ROOT / "templates/MiniMax-M3.jinja")).tools.tagged
    assert ta is not None
    assert (ta.value_style, ta.elements, ta.item_tag, ta.skips_null) == \
        ("xml_elements", TA.elements, "item", True)
    other = analyze(load_template(ROOT / "templates/MiniMax-M2.jinja")).tools.tagged
    assert other is not None and other.value_style != "xml_elements" and not other.skips_null


@pytest.fixture(scope="module")
def minimax() -> ChatParser:
    a = analyze(load_template(ROOT / "templates/MiniMax-M3.jinja"))
    return ChatParser(build_chat_grammar(a, TOOLS), id_seed=0)


def _call(name: str, body: str) -> str:
    return f'{NS}<tool_call>\n{NS}<invoke name="{name}">{body}{NS}</invoke>\n{NS}</tool_call>'


CALLS = _call("search", x("query", "a <b> c") + x("filters", x("max_results", "5") + x("lang", "fr"))
              + x("tags", x("item", "1") + x("item", "y")))


def test_calls_parse(minimax: ChatParser) -> None:
    msg = minimax.parse("</mm:think>" + CALLS)
    assert [(c.name, json.loads(c.arguments)) for c in msg.tool_calls] == [
        ("search", {"query": "a <b> c", "filters": {"max_results": 5, "lang": "fr"}, "tags": ["1", "y"]})]
    assert not msg.diagnostics


def test_streamed_values_are_held_back_until_complete(minimax: ChatParser) -> None:
    text = "</mm:think>" + CALLS
    final, at_open_value, sent = stream_by_character(minimax, text, "<max_results>5")
    assert at_open_value.endswith('"filters": ')  # the open value is not sent yet
    assert final == minimax.parse(text)
    assert sent == "".join(c.arguments for c in final.tool_calls)


def test_generation_takes_the_rendered_call_and_may_leave_out_a_nullable_argument() -> None:
    a = analyze(load_template(ROOT / "templates/MiniMax-M3.jinja"))
    recognizer = Recognizer(str(to_gbnf(build_chat_grammar(a, TOOLS, tool_choice="required"), check=False)))
    ok = _call("set_alarm", x("time", "07:30") + x("repeat", "true") + x("days", x("item", "mon")))
    assert recognizer.accepts("</mm:think>" + ok)
    assert not recognizer.accepts("</mm:think>" + ok.replace(">mon", ">monday"))
    assert not recognizer.accepts("</mm:think>" + ok.replace(">true", ">True"))
    calc = _call("calculate", x("expression", "1 + 2.5"))
    assert recognizer.accepts("</mm:think>" + calc)  # precision (required, nullable) left out
