"""Stage: grammar — values in a template's own notation with marker-quoted strings (Gemma 4).

``{lang:<|"|>fr<|"|>,max_results:5,tags:[<|"|>a<|"|>]}``: objects with bare keys, arrays, strings
between two quote markers (nothing escaped: a string cannot hold the marker), JSON numbers,
``true``/``false`` and ``None`` for null (see :mod:`pegtool.parser.notation`, which reads it back).

:func:`marker_value` is what the parser reads (any value; white space around punctuation, keys
between quote markers, ``True``/``False``/``null`` as well; the text of every string captured as
``ARG_STRING`` so the mapper can find the quote marker); :func:`marker_for_schema` what generation
may write: the rendered form, held to the JSON Schema where cheap (types, enums, numbers through
their JSON Schema grammar, array items and lengths, object property names and values). Every
choice is decided by its first characters, so the PEG and the CFG (GBNF) readings agree; the
quote marker must therefore not start like another value (checked by the analysis).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pegtool.grammar.builder import (
    GrammarBuilder,
    capture,
    chars,
    choice,
    json_schema,
    lit,
    opt,
    plus,
    ref,
    repeat,
    schema_text,
    space,
    star,
    until,
)
from pegtool.grammar.ir import Node, Tag
from pegtool.grammar.json_rules import bounded_number
from pegtool.grammar.narrowing import narrowed

#: Characters a value of the notation may start with (a quote marker must start otherwise).
VALUE_STARTS = "{[-0123456789tfTFNn"
_PUNCT = ":,{}[]"
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = chars([("0", "9")])


def _items(item: Node, close: str, gap: Node) -> Node:
    """``item (, item)* close`` or just ``close`` (``item`` never starts with ``close``)."""
    more = star(lit(",") + gap + item + gap)
    return choice(item + gap + more + lit(close), lit(close))


# --- reading -------------------------------------------------------------------------------------

def marker_value(b: GrammarBuilder, quote: str) -> Node:
    """Any value of the notation, as the parser reads it (rules ``mq-*`` of ``b``)."""
    if b.has("mq-value"):
        return ref("mq-value")
    value = ref("mq-value")
    string = lit(quote) + capture(Tag.ARG_STRING, until(quote)) + lit(quote)
    bare = chars(" \t\n\r" + _PUNCT + quote[0], negated=True) + star(chars("\t\n\r" + _PUNCT, negated=True))
    pair = choice(string, bare) + space() + lit(":") + space() + value
    number = opt(lit("-")) + plus(_DIGITS) + opt(lit(".") + plus(_DIGITS)) \
        + opt(chars("eE") + opt(chars("+-")) + plus(_DIGITS))
    words = choice(lit("true"), lit("false"), lit("True"), lit("False"), lit("None"), lit("null"))
    b.define("mq-object", lit("{") + space() + _items(pair, "}", space()))
    b.define("mq-array", lit("[") + space() + _items(value, "]", space()))
    b.define("mq-value", choice(ref("mq-object"), ref("mq-array"), string, number, words))
    return value


# --- generation ----------------------------------------------------------------------------------

def marker_generic(b: GrammarBuilder, quote: str) -> Node:
    """Any value as the template renders it: no white space, bare identifier keys, ``None``."""
    if b.has("mq-gen-value"):
        return ref("mq-gen-value")
    value = ref("mq-gen-value")
    key = chars([("a", "z"), ("A", "Z"), ("_", "_")]) + star(chars([("a", "z"), ("A", "Z"), ("0", "9"),
                                                                    ("_", "_")]))
    b.define("mq-gen-object", lit("{") + _items(key + lit(":") + value, "}", lit("")))
    b.define("mq-gen-array", lit("[") + _items(value, "]", lit("")))
    b.define("mq-gen-value", choice(ref("mq-gen-object"), ref("mq-gen-array"), _string(quote),
                                    bounded_number(b), choice(lit("true"), lit("false")), lit("None")))
    return value


def _string(quote: str, schema: Any = None) -> Node:
    body = until(quote) if schema is None else schema_text(schema, quote)
    return lit(quote) + body + lit(quote)


def marker_for_schema(b: GrammarBuilder, quote: str, schema: Any, depth: int = 4) -> Node:
    """A value narrowed by ``schema`` where cheap; :func:`marker_generic` otherwise."""
    return narrowed(schema, depth, generic=lambda: marker_generic(b, quote),
                    literals=lambda vs: _literals(vs, b, quote),
                    typed=lambda kind, s, d: _typed(b, quote, kind, s, d))


def _typed(b: GrammarBuilder, quote: str, kind: str, schema: dict[str, Any], depth: int) -> Node | None:
    if kind == "null":
        return lit("None")
    if kind == "string":
        return _string(quote, {**schema, "type": "string"})
    if kind in ("integer", "number", "boolean"):
        # numbers and booleans are written as in JSON: the JSON Schema grammar holds them to it
        return json_schema({**schema, "type": kind})
    if kind == "array":
        return _array(b, quote, schema, depth)
    if kind == "object":
        return _object(b, quote, schema, depth)
    return None


def _array(b: GrammarBuilder, quote: str, schema: dict[str, Any], depth: int) -> Node:
    items = schema.get("items")
    item = marker_for_schema(b, quote, items, depth - 1) if isinstance(items, dict) else marker_generic(b, quote)
    lo = schema.get("minItems", 0)
    hi = schema.get("maxItems")
    if not isinstance(lo, int) or lo < 0 or (hi is not None and (not isinstance(hi, int) or hi < max(lo, 1))):
        lo, hi = 0, None
    body = item + repeat(lit(",") + item, max(lo - 1, 0), None if hi is None else hi - 1)
    return lit("[") + (body if lo > 0 else opt(body)) + lit("]")


def _object(b: GrammarBuilder, quote: str, schema: dict[str, Any], depth: int) -> Node:
    """``{k:v,…}`` with the declared keys (each value under its schema, any order) or, without
    declared keys, any identifier keys."""
    props = schema.get("properties")
    if not isinstance(props, dict) or not props or not all(_KEY.fullmatch(k) for k in props):
        marker_generic(b, quote)
        return ref("mq-gen-object")
    pairs = [lit(k + ":") + marker_for_schema(b, quote, props[k], depth - 1)
             for k in sorted(props, key=lambda k: (-len(k), k))]
    return lit("{") + _items(choice(*pairs), "}", lit(""))


def _literals(values: list[Any], b: GrammarBuilder, quote: str) -> Node:
    texts = [render_marker_literal(v, quote) for v in values]
    if any(t is None for t in texts):
        return marker_generic(b, quote)
    return choice(*[lit(t) for t in sorted({t for t in texts if t}, key=lambda s: (-len(s), s))])


def render_marker_literal(value: Any, quote: str) -> str | None:
    """``value`` as the template renders it (keys in the given order); None if a key is not bare."""
    if isinstance(value, str):
        return None if quote in value else quote + value + quote
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        parts = [render_marker_literal(v, quote) for v in value]
        return None if any(p is None for p in parts) else "[" + ",".join(p for p in parts if p) + "]"
    if isinstance(value, dict):
        if not all(isinstance(k, str) and _KEY.fullmatch(k) for k in value):
            return None
        items = [(k, render_marker_literal(v, quote)) for k, v in value.items()]
        return None if any(p is None for _, p in items) else "{" + ",".join(f"{k}:{p}" for k, p in items) + "}"
    return None


__all__ = ["VALUE_STARTS", "marker_for_schema", "marker_generic", "marker_value", "render_marker_literal"]
