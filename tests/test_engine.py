"""Tests for pegtool.parser.engine: every node type, partial outcomes, captures, Unicode, long and
deep inputs, grammar errors, failure reporting, sessions, and fast path == pure interpreter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pegtool.errors import GrammarError, ParseError
from pegtool.grammar import ir
from pegtool.grammar.builder import (
    any_char,
    atomic,
    capture,
    chars,
    choice,
    end,
    lit,
    not_,
    opt,
    peek,
    plus,
    ref,
    repeat,
    seq,
    space,
    star,
    start,
    trigger,
    until,
)
from pegtool.grammar.ir import Grammar, Json, Tag
from pegtool.parser.engine import CaptureNode, Parser, ParseResult, Status, parse
from pegtool.parser.frontier import regrown

OK, FAIL, MORE = Status.OK, Status.FAIL, Status.NEED_MORE
MODES = [True, False]  # fast engine, pure interpreter


def g(node: ir.Node, **rules: ir.Node) -> Grammar:
    return Grammar.of({"root": node, **rules})


def run(node: ir.Node, text: str, partial: bool = False, fast: bool = True, **rules: ir.Node) -> ParseResult:
    return Parser(g(node, **rules), fast=fast).parse(text, partial=partial)


def outcome(node: ir.Node, text: str, partial: bool = False, **rules: ir.Node) -> tuple[Status, int]:
    """(status, end), asserting the fast engine and the interpreter agree."""
    results = [run(node, text, partial, fast, **rules) for fast in MODES]
    assert _key(results[0]) == _key(results[1])
    r = results[0]
    return r.status, r.end if r.status is not FAIL else -1


def _key(r: ParseResult) -> Any:
    return (r.status, r.end if r.status is not FAIL else -1, _tree(r.captures))


def _tree(nodes: list[CaptureNode]) -> Any:
    return tuple((n.tag.value, n.start, n.end, n.partial, _tree(n.children)) for n in nodes)


# --- every node type, full and partial --------------------------------------------------------

JSON_ARGS = '{"a": [1, -2.5e3, "x\\n\\u00e9"], "b": {"c": null, "d": true}}'

CASES: dict[type, list[tuple[ir.Node, str, bool, tuple[Status, int]]]] = {
    ir.Epsilon: [(seq(lit("a"), ir.Epsilon()), "ab", False, (OK, 1))],
    ir.Start: [(start() + lit("a"), "a", False, (OK, 1)), (lit("a") + start(), "a", False, (FAIL, -1))],
    ir.End: [
        (lit("a") + end(), "a", False, (OK, 1)),
        (lit("a") + end(), "a", True, (MORE, 1)),
        (lit("a") + end(), "ab", True, (FAIL, -1)),
    ],
    ir.Literal: [
        (lit("<tool_call>"), "<tool_call>x", False, (OK, 11)),
        (lit("<tool_call>"), "<tool", True, (MORE, 5)),
        (lit("<tool_call>"), "<tool", False, (FAIL, -1)),
        (lit("<tool_call>"), "<toal", True, (FAIL, -1)),
    ],
    ir.Seq: [(seq("a", "b", "c"), "abc", False, (OK, 3)), (seq("a", chars("b"), "c"), "ab", True, (MORE, 2))],
    ir.Choice: [
        (choice("ab", "a"), "a", True, (MORE, 1)),
        (choice("a", "ab"), "ab", False, (OK, 1)),
        (choice("xy", "ab"), "ab", False, (OK, 2)),
    ],
    ir.Repeat: [
        (star("ab"), "ababa", False, (OK, 4)),
        (star("ab"), "ababa", True, (MORE, 5)),
        (repeat("a", 2, 3), "aaaa", False, (OK, 3)),
        (repeat("a", 2, 3), "a", False, (FAIL, -1)),
        (repeat("a", 2, 3), "a", True, (MORE, 1)),
        (repeat("a", 2, 3), "aaa", True, (OK, 3)),
    ],
    ir.Peek: [(peek("ab") + lit("a"), "ab", False, (OK, 1)), (peek("ab"), "a", True, (MORE, 0))],
    ir.Not: [
        (not_("ab") + any_char(), "ac", False, (OK, 1)),
        (not_("ab") + any_char(), "ab", False, (FAIL, -1)),
        (not_("ab") + any_char(), "a", True, (MORE, 0)),
    ],
    ir.AnyChar: [(any_char(), "🙂", False, (OK, 1)), (any_char(), "", True, (MORE, 0))],
    ir.CharClass: [
        (chars([("0", "9")]), "7", False, (OK, 1)),
        (chars("0", negated=True), "0", False, (FAIL, -1)),
        (plus(chars([("0", "9")])), "12", True, (MORE, 2)),
    ],
    ir.Until: [
        (until("</a>"), "xy</a>", False, (OK, 2)),
        (until("</a>"), "xy</", True, (MORE, 2)),
        (until("</a>"), "xy</", False, (OK, 4)),
        (until("</a>", "<b>"), "x<b></a>", False, (OK, 1)),
        (until("</a>"), "x</a>", True, (OK, 1)),
    ],
    ir.Json: [
        (Json(), JSON_ARGS, False, (OK, len(JSON_ARGS))),
        (Json(), JSON_ARGS[:20], True, (MORE, 20)),
        (Json(), '{"a" 1}', False, (FAIL, -1)),
    ],
    ir.Ref: [(ref("x") + ref("x"), "abab", False, (OK, 4))],
    ir.Capture: [(capture(Tag.TEXT, "ab"), "ab", False, (OK, 2))],
    ir.Atomic: [(atomic(seq("a", "b")), "a", True, (MORE, 1))],
    ir.Trigger: [(trigger(lit("<x>")), "<x>", False, (OK, 3))],
    ir.JsonSchema: [(ir.JsonSchema('{"type":"integer"}'), "12", False, (OK, 2))],
    ir.SchemaText: [(ir.SchemaText('{"type":"string"}', ("</p>",)) + lit("</p>"), "a b</p>", False, (OK, 7))],
    ir.Lenient: [  # the parser reads the loose side
        (ir.Lenient(lit("ab"), star(chars("ab"))), "ba", False, (OK, 2)),
        (ir.Lenient(lit("ab"), lit("ab") | lit("b")), "a", True, (MORE, 1)),
    ],
}


def test_every_node_type_has_cases() -> None:
    assert set(CASES) == set(ir.NODE_TYPES)


@pytest.mark.parametrize(
    "node,text,partial,expected",
    [case for cases in CASES.values() for case in cases],
    ids=lambda v: repr(v)[:40],
)
def test_node_semantics(node: ir.Node, text: str, partial: bool, expected: tuple[Status, int]) -> None:
    assert outcome(node, text, partial, x=lit("ab")) == expected


def test_match_is_full_acceptance() -> None:
    p = Parser(g(star("ab")))
    assert p.match("abab") and not p.match("aba")
    assert parse(g(star("ab")), "ab").status is OK


# --- captures ----------------------------------------------------------------------------------

CALL = seq(
    "<tool_call>",
    capture(Tag.TOOL_NAME, plus(chars([("a", "z"), "_"]))),
    " ",
    capture(Tag.TOOL_ARGS, Json()),
    "</tool_call>",
)
CHAT = seq(capture(Tag.CONTENT, until("<tool_call>")), star(capture(Tag.TOOL_CALL, CALL)), end())


@pytest.mark.parametrize("fast", MODES)
def test_capture_tree_complete(fast: bool) -> None:
    text = 'Hi <tool_call>get_x {"a": 1}</tool_call>'
    r = Parser(g(CHAT), fast=fast).parse(text)
    assert r.status is OK and r.end == len(text)
    content, call = r.captures
    assert content.text(text) == "Hi " and not content.partial
    assert [(c.tag, c.text(text)) for c in call.children] == [
        (Tag.TOOL_NAME, "get_x"),
        (Tag.TOOL_ARGS, '{"a": 1}'),
    ]


@pytest.mark.parametrize("fast", MODES)
def test_capture_tree_partial(fast: bool) -> None:
    text = 'Hi <tool_call>get_x {"a": [1, 2'
    r = Parser(g(CHAT), fast=fast).parse(text, partial=True)
    assert r.status is MORE
    content, call = r.captures
    assert not content.partial and call.partial
    name, args = call.children
    assert not name.partial and args.partial and args.text(text) == '{"a": [1, 2'


@pytest.mark.parametrize("fast", MODES)
def test_until_holds_back_delimiter_prefix(fast: bool) -> None:
    r = Parser(g(CHAT), fast=fast).parse("Hello <tool_c", partial=True)
    assert r.status is MORE and r.end == 6
    assert r.captures[0].text("Hello <tool_c") == "Hello " and r.captures[0].partial


@pytest.mark.parametrize("fast", MODES)
def test_atomic_drops_half_parsed_nodes(fast: bool) -> None:
    grammar = g(seq(capture(Tag.CONTENT, until("<")), star(atomic(capture(Tag.TOOL_CALL, CALL)))))
    r = Parser(grammar, fast=fast).parse('x<tool_call>f {"a"', partial=True)
    assert r.status is MORE and [c.tag for c in r.captures] == [Tag.CONTENT]


def test_choice_earlier_success_wins_over_later_need_more() -> None:
    assert outcome(choice("a", "abc"), "ab", partial=True) == (OK, 1)


# --- Unicode -----------------------------------------------------------------------------------


def test_code_points_not_bytes() -> None:
    text = "é🙂e\u0301漢"
    assert outcome(repeat(any_char(), 5, 5), text) == (OK, 5)
    assert outcome(chars([(0x1F600, 0x1F64F)]), "🙂") == (OK, 1)
    assert outcome(seq("e", chars([(0x300, 0x36F)])), "e\u0301") == (OK, 2)
    assert outcome(until("🙂"), "漢字🙂") == (OK, 2)
    assert outcome(lit("漢字🙂"), "漢字", partial=True) == (MORE, 2)
    assert outcome(Json(), '"\U0001f642 e\u0301"') == (OK, 6)


# --- long and deep inputs ----------------------------------------------------------------------


def _long_output() -> str:
    code = "\n".join(f'    print("line {i}\\t\\"é🙂\\\\")' for i in range(2200))
    args = json.dumps({"code": code[:50_000]}, ensure_ascii=False)
    assert len(args) > 50_000
    return "prose " * 8500 + "<tool_call>run " + args + "</tool_call>"


@pytest.mark.parametrize("fast", MODES)
@pytest.mark.parametrize("partial", [False, True])
def test_100kb_output_with_50kb_argument(fast: bool, partial: bool) -> None:
    text = _long_output()
    assert len(text) > 100_000
    r = Parser(g(CHAT), fast=fast).parse(text, partial=partial)
    assert r.status is (MORE if partial else OK) and r.end == len(text)
    assert len(r.captures[1].children[1].text(text)) > 50_000
    cut = Parser(g(CHAT), fast=fast).parse(text[:-5000], partial=True)
    assert cut.status is MORE and cut.captures[1].children[1].partial


@pytest.mark.parametrize("fast", MODES)
def test_long_until_body_and_long_repeat(fast: bool) -> None:
    body = "x\n" * 60_000
    assert Parser(g(until("</p>") + lit("</p>")), fast=fast).match(body + "</p>")
    assert Parser(g(star(choice("ab", "c"))), fast=fast).match("abc" * 40_000)


@pytest.mark.parametrize("fast", MODES)
def test_deep_json_nesting_is_handled_or_clean_error(fast: bool) -> None:
    p = Parser(g(Json()), fast=fast)
    for depth in (500, 5000):
        text = "[" * depth + "]" * depth
        try:
            assert p.match(text)
        except ParseError as exc:
            assert "nested too deeply" in str(exc)
        assert p.parse(text[:-1], partial=True).status is MORE


# --- grammar errors ----------------------------------------------------------------------------


def test_undefined_rule_is_grammar_error() -> None:
    with pytest.raises(GrammarError, match="rule 'root' refers to undefined rule 'nope'"):
        Parser(g(ref("nope")))


def test_left_recursion_is_grammar_error() -> None:
    with pytest.raises(GrammarError, match="left recursion.*a -> b -> a"):
        Parser(g(ref("a"), a=choice(seq(ref("b"), "x"), "y"), b=seq(opt("z"), ref("a"))))


def test_right_recursion_is_fine() -> None:
    assert Parser(g(ref("a"), a=choice(seq("(", ref("a"), ")"), "x"))).match("((x))")


# --- failure reporting -------------------------------------------------------------------------


@pytest.mark.parametrize("fast", MODES)
def test_farthest_failure_and_expected(fast: bool) -> None:
    grammar = g(seq("<tool_call>", plus(chars([("0", "9")])), choice("</tool_call>", "!")))
    r = Parser(grammar, fast=fast).parse("<tool_call>12x")
    assert r.status is FAIL and r.farthest == 13
    assert set(r.expected) == {"[0-9]", '"</tool_call>"', '"!"'}
    assert "expected" in str(r.error("<tool_call>12x"))


@pytest.mark.parametrize("fast", MODES)
def test_stopping_early_reports_why(fast: bool) -> None:
    r = Parser(g(CHAT.items[0] + star(CALL)), fast=fast).parse('a<tool_call>f {"x": }')
    assert r.status is OK and r.end == 1
    assert r.farthest == 20 and '"{"' in r.expected


def test_end_expected() -> None:
    r = run(lit("a") + end(), "ab")
    assert r.farthest == 1 and r.expected == ("end of input",)


# --- sessions (incremental) --------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 3, 17])
def test_session_matches_fresh_parses(chunk: int) -> None:
    p = Parser(g(CHAT))
    text = 'Hi <tool_call>get_x {"a": [1, "b\\n"], "c": {}}</tool_call><tool_call>y 2</tool_call>'
    s = p.session()
    for i in range(0, len(text), chunk):
        r = s.extend(text[i : i + chunk])
        assert _key(r) == _key(p.parse(text[: i + chunk], partial=True))
    assert _key(s.finish()) == _key(p.parse(text))


# --- fast path == pure interpreter (hypothesis) ------------------------------------------------

ALPHABET = "ab<>"
leaves = st.one_of(
    st.text(ALPHABET, min_size=1, max_size=3).map(lit),
    st.sampled_from([chars("a"), chars("ab", negated=True), any_char(), ir.Epsilon(), end(), start()]),
    st.lists(st.sampled_from(["<>", "ab", ">", "b<"]), min_size=1, max_size=2).map(lambda ds: until(*ds)),
    st.sampled_from([ref("r1"), ref("r2")]),
)


def _extend(inner: st.SearchStrategy[ir.Node]) -> st.SearchStrategy[ir.Node]:
    pair = st.lists(inner, min_size=2, max_size=3)
    return st.one_of(
        pair.map(lambda xs: seq(*xs)),
        pair.map(lambda xs: choice(*xs)),
        st.tuples(inner, st.integers(0, 2), st.sampled_from([None, 1, 3])).map(
            lambda t: repeat(t[0], t[1], None if t[2] is None else max(t[1], t[2]))
        ),
        inner.map(peek),
        inner.map(not_),
        inner.map(lambda x: capture(Tag.TEXT, x)),
        inner.map(atomic),
    )


nodes = st.recursive(leaves, _extend, max_leaves=8)


def _parsers(root: ir.Node, r1: ir.Node, r2: ir.Node) -> tuple[Parser, Parser]:
    try:
        grammar = g(root, r1=r1, r2=r2)
        return Parser(grammar), Parser(grammar, fast=False)
    except GrammarError:
        assume(False)
        raise


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes, nodes, nodes, st.lists(st.text(ALPHABET, max_size=8), min_size=1, max_size=4))
def test_fast_path_equals_interpreter(root: ir.Node, r1: ir.Node, r2: ir.Node, texts: list[str]) -> None:
    fast, slow = _parsers(root, r1, r2)
    for text in texts:
        for partial in (False, True):
            assert _key(fast.parse(text, partial=partial)) == _key(slow.parse(text, partial=partial))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes, nodes, nodes, st.text(ALPHABET, max_size=10), st.data())
def test_partial_verdict_is_final(root: ir.Node, r1: ir.Node, r2: ir.Node, text: str, data: Any) -> None:
    """OK / FAIL on a prefix in partial mode never changes when the text continues."""
    fast, _ = _parsers(root, r1, r2)
    cut = data.draw(st.integers(0, len(text)))
    early = fast.parse(text[:cut], partial=True)
    if early.status is not MORE:
        later = fast.parse(text, partial=True)
        assert (
            (later.status, later.end) == (early.status, early.end)
            or early.status is FAIL
            and later.status is FAIL
        )


def _json_space() -> ir.Node:
    return seq(space(), Json(), space())


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=10,
    )
)
def test_json_values_parse(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    for fast in MODES:
        assert Parser(g(_json_space()), fast=fast).match(text)


def test_python310_path_without_atomic_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without atomic groups (Python 3.10) no regex fast path is built; results are unchanged."""
    from pegtool.parser import fastpath

    text = _long_output()
    expected = [
        _key(Parser(g(CHAT)).parse(text[:k], partial=p)) for k in (len(text), 120_000) for p in (0, 1)
    ]
    monkeypatch.setattr(fastpath, "HAS_ATOMIC", False)
    parser = Parser(g(CHAT))
    got = [_key(parser.parse(text[:k], partial=p)) for k in (len(text), 120_000) for p in (0, 1)]
    assert got == expected


