"""Tests of pegtool.gbnf.emit: golden output, node coverage, exact Until, predicates, repeats."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pegtool.gbnf import GbnfError, Recognizer, automaton, check_gbnf, to_gbnf
from pegtool.grammar import ir
from pegtool.grammar.builder import (
    GrammarBuilder,
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
    ref,
    repeat,
    seq,
    space,
    star,
    start,
    trigger,
    until,
)
from pegtool.grammar.ir import Grammar, Tag

GOLDEN = Path(__file__).parent / "golden" / "gbnf"


def _g(node: ir.Node, **rules: ir.Node) -> Grammar:
    return Grammar.of({"root": node, **rules})


def _accepts(grammar: Grammar, text: str, lazy: bool = False) -> bool:
    return Recognizer(to_gbnf(grammar, lazy=lazy)).accepts(text)


# --- representative grammars (golden) ------------------------------------------------------


def _hermes() -> Grammar:
    b = GrammarBuilder()
    b.define("args", seq("{", space(), star(chars([("a", "z"), ('"', '"'), (":", ":"), (" ", " ")])), "}"))
    call = seq("<tool_call>", space(), capture(Tag.TOOL_ARGS, ref("args")), space(), "</tool_call>")
    think = opt(seq("<think>", capture(Tag.REASONING, until("</think>")), "</think>", space()))
    b.define(
        "root",
        seq(think, capture(Tag.CONTENT, until("<tool_call>")), star(trigger(seq(call, space()))), end()),
    )
    return b.build()


def _bare_json() -> Grammar:
    b = GrammarBuilder()
    name = choice('"get_weather"', '"search"')
    call = seq("{", space(), '"name"', space(), ":", space(), name, space(), "}")
    b.define("root", choice(seq(space(), trigger(call)), capture(Tag.CONTENT, star(any_char()))))
    return b.build()


def _odd_names() -> Grammar:
    b = GrammarBuilder()
    b.define("tool_call.args", repeat(seq("a", opt("b")), 2, 4))
    b.define("tool-call-args", chars("^-]\\", negated=True))
    b.define(
        "root", seq(ref("tool_call.args"), ref("tool-call-args"), '"quoted"\n\t\x01é', repeat("z", 0, 3000))
    )
    return b.build()


GRAMMARS = {"hermes": _hermes, "bare_json": _bare_json, "odd_names": _odd_names}


@pytest.mark.parametrize("name", sorted(GRAMMARS))
@pytest.mark.parametrize("lazy", [False, True])
def test_golden(name: str, lazy: bool) -> None:
    grammar = GRAMMARS[name]()
    if lazy and not any(isinstance(n, ir.Trigger) for _, b in grammar.rules for n in ir.walk(b)):
        pytest.skip("no trigger")
    text = to_gbnf(grammar, lazy=lazy)
    path = GOLDEN / f"{name}{'.lazy' if lazy else ''}.gbnf"
    if os.environ.get("PEGTOOL_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    assert check_gbnf(text) == []
    assert to_gbnf(ir.loads(ir.dumps(grammar)), lazy=lazy) == text  # deterministic


def test_hermes_language() -> None:
    g = _hermes()
    assert _accepts(g, "hello <b>world</b>")
    assert _accepts(g, '<think>a < b</think>\nok<tool_call>{"a": "b"}</tool_call>')
    assert not _accepts(g, "a<tool_call>{</tool_call>")
    assert _accepts(g, '<tool_call>{"a"}</tool_call>', lazy=True)
    assert not _accepts(g, "text <tool_call>{}</tool_call>", lazy=True)


def test_names_escapes_and_bounds() -> None:
    text = to_gbnf(_odd_names())
    assert "tool-call-args ::=" in text and "tool-call-args-2 ::=" in text
    assert '"\\"quoted\\"\\n\\t\\x01é"' in text
    assert '"z"*' in text and any("3000" in w for w in text.warnings)
    r = Recognizer(text)
    assert r.accepts('aabx"quoted"\n\t\x01é' + "z" * 5)
    assert not r.accepts('ax"quoted"\n\t\x01é')


def test_every_node_type_is_handled() -> None:
    """Each ir.NODE_TYPES member is emitted (JSON nodes after lowering)."""
    samples: dict[type, ir.Node] = {
        ir.Epsilon: ir.Epsilon(),
        ir.Start: ir.Start(),
        ir.End: ir.End(),
        ir.Literal: ir.Literal("x"),
        ir.Seq: ir.Seq((ir.Literal("a"), ir.Literal("b"))),
        ir.Choice: ir.Choice((ir.Literal("a"), ir.Literal("b"))),
        ir.Repeat: ir.Repeat(ir.Literal("a"), 1, 3),
        ir.Peek: ir.Peek(ir.Literal("q")),
        ir.Not: ir.Not(ir.Literal("q")),
        ir.AnyChar: ir.AnyChar(),
        ir.CharClass: ir.CharClass(((48, 57),)),
        ir.Until: ir.Until(("</x>",)),
        ir.Json: ir.Json(),
        ir.JsonSchema: ir.JsonSchema('{"type":"integer"}'),
        ir.SchemaText: ir.SchemaText('{"type":"string"}', ("</x>",)),
        ir.Ref: ir.Ref("other"),
        ir.Capture: ir.Capture(Tag.TEXT, ir.Literal("c")),
        ir.Atomic: ir.Atomic(ir.Literal("a")),
        ir.Trigger: ir.Trigger(ir.Literal("t")),
        ir.Lenient: ir.Lenient(ir.Literal("g"), ir.Literal("r")),
    }
    assert set(samples) == set(ir.NODE_TYPES)
    for cls, node in samples.items():
        text = to_gbnf(_g(ir.Seq((node, ir.Literal("!"))), other=ir.Literal("o")))
        assert check_gbnf(text) == [], cls


# --- until ------------------------------------------------------------------------------------

DELIMS = st.lists(st.text(alphabet="ab<", min_size=1, max_size=4), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(DELIMS, st.lists(st.text(alphabet="ab<c", max_size=9), min_size=1, max_size=25))
def test_until_is_exact(delims: list[str], texts: list[str]) -> None:
    r = Recognizer(to_gbnf(_g(until(*delims))))
    for text in texts:
        assert r.accepts(text) == (not any(d in text for d in delims)), (delims, text)


@pytest.mark.parametrize("delims", [("</tool_call>",), ("aab",), ("abab",), ("ab", "b"), ("aa", "aba", "bb")])
def test_until_exhaustive(delims: tuple[str, ...]) -> None:
    r = Recognizer(to_gbnf(_g(until(*delims))))
    alphabet = sorted(set("".join(delims))) + ["c"]
    for n in range(7):
        for chars_ in itertools.product(alphabet, repeat=n):
            text = "".join(chars_)
            assert r.accepts(text) == (not any(d in text for d in delims)), text


def _peg_until_then(delims: tuple[str, ...], follow: str, text: str) -> bool:
    """PEG: ``until(D) follow`` anchored at both ends."""
    hits = [p for p in range(len(text) + 1) if any(text.startswith(d, p) for d in delims)]
    stop = hits[0] if hits else len(text)
    return text[stop:] == follow


@settings(max_examples=150, deadline=None)
@given(DELIMS, st.data())
def test_until_followed_by_delimiter_matches_peg(delims: list[str], data: st.DataObject) -> None:
    follow = data.draw(st.sampled_from(sorted(delims)))
    assert max(map(len, delims)) <= len(follow) + 1 or True
    r = Recognizer(to_gbnf(_g(seq(until(*delims), follow))))
    for text in data.draw(st.lists(st.text(alphabet="ab<c", max_size=9), max_size=20)) + [
        follow,
        "a" + follow,
    ]:
        if max(map(len, delims)) <= len(follow) + 1:
            assert r.accepts(text) == _peg_until_then(tuple(delims), follow, text), (delims, follow, text)


def test_automaton_follow_excludes_overlap() -> None:
    auto = automaton.build(["abab"], follow="abab")
    assert not auto.accepts("ab") and auto.accepts("a") and auto.accepts("")
    assert _accepts(_g(seq(until("abab"), "abab")), "aabab")
    assert not _accepts(_g(seq(until("abab"), "abab")), "ababab")


def test_handwritten_until_form() -> None:
    body = seq(not_(choice("</a>", "</b>")), any_char())
    g = _g(seq(star(body), "</a>"))
    text = to_gbnf(g)
    assert not text.warnings
    r = Recognizer(text)
    assert r.accepts("x</ </a>") and not r.accepts("x</b></a>")
    plus = Recognizer(to_gbnf(_g(repeat(body, 1, None))))
    assert plus.accepts("x") and not plus.accepts("") and not plus.accepts("</a>")


# --- predicates and anchors ----------------------------------------------------------------


def test_not_charset_before_char_is_a_class() -> None:
    text = to_gbnf(_g(star(seq(not_(chars('"\\')), any_char()))))
    assert not text.warnings
    r = Recognizer(text)
    assert r.accepts("abc") and not r.accepts('a"')


def test_peek_charset_before_class() -> None:
    r = Recognizer(to_gbnf(_g(seq(peek(chars("abc")), chars([("a", "z")])))))
    assert r.accepts("b") and not r.accepts("d")


def test_predicate_before_literal_is_static() -> None:
    assert not _accepts(_g(seq(not_("ab"), "abc")), "abc")
    assert _accepts(_g(seq(not_("x"), "abc")), "abc")
    assert _accepts(_g(seq(peek("ab"), "abc")), "abc")
    assert not _accepts(_g(seq(peek(choice("x", "y")), "abc")), "abc")


def test_predicates_at_end_and_anchors() -> None:
    g = _g(seq(start(), "a", not_(any_char())))
    text = to_gbnf(g)
    assert not text.warnings and Recognizer(text).accepts("a")
    assert not _accepts(_g(seq("a", not_(opt("b")))), "a")
    assert _accepts(_g(seq("a", end())), "a")
    inner = to_gbnf(_g(seq("a", start(), "b")))
    assert inner.warnings and "Start" in inner.warnings[0]


def test_end_in_referenced_tail_rule_is_exact() -> None:
    text = to_gbnf(_g(seq("a", ref("rest")), rest=seq("b", end())))
    assert not text.warnings


def test_unhandled_predicate_warns() -> None:
    text = to_gbnf(_g(seq(not_("ab"), star(any_char()))))
    assert text.warnings and "over-approximation" in text.warnings[0]


# --- repetition ------------------------------------------------------------------------------


def test_big_minimum_is_split_exactly() -> None:
    text = to_gbnf(_g(repeat("a", 4001, 4003)))
    assert check_gbnf(text) == [] and not text.warnings
    r = Recognizer(text)
    assert r.accepts("a" * 4001) and r.accepts("a" * 4003)
    assert not r.accepts("a" * 4000) and not r.accepts("a" * 4004)


def test_repeat_of_group_is_hoisted() -> None:
    text = to_gbnf(_g(repeat(seq("a", opt("b"), repeat("c", 0, 100)), 0, 1500)))
    assert check_gbnf(text) == []


def test_nullable_star_body_is_stripped() -> None:
    g = _g(star(seq(opt("a"), opt("b"))))
    r = Recognizer(to_gbnf(g))
    assert r.accepts("") and r.accepts("abba")
    r2 = Recognizer(to_gbnf(_g(seq(star(until("x")), "x"))))
    assert r2.accepts("abcx")
    with pytest.raises(GbnfError):
        to_gbnf(_g(star(ref("e")), e=opt("a")))


def test_shared_subgrammar_emitted_once() -> None:
    big = seq("{", space(), '"name"', space(), ":", space(), choice('"alpha"', '"beta"'), "}")
    text = to_gbnf(_g(choice(seq("x", capture(Tag.TEXT, big)), seq("y", capture(Tag.TEXT, big)))))
    assert text.count('"\\"name\\""') == 1
    assert Recognizer(text).accepts('y{ "name":"beta"}')


def test_errors() -> None:
    with pytest.raises(GbnfError, match="undefined"):
        to_gbnf(_g(ref("nope")))
    with pytest.raises(GbnfError, match="left recursion"):
        to_gbnf(_g(seq(opt("x"), ref("root"), "a")))
    with pytest.raises(GbnfError, match="Trigger"):
        to_gbnf(_g(lit("a")), lazy=True)


def test_capture_atomic_transparent() -> None:
    r = Recognizer(to_gbnf(_g(capture(Tag.TEXT, atomic(seq("a", trigger("b")))))))
    assert r.accepts("ab")
