"""The IR, its builder (normalisation), its JSON serialisation and printer, and the promise that
every node type is handled by both back-ends (parser and GBNF emitter)."""

from __future__ import annotations

from typing import Any

import pytest

from pegtool.gbnf import check_gbnf, to_gbnf
from pegtool.grammar import ir
from pegtool.grammar.builder import (
    GrammarBuilder,
    any_char,
    atomic,
    capture,
    chars,
    choice,
    end,
    json_schema,
    json_value,
    lenient,
    lit,
    not_,
    opt,
    peek,
    ref,
    repeat,
    schema_text,
    seq,
    star,
    start,
    trigger,
    until,
)
from pegtool.grammar.ir import Tag
from pegtool.grammar.printer import to_text
from pegtool.parser.engine import Parser

# One small grammar per node type, with a string it must accept.
SAMPLES: dict[type, tuple[ir.Node, str]] = {
    ir.Epsilon: (seq(lit("a"), ir.Epsilon(), lit("b")), "ab"),
    ir.Start: (seq(start(), lit("a")), "a"),
    ir.End: (seq(lit("a"), end()), "a"),
    ir.Literal: (lit("héllo 😀"), "héllo 😀"),
    ir.Seq: (ir.Seq((lit("a"), chars("0123456789"))), "a7"),
    ir.Choice: (ir.Choice((lit("a"), lit("b"))), "b"),
    ir.Repeat: (repeat(chars("xy"), 2, 3), "xyx"),
    ir.Peek: (seq(peek(chars("a")), any_char()), "a"),
    ir.Not: (seq(not_(chars("a")), any_char()), "b"),
    ir.AnyChar: (any_char(), "λ"),
    ir.CharClass: (chars([("a", "f")], negated=True), "z"),
    ir.Until: (seq(until("</x>", "<y>"), lit("</x>")), "ab</x>"),
    ir.Json: (json_value(), '{"a": [1, true, null, "s"]}'),
    ir.JsonSchema: (json_schema({"type": "object", "properties": {"n": {"type": "integer"}}}), '{"n": 5}'),
    ir.SchemaText: (seq(schema_text({"type": "string"}, "</p>"), lit("</p>")), "raw <text></p>"),
    ir.Ref: (ref("other"), "o"),
    ir.Capture: (capture(Tag.CONTENT, lit("c")), "c"),
    ir.Atomic: (atomic(lit("a")), "a"),
    ir.Trigger: (seq(until("<t>"), trigger(lit("<t>") + json_value())), "hi <t>[1]"),
    ir.Lenient: (lenient(lit("ab"), chars("ab") + opt(chars("ab"))), "ab"),
}


def _grammar(node: ir.Node) -> ir.Grammar:
    return ir.Grammar.of({"root": node, "other": lit("o")})


def test_samples_cover_every_node_type() -> None:
    assert set(SAMPLES) == set(ir.NODE_TYPES)


@pytest.mark.parametrize("node_type", ir.NODE_TYPES, ids=lambda t: t.__name__)
def test_every_node_type_is_handled_by_both_back_ends(node_type: type, llama_judge: Any) -> None:
    node, text = SAMPLES[node_type]
    grammar = _grammar(node)
    assert Parser(grammar).match(text)
    gbnf = to_gbnf(grammar)
    assert check_gbnf(gbnf) == []
    assert llama_judge.accepts(gbnf, text), gbnf


def test_lenient_generates_one_side_and_reads_the_other(llama_judge: Any) -> None:
    node = lenient(lit("a") + lit("b"), star(chars("ab")))
    grammar = _grammar(node)
    gbnf = to_gbnf(grammar)
    for text in ("ab", "ba", "bbb", ""):
        assert Parser(grammar).match(text)
        assert llama_judge.accepts(gbnf, text) is (text == "ab")
    assert ir.one_side(grammar, "generate")["root"] == seq(lit("ab"))
    assert ir.one_side(grammar, "read")["root"] == star(chars("ab"))
    assert to_text(grammar).startswith('root <- lenient("ab", [a-b]*)')
    assert lenient(lit("x"), lit("x")) == lit("x")
    with pytest.raises(ValueError):
        ir.one_side(grammar, "both")


def test_builder_flattens_merges_and_dedupes() -> None:
    assert seq("a", seq("b", ir.Epsilon()), "c") == lit("abc")
    assert choice(lit("x"), choice(lit("y"), lit("x"))) == ir.Choice((lit("x"), lit("y")))
    assert repeat("a", 1, 1) == lit("a") and repeat("a", 0, 0) == ir.Epsilon()
    assert (lit("a") + "b") == lit("ab") and (lit("a") | "b") == ir.Choice((lit("a"), lit("b")))
    assert chars("cab") == ir.CharClass(((97, 99),))
    assert until("b", "a", "b") == ir.Until(("a", "b"))


def test_builder_interns_identical_rules() -> None:
    b = GrammarBuilder()
    r1 = b.intern("num", chars("0123456789"))
    r2 = b.intern("digits", chars("0123456789"))
    assert r1 == r2 and list(b.rules) == ["num"]


def test_repeat_rejects_inverted_bounds() -> None:
    with pytest.raises(ValueError, match="bounds"):
        repeat("a", 3, 1)


def test_json_round_trip_of_every_sample() -> None:
    for node, _ in SAMPLES.values():
        g = _grammar(opt(node))
        assert ir.loads(ir.dumps(g)) == g
        assert ir.dumps(ir.loads(ir.dumps(g))) == ir.dumps(g)


def test_printer_shows_peg_notation() -> None:
    g = _grammar(seq(capture(Tag.TOOL_NAME, choice("get", "set")), star(any_char()), not_(lit("x"))))
    assert to_text(g).splitlines()[0] == 'root <- tool_name:("get" / "set") .* !"x"'
