"""Tests of pegtool.gbnf.triggers: trigger kinds, regex forms, and that lazy roots start with them."""

from __future__ import annotations

import re

import pytest

from pegtool.gbnf import (
    PATTERN,
    PATTERN_FULL,
    TOKEN,
    WORD,
    GbnfError,
    GrammarTrigger,
    Recognizer,
    to_gbnf,
    trigger_regex,
    triggers_for,
)
from pegtool.grammar.builder import (
    GrammarBuilder,
    any_char,
    capture,
    choice,
    ref,
    seq,
    space,
    star,
    trigger,
    until,
)
from pegtool.grammar.ir import Grammar, Tag


def _json_call() -> object:
    return seq("{", space(), '"name"', space(), ":", space(), choice('"a"', '"b"'), space(), "}")


def test_word_trigger_for_marker() -> None:
    b = GrammarBuilder()
    b.define("call", seq("<tool_call>", space(), _json_call(), space(), "</tool_call>"))
    b.define("root", seq(capture(Tag.CONTENT, until("<tool_call>")), star(trigger(ref("call")))))
    (t,) = triggers_for(b.build())
    assert t == GrammarTrigger(WORD, "<tool_call>")
    assert t.to_json() == {"type": 1, "value": "<tool_call>"}
    assert trigger_regex(t) == "(<tool_call>)"


def test_pattern_full_for_bare_json_at_start() -> None:
    g = Grammar.of(
        {"root": choice(seq(space(), trigger(_json_call())), capture(Tag.CONTENT, star(any_char())))}
    )
    (t,) = triggers_for(g)
    assert t.type == PATTERN_FULL
    rx = re.compile(trigger_regex(t))
    assert not t.value.startswith("[\\s\\S]*")
    m = rx.fullmatch('  {"name": "a"}')
    assert m and m.start(1) == 2
    assert not rx.fullmatch('Use {"name": "a"} like this')
    assert not rx.fullmatch("a set {1, 2}")


def test_pattern_when_bare_json_follows_content() -> None:
    g = Grammar.of({"root": seq(capture(Tag.CONTENT, until("{")), trigger(_json_call()))})
    (t,) = triggers_for(g)
    assert t.type == PATTERN and t.value.startswith("(")
    assert re.search(t.value, 'ok {"name"') and not re.search(t.value, "set {1}")


def test_lazy_root_accepts_from_trigger_text() -> None:
    b = GrammarBuilder()
    b.define(
        "root", seq(capture(Tag.CONTENT, until("[TOOL_CALLS]")), trigger(seq("[TOOL_CALLS]", _json_call())))
    )
    g = b.build()
    (t,) = triggers_for(g)
    assert t == GrammarTrigger(WORD, "[TOOL_CALLS]")
    assert trigger_regex(t) == "(\\[TOOL_CALLS\\])"
    assert Recognizer(to_gbnf(g, lazy=True)).accepts('[TOOL_CALLS]{"name":"b"}')


def test_token_and_full_forms() -> None:
    with pytest.raises(GbnfError):
        trigger_regex(GrammarTrigger(TOKEN, "<|tool|>", 7))
    assert GrammarTrigger(TOKEN, "<|tool|>", 7).to_json() == {"type": 0, "value": "<|tool|>", "token": 7}
    assert trigger_regex(GrammarTrigger(PATTERN_FULL, "\\s*(x)[\\s\\S]*")) == "^\\s*(x)[\\s\\S]*$"


def test_no_trigger_means_no_triggers() -> None:
    assert triggers_for(Grammar.of({"root": until("x")})) == []


def test_trigger_through_a_choice_of_call_objects() -> None:
    calls = choice(seq("{", space(), '"name"', space(), ":", '"a"', "}"),
                   seq("{", space(), '"name"', space(), ":", '"b"', "}"))
    g = Grammar.of({"root": seq(capture(Tag.CONTENT, until('{"name"')), star(trigger(calls)))})
    (t,) = triggers_for(g)
    rx = re.compile(trigger_regex(t))
    assert t.type == PATTERN and rx.search('ok {"name":"a"}') and not rx.search("a {b} c")


def test_trigger_through_a_choice_of_names_at_the_start() -> None:
    g = Grammar.of({"root": choice(trigger(seq(choice("get_weather", "search"), "\n{}")),
                                   capture(Tag.CONTENT, star(any_char())))})
    (t,) = triggers_for(g)
    rx = re.compile(trigger_regex(t))
    assert t.type == PATTERN_FULL and rx.fullmatch("search\n{}") and not rx.fullmatch("I search\n{}")


def test_word_trigger_is_not_cut_to_a_marker_used_elsewhere() -> None:
    content = seq("<|open|>response<|sep|>", capture(Tag.CONTENT, until("<|close|>")), "<|close|>")
    calls = seq("<|open|>tools<|sep|>", space(), "x")
    g = Grammar.of({"root": seq(content, star(trigger(calls)))})
    (t,) = triggers_for(g)
    assert t == GrammarTrigger(WORD, "<|open|>tools<|sep|>")


def test_trigger_sharing_the_end_of_turn_marker_becomes_a_pattern() -> None:
    call = seq("<|sep|>", space(), "function call:", space(), "{}")
    g = Grammar.of({"root": seq(capture(Tag.CONTENT, until("<|sep|>")), choice(trigger(call), "<|sep|>"))})
    (t,) = triggers_for(g)
    assert t.type == PATTERN and re.search(trigger_regex(t), "<|sep|>\nfunction call:")
    assert not re.search(trigger_regex(t), "bye<|sep|>")
