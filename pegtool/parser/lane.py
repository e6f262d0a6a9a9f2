"""Stage: parser — streaming's lane: chunks that only prolong the open span cost the chunk.

When a partial parse stops inside a run (reasoning, content, a raw string argument, a JSON
arguments object) and the next chunk merely prolongs that run (the session grew its frontier
without parsing, :mod:`pegtool.parser.frontier`), the message changes in one place only: the open
span's field gains the chunk's text, mapped the way the snapshot maps it (as written for text and
JSON arguments, JSON-string-escaped for a raw argument, a tail that may begin a marker held back).
:class:`Lane` computes that delta from the end of the text alone, so neither the text nor the
message is rebuilt per chunk: a 1 MB argument streams at the per-chunk cost of a 10 KB one. The
pieces it sent are folded into the stream's sent message only when a full snapshot is needed
again (:meth:`Lane.settle`). The result is the same delta sequence as the snapshot path gives
(``tests/test_stream_lane.py`` compares the two on every chunking).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pegtool.grammar.ir import Tag
from pegtool.messages import ChatMessage
from pegtool.parser.mapper import hazard_cut

if TYPE_CHECKING:
    from pegtool.parser.engine import CaptureNode, ParseResult, Session
    from pegtool.parser.mapper import MapCache

_TEXT = {Tag.CONTENT: "content", Tag.REASONING: "reasoning_content"}


def open_path(captures: list[CaptureNode]) -> list[CaptureNode]:
    """The chain of partial captures the text ends in, outermost first (stops at a tool call's
    leaf or a text span)."""
    chain: list[CaptureNode] = []
    nodes = captures
    while nodes and nodes[-1].partial:
        chain.append(nodes[-1])
        nodes = nodes[-1].children
    return chain


class Lane:
    """How the open span maps to the message: ``kind`` "text" (content / reasoning), "raw" (a
    raw string argument, JSON-escaped) or "json" (a JSON arguments object, as written)."""

    __slots__ = ("kind", "key", "index", "tag", "start", "pos", "upto", "pieces")

    def __init__(self, kind: str, key: str, index: int, tag: Tag, start: int, pos: int) -> None:
        self.kind, self.key, self.index = kind, key, index
        self.tag, self.start = tag, start  # the open capture (its start does not move)
        self.pos = pos  # where the next piece starts in the text
        self.upto = pos
        self.pieces: list[str] = []

    @classmethod
    def open(cls, text: str, result: ParseResult, msg: ChatMessage, cache: MapCache | None,
             reasoning_field: str) -> Lane | None:
        """The lane of a snapshot ``msg`` of ``result``, or None when its open span is another kind."""
        chain = open_path(result.captures)
        if not chain or cache is None:
            return None
        leaf = chain[-1]
        if leaf.tag in _TEXT and not leaf.children:
            field = reasoning_field if leaf.tag is Tag.REASONING else "content"
            sent = msg.reasoning_content if leaf.tag is Tag.REASONING else msg.content
            cut = _cached_cut(cache, leaf)
            if cut is None or cut == leaf.start or not sent.endswith(text[leaf.start:cut]):
                return None
            return cls("text", field, -1, leaf.tag, leaf.start, cut)
        call = next((n for n in chain if n.tag is Tag.TOOL_CALL), None)
        if call is None or not msg.tool_calls or not msg.tool_calls[-1].incomplete or leaf is call:
            return None
        index, arguments = len(msg.tool_calls) - 1, msg.tool_calls[-1].arguments
        if leaf.tag is Tag.ARG_STRING and not leaf.children and chain[-2].tag is Tag.ARG:
            cut = _cached_cut(cache, leaf)
            code = cache.strings.get(leaf.start)
            if cut is None or cut == leaf.start or code is None or code[0] != cut or not arguments.endswith(code[1]):
                return None
            return cls("raw", "arguments", index, leaf.tag, leaf.start, cut)
        if leaf.tag is Tag.TOOL_ARGS and not leaf.children and chain[-2] is call:
            seg = text[leaf.start:leaf.end]
            body = seg.strip()
            if not body or body != arguments:
                return None
            pos = leaf.start + (len(seg) - len(seg.lstrip())) + len(body)
            return cls("json", "arguments", index, leaf.tag, leaf.start, pos)
        return None

    def follow(self, session: Session, result: ParseResult, markers: tuple[str, ...]) -> list[dict[str, Any]] | None:
        """The deltas of a chunk that grew ``result`` without parsing, or None (take a snapshot)."""
        chain = open_path(result.captures)
        if not chain or chain[-1].tag is not self.tag or chain[-1].start != self.start:
            return None
        end = chain[-1].end
        w, base = session.window(self.pos)  # base <= self.pos
        if self.kind == "json":
            piece = w[self.pos - base:end - base].rstrip()
            self.upto = end
        else:
            cut = hazard_cut(w, self.pos - base, end - base, markers) + base
            piece = w[self.pos - base:cut - base]
            self.upto = cut if self.kind == "text" else end
        self.pos += len(piece)
        if not piece:
            return []
        if self.kind == "raw":
            piece = json.dumps(piece, ensure_ascii=False)[1:-1]
        self.pieces.append(piece)
        if self.kind == "text":
            return [{self.key: piece}]
        return [{"tool_calls": [{"index": self.index, "function": {"arguments": piece}}]}]

    def settle(self, sent: ChatMessage) -> ChatMessage:
        """``sent`` with the pieces sent through the lane folded in."""
        more = "".join(self.pieces)
        self.pieces.clear()
        if self.kind == "text":
            if self.tag is Tag.REASONING:
                return replace(sent, reasoning_content=sent.reasoning_content + more)
            return replace(sent, content=sent.content + more)
        calls = list(sent.tool_calls)
        calls[self.index] = replace(calls[self.index], arguments=calls[self.index].arguments + more)
        return replace(sent, tool_calls=tuple(calls))


def _cached_cut(cache: MapCache, node: CaptureNode) -> int | None:
    """The cut the snapshot just made in the open span ``node`` (see ``mapper._cut``)."""
    hit = cache.cuts.get((node.tag, node.start))
    return hit[0] if hit is not None and hit[1] == node.end else None


__all__ = ["Lane", "open_path"]
