"""Stage: parser — the core JSON rules as one resumable scanner (no recursion, O(new text) growth).

The grammar's core JSON rules (``json-value``, ``json-object``, ``json-array`` and the rules they
use, :mod:`pegtool.grammar.json_rules`) are recursive: a packrat parse of ``[[[[…`` descends once
per level, and in a streaming session every level has looked at the end of the text, so each
appended chunk re-parses the whole value. When a grammar's core JSON rules are exactly the
canonical ones, :class:`~pegtool.parser.compile.Program` matches them with :func:`json_matcher`
instead: an explicit stack of open containers, the same language and the same outcome
(ordered-choice and possessive readings of those rules are deterministic), and, when the text
ends inside the value, a :class:`JsonRun` frontier that resumes from where the scan stopped —
appending a chunk costs the chunk (plus at most one pending token), whatever the nesting depth.

The scanner's state is ``(stack, mode, pos)``: ``stack`` a linked list of open containers
(``("[", parent)``; shared between states, never copied), ``mode`` what is expected at ``pos``.
White space between tokens is at most :data:`~pegtool.grammar.json_rules.WS_MAX` characters, as
the ``ws`` rule says.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from pegtool.grammar.json_rules import WS_MAX

_WS = re.compile(rf"[ \t\n\r]{{0,{WS_MAX}}}").match
_STRING_BODY = re.compile(r'(?:[^"\\\x00-\x1f]+|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*').match
_OPEN_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{0,3})?\Z").match  # a proper prefix of an escape, at the end
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?").match
_OPEN_FRACTION = re.compile(r"\.\Z").match
_OPEN_EXPONENT = re.compile(r"[eE][-+]?\Z").match
_WORDS = {"t": "true", "f": "false", "n": "null"}
_CLOSER = {"[": "]", "{": "}"}

# modes: what the scanner expects at its position
VALUE = 0  # a value starts here
STRING = 1  # inside a string value: its body continues here
KEY = 2  # inside a member name
AFTER = 3  # a value ended: white space, then "," or the container's closer (done at top level)
FIRST = 4  # just after "[" / "{": white space, then the closer or the first item
ITEM = 5  # just after ",": white space, then an item (a value, or a member name)
COLON = 6  # after a member name: white space, ":"
WS_VALUE = 7  # after ":": white space, then a value

DONE, MORE, FAIL = "done", "more", "fail"

Stack = tuple[str, Any] | None


def scan(text: str, pos: int, stack: Stack, mode: int, partial: bool) -> tuple[str, int, Stack, int]:
    """Scan from ``pos`` in ``mode`` with ``stack`` open: ``(DONE, end, None, AFTER)`` when the
    top-level value ends at ``end``; ``(MORE, at, stack, mode)`` when the text ended inside the
    value (resume there); ``(FAIL, pos, ...)`` when it is not JSON. ``partial``: a number the text
    ends in may go on (in full mode it ends with the text)."""
    n = len(text)
    while True:
        if mode == VALUE:
            if pos >= n:
                return MORE, pos, stack, mode
            ch = text[pos]
            if ch == '"':
                pos, mode = pos + 1, STRING
            elif ch == "[" or ch == "{":
                pos, mode, stack = pos + 1, FIRST, (ch, stack)
            elif ch == "-" or "0" <= ch <= "9":
                end = _number_end(text, pos, partial)
                if end < 0:
                    return (MORE, pos, stack, mode) if end == -2 else (FAIL, pos, stack, mode)
                pos, mode = end, AFTER
            elif ch in _WORDS:
                word = _WORDS[ch]
                if text.startswith(word, pos):
                    pos, mode = pos + len(word), AFTER
                elif n - pos < len(word) and word.startswith(text[pos:]):
                    return MORE, pos, stack, mode
                else:
                    return FAIL, pos, stack, mode
            else:
                return FAIL, pos, stack, mode
        elif mode == STRING or mode == KEY:
            end = _STRING_BODY(text, pos).end()  # type: ignore[union-attr]
            if end < n and text[end] == '"':
                pos, mode = end + 1, (AFTER if mode == STRING else COLON)
            elif end == n or _OPEN_ESCAPE(text, end):
                return MORE, end, stack, mode
            else:
                return FAIL, end, stack, mode
        elif mode == AFTER and stack is None:
            return DONE, pos, None, AFTER
        else:
            step = _between(text, pos, stack, mode)
            if step[0] is not None:
                return step[0], pos, stack, mode
            _, pos, stack, mode = step


def _between(text: str, pos: int, stack: Stack, mode: int) -> tuple[str | None, int, Stack, int]:
    """One step over white space and punctuation: ``(None, pos, stack, mode)`` to go on, or
    ``(MORE, …)`` / ``(FAIL, …)``."""
    n = len(text)
    at = _WS(text, pos).end()  # type: ignore[union-attr]
    if at == n:
        return MORE, pos, stack, mode
    ch = text[at]
    if ch in " \t\n\r":
        return FAIL, pos, stack, mode  # more white space than the ws rule allows
    if mode == WS_VALUE:
        return None, at, stack, VALUE
    if mode == COLON:
        return (None, at + 1, stack, WS_VALUE) if ch == ":" else (FAIL, pos, stack, mode)
    assert stack is not None
    top, parent = stack
    if mode != ITEM and ch == _CLOSER[top]:
        return None, at + 1, parent, AFTER
    if mode == AFTER:
        return (None, at + 1, stack, ITEM) if ch == "," else (FAIL, pos, stack, mode)
    if top == "[":
        return None, at, stack, VALUE
    return (None, at + 1, stack, KEY) if ch == '"' else (FAIL, pos, stack, mode)


def _number_end(text: str, pos: int, partial: bool) -> int:
    """The end of the number at ``pos``; -2: the text ends where it may go on (a lone ``-``; in
    partial mode also digits, ``.`` or an exponent mark); -1: no number."""
    n = len(text)
    m = _NUMBER(text, pos)
    if m is None:
        return -2 if text[pos:] == "-" else -1
    end = m.end()
    if not partial:
        return end
    if end == n:
        return -2
    if (m.group(1) is None and m.group(2) is None and _OPEN_FRACTION(text, end)) or \
            (m.group(2) is None and _OPEN_EXPONENT(text, end)):
        return -2
    return end


class JsonRun:
    """The frontier of a NEED_MORE scan: resume at ``pos`` in ``mode`` with ``stack`` open."""

    __slots__ = ("stack", "mode", "pos")

    def __init__(self, stack: Stack, mode: int, pos: int) -> None:
        self.stack, self.mode, self.pos = stack, mode, pos

    def advance(self, text: str, start: int, old_n: int) -> tuple[int, JsonRun, int] | None:
        """The text still ends inside the value: (its new end, the new frontier, ``start``)."""
        kind, at, stack, mode = scan(text, self.pos, self.stack, self.mode, True)
        if kind != MORE:
            return None  # the value ended or broke: the outcome above it may change, re-parse
        return len(text), JsonRun(stack, mode, at), start

    def reads_from(self, start: int, old_n: int) -> int:
        return self.pos

    def shifted(self, delta: int) -> JsonRun:
        return JsonRun(self.stack, self.mode, self.pos + delta)

    def grow_full(self, text: str, start: int, old_n: int) -> int:
        """Full mode never records a scan as a run that reached the end (see :func:`json_matcher`)."""
        return -1


#: entry rule -> the character the value must start with (None: any value)
ENTRIES = {"json-value": None, "json-object": "{", "json-array": "["}


def json_matcher(entry: str, partial: bool) -> Any:
    """The matcher of core rule ``entry`` (see :data:`ENTRIES`) for one parse mode."""
    first = ENTRIES[entry]

    def m(c: Any, pos: int) -> int:
        n = c.n
        if first is not None and (pos >= n or c.text[pos] != first):
            if pos >= n and partial:
                c.hit, c.leaf = True, None
                return -2 - pos
            return -1
        kind, at, stack, mode = scan(c.text, pos, None, VALUE, partial)
        if kind == MORE and partial:
            c.hit, c.tentative = True, True
            c.leaf = (JsonRun(stack, mode, at), pos)
            return -2 - n
        if not partial and (kind == MORE or at >= n):  # full mode: the scan looked at the end
            c.hit = True
            if c.ends is not None:
                c.ends.append((None, pos))
        return at if kind == DONE else -1

    return m


@functools.lru_cache(maxsize=1)
def canonical_rules() -> dict[str, Any]:
    """The core JSON rules as :mod:`pegtool.grammar.json_rules` defines them."""
    from pegtool.grammar.builder import GrammarBuilder
    from pegtool.grammar.json_rules import json_value

    b = GrammarBuilder()
    json_value(b)
    return dict(b.rules)


def has_core_rules(rule_map: Any) -> bool:
    """Whether a grammar's core JSON rules are exactly the canonical ones (then the scanner may
    stand in for them)."""
    return all(rule_map.get(name) == node for name, node in canonical_rules().items())


__all__ = ["ENTRIES", "JsonRun", "canonical_rules", "has_core_rules", "json_matcher", "scan"]
