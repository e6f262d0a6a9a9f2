"""Stage: grammar — the core JSON rules (RFC 8259) shared by every schema grammar.

Rule names are fixed and GBNF-safe (``ws``, ``json-value``, ``json-string``…); they are defined
once per builder. Each rule is written so that its PEG reading (ordered choice, possessive
repetition) accepts exactly the same text as its CFG reading:

* ``ws`` is ``[ \\t\\n\\r]{0,40}``: bounded, so a constrained model cannot emit white space forever;
  the bound makes at most 40 characters of white space legal between two tokens.
* numbers are ``int frac? exp?`` with ``int = "-"? ("0" / [1-9][0-9]*)``: every piece is maximal
  munch and what follows a number (white space, ``,``, ``]``, ``}``, a quote) never continues it.
* strings are ``"`` char* ``"`` where char never matches ``"``: the possessive loop stops exactly
  at the closing quote.
* in ``value`` the alternatives start with distinct characters (``{ [ " - 0-9 t f n``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from pegtool.errors import GrammarError
from pegtool.grammar.builder import GrammarBuilder, chars, choice, lit, opt, plus, repeat, seq, star
from pegtool.grammar.ir import Node, Ref

WS_MAX = 40

_HEX = chars([("0", "9"), ("a", "f"), ("A", "F")])
_DIGIT = chars([("0", "9")])
_DIGIT19 = chars([("1", "9")])


def _define_fixed(b: GrammarBuilder, name: str, node: Node) -> Ref:
    """Define rule ``name`` = ``node`` unless already defined identically (then reuse)."""
    if b.has(name):
        if b.rules[name] != node:
            raise GrammarError(f"rule name {name!r} is reserved for the JSON core rules")
        return Ref(name)
    return b.define(name, node)


def ws(b: GrammarBuilder) -> Ref:
    """``ws ::= [ \\t\\n\\r]{0,40}``."""
    return _define_fixed(b, "ws", repeat(chars(" \t\n\r"), 0, WS_MAX))


def json_char(b: GrammarBuilder) -> Ref:
    """One JSON string character: any code point but ``"``, ``\\`` and U+0000–U+001F, or an escape."""
    raw = chars([(0, 0x1F), '"', "\\"], negated=True)
    esc = seq("\\", choice(chars('"\\/bfnrt'), seq("u", repeat(_HEX, 4, 4))))
    return _define_fixed(b, "json-char", choice(raw, esc))


def json_string(b: GrammarBuilder) -> Ref:
    return _define_fixed(b, "json-string", seq('"', star(json_char(b)), '"'))


def string_with_length(b: GrammarBuilder, lo: int, hi: int | None) -> Node:
    """A JSON string of ``lo``..``hi`` characters (an escape counts as one character)."""
    return seq('"', repeat(json_char(b), lo, hi), '"')


def json_integer(b: GrammarBuilder) -> Ref:
    """``-? (0 / [1-9][0-9]*)``."""
    return _define_fixed(b, "json-int", seq(opt("-"), choice("0", seq(_DIGIT19, star(_DIGIT)))))


def json_number(b: GrammarBuilder) -> Ref:
    """``int ("." [0-9]+)? ([eE] [-+]? [0-9]+)?``."""
    frac = seq(".", plus(_DIGIT))
    exp = seq(chars("eE"), opt(chars("+-")), plus(_DIGIT))
    return _define_fixed(b, "json-number", seq(json_integer(b), opt(frac), opt(exp)))


#: Digits a schema-typed number may have per part (as llama.cpp's schema converter): a constrained
#: model cannot run on writing digits for ever, and JSON numbers past ~16 digits lose precision.
MAX_DIGITS = 16


def bounded_integer(b: GrammarBuilder) -> Ref:
    """``-? (0 / [1-9][0-9]{0,15})``: an integer a schema asked for."""
    whole = choice("0", seq(_DIGIT19, repeat(_DIGIT, 0, MAX_DIGITS - 1)))
    return _define_fixed(b, "int-bounded", seq(opt("-"), whole))


def bounded_number(b: GrammarBuilder) -> Ref:
    """``int ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,16})?`` with a bounded int part."""
    frac = seq(".", repeat(_DIGIT, 1, MAX_DIGITS))
    exp = seq(chars("eE"), opt(chars("+-")), repeat(_DIGIT, 1, MAX_DIGITS))
    return _define_fixed(b, "number-bounded", seq(bounded_integer(b), opt(frac), opt(exp)))


