"""Dialects — values in a template's own notation with marker-quoted strings (Gemma 4).

``{lang:<|"|>fr<|"|>,max_results:5,tags:[<|"|>a<|"|>]}``: objects with bare keys, arrays, strings
between two quote markers (nothing escaped: a string cannot hold the marker), JSON numbers,
``true``/``false`` and ``None`` for null. ``value_style`` "marker_quoted", the marker in
``TaggedArgs.string_quote``; captured as ``ARG_MARKED``.

Analysis (:meth:`MarkerQuoted.detect`): the string marker is what ``arg_mid`` adds to the text
before a non-string value, it also starts ``arg_suffix``, and a canary value with nested strings
renders back in the notation.

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
import math
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pegtool.analysis import probe as P
from pegtool.analysis.record import TaggedArgs
from pegtool.dialects.base import RENDER, Evidence, Notation, ValueRenders
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

if TYPE_CHECKING:
    from pegtool.parser.engine import CaptureNode

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



# --- reading back as JSON ------------------------------------------------------------------------
# Objects ``{k:v,…}`` with bare keys (or keys between quote markers), arrays ``[v,…]``, strings
# between two quote markers with nothing escaped inside, JSON numbers, ``true``/``false``
# (``True``/``False`` too) and ``None``/``null``; white space around the punctuation is allowed.

_WS = re.compile(r"\s*")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_WORDS = {"true": True, "false": False, "True": True, "False": False, "None": None, "null": None}
_WORD = re.compile("|".join(sorted(_WORDS, key=len, reverse=True)))
_BARE_KEY = re.compile(r"[^\s:,{}\[\]][^\t\n\r:,{}\[\]]*")


def decode_marker_literal(text: str, pos: int, quote: str) -> tuple[Any, int]:
    """(value, end) of the value starting at ``pos`` (after white space); ``ValueError`` if none.
    An empty ``quote`` reads values without strings."""
    return _Reader(text, quote).value(pos)


def marker_literal_json(text: str, quote: str) -> str:
    """The JSON text of a whole value in the notation; a JSON string of ``text`` when it is not one
    (never raises).

    >>> marker_literal_json('{b:[1,true,None],a:<|"|>x "y"<|"|>}', '<|"|>')
    '{"b": [1, true, null], "a": "x \\\\"y\\\\""}'
    """
    try:
        value, end = decode_marker_literal(text, 0, quote)
        if text[end:].strip():
            raise ValueError("text after the value")
        return json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):
        return json.dumps(text, ensure_ascii=False)


class _Reader:
    def __init__(self, text: str, quote: str) -> None:
        self.text, self.quote = text, quote

    def skip(self, pos: int) -> int:
        return _WS.match(self.text, pos).end()  # type: ignore[union-attr]

    def value(self, pos: int) -> tuple[Any, int]:
        t = self.text
        pos = self.skip(pos)
        if self.quote and t.startswith(self.quote, pos):
            return self.string(pos)
        c = t[pos:pos + 1]
        if c == "{":
            return self.object(pos + 1)
        if c == "[":
            return self.array(pos + 1)
        m = _NUMBER.match(t, pos)
        if m is not None:
            num = m.group()
            if not (m.group(1) or m.group(2)):
                return int(num), m.end()
            if not math.isfinite(float(num)):
                raise ValueError(f"number out of range at {pos}")
            return float(num), m.end()
        m = _WORD.match(t, pos)
        if m is not None:
            return _WORDS[m.group()], m.end()
        raise ValueError(f"no value at {pos}")

    def string(self, pos: int) -> tuple[str, int]:
        start = pos + len(self.quote)
        end = self.text.find(self.quote, start)
        if end < 0:
            raise ValueError("unterminated string")
        return self.text[start:end], end + len(self.quote)

    def key(self, pos: int) -> tuple[str, int]:
        if self.quote and self.text.startswith(self.quote, pos):
            return self.string(pos)
        m = _BARE_KEY.match(self.text, pos)
        if m is None:
            raise ValueError(f"no key at {pos}")
        return m.group().rstrip(), m.end()

    def object(self, pos: int) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {}
        pos = self.skip(pos)
        if self.text.startswith("}", pos):
            return out, pos + 1
        while True:
            key, pos = self.key(pos)
            pos = self.expect(":", pos)
            value, pos = self.value(pos)
            out.setdefault(key, value)
            pos = self.skip(pos)
            if self.text.startswith("}", pos):
                return out, pos + 1
            pos = self.skip(self.expect(",", pos))

    def array(self, pos: int) -> tuple[list[Any], int]:
        out: list[Any] = []
        pos = self.skip(pos)
        if self.text.startswith("]", pos):
            return out, pos + 1
        while True:
            value, pos = self.value(pos)
            out.append(value)
            pos = self.skip(pos)
            if self.text.startswith("]", pos):
                return out, pos + 1
            pos = self.expect(",", pos)

    def expect(self, char: str, pos: int) -> int:
        pos = self.skip(pos)
        if not self.text.startswith(char, pos):
            raise ValueError(f"expected {char!r} at {pos}")
        return pos + 1


# --- the registry entry ------------------------------------------------------------------------


class MarkerQuoted(Notation):
    name = "marker_quoted"
    tag = Tag.ARG_MARKED

    def detect(self, r: ValueRenders) -> tuple[TaggedArgs, Evidence] | None:
        """The string marker is what ``arg_mid`` adds to ``mid`` (the text before a non-string
        value), it closes strings too, and a nested value with strings reads back in that notation."""
        if r.brace < 0:
            return None
        ta, mid = r.tagged, r.text[r.after:r.brace]
        quote = ta.arg_mid[len(mid):] if ta.arg_mid.startswith(mid) else ""
        if not quote.strip() or quote != quote.strip() or not ta.arg_suffix.startswith(quote) \
                or quote[0] in VALUE_STARTS or any(c in quote for c in ":,{}[]"):
            return None
        text = r.render("tools.marked_value", {P.ARG_DATA: P.MARKED_VALUE})
        key = text.find(ta.arg_prefix + P.ARG_DATA + mid)
        if key < 0:
            return None
        try:
            value, _ = decode_marker_literal(text, key + len(ta.arg_prefix + P.ARG_DATA + mid), quote)
        except ValueError:
            return None
        if value != P.MARKED_VALUE:
            return None
        found = replace(ta, arg_mid=mid, arg_mid_json=mid, arg_suffix=ta.arg_suffix[len(quote):],
                        string_quote=quote, values_json=False, value_style=self.name)
        note = f"non-string argument values use the template's own notation, strings between {quote!r}"
        return found, Evidence(RENDER, note)

    def value(self, b: GrammarBuilder, ta: TaggedArgs, schema: Any, *, strict: bool) -> Node:
        if strict:
            return marker_for_schema(b, ta.string_quote, schema)
        return marker_value(b, ta.string_quote)

    def to_json(self, text: str, node: CaptureNode) -> str:
        """The quote marker is the text before the first string's ``ARG_STRING`` capture, back to
        the punctuation (or value start) before it."""
        quote = ""
        first = next((c for c in node.children if c.tag is Tag.ARG_STRING), None)
        if first is not None:
            head = text[node.start:first.start]
            cut = max(head.rfind(c) for c in "{[,:")
            quote = head[cut + 1:].strip()
        return marker_literal_json(node.text(text).strip(), quote)


NOTATION = MarkerQuoted()

__all__ = ["NOTATION", "VALUE_STARTS", "MarkerQuoted", "decode_marker_literal", "marker_for_schema",
           "marker_generic", "marker_literal_json", "marker_value", "render_marker_literal"]
