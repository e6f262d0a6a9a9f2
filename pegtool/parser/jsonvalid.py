"""Stage: parser — JSON validity without recursion.

:func:`json.loads` recurses once per nesting level and raises :class:`RecursionError` on a
model output holding ``[[[[…]]]]`` ten thousand levels deep. :func:`is_json` answers "is this one
complete JSON value?" with an explicit stack, in linear time, for any depth.
"""

from __future__ import annotations

import re

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = ("true", "false", "null")


def is_json(text: str) -> bool:
    """Whether ``text`` is exactly one JSON value (white space around it allowed).

    >>> is_json('[' * 5000 + ']' * 5000), is_json('{"a": [1, 2.5e3, true]}'), is_json('[1,]')
    (True, True, False)
    """
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    stack: list[str] = []  # open containers: "[" or "{"
    n = len(text)
    while True:
        # a value at pos
        if pos >= n:
            return False
        ch = text[pos]
        if ch in "[{":
            stack.append(ch)
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            close = "]" if ch == "[" else "}"
            if pos < n and text[pos] == close:
                stack.pop()
                pos += 1
            elif ch == "{":
                pos = _key(text, pos)
                if pos < 0:
                    return False
                continue
            else:
                continue
        elif ch == '"':
            m = _STRING.match(text, pos)
            if m is None:
                return False
            pos = m.end()
        else:
            m = _NUMBER.match(text, pos)
            if m is not None:
                pos = m.end()
            else:
                word = next((w for w in _LITERALS if text.startswith(w, pos)), None)
                if word is None:
                    return False
                pos += len(word)
        # after a value: close containers or go on to the next member
        while True:
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if not stack:
                return pos == n
            if pos >= n:
                return False
            ch = text[pos]
            top = stack[-1]
            if ch == ",":
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
                if top == "{":
                    pos = _key(text, pos)
                    if pos < 0:
                        return False
                break
            if ch == ("]" if top == "[" else "}"):
                stack.pop()
                pos += 1
                continue
            return False


def _key(text: str, pos: int) -> int:
    """After ``"key" :`` (white space skipped), or -1."""
    m = _STRING.match(text, pos)
    if m is None:
        return -1
    pos = _WS.match(text, m.end()).end()  # type: ignore[union-attr]
    if pos >= len(text) or text[pos] != ":":
        return -1
    return _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
