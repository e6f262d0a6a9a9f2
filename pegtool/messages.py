"""Stage: output — OpenAI-shaped chat messages, tool calls, diagnostics and streaming deltas.

``diff_messages(prev, new)`` turns two successive snapshots of a (growing) message into the
OpenAI streaming deltas that lead from one to the other. Snapshots only ever grow: text fields
are extended, tool calls are appended, argument strings are extended. A change that is not an
extension would be a retraction; the differ refuses it with :class:`RetractionError` so that the
streaming layer can hold such text back instead of sending it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from pegtool.errors import PegtoolError


class RetractionError(PegtoolError):
    """A new snapshot does not extend the previous one (a delta would have to be taken back)."""


@dataclass(frozen=True)
class Diagnostic:
    """Why (part of) the model output did not parse; attached to the message in lenient mode."""

    pos: int
    line: int
    col: int
    expected: tuple[str, ...]
    snippet: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "pos": self.pos,
            "line": self.line,
            "col": self.col,
            "expected": list(self.expected),
            "snippet": self.snippet,
            "message": self.message,
        }


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_HEX = frozenset("0123456789abcdefABCDEF")


def close_json(prefix: str) -> str | None:
    """``prefix`` (the start of a JSON value) made a complete JSON text by closing what is open —
    a string, arrays, objects — and dropping a trailing comma, or None when that would need
    content the text does not have (a key with no value, a cut number, literal or escape).

    >>> close_json('{"a": [1, "x'), close_json('{"a": 1, '), close_json('{"a": '), close_json('{"a": tr')
    ('{"a": [1, "x"]}', '{"a": 1}', None, None)
    """
    stack: list[str] = []  # open containers, "{" or "["
    state = "value"  # value | key (an object key or its end) | colon | after (a value ended)
    i, n = 0, len(prefix)
    trailing_comma = -1
    while i < n:
        ch = prefix[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if ch == '"':
            if state not in ("value", "key"):
                return None
            j, key = i + 1, state == "key"
            while j < n and prefix[j] != '"':
                j += 2 if prefix[j] == "\\" else 1
            if j >= n:  # the text ends inside this string
                if key or not _whole_escapes(prefix, i + 1):
                    return None
                return _closed(prefix + '"', stack, -1)
            i, state, trailing_comma = j + 1, ("colon" if key else "after"), -1
            continue
        if ch in "{[":
            if state != "value":
                return None
            stack.append(ch)
            state, i, trailing_comma = ("key" if ch == "{" else "value"), i + 1, -1
            continue
        if ch in "}]":
            if not stack or "{[" ["}]".index(ch)] != stack[-1] or state == "colon":
                return None
            stack.pop()
            state, i = "after", i + 1
            continue
        if ch == ":":
            if state != "colon":
                return None
            state, i = "value", i + 1
            continue
        if ch == ",":
            if state != "after" or not stack:
                return None
            trailing_comma = i
            state, i = ("key" if stack[-1] == "{" else "value"), i + 1
            continue
        if state != "value":
            return None
        j = i
        while j < n and prefix[j] not in ' \t\r\n,]}:"[{':
            j += 1
        token = prefix[i:j]
        if token not in ("true", "false", "null") and _NUMBER.fullmatch(token) is None:
            return None
        state, i, trailing_comma = "after", j, -1
    if state == "colon" or (state == "value" and trailing_comma < 0 and (not stack or stack[-1] == "{")):
        return None  # a key without its value, or nothing at all
    return _closed(prefix, stack, trailing_comma)


def _whole_escapes(text: str, start: int) -> bool:
    """Whether the string body ``text[start:]`` does not end inside an escape sequence."""
    i, n = start, len(text)
    while i < n:
        if text[i] != "\\":
            i += 1
            continue
        if i + 1 >= n:
            return False
        if text[i + 1] == "u":
            if i + 6 > n or not all(c in _HEX for c in text[i + 2 : i + 6]):
                return False
            i += 6
        else:
            i += 2
    return True


def _closed(text: str, stack: list[str], trailing_comma: int) -> str | None:
    if trailing_comma >= 0:
        text = text[:trailing_comma]
    out = text.rstrip() + "".join("}" if c == "{" else "]" for c in reversed(stack))
    try:
        json.loads(out)
    except ValueError:
        return None
    return out


@dataclass(frozen=True)
class ToolCall:
    """One call. ``arguments`` is the JSON text of the arguments object (OpenAI's form)."""

    name: str
    arguments: str
    id: str = ""
    incomplete: bool = False

    def parsed_arguments(self) -> Any:
        """The arguments as Python data (raises ``json.JSONDecodeError`` when incomplete)."""
        return json.loads(self.arguments) if self.arguments.strip() else {}

    def to_openai(self) -> dict[str, Any]:
        """OpenAI's call dict. An incomplete call (the output ended inside it) is marked
        ``"incomplete": true``, and its ``arguments`` are closed into valid JSON when that needs no
        invented content (see :func:`close_json`); otherwise they stay as written."""
        arguments = self.arguments
        if self.incomplete:
            arguments = close_json(arguments) or arguments
        out: dict[str, Any] = {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": arguments},
        }
        if self.incomplete:
            out["incomplete"] = True
        return out


@dataclass(frozen=True)
class ChatMessage:
    """An assistant message as OpenAI's Chat Completions API shapes it."""

    content: str = ""
    reasoning_content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    role: str = "assistant"

    @property
    def incomplete(self) -> bool:
        return any(c.incomplete for c in self.tool_calls)

    def to_openai(self, *, reasoning_field: str = "reasoning_content") -> dict[str, Any]:
        """The OpenAI message dict; ``content`` is ``None`` when empty and calls are present."""
        out: dict[str, Any] = {"role": self.role}
        out["content"] = self.content if (self.content or not self.tool_calls) else None
        if self.reasoning_content:
            out[reasoning_field] = self.reasoning_content
        if self.tool_calls:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        return out

    def with_diagnostic(self, diag: Diagnostic) -> ChatMessage:
        return replace(self, diagnostics=self.diagnostics + (diag,))


@dataclass
class DeltaBatch:
    """Deltas produced by one ``feed``; each item is an OpenAI ``choices[0].delta`` dict."""

    deltas: list[dict[str, Any]] = field(default_factory=list)


def _text_delta(key: str, old: str, new: str) -> dict[str, Any] | None:
    if new == old:
        return None
    if not new.startswith(old):
        raise RetractionError(f"{key} would be retracted: {old[-20:]!r} -> {new[-20:]!r}")
    return {key: new[len(old) :]}


def _call_deltas(index: int, old: ToolCall | None, new: ToolCall) -> list[dict[str, Any]]:
    if old is None:
        head = {"index": index, "id": new.id, "type": "function", "function": {"name": new.name, "arguments": new.arguments}}
        return [{"tool_calls": [head]}]
    if (old.name, old.id) != (new.name, new.id):
        raise RetractionError(f"tool call {index} changed name or id")
    piece = _text_delta("arguments", old.arguments, new.arguments)
    if piece is None:
        return []
    return [{"tool_calls": [{"index": index, "function": {"arguments": piece["arguments"]}}]}]


def diff_messages(
    prev: ChatMessage, new: ChatMessage, *, reasoning_field: str = "reasoning_content"
) -> list[dict[str, Any]]:
    """The deltas that extend ``prev`` into ``new``.

    >>> a = ChatMessage(content="Hel")
    >>> b = ChatMessage(content="Hello", tool_calls=(ToolCall("f", '{"x', "c1"),))
    >>> diff_messages(a, b)  # doctest: +NORMALIZE_WHITESPACE
    [{'content': 'lo'}, {'tool_calls': [{'index': 0, 'id': 'c1', 'type': 'function',
      'function': {'name': 'f', 'arguments': '{"x'}}]}]
    """
    out: list[dict[str, Any]] = []
    for key, old_text, new_text in (
        (reasoning_field, prev.reasoning_content, new.reasoning_content),
        ("content", prev.content, new.content),
    ):
        d = _text_delta(key, old_text, new_text)
        if d:
            out.append(d)
    if len(new.tool_calls) < len(prev.tool_calls):
        raise RetractionError("a tool call would be retracted")
    for i, call in enumerate(new.tool_calls):
        old = prev.tool_calls[i] if i < len(prev.tool_calls) else None
        if old is not call:  # a call already sent as it is (a stream's complete calls) needs nothing
            out.extend(_call_deltas(i, old, call))
    return out


def apply_deltas(deltas: list[dict[str, Any]], *, reasoning_field: str = "reasoning_content") -> ChatMessage:
    """Rebuild a message from deltas (the inverse of :func:`diff_messages`, for tests and clients)."""
    content, reasoning = [], []
    calls: dict[int, dict[str, Any]] = {}
    for d in deltas:
        content.append(d.get("content") or "")
        reasoning.append(d.get(reasoning_field) or "")
        for tc in d.get("tool_calls", []):
            slot = calls.setdefault(tc["index"], {"id": "", "name": "", "arguments": []})
            slot["id"] = tc.get("id", slot["id"])
            fn = tc.get("function", {})
            slot["name"] = fn.get("name", slot["name"])
            slot["arguments"].append(fn.get("arguments", ""))
    tool_calls = tuple(
        ToolCall(c["name"], "".join(c["arguments"]), c["id"]) for _, c in sorted(calls.items())
    )
    return ChatMessage("".join(content), "".join(reasoning), tool_calls)
