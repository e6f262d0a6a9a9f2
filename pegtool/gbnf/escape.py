"""Stage: gbnf back-end — escaping of GBNF literals, character classes, rule names, and regexes.

GBNF (llama.cpp ``src/llama-grammar.cpp``) knows only the escapes ``\\xHH \\uHHHH \\UHHHHHHHH \\t \\r
\\n \\\\ \\" \\[ \\] \\-``; every other character may appear literally as UTF-8. We escape control and
other non-printable characters with the shortest hex form, and anything that would end or confuse
the surrounding token. Trigger patterns are ECMAScript regexes for ``std::regex`` over bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_CODE_POINT = 0x10FFFF

_SIMPLE = {"\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\"}
_NAME_BAD = re.compile(r"[^a-zA-Z0-9-]+")


def hex_escape(cp: int) -> str:
    """``\\xHH``, ``\\uHHHH`` or ``\\UHHHHHHHH`` for a code point.

    >>> hex_escape(7), hex_escape(0x2028), hex_escape(0x1F600)
    ('\\\\x07', '\\\\u2028', '\\\\U0001F600')
    """
    if cp <= 0xFF:
        return f"\\x{cp:02X}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04X}"
    return f"\\U{cp:08X}"


def _plain(ch: str) -> bool:
    return ch.isprintable() and not (0xD800 <= ord(ch) <= 0xDFFF)


def _char(ch: str, special: str) -> str:
    if ch in _SIMPLE:
        return _SIMPLE[ch]
    if ch in special:
        return "\\" + ch
    return ch if _plain(ch) else hex_escape(ord(ch))


def literal(text: str) -> str:
    """A GBNF string literal for ``text``.

    >>> print(literal('say "hi"\\n'))
    "say \\"hi\\"\\n"
    """
    return '"' + "".join(_char(ch, '"') for ch in text) + '"'


def _class_char(cp: int) -> str:
    if cp == 0x5E:  # '^' cannot be escaped with a backslash; hex works everywhere
        return "\\x5E"
    return _char(chr(cp), "[]-") if cp <= MAX_CODE_POINT else hex_escape(cp)


def char_class(ranges: Iterable[tuple[int, int]], negated: bool = False) -> str:
    """A GBNF character class for inclusive code-point ranges.

    >>> print(char_class([(0x61, 0x7A), (0x2D, 0x2D), (0x5D, 0x5E)], negated=True))
    [^a-z\\-\\]\\x5E]
    """
    parts: list[str] = []
    for lo, hi in ranges:
        if lo == hi:
            parts.append(_class_char(lo))
        elif hi == lo + 1:
            parts.append(_class_char(lo) + _class_char(hi))
        else:
            parts.append(f"{_class_char(lo)}-{_class_char(hi)}")
    return "[" + ("^" if negated else "") + "".join(parts) + "]"


def rule_name(raw: str) -> str:
    """A GBNF-safe rule name (``[a-zA-Z0-9-]+``) derived from ``raw``.

    >>> rule_name("tool_call.args"), rule_name("__"), rule_name("Ärger")
    ('tool-call-args', 'r', 'rger')
    """
    name = _NAME_BAD.sub("-", raw).strip("-")
    name = re.sub("-{2,}", "-", name)
    return name or "r"


class NameTable:
    """Hands out unique GBNF rule names; ``root`` is reserved for the start rule."""

    def __init__(self) -> None:
        self._used: set[str] = {"root"}

    def fresh(self, raw: str) -> str:
        base = rule_name(raw)
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base}-{n}"
        self._used.add(name)
        return name


_REGEX_META = set("\\^$.|?*+()[]{}")
_REGEX_CTRL = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\v": "\\v"}


def regex_char(ch: str) -> str:
    """One character escaped for an ECMAScript regex (outside a class).

    >>> regex_char("."), regex_char("\\n"), regex_char("a")
    ('\\\\.', '\\\\n', 'a')
    """
    if ch in _REGEX_META:
        return "\\" + ch
    if ch in _REGEX_CTRL:
        return _REGEX_CTRL[ch]
    cp = ord(ch)
    if cp < 0x20 or cp == 0x7F:
        return f"\\x{cp:02x}"
    return ch


def regex_literal(text: str) -> str:
    """``text`` as an ECMAScript regex matching exactly it.

    >>> print(regex_literal("[TOOL_CALLS]"))
    \\[TOOL_CALLS\\]
    """
    return "".join(regex_char(ch) for ch in text)


def regex_class(ranges: Iterable[tuple[int, int]], negated: bool = False) -> str | None:
    """An ECMAScript class for ASCII ranges; ``None`` when a range leaves ASCII (std::regex works on
    bytes, so non-ASCII classes cannot be expressed reliably).

    >>> regex_class([(9, 10), (13, 13), (32, 32)])
    '[\\\\t\\\\n\\\\r ]'
    """
    parts: list[str] = []
    for lo, hi in ranges:
        if hi > 0x7F:
            return None
        a, b = _regex_class_char(lo), _regex_class_char(hi)
        parts.append(a if lo == hi else a + b if hi == lo + 1 else f"{a}-{b}")
    return "[" + ("^" if negated else "") + "".join(parts) + "]"


def _regex_class_char(cp: int) -> str:
    ch = chr(cp)
    if ch in "\\]-^[":
        return "\\" + ch
    if ch in _REGEX_CTRL:
        return _REGEX_CTRL[ch]
    return f"\\x{cp:02x}" if cp < 0x20 or cp == 0x7F else ch
