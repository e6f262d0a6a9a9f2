"""Stage: parser — turn the capture tree of a chat-grammar parse into a :class:`ChatMessage`.

Capture conventions (set by :mod:`pegtool.grammar.chat`):

* ``REASONING`` / ``CONTENT`` spans are concatenated in order;
* each ``TOOL_CALL`` holds ``TOOL_NAME``, an optional ``TOOL_ID``, and either ``TOOL_ARGS`` (the
  JSON object text) or ``ARG`` pairs of ``ARG_NAME`` with ``ARG_VALUE`` (JSON text),
  ``ARG_MARKED`` (a value in a template's notation with marker-quoted strings, converted here),
  ``ARG_XML`` (a value as nested elements, converted here) or
  ``ARG_STRING`` (a raw string, JSON-encoded here).

Snapshots of a growing output must only grow (see :mod:`pegtool.messages`): a partial call's
arguments are an unclosed JSON prefix that later text extends, never rewrites.

Streaming snapshots (``hold`` given) are more careful than a final message, because a partial
parse may still take another way once more text arrives:

* an open (partial) ``REASONING`` / ``CONTENT`` span is cut before the first marker of the
  grammar it contains, or before a tail that may grow into one (another alternative may claim
  that text: a tool call inside an unclosed reasoning block, for example);
* a partial ``TOOL_CALL`` is shown only once something after its name has started (the name
  itself and its suffix are settled).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pegtool.grammar.ir import Tag
from pegtool.messages import ChatMessage, ToolCall
from pegtool.parser.engine import CaptureNode
from pegtool.parser.jsonvalid import is_json
from pegtool.parser.notation import marker_literal_json
from pegtool.parser.xmlvalue import xml_value_json


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
    hold: tuple[str, ...] | None = None
    upto: int = 0  # end of the text this snapshot accounts for
    ids: bool = False  # streaming: calls carry their own id, show a partial call once it is read
    cache: MapCache | None = None


class MapCache:
    """What successive snapshots of one growing text can reuse: the mapping of each complete
    tool call (capture nodes are shared between the results of one session) and, per open text
    span, how far it was known to be free of markup."""

    def __init__(self) -> None:
        self.calls: dict[tuple[int, int], tuple[CaptureNode, ToolCall | None]] = {}
        self.cuts: dict[tuple[Tag, int], tuple[int, int]] = {}  # (cut, at end)

    def call(self, text: str, node: CaptureNode, index: int, salt: str) -> ToolCall | None:
        key = (id(node), index)
        hit = self.calls.get(key)
        if hit is not None and hit[0] is node:
            return hit[1]
        call = _call(text, node, index, salt)
        self.calls[key] = (node, call)
        return call


def hazard_cut(text: str, start: int, end: int, markers: tuple[str, ...]) -> int:
    """The end of the streamable part of ``text[start:end]``: before the first marker in it, or
    before a tail that is a proper prefix of a marker.

    >>> hazard_cut("ab <tool_call> x", 0, 16, ("<tool_call>",)), hazard_cut("ab <to", 0, 6, ("<tool_call>",))
    (3, 3)
    """
    cut = end
    for m in markers:
        i = text.find(m, start, end)
        if 0 <= i < cut:
            cut = i
    longest, firsts = _marker_facts(markers)
    for j in range(max(start, end - longest + 1), cut):
        if text[j] not in firsts:
            continue
        tail = text[j:end]
        if any(m.startswith(tail) for m in markers):
            return j
    return cut


@functools.lru_cache(maxsize=64)
def _marker_facts(markers: tuple[str, ...]) -> tuple[int, frozenset[str]]:
    """(length of the longest marker, the markers' first characters)."""
    return max((len(m) for m in markers), default=0), frozenset(m[0] for m in markers if m)


def _child(node: CaptureNode, tag: Tag) -> CaptureNode | None:
    for c in node.children:
        if c.tag is tag:
            return c
    return None


def _cut_value(raw: str) -> str:
    """A value the text ended inside, in a final message: JSON-ish text as written (what a stream
    may have sent of it), anything else as an open JSON string — its characters are kept."""
    if raw.lstrip()[:1] in ("{", "[", '"'):
        return raw.strip()
    return json.dumps(raw.strip(), ensure_ascii=False)[:-1] if raw.strip() else ""


def _arg_pair(text: str, node: CaptureNode, final: bool = False) -> tuple[str, str, bool] | None:
    """(JSON-encoded key, JSON value prefix, complete) of one ARG capture, or None if nameless.
    ``final``: the message is final (the text ended), so nothing is held back."""
    name = _child(node, Tag.ARG_NAME)
    if name is None or name.partial:
        return None
    key = json.dumps(name.text(text), ensure_ascii=False)
    raw = _child(node, Tag.ARG_STRING)
    if raw is not None:
        enc = json.dumps(raw.text(text), ensure_ascii=False)
        return key, (enc[:-1] if raw.partial else enc), not raw.partial
    marked = _child(node, Tag.ARG_MARKED)
    if marked is not None:
        # held back until complete: its JSON form is only known then
        if marked.partial:
            return key, (json.dumps(marked.text(text), ensure_ascii=False)[:-1] if final else ""), False
        return key, _marked_as_json(text, marked), True
    tree = _child(node, Tag.ARG_XML)
    if tree is not None:
        if tree.partial:
            return key, (json.dumps(tree.text(text), ensure_ascii=False)[:-1] if final else ""), False
        return key, xml_value_json(text, tree), True
    val = _child(node, Tag.ARG_VALUE)
    if val is None:
        return key, "", False
    value = val.text(text).strip()
    if val.partial:
        if final:
            return key, _cut_value(value), False
        # A scalar is held back until it is complete: ``f`` may become ``false`` or, read as
        # text, the string "five"; Python-style literals only have a JSON form once complete.
        streamable = value[:1] in ("{", "[", '"') and not _PYTHONISH.search(value)
        return key, (value if streamable else ""), False
    return key, value_as_json(value), True


#: Characters that only occur in Python-style literals (True/False/None, single quotes): a partial
#: value holding one is held back, because its JSON form is only known once it is complete.
_PYTHONISH = re.compile(r"[TFN']")


def value_as_json(value: str) -> str:
    """The JSON text of a tagged argument value: JSON stays as written; a Python-style literal
    (as some templates render: ``True``, ``None``, ``{'a': 1}``) is converted; anything else is
    kept as a JSON string.

    >>> value_as_json('{"a": 1}'), value_as_json("{'a': None, 'b': True}"), value_as_json("x y")
    ('{"a": 1}', '{"a": null, "b": true}', '"x y"')
    """
    try:
        json.loads(value)
        return value
    except ValueError:
        pass
    except RecursionError:  # nested deeper than json.loads goes: check without recursion
        return value if is_json(value) else json.dumps(value, ensure_ascii=False)
    try:
        return json.dumps(ast.literal_eval(value), ensure_ascii=False)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return json.dumps(value, ensure_ascii=False)


def _marked_as_json(text: str, node: CaptureNode) -> str:
    """The JSON text of a complete ``ARG_MARKED`` value. The quote marker is the text before the
    first string's ``ARG_STRING`` capture, back to the punctuation (or value start) before it."""
    quote = ""
    first = _child(node, Tag.ARG_STRING)
    if first is not None:
        head = text[node.start:first.start]
        cut = max(head.rfind(c) for c in "{[,:")
        quote = head[cut + 1:].strip()
    return marker_literal_json(node.text(text).strip(), quote)


def _tagged_arguments(text: str, call: CaptureNode, final: bool = False) -> str:
    """The arguments object of a tagged-argument call. An argument written twice keeps its first
    value (what a stream has already sent); the grammar never generates a repeat."""
    parts: list[str] = []
    seen: set[str] = set()
    for node in call.children:
        if node.tag is not Tag.ARG:
            continue
        pair = _arg_pair(text, node, final)
        if pair is None:
            break
        key, value, complete = pair
        if key in seen:
            continue
        seen.add(key)
        parts.append(f"{key}: {value}")
        if not complete:
            return "{" + ", ".join(parts)
    body = "{" + ", ".join(parts)
    return body + "}" if not call.partial else body


def _settled_name(node: CaptureNode) -> bool:
    """A partial call's name is settled once a capture after the name has started."""
    seen = False
    for c in node.children:
        if seen:
            return True
        seen = c.tag is Tag.TOOL_NAME
    return False


def _shown(node: CaptureNode, acc: _Acc) -> bool:
    """Whether a streaming snapshot shows this (partial) call yet."""
    if acc.hold is None or not node.partial:
        return True
    if acc.ids and _child(node, Tag.TOOL_ID) is None:
        return False
    return _settled_name(node)


def _call(text: str, node: CaptureNode, index: int, salt: str, final: bool = False) -> ToolCall | None:
    name = _child(node, Tag.TOOL_NAME)
    if name is None or name.partial:
        return None
    name_text = name.text(text).strip()
    ident = _child(node, Tag.TOOL_ID)
    if ident is not None and ident.partial and not final:  # a stream waits for the whole id
        return None
    call_id = ident.text(text).strip() if ident is not None else make_call_id(index, name_text, salt)
    args = _child(node, Tag.TOOL_ARGS)
    if args is not None:
        arguments = args.text(text).strip()
    elif node.partial and not any(c.tag is Tag.ARG for c in node.children):
        arguments = ""
    else:
        arguments = _tagged_arguments(text, node, final)
    return ToolCall(name_text, arguments, call_id, incomplete=node.partial)


def _span(text: str, node: CaptureNode, acc: _Acc) -> str:
    end = node.end
    if acc.hold is not None and node.partial:
        end = _cut(text, node, acc.hold, acc.cache)
    acc.upto = max(acc.upto, end)
    return text[node.start : end]


def _cut(text: str, node: CaptureNode, hold: tuple[str, ...], cache: MapCache | None) -> int:
    """:func:`hazard_cut` of an open span; with a cache, scanning from where the last cut of the
    same span was (a position free of markup stays free when text is appended)."""
    if cache is None:
        return hazard_cut(text, node.start, node.end, hold)
    key = (node.tag, node.start)
    cut, end = cache.cuts.get(key, (node.start, node.start))
    cut = hazard_cut(text, cut if end <= node.end else node.start, node.end, hold)
    cache.cuts[key] = (cut, node.end)
    return cut


def _mapped_call(text: str, node: CaptureNode, acc: _Acc, salt: str) -> ToolCall | None:
    if acc.cache is None or node.partial:
        return _call(text, node, len(acc.calls), salt, final=acc.hold is None)
    return acc.cache.call(text, node, len(acc.calls), salt)


def _walk(text: str, nodes: Iterable[CaptureNode], acc: _Acc, salt: str) -> None:
    for node in nodes:
        if node.tag is Tag.CONTENT:
            acc.content.append(_span(text, node, acc))
        elif node.tag is Tag.REASONING:
            acc.reasoning.append(_span(text, node, acc))
        elif node.tag is Tag.TOOL_CALL:
            call = _mapped_call(text, node, acc, salt) if _shown(node, acc) else None
            if call is not None:
                acc.calls.append(call)
                acc.upto = max(acc.upto, node.end)
        else:
            _walk(text, node.children, acc, salt)


def captures_to_message(
    text: str, captures: Sequence[CaptureNode], *, id_salt: str = "", hold: tuple[str, ...] | None = None
) -> ChatMessage:
    """The message the captures of ``text`` describe; ``hold`` (the grammar's markers) asks for a
    streaming snapshot (see the module docstring)."""
    return snapshot(text, captures, id_salt=id_salt, hold=hold)[0]


def snapshot(
    text: str,
    captures: Sequence[CaptureNode],
    *,
    id_salt: str = "",
    hold: tuple[str, ...] | None = None,
    ids: bool = False,
    cache: MapCache | None = None,
) -> tuple[ChatMessage, int]:
    """(message, end of the text it accounts for) — see :func:`captures_to_message`. ``ids``
    (streaming): the grammar's calls may carry an id, so a partial call waits for it. ``cache``:
    reuse work between snapshots of one growing text (see :class:`MapCache`)."""
    acc = _Acc(hold=hold, ids=ids, cache=cache)
    _walk(text, captures, acc, id_salt)
    return ChatMessage("".join(acc.content), "".join(acc.reasoning), tuple(acc.calls)), acc.upto


def complete_only(captures: Sequence[CaptureNode]) -> list[CaptureNode]:
    """Drop tool calls cut off by the end of the text (used for lenient recovery)."""
    return [c for c in captures if not (c.tag is Tag.TOOL_CALL and c.partial)]
