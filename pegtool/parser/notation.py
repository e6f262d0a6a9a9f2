"""Stage: parser — a template's own value notation with marker-quoted strings, read as JSON.

Some templates print non-string tool arguments in a notation of their own (Gemma 4)::

    {lang:<|"|>fr<|"|>,max_results:5,tags:[<|"|>a<|"|>,true,None]}

Objects ``{k:v,…}`` with bare keys (or keys between quote markers), arrays ``[v,…]``, strings
between two quote markers with nothing escaped inside (a string cannot hold the marker), JSON
numbers, ``true``/``false`` (``True``/``False`` too) and ``None``/``null``; white space around the
punctuation is allowed. The grammar of this notation is :mod:`pegtool.grammar.markerlit`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

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


__all__ = ["decode_marker_literal", "marker_literal_json"]
