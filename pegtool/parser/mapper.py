"""Stage: parser — turn the capture tree of a chat-grammar parse into a :class:`ChatMessage`.

Capture conventions (set by :mod:`pegtool.grammar.chat`):

* ``REASONING`` / ``CONTENT`` spans are concatenated in order;
* each ``TOOL_CALL`` holds ``TOOL_NAME``, an optional ``TOOL_ID``, and either ``TOOL_ARGS`` (the
  JSON object text) or ``ARG`` pairs of ``ARG_NAME`` with ``ARG_VALUE`` (JSON text) or
  ``ARG_STRING`` (a raw string, JSON-encoded here).

Snapshots of a growing output must only grow (see :mod:`pegtool.messages`): a partial call's
arguments are an unclosed JSON prefix that later text extends, never rewrites.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pegtool.grammar.ir import Tag
from pegtool.messages import ChatMessage, ToolCall
from pegtool.parser.engine import CaptureNode


def make_call_id(index: int, name: str, salt: str = "") -> str:
    """A deterministic OpenAI-style id for a call the model gave no id to.

    >>> make_call_id(0, "f") == make_call_id(0, "f") and make_call_id(0, "f").startswith("call_")
    True
    """
    digest = hashlib.sha256(f"{salt}\x00{index}\x00{name}".encode()).hexdigest()
    return "call_" + digest[:24]


@dataclass
class _Acc:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)


def _child(node: CaptureNode, tag: Tag) -> CaptureNode | None:
    for c in node.children:
        if c.tag is tag:
            return c
    return None


def _arg_pair(text: str, node: CaptureNode) -> tuple[str, str, bool] | None:
    """(JSON-encoded key, JSON value prefix, complete) of one ARG capture, or None if nameless."""
    name = _child(node, Tag.ARG_NAME)
    if name is None or name.partial:
        return None
    key = json.dumps(name.text(text), ensure_ascii=False)
    raw = _child(node, Tag.ARG_STRING)
    if raw is not None:
        enc = json.dumps(raw.text(text), ensure_ascii=False)
        return key, (enc[:-1] if raw.partial else enc), not raw.partial
    val = _child(node, Tag.ARG_VALUE)
    if val is None:
        return key, "", False
    return key, val.text(text).strip(), not val.partial


def _tagged_arguments(text: str, call: CaptureNode) -> str:
    parts: list[str] = []
    for node in call.children:
        if node.tag is not Tag.ARG:
            continue
        pair = _arg_pair(text, node)
        if pair is None:
            break
        key, value, complete = pair
        parts.append(f"{key}: {value}")
        if not complete:
            return "{" + ", ".join(parts)
    body = "{" + ", ".join(parts)
    return body + "}" if not call.partial else body


def _call(text: str, node: CaptureNode, index: int, salt: str) -> ToolCall | None:
    name = _child(node, Tag.TOOL_NAME)
    if name is None or name.partial:
        return None
    name_text = name.text(text).strip()
    ident = _child(node, Tag.TOOL_ID)
    if ident is not None and ident.partial:
        return None
    call_id = ident.text(text).strip() if ident is not None else make_call_id(index, name_text, salt)
    args = _child(node, Tag.TOOL_ARGS)
    if args is not None:
        arguments = args.text(text).strip()
    elif node.partial and not any(c.tag is Tag.ARG for c in node.children):
        arguments = ""
    else:
        arguments = _tagged_arguments(text, node)
    return ToolCall(name_text, arguments, call_id, incomplete=node.partial)


def _walk(text: str, nodes: Iterable[CaptureNode], acc: _Acc, salt: str) -> None:
    for node in nodes:
        if node.tag is Tag.CONTENT:
            acc.content.append(node.text(text))
        elif node.tag is Tag.REASONING:
            acc.reasoning.append(node.text(text))
        elif node.tag is Tag.TOOL_CALL:
            call = _call(text, node, len(acc.calls), salt)
            if call is not None:
                acc.calls.append(call)
        else:
            _walk(text, node.children, acc, salt)


def captures_to_message(text: str, captures: Sequence[CaptureNode], *, id_salt: str = "") -> ChatMessage:
    """The message the captures of ``text`` describe."""
    acc = _Acc()
    _walk(text, captures, acc, id_salt)
    return ChatMessage("".join(acc.content), "".join(acc.reasoning), tuple(acc.calls))


def complete_only(captures: Sequence[CaptureNode]) -> list[CaptureNode]:
    """Drop tool calls cut off by the end of the text (used for lenient recovery)."""
    return [c for c in captures if not (c.tag is Tag.TOOL_CALL and c.partial)]
