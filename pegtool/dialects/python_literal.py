"""Dialects — Python-literal values (``None``, ``True``, ``{'a': [1, 'x']}``, ``(1,)``).

Some chat templates print non-string tool arguments with Python's ``str()``; the model was trained
on that text (``value_style`` "python"). Others print objects as JSON but scalars with ``str()``
(``True``, ``None``: "python_scalars"). Both are captured as ``ARG_VALUE`` and read back with
:func:`literal_json` (JSON as written, a Python literal converted). :func:`python_value` is the grammar of such a literal, :func:`python_for_schema` a
version narrowed by a JSON Schema where that is cheap (type, enum/const, array items). Every
choice is decided by its first character, so the PEG and the CFG (GBNF) readings agree.
Recursive rules are defined on the :class:`GrammarBuilder` passed in (``py-value`` & co).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pegtool.analysis import probe as P
from pegtool.analysis.record import TaggedArgs
from pegtool.dialects.base import RENDER, Evidence, Notation, ValueRenders
from pegtool.grammar.builder import GrammarBuilder, chars, choice, lit, opt, ref, repeat, space, star
from pegtool.grammar.ir import Node, Tag
from pegtool.grammar.json_rules import MAX_DIGITS
from pegtool.grammar.narrowing import narrowed

if TYPE_CHECKING:
    from pegtool.parser.engine import CaptureNode

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


def literal_json(value: str) -> str:
    """The JSON text of a value: JSON stays as written; a Python literal (``True``, ``None``,
    ``{'a': 1}``) is converted; anything else is kept as a JSON string.

    >>> literal_json('{"a": 1}'), literal_json("{'a': None, 'b': True}"), literal_json("x y")
    ('{"a": 1}', '{"a": null, "b": true}', '"x y"')
    """
    try:
        json.loads(value)
        return value
    except ValueError:
        pass
    except RecursionError:  # nested deeper than json.loads goes: check without recursion
        from pegtool.parser.jsonvalid import is_json

        return value if is_json(value) else json.dumps(value, ensure_ascii=False)
    try:
        return json.dumps(ast.literal_eval(value), ensure_ascii=False)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return json.dumps(value, ensure_ascii=False)


#: Characters that only occur in Python-style literals (True/False/None, single quotes): a partial
#: value holding one is held back, because its JSON form is only known once it is complete.
_PYTHONISH = re.compile(r"[TFN']")


def literal_prefix(value: str) -> str:
    """What a stream may send of a value still being written: a JSON object, array or string as
    written; a scalar is held back until it is complete (``f`` may become ``false`` or, read as
    text, the string "five"), and so is a value with Python-only characters."""
    value = value.strip()
    return value if value[:1] in ("{", "[", '"') and not _PYTHONISH.search(value) else ""


def literal_at(text: str, start: int) -> Any:
    """The Python literal (not JSON) that starts with the bracket at ``start`` (None when none)."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "[": 1, "}": -1, "]": -1}.get(text[i], 0)
        if depth == 0:
            try:
                return None if text[start:i + 1].find('"') >= 0 else ast.literal_eval(text[start:i + 1])
            except (ValueError, SyntaxError):
                return None
    return None


def json_value_at(text: str, start: int) -> Any:
    """The JSON value starting at ``start`` (None when there is none)."""
    try:
        return json.JSONDecoder().raw_decode(text, start)[0] if start >= 0 else None
    except ValueError:
        return None


# --- the registry entry ------------------------------------------------------------------------


class PythonLiteral(Notation):
    """"python": values printed with ``str()``; "python_scalars": JSON objects and arrays, Python
    scalars. The notation also takes values no other notation explains (:meth:`fallback`)."""

    name = "python"
    styles = ("python_scalars",)
    tag = Tag.ARG_VALUE

    def detect(self, r: ValueRenders) -> tuple[TaggedArgs, Evidence] | None:
        if r.brace >= 0 and literal_at(r.text, r.brace) == P.DATA_VALUE:
            return (replace(r.tagged, values_json=False, value_style="python"),
                    Evidence(RENDER, "non-string argument values are rendered as Python literals"))
        if r.scalars == "python" and json_value_at(r.text, r.brace) == P.DATA_VALUE:
            return (replace(r.tagged, arg_mid_json=r.json_mid, value_style="python_scalars"),
                    Evidence(RENDER, "non-string argument values are JSON, with True/None scalars"))
        return None

    def fallback(self, r: ValueRenders) -> tuple[TaggedArgs, Evidence]:
        """Values that are not JSON and no notation recognised: read as Python literals."""
        return (replace(r.tagged, values_json=False, value_style="python"),
                Evidence(RENDER, "non-string argument values are not rendered as JSON"))

    def value(self, b: GrammarBuilder, ta: TaggedArgs, schema: Any, *, strict: bool) -> Node:
        from pegtool.grammar.builder import json_schema, json_value

        py = python_for_schema(b, schema)
        if not strict:
            return choice(json_value(), py)
        # "python_scalars" templates render objects as JSON: generate those schema-checked; "python"
        # ones render them with str(), which the model learned: keep that form available.
        both = ta.value_style == "python" or _python_narrowed(schema)
        return choice(json_schema(schema), py) if both else json_schema(schema)

    def to_json(self, text: str, node: CaptureNode) -> str:
        return literal_json(node.text(text).strip())

    def partial_json(self, text: str, node: CaptureNode) -> str:
        return literal_prefix(node.text(text))


def _python_narrowed(schema: Any) -> bool:
    """Whether the Python-literal grammar of ``schema`` holds the value to it: scalars, enums,
    consts and arrays (items narrowed) do; objects and untyped values are read as any literal."""
    if not isinstance(schema, dict):
        return False
    if "const" in schema or schema.get("enum"):
        return True
    types = schema.get("type")
    types = [types] if isinstance(types, str) else types
    return isinstance(types, list) and bool(types) and "object" not in types


NOTATION = PythonLiteral()

__all__ = ["NOTATION", "PythonLiteral", "json_value_at", "literal_at", "literal_json", "literal_prefix", "python_for_schema",
           "python_string", "python_value"]
