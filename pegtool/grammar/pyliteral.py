"""Stage: grammar — Python-literal values (``None``, ``True``, ``{'a': [1, 'x']}``, ``(1,)``).

Some chat templates print non-string tool arguments with Python's ``str()``; the model was trained
on that text. :func:`python_value` is the grammar of such a literal, :func:`python_for_schema` a
version narrowed by a JSON Schema where that is cheap (type, enum/const, array items). Every
choice is decided by its first character, so the PEG and the CFG (GBNF) readings agree.
Recursive rules are defined on the :class:`GrammarBuilder` passed in (``py-value`` & co).
"""

from __future__ import annotations

import json
from typing import Any

from pegtool.grammar.builder import GrammarBuilder, chars, choice, lit, opt, ref, repeat, space, star
from pegtool.grammar.ir import Node
from pegtool.grammar.json_rules import MAX_DIGITS
from pegtool.grammar.narrowing import narrowed

_DIGITS = chars([("0", "9")])


def _number(integer: bool = False) -> Node:
    """``-? (0 | [1-9][0-9]{0,15}) (. [0-9]{1,16})? ([eE] [+-]? [0-9]{1,16})?`` (JSON number syntax,
    each part bounded like a schema-typed JSON number)."""
    whole = choice(lit("0"), chars([("1", "9")]) + repeat(_DIGITS, 0, MAX_DIGITS - 1))
    if integer:
        return opt(lit("-")) + whole
    frac = opt(lit(".") + repeat(_DIGITS, 1, MAX_DIGITS))
    exp = opt(chars("eE") + opt(chars("+-")) + repeat(_DIGITS, 1, MAX_DIGITS))
    return opt(lit("-")) + whole + frac + exp


def _string(quote: str) -> Node:
    """A quoted Python string: no raw newline or quote inside; ``\\`` escapes any character."""
    plain = chars(quote + "\\\n\r", negated=True)
    escape = lit("\\") + chars("\n", negated=True)
    return lit(quote) + star(choice(plain, escape)) + lit(quote)


def python_string() -> Node:
    """``'…'`` or ``"…"``."""
    return choice(_string("'"), _string('"'))


def _items(item: Node, close: str, trailing_comma: bool = False) -> Node:
    """``item (, item)* ,? close`` or just ``close``; ``item`` never starts with ``close``."""
    more = star(lit(",") + space() + item + space())
    tail = opt(lit(",") + space()) if trailing_comma else lit("")
    return choice(item + space() + more + tail + lit(close), lit(close))


def python_value(b: GrammarBuilder) -> Node:
    """Any Python literal (as ``ast.literal_eval`` reads it, minus bytes/complex/sets)."""
    if b.has("py-value"):
        return ref("py-value")
    value = ref("py-value")
    key = choice(python_string(), _number(), lit("None"), lit("True"), lit("False"))
    pair = key + space() + lit(":") + space() + value
    b.define("py-list", lit("[") + space() + _items(value, "]"))
    b.define("py-tuple", lit("(") + space() + _items(value, ")", trailing_comma=True))
    b.define("py-dict", lit("{") + space() + _items(pair, "}"))
    b.define("py-value", choice(lit("None"), lit("True"), lit("False"), _number(), python_string(),
                                ref("py-list"), ref("py-tuple"), ref("py-dict")))
    return value


_SCALAR = {"null": lambda: lit("None"), "boolean": lambda: choice(lit("True"), lit("False")),
           "integer": lambda: _number(integer=True), "number": _number, "string": python_string}


def python_for_schema(b: GrammarBuilder, schema: Any, depth: int = 3) -> Node:
    """A Python literal narrowed by ``schema`` where cheap; the generic literal otherwise."""
    return narrowed(schema, depth, generic=lambda: python_value(b), literals=lambda vs: _literal_of(vs, b),
                    typed=lambda kind, s, d: _typed(b, kind, s, d))


def _typed(b: GrammarBuilder, kind: str, schema: dict[str, Any], depth: int) -> Node | None:
    if kind in _SCALAR:
        return _SCALAR[kind]()
    if kind == "array":
        items = schema.get("items")
        item = python_for_schema(b, items, depth - 1) if isinstance(items, dict) else python_value(b)
        return choice(lit("[") + space() + _items(item, "]"),
                      lit("(") + space() + _items(item, ")", trailing_comma=True))
    if kind == "object":
        python_value(b)
        return ref("py-dict")
    return None


def _literal_of(values: list[Any], b: GrammarBuilder) -> Node:
    """The ``repr`` of each enum value (its JSON text as a fallback)."""
    texts = [_repr(v) for v in values]
    if any(t is None for t in texts):
        return python_value(b)
    return choice(*[lit(t) for t in sorted({t for t in texts if t}, key=lambda s: (-len(s), s))])


def _repr(value: Any) -> str | None:
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return None


__all__ = ["python_for_schema", "python_string", "python_value"]
