"""Stage: output — OpenAI-shaped chat messages, tool calls, diagnostics and streaming deltas.

``diff_messages(prev, new)`` turns two successive snapshots of a (growing) message into the
OpenAI streaming deltas that lead from one to the other. Snapshots only ever grow: text fields
are extended, tool calls are appended, argument strings are extended. A change that is not an
extension would be a retraction; the differ refuses it with :class:`RetractionError` so that the
streaming layer can hold such text back instead of sending it.
"""

from __future__ import annotations

import json
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
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


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
