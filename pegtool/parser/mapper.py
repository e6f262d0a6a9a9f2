"""Stage: parser — turn the capture tree of a chat-grammar parse into a :class:`ChatMessage`.

Capture conventions (set by :mod:`pegtool.grammar.chat`):

* ``REASONING`` / ``CONTENT`` spans are concatenated in order;
* each ``TOOL_CALL`` holds ``TOOL_NAME``, an optional ``TOOL_ID``, and either ``TOOL_ARGS`` (the
  JSON object text) or ``ARG`` pairs of ``ARG_NAME`` with ``ARG_STRING`` (a raw string,
  JSON-encoded here) or a value captured by a notation of :mod:`pegtool.dialects`
  (``ARG_VALUE`` JSON or Python literals, ``ARG_MARKED``, ``ARG_XML``), which converts it.

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

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pegtool import dialects
from pegtool.dialects.python_literal import literal_json
from pegtool.grammar.ir import Tag
from pegtool.messages import ChatMessage, ToolCall
from pegtool.parser.engine import CaptureNode
from pegtool.parser.ids import CallIds
from pegtool.parser.repairs import arguments_text, repair_diagnostics


@dataclass
class _Acc:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    hold: tuple[str, ...] | None = None
    upto: int = 0  # end of the text this snapshot accounts for
    #: streaming: calls carry their own id before their arguments, show a partial call once it
    #: is read (otherwise a call without an id yet gets one of the response's, kept)
    ids: bool = False
    #: streaming: the model may write a call's id after its arguments; a partial call without
    #: an id is shown once its arguments begin, with an id of the response's (kept)
    late: bool = False
    cache: MapCache | None = None
    call_ids: CallIds = field(default_factory=CallIds)


class MapCache:
    """What successive snapshots of one growing text can reuse: the mapping of each complete
    tool call (capture nodes are shared between the results of one session) and, per open text
    span, how far it was known to be free of markup."""

    def __init__(self) -> None:
        self.calls: dict[tuple[int, int], tuple[CaptureNode, ToolCall | None]] = {}
        self.cuts: dict[tuple[Tag, int], tuple[int, int]] = {}  # (cut, at end)
        #: the complete captures at the front of the last snapshot and what they mapped to:
        #: (nodes, (content, reasoning, calls, upto))
        self.prefix: tuple[tuple[CaptureNode, ...], tuple[str, str, tuple[ToolCall, ...], int]] = \
            ((), ("", "", (), 0))
        #: the JSON encoding (without quotes) of an open raw string value, by its start: (end, code)
        self.strings: dict[int, tuple[int, str]] = {}

    def encoded(self, text: str, node: CaptureNode, upto: int | None = None) -> str:
        """``json.dumps`` of an open raw string capture (up to ``upto``, default its end) without
        its closing quote, extending the encoding of its previous end (JSON string escaping is
        per character)."""
        stop = node.end if upto is None else upto
        end, code = self.strings.get(node.start, (node.start, '"'))
        if end > stop:
            end, code = node.start, '"'
        code += json.dumps(text[end:stop], ensure_ascii=False)[1:-1]
        self.strings[node.start] = (stop, code)
        return code

    def call(self, text: str, node: CaptureNode, index: int, ids: CallIds) -> ToolCall | None:
        key = (id(node), index)
        hit = self.calls.get(key)
        if hit is not None and hit[0] is node:
            return hit[1]
        call = _call(text, node, index, ids)
        self.calls[key] = (node, call)
        return call


def hazard_cut(text: str, start: int, end: int, markers: tuple[str, ...]) -> int:
    """The end of the streamable part of ``text[start:end]``: before the first marker in it, or
    before a tail that is a proper prefix of a marker.

    >>> hazard_cut("ab <tool_call> x", 0, 16, ("<tool_call>",)), hazard_cut("ab <to", 0, 6, ("<tool_call>",))
    (3, 3)
    """
    longest, by_first, search = _marker_facts(markers)
    found = search(text, start, end) if search is not None else None
    cut = found.start() if found is not None else end
    for j in range(max(start, end - longest + 1), cut):
        candidates = by_first.get(text[j])
        if candidates is None:
            continue
        tail = text[j:end]
        if any(m.startswith(tail) for m in candidates):
            return j
    return cut


@functools.lru_cache(maxsize=64)
def _marker_facts(markers: tuple[str, ...]) -> tuple[int, dict[str, tuple[str, ...]], Any]:
    """(length of the longest marker, the markers by first character, a search for any of them)."""
    by_first: dict[str, list[str]] = {}
    for m in markers:
        if m:
            by_first.setdefault(m[0], []).append(m)
    live = sorted({m for m in markers if m}, key=len, reverse=True)
    search = re.compile("|".join(re.escape(m) for m in live)).search if live else None
    return max((len(m) for m in markers), default=0), {k: tuple(v) for k, v in by_first.items()}, search


def _child(node: CaptureNode, tag: Tag) -> CaptureNode | None:
    for c in node.children:
        if c.tag is tag:
            return c
    return None


def _cut_value(raw: str) -> str:
    """A value the text ended inside, in a final message: JSON-ish text as written (what a stream
    may have sent of it), anything else as an open JSON string — its characters are kept."""
    raw = raw.strip()
    if raw[:1] in ("{", "[", '"'):
        return raw
    return json.dumps(raw, ensure_ascii=False)[:-1] if raw else ""


def _arg_pair(
    text: str, node: CaptureNode, cache: MapCache | None = None, final: bool = False,
    hold: tuple[str, ...] | None = None,
) -> tuple[str, str, bool] | None:
    """(JSON-encoded key, JSON value prefix, complete) of one ARG capture, or None if nameless.
    ``final``: the text has ended, so a value cut off is kept as written (nothing held back).
    ``hold`` (streaming): an open raw value stops before any marker it holds, or a tail that may
    grow into one — its end marker may yet end it (read-back dialects end a value at a closing
    tag only when the next argument or the call's end follows), so that text is not sent yet."""
    name = _child(node, Tag.ARG_NAME)
    if name is None or name.partial:
        return None
    if hold is not None and node.partial and len(node.children) == 1:
        # streaming: the name is settled once its value has begun (the markup after the name
        # decides it: ``<parameter=time`` may still grow into another name, or break)
        return None
    key = json.dumps(name.text(text), ensure_ascii=False)
    raw = _child(node, Tag.ARG_STRING)
    if raw is not None:
        upto = _cut(text, raw, hold, cache) if raw.partial and hold is not None else raw.end
        if raw.partial and cache is not None:
            return key, cache.encoded(text, raw, upto), False
        enc = json.dumps(text[raw.start:upto], ensure_ascii=False)
        return key, (enc[:-1] if raw.partial else enc), not raw.partial
    for tag in dialects.VALUE_TAGS:
        val = _child(node, tag)
        if val is None:
            continue
        notation = dialects.notation_for_tag(tag)
        assert notation is not None
        if hold is not None and node.partial:
            # streaming: a value in a notation is sent once its argument is closed. Until then it
            # may still turn out to be text (``[1, 2`` never closed, ``[1] tail``: read as a
            # string), and a JSON prefix already sent could not be taken back
            return key, "", False
        if val.partial:
            sent = notation.partial_json(text, val)
            return key, (sent or _cut_value(val.text(text)) if final else sent), False
        return key, notation.to_json(text, val), True
    return key, "", False


def value_as_json(value: str) -> str:
    """The JSON text of a tagged argument value (see :func:`pegtool.dialects.python_literal.literal_json`).

    >>> value_as_json('{"a": 1}'), value_as_json("{'a': None, 'b': True}"), value_as_json("x y")
    ('{"a": 1}', '{"a": null, "b": true}', '"x y"')
    """
    return literal_json(value)


def _tagged_arguments(text: str, call: CaptureNode, cache: MapCache | None = None, final: bool = False,
                      hold: tuple[str, ...] | None = None) -> str:
    """The arguments object of a tagged-argument call. An argument written twice appears twice,
    in order (``{"q": "a", "q": "b"}``: JSON readers take the last one, as a dict built from the
    output would; a stream has already sent the first, and no character is dropped). The grammar
    never generates a repeat."""
    parts: list[str] = []
    for node in call.children:
        if node.tag is not Tag.ARG:
            continue
        pair = _arg_pair(text, node, cache, final, hold)
        if pair is None:
            if not parts and call.partial:
                return ""  # "{" waits for a settled name: the markup may still close the call
            break
        key, value, complete = pair
        parts.append(f"{key}: {value}")
        if not complete:
            return "{" + ", ".join(parts)
    body = "{" + ", ".join(parts)
    return body + "}" if not call.partial else body


def _settled_name(node: CaptureNode) -> bool:
    """A partial call's name is settled once its name capture is complete (the grammar tries
    longer tool names first, so a complete name cannot turn into a longer one)."""
    name = _child(node, Tag.TOOL_NAME)
    return name is not None and not name.partial


def _shown(node: CaptureNode, acc: _Acc) -> bool:
    """Whether a streaming snapshot shows this (partial) call yet: once its name is settled
    (and an id the model is writing before its arguments is complete)."""
    if acc.hold is None or not node.partial:
        return True
    ident = _child(node, Tag.TOOL_ID)
    if ident is None and acc.ids or ident is not None and ident.partial:
        return False
    return _settled_name(node)


def _id_after_arguments(node: CaptureNode) -> bool:
    """Whether the call's id capture comes after (some of) its arguments."""
    for c in node.children:
        if c.tag is Tag.TOOL_ID:
            return False
        if c.tag is Tag.TOOL_ARGS or c.tag is Tag.ARG:
            return True
    return False


def _call(
    text: str, node: CaptureNode, index: int, ids: CallIds, streaming: bool = False, late: bool = False,
    cache: MapCache | None = None, hold: tuple[str, ...] | None = None,
) -> ToolCall | None:
    """The call a TOOL_CALL capture describes, or None while its name (or, ``streaming``, its id)
    is unfinished; a final message keeps the part of an id the output was cut in.

    An id the model writes *after* the arguments is not the call's id: a stream must send the id
    in the call's first delta, before that text exists, so the call gets an id of the response's
    (:class:`CallIds`) streamed or not — the same one both ways with a seeded id source. An id
    written before the arguments is kept."""
    name = _child(node, Tag.TOOL_NAME)
    if name is None or name.partial:
        return None
    name_text = name.text(text).strip()
    ident = _child(node, Tag.TOOL_ID)
    late_id = ident is not None and _id_after_arguments(node)
    if ident is not None and ident.partial and streaming and not late_id:
        return None  # an id is sent whole, once
    written = ident.text(text).strip() if ident is not None and not late_id else ""
    if streaming and late and ident is None and not ids.pinned(index):
        # the model may write this call's id after its arguments: once they have begun (an id
        # could still come before them: ``[CALL_ID]``) the stream sends the call with an id of
        # the dialect's style and keeps it (a call has one id per response)
        started = _child(node, Tag.TOOL_ARGS) is not None or any(c.tag is Tag.ARG for c in node.children)
        if node.partial and not started:
            return None
        ids.pin(index)
    call_id = ids.get(index, name_text) if (ids.pinned(index) or not written) else written
    args = _child(node, Tag.TOOL_ARGS)
    if args is not None:
        fixed = arguments_text(text, args)
        if fixed == "" and args.partial and not streaming:
            fixed = None  # a final message keeps a repaired value the text ended inside, as written
        arguments = args.text(text).strip() if fixed is None else fixed
    elif node.partial and not any(c.tag is Tag.ARG for c in node.children):
        arguments = ""
    else:
        arguments = _tagged_arguments(text, node, cache if node.partial else None, final=not streaming,
                                      hold=hold if node.partial else None)
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


def _mapped_call(text: str, node: CaptureNode, acc: _Acc) -> ToolCall | None:
    if acc.cache is None or node.partial:
        return _call(text, node, len(acc.calls), acc.call_ids, acc.hold is not None, acc.late, acc.cache, acc.hold)
    return acc.cache.call(text, node, len(acc.calls), acc.call_ids)


def _call_upto(node: CaptureNode) -> int:
    """The end of the text a (shown) call accounts for: all of a complete call; an unfinished
    call's text up to its last capture, or up to the start of an argument whose name is not
    read yet (neither in the arguments nor markup)."""
    if not node.partial or not node.children:
        return node.end
    last = node.children[-1]
    if last.tag is Tag.ARG:
        name = _child(last, Tag.ARG_NAME)
        if name is None or name.partial:
            return last.start
    return last.end


def _walk(text: str, nodes: Iterable[CaptureNode], acc: _Acc) -> None:
    for node in nodes:
        if node.tag is Tag.CONTENT:
            acc.content.append(_span(text, node, acc))
        elif node.tag is Tag.REASONING:
            acc.reasoning.append(_span(text, node, acc))
        elif node.tag is Tag.TOOL_CALL:
            call = _mapped_call(text, node, acc) if _shown(node, acc) else None
            if call is not None:
                acc.calls.append(call)
                # an unfinished call accounts for its text up to its last capture: if the output
                # breaks off, the text after it (markup the call did not capture) is content
                acc.upto = max(acc.upto, _call_upto(node))
        else:
            _walk(text, node.children, acc)


def captures_to_message(
    text: str, captures: Sequence[CaptureNode], *, call_ids: CallIds | None = None,
    hold: tuple[str, ...] | None = None
) -> ChatMessage:
    """The message the captures of ``text`` describe; ``hold`` (the grammar's markers) asks for a
    streaming snapshot (see the module docstring); ``call_ids``: the response's ids (fresh ones
    when not given)."""
    return snapshot(text, captures, call_ids=call_ids, hold=hold)[0]


def snapshot(
    text: str,
    captures: Sequence[CaptureNode],
    *,
    call_ids: CallIds | None = None,
    hold: tuple[str, ...] | None = None,
    ids: bool = False,
    late: bool = False,
    cache: MapCache | None = None,
) -> tuple[ChatMessage, int]:
    """(message, end of the text it accounts for) — see :func:`captures_to_message`. ``ids``
    (streaming): the grammar's calls carry an id before their arguments, so a partial call waits for
    it; ``late`` (streaming): a call's id may follow its arguments (see :func:`_call`). ``cache``:
    reuse work between snapshots of one growing text (see :class:`MapCache`); ``call_ids``: the
    ids of this response's calls (see :mod:`pegtool.parser.ids`; fresh ones when not given)."""
    acc = _Acc(hold=hold, ids=ids, late=late, cache=cache, call_ids=call_ids or CallIds())
    repaired = repair_diagnostics(text, captures) if hold is None else ()
    if cache is None:
        _walk(text, captures, acc)
        return ChatMessage("".join(acc.content), "".join(acc.reasoning), tuple(acc.calls), repaired), acc.upto
    # the complete captures at the front are those of the previous snapshot: reuse their mapping
    done, (content, reasoning, calls, upto) = cache.prefix
    k = len(done)
    if len(captures) < k or any(a is not b for a, b in zip(captures, done, strict=False)):
        done, content, reasoning, calls, upto, k = (), "", "", (), 0, 0
    acc.content, acc.reasoning, acc.calls, acc.upto = [content], [reasoning], list(calls), upto
    whole = k
    while whole < len(captures) and not captures[whole].partial:
        whole += 1
    if whole > k:
        _walk(text, captures[k:whole], acc)
        state = ("".join(acc.content), "".join(acc.reasoning), tuple(acc.calls), acc.upto)
        cache.prefix = (tuple(captures[:whole]), state)
        acc.content, acc.reasoning = [state[0]], [state[1]]
    _walk(text, captures[whole:], acc)
    return ChatMessage("".join(acc.content), "".join(acc.reasoning), tuple(acc.calls), repaired), acc.upto


def complete_only(captures: Sequence[CaptureNode]) -> list[CaptureNode]:
    """Drop tool calls cut off by the end of the text (used for lenient recovery)."""
    return [c for c in captures if not (c.tag is Tag.TOOL_CALL and c.partial)]
