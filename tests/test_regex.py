"""Tests for pegtool.grammar.regex: patterns vs Python's re.fullmatch, through the DFA and the IR
(PEG and CFG readings, plus the real parser)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schema_reference import cfg_match, peg_match

from pegtool.errors import SchemaError
from pegtool.grammar.regex import compile_regex, regex_dfa, regex_grammar

TABLE = [
    (r"^[0-2][0-9]:[0-5][0-9]$", ["12:30", "1:30", "29:59", "12:60", "00:00x"]),
    (r"(ab)*c", ["c", "abc", "ababc", "abac", "ab"]),
    (r"a*a", ["", "a", "aa", "aaa", "b"]),
    (r"x{2,4}", ["x", "xx", "xxx", "xxxx", "xxxxx"]),
    (r"[^a-c]+", ["d", "a", "xyz", "xaz", ""]),
    (r"\d+\.\d*", ["1.", "1.5", ".5", "12.34", "1"]),
    (r"(foo|foobar)baz", ["foobaz", "foobarbaz", "foobar", "baz"]),
    (r"[a-z]+@[a-z]+\.(com|org)", ["a@b.com", "a@b.org", "a@b.net", "@b.com"]),
    (r"\w+\s?\w*", ["ab cd", "ab", "ab  cd", "a_1"]),
    (r"(a|b)?c{0,2}d+", ["d", "acd", "bccdd", "abd", "cccd"]),
    (r"[\-+]?[0-9]{1,3}(,[0-9]{3})*", ["1", "-1,000", "+12,345,678", "1,00", "1234"]),
    (r"colou?r|gr[ae]y", ["color", "colour", "grey", "gray", "groy"]),
    (r"[.][*]\\", [".*\\", "a*\\", ".*"]),
]


@pytest.mark.parametrize(("pattern", "texts"), TABLE)
def test_table_matches_python(pattern: str, texts: list[str]) -> None:
    grammar = regex_grammar(pattern)
    for text in texts:
        expected = re.fullmatch(pattern.strip("^$"), text, re.ASCII) is not None
        assert regex_dfa(pattern).accepts(text) == expected, text
        assert peg_match(grammar, text) == expected, text
        assert cfg_match(grammar, text) == expected, text


def test_search_semantics_for_json_schema() -> None:
    dfa = regex_dfa("abc", search=True)
    assert dfa.accepts("xxabcyy") and not dfa.accepts("ab")
    anchored = regex_dfa("^abc", search=True)
    assert anchored.accepts("abcz") and not anchored.accepts("zabc")


def test_self_contained_node_without_builder() -> None:
    node = compile_regex("[0-9]{2,4}")
    assert type(node).__name__ == "Repeat"
    with pytest.raises(SchemaError, match="GrammarBuilder"):
        compile_regex("(ab)*")


@pytest.mark.parametrize("bad", [r"(?=a)b", r"(a)\1", r"a\bb", r"a^b", r"(?i)a", r"a{3,1}", r"*a", r"[z-a]"])
def test_unsupported_features_raise(bad: str) -> None:
    with pytest.raises(SchemaError):
        regex_dfa(bad)


def test_parser_engine_agrees() -> None:
    engine = pytest.importorskip("pegtool.parser.engine")
    for pattern, texts in TABLE:
        parser = engine.Parser(regex_grammar(pattern))
        for text in texts:
            assert parser.match(text) == (re.fullmatch(pattern.strip("^$"), text, re.ASCII) is not None)


_ATOMS = st.sampled_from(["a", "b", "c", "[ab]", "[^a]", ".", r"\d", "(a|bc)", "(ab)"])
_QUANT = st.sampled_from(["", "", "*", "+", "?", "{2}", "{0,2}", "{1,}"])
_REGEX = st.lists(st.tuples(_ATOMS, _QUANT).map("".join), min_size=1, max_size=4).map("".join)
_ALT = st.lists(_REGEX, min_size=1, max_size=2).map("|".join)


@settings(max_examples=150, deadline=None)
@given(_ALT, st.lists(st.text("abc1", max_size=6), min_size=1, max_size=8))
def test_random_regexes_match_python(pattern: str, texts: list[str]) -> None:
    grammar = regex_grammar(pattern)
    for text in texts:
        expected = re.fullmatch(pattern, text, re.ASCII) is not None
        assert regex_dfa(pattern).accepts(text) == expected
        assert peg_match(grammar, text) == expected
        assert cfg_match(grammar, text) == expected
