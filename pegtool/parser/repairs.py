"""Stage: parser — variant forms read back (see :mod:`pegtool.grammar.variants`): their notes as
diagnostics, and arguments given as a JSON-encoded string or a Python literal turned into the
JSON object text OpenAI's ``arguments`` holds.

>>> python_as_json("{'a': True, 'b': [None, 'x\\"y'], 'c': 1,}")
'{"a": true, "b": [null, "x\\\\"y"], "c": 1}'
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Sequence

from pegtool.errors import caret_context, line_col
from pegtool.grammar.ir import Tag
from pegtool.messages import Diagnostic
from pegtool.parser.engine import CaptureNode

_PY_TOKEN = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|\bTrue\b|\bFalse\b|\bNone\b|,(?=\s*[}\]])""")
_WORDS = {"True": "true", "False": "false", "None": "null"}


def python_as_json(text: str) -> str:
    """A Python literal's text as JSON, changing only what differs (quotes, words, trailing
    commas) so the layout is kept; ``text`` itself when it does not read as a literal."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text

    def fix(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok in _WORDS:
            return _WORDS[tok]
        if tok == ",":
            return ""
        return json.dumps(ast.literal_eval(tok), ensure_ascii=False)

    out = _PY_TOKEN.sub(fix, text)
    try:
        if json.loads(out) == value:
            return out
    except ValueError:
        pass
    return json.dumps(value, ensure_ascii=False)


def arguments_text(text: str, node: CaptureNode) -> str | None:
    """The JSON text of a ``TOOL_ARGS`` capture that went through a repair (a JSON-encoded string,
    a Python literal), "" while it is still being written; None when no repair is involved."""
    fix = next((c for c in node.children if c.tag is Tag.REPAIR), None)
    if fix is None:
        return None
    if node.partial:
        return ""
    raw = node.text(text).strip()
    try:
        value = json.loads(raw)
    except ValueError:
        return python_as_json(raw)
    if isinstance(value, str):
        try:
            inner = json.loads(value)
        except ValueError:
            return raw
        return value.strip() if isinstance(inner, (dict, list)) else raw
    return raw


def value_text(text: str, node: CaptureNode) -> str | None:
    """The JSON text of an argument value capture that went through a repair (JSON, or relaxed
    JSON where a template notation was due), "" while it is still being written; None when no
    repair is involved."""
    if not any(c.tag is Tag.REPAIR for c in node.children):
        return None
    if node.partial:
        return ""
    raw = node.text(text).strip()
    try:
        json.loads(raw)
        return raw
    except ValueError:
        pass
    converted = python_as_json(raw)
    if converted is not raw:
        return converted
    value = relaxed_json(raw)
    return json.dumps(raw, ensure_ascii=False) if value is None else value


_RX_WS = re.compile(r"\s*")
_RX_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_RX_KEY = re.compile(r"[^\s:,{}\[\]\"]+")
_RX_WORDS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


def relaxed_json(text: str, quote: str = '<|"|>') -> str | None:
    """JSON text of a value in relaxed JSON (bare keys, ``quote``-marked or JSON strings, Python
    words), or None when ``text`` is not one.

    >>> relaxed_json('{filters:{lang:"fr",n:5},q:<|"|>a b<|"|>,ok:True}')
    '{"filters": {"lang": "fr", "n": 5}, "q": "a b", "ok": true}'
    """
    try:
        value, end = _RxReader(text, quote).value(0)
    except (ValueError, IndexError, RecursionError):
        return None
    if text[end:].strip():
        return None
    return json.dumps(value, ensure_ascii=False)


class _RxReader:
    def __init__(self, text: str, quote: str) -> None:
        self.text, self.quote = text, quote
        self.decoder = json.JSONDecoder()

    def ws(self, pos: int) -> int:
        m = _RX_WS.match(self.text, pos)
        return m.end() if m else pos

    def string(self, pos: int) -> tuple[str, int] | None:
        t = self.text
        if t.startswith('"', pos):
            value, end = self.decoder.raw_decode(t, pos)
            return str(value), end
        if self.quote and t.startswith(self.quote, pos):
            close = t.index(self.quote, pos + len(self.quote))
            return t[pos + len(self.quote):close], close + len(self.quote)
        return None

    def value(self, pos: int) -> tuple[object, int]:
        t, pos = self.text, self.ws(pos)
        if t.startswith("{", pos):
            return self.container(pos + 1, "}", True)
        if t.startswith("[", pos):
            return self.container(pos + 1, "]", False)
        s = self.string(pos)
        if s is not None:
            return s
        m = _RX_NUMBER.match(t, pos)
        if m:
            return json.loads(m.group(0)), m.end()
        for word, val in _RX_WORDS.items():
            if t.startswith(word, pos):
                return val, pos + len(word)
        raise ValueError(f"no value at {pos}")

    def container(self, pos: int, close: str, keyed: bool) -> tuple[object, int]:
        t = self.text
        items: list[object] = []
        obj: dict[str, object] = {}
        pos = self.ws(pos)
        if t.startswith(close, pos):
            return (obj if keyed else items), pos + 1
        while True:
            if keyed:
                s = self.string(pos)
                if s is None:
                    m = _RX_KEY.match(t, pos)
                    if not m:
                        raise ValueError(f"no key at {pos}")
                    s = (m.group(0), m.end())
                pos = self.ws(s[1])
                if not t.startswith(":", pos):
                    raise ValueError(f"no ':' at {pos}")
                val, pos = self.value(pos + 1)
                obj.setdefault(s[0], val)
            else:
                val, pos = self.value(pos)
                items.append(val)
            pos = self.ws(pos)
            if t.startswith(",", pos):
                pos = self.ws(pos + 1)
                continue
            if t.startswith(close, pos):
                return (obj if keyed else items), pos + 1
            raise ValueError(f"no ',' or {close!r} at {pos}")


def _repairs(nodes: Iterable[CaptureNode]) -> Iterable[CaptureNode]:
    for node in nodes:
        if node.tag is Tag.REPAIR and not node.partial:
            yield node
        yield from _repairs(node.children)


def repair_diagnostics(text: str, captures: Sequence[CaptureNode]) -> tuple[Diagnostic, ...]:
    """One diagnostic per variant form the parse read back (in text order)."""
    out = []
    for node in _repairs(captures):
        line, col = line_col(text, node.start)
        out.append(Diagnostic(node.start, line, col, (), caret_context(text, node.start),
                              "repaired: " + node.note))
    return tuple(out)
