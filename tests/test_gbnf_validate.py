"""Tests of pegtool.gbnf.validate (check_gbnf), the GBNF syntax module and the recogniser."""

from __future__ import annotations

import doctest

import pytest

from pegtool.gbnf import Recognizer, automaton, charset, check_gbnf, escape
from pegtool.gbnf.syntax import parse_gbnf


@pytest.mark.parametrize(
    "text",
    [
        'root ::= "a" [b-d]* . ("x" | "y")?\n',
        'root ::= (\n  "a"\n  | "b" # comment\n)\n\n# trailing comment\nx ::= "y" |\n  "z"\n',
        'root ::= "\\x41\\u00e9\\U0001F600\\t\\r\\n\\\\\\"\\[\\]\\-" [\\]\\-^a-] x{2} x{1,} x{0,3}\nx ::= "x"\n',
        'root ::= | "a"\n',
        'root ::= <[42]> "x"\n',
    ],
)
def test_accepts_valid(text: str) -> None:
    assert check_gbnf(text) == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("root ::= foo\n", "undefined rule 'foo'"),
        ('root ::= foo_bar\nfoo_bar ::= "x"\n', "invalid rule name 'foo_bar'"),
        ('root ::= a\na ::= b? a "x"\nb ::= "y"\n', "left recursion"),
        ('root ::= x*\nx ::= "a" | ""\n', "left recursion"),
        ('root ::= "a"{0,3000}\n', "maximum 3000 > 2000"),
        ('root ::= "a"{2001}\n', "minimum 2001 > 2000"),
        ('root ::= "a"{3,1}\n', "max < min"),
        ('foo ::= "a"\n', "no 'root' rule"),
        ('root ::= "\\q"\n', "unknown escape"),
        ('root ::= "\\x4"\n', "hex digits"),
        ("root ::= []\n", "empty character class"),
        ('root ::= "a" |\nx ::= "b"\n', "syntax error at line 2"),
        ('root ::= ("a" "b"{0,10}){0,500}\n', "move the group into its own rule"),
        ('root ::= "a"\nroot ::= "b"\n', "defined twice"),
        ('root ::= "unterminated\n', "syntax error"),
    ],
)
def test_rejects_invalid(text: str, needle: str) -> None:
    errors = check_gbnf(text)
    assert errors and any(needle in e for e in errors), errors


def test_syntax_classes_and_ranges() -> None:
    parsed = parse_gbnf('root ::= [^a-c\\-x-] "q"\n')
    cls = parsed.rules[0].alts[0][0].atom
    assert cls.negated and cls.ranges == ((97, 99), (45, 45), (120, 120), (45, 45))  # type: ignore[union-attr]


def test_recognizer_basics() -> None:
    r = Recognizer('root ::= "a" b{2,3} [^x]?\nb ::= "b" | "c"\n')
    assert r.accepts("abb") and r.accepts("abcby") and not r.accepts("ab") and not r.accepts("abbbbb")
    assert r.accepts_prefix("ab") and not r.accepts_prefix("x")


def test_doctests() -> None:
    for mod in (escape, charset, automaton):
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, mod.__name__