# --- session frontier: appending text that only prolongs a run re-parses nothing --------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes, nodes, nodes, st.text(ALPHABET + "xy", max_size=14), st.data())
def test_session_extend_equals_fresh_partial_parse(
    root: ir.Node, r1: ir.Node, r2: ir.Node, text: str, data: Any
) -> None:
    """Whatever the chunking, each Session.extend result (grown or re-parsed) equals a fresh
    partial parse of the text so far, open atomic groups included."""
    fast, _ = _parsers(root, r1, r2)
    open_atomic = data.draw(st.booleans())
    s = fast.session(open_atomic=open_atomic)
    i = 0
    while i < len(text):
        k = data.draw(st.integers(1, 4))
        r = s.extend(text[i : i + k])
        i += k
        fresh = fast.parse(text[:i], partial=True, open_atomic=open_atomic)
        assert _key(r) == _key(fresh) and r.tentative == fresh.tentative


def test_session_grows_long_runs_without_parsing() -> None:
    grammar = g(seq(capture(Tag.REASONING, until("</think>")), lit("</think>"),
                    capture(Tag.CONTENT, repeat(chars([("a", "z"), " "]), 0, None)), end()))
    p = Parser(grammar)
    s = p.session()
    text = "thinking about it " * 20 + "</think>" + "an answer here " * 20
    for i in range(0, len(text), 3):
        r = s.extend(text[i : i + 3])
        assert _key(r) == _key(p.parse(text[: i + 3], partial=True))
    assert s.grown > 10 * s.parsed
    assert _key(s.finish()) == _key(p.parse(text))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes, nodes, nodes, st.text(ALPHABET + "xy", max_size=12), st.data())
def test_full_parse_carried_over_equals_fresh_parse(
    root: ir.Node, r1: ir.Node, r2: ir.Node, text: str, data: Any
) -> None:
    """A full-mode result carried over to a longer text (when its Ending allows) equals a fresh
    full parse of that text."""
    fast, _ = _parsers(root, r1, r2)
    cut = data.draw(st.integers(0, len(text)))
    early = fast.parse(text[:cut], diagnose=False, track_end=True)
    later = regrown(early, text)
    if later is not None:
        assert _key(later) == _key(fast.parse(text, diagnose=False))