def json_boolean(b: GrammarBuilder) -> Ref:
    return _define_fixed(b, "json-boolean", choice("true", "false"))


def json_null(b: GrammarBuilder) -> Ref:
    return _define_fixed(b, "json-null", lit("null"))


def separated(b: GrammarBuilder, item: Node, lo: int, hi: int | None) -> Node:
    """``lo``..``hi`` items separated by ``ws "," ws`` (for ``lo == 0`` the whole list is optional)."""
    if hi == 0:
        return lit("")
    sep = seq(ws(b), ",", ws(b))
    rest = repeat(seq(sep, item), max(lo - 1, 0), None if hi is None else hi - 1)
    body = seq(item, rest)
    return body if lo > 0 else opt(body)


def bracketed(b: GrammarBuilder, open_: str, body: Node, close: str, may_be_empty: bool) -> Node:
    """``open ws (body ws)? close`` — or ``open ws body ws close`` when the body is mandatory.

    ``body`` must not match the empty string (its emptiness is expressed here)."""
    inner = seq(body, ws(b))
    return seq(open_, ws(b), opt(inner) if may_be_empty else inner, close)


def json_value(b: GrammarBuilder) -> Ref:
    """Any JSON value (recursive rules ``json-value``, ``json-object``, ``json-array``)."""
    if b.has("json-value"):
        return _define_fixed(b, "json-value", _value_node())
    b.define("json-value", _value_node())
    member = seq(json_string(b), ws(b), ":", ws(b), Ref("json-value"))
    _define_fixed(b, "json-object", bracketed(b, "{", separated(b, member, 1, None), "}", True))
    _define_fixed(b, "json-array", bracketed(b, "[", separated(b, Ref("json-value"), 1, None), "]", True))
    json_number(b)
    json_boolean(b)
    json_null(b)
    return Ref("json-value")


def _value_node() -> Node:
    return choice(
        Ref("json-object"),
        Ref("json-array"),
        Ref("json-string"),
        Ref("json-number"),
        Ref("json-boolean"),
        Ref("json-null"),
    )


def json_object_any(b: GrammarBuilder) -> Ref:
    json_value(b)
    return Ref("json-object")


def json_array_any(b: GrammarBuilder) -> Ref:
    json_value(b)
    return Ref("json-array")


def string_literal(value: str) -> Node:
    """The canonical JSON text of a string (non-ASCII kept raw, like ``ensure_ascii=False``)."""
    return lit(json.dumps(value, ensure_ascii=False))


def number_text(value: float | int) -> str:
    """The canonical JSON text of a number (integral floats written as integers)."""
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return json.dumps(value)


def const_value(b: GrammarBuilder, value: Any) -> Node:
    """A grammar for exactly one JSON value, allowing ``ws`` between tokens of objects/arrays.

    Numbers are written canonically (``1.0`` only as ``1``)."""
    if isinstance(value, dict):
        members = [seq(string_literal(k), ws(b), ":", ws(b), const_value(b, v)) for k, v in value.items()]
        if not members:
            return seq("{", ws(b), "}")
        sep = seq(ws(b), ",", ws(b))
        parts = [members[0]] + [seq(sep, m) for m in members[1:]]
        return bracketed(b, "{", seq(*parts), "}", False)
    if isinstance(value, list):
        if not value:
            return seq("[", ws(b), "]")
        sep = seq(ws(b), ",", ws(b))
        items = [const_value(b, v) for v in value]
        return bracketed(b, "[", seq(items[0], *[seq(sep, i) for i in items[1:]]), "]", False)
    if isinstance(value, str):
        return string_literal(value)
    if value is True or value is False or value is None:
        return lit(json.dumps(value))
    if isinstance(value, (int, float)):
        return lit(number_text(value))
    raise GrammarError(f"not a JSON value: {value!r}")


__all__ = [
    "WS_MAX",
    "bracketed",
    "const_value",
    "json_array_any",
    "json_boolean",
    "json_char",
    "json_integer",
    "bounded_integer",
    "bounded_number",
    "json_null",
    "json_number",
    "json_object_any",
    "json_string",
    "json_value",
    "number_text",
    "separated",
    "string_literal",
    "string_with_length",
    "ws",
]
