"""Stage: parser — the chat parser: model output (whole or streamed) -> ChatMessage / deltas.

Failure policy (conventions.md): model output never raises by default. When the text does not
match the chat grammar, every call recognised before the failure is kept, the rest of the text
becomes content, and a :class:`~pegtool.messages.Diagnostic` says where and what was expected.
A text that merely ends too early (the partial parse needs more input) keeps what it has, with
the unfinished call marked ``incomplete``. ``strict=True`` raises
:class:`~pegtool.errors.ParseError` instead.

Streaming (:class:`ChatStream`) parses the growing text with an engine :class:`Session` (memo
entries that never looked at the end of the text survive each chunk) in *open atomic* mode, so a
tool call shows while its arguments arrive. Each snapshot is a streaming snapshot (see
:mod:`pegtool.parser.mapper`: open text spans stop before any marker) and deltas are the
difference to what was already sent; nothing is ever retracted.
"""

from __future__ import annotations

from dataclasses import replace

from pegtool.errors import ParseError, caret_context, line_col
from pegtool.grammar.ir import Capture, Grammar, Tag, Until, walk
from pegtool.messages import ChatMessage, Diagnostic
from pegtool.parser.engine import CaptureNode, Parser, ParseResult, Status
from pegtool.parser.mapper import MapCache, snapshot
from pegtool.parser.stream import ChatStream

_TEXT_TAGS = (Tag.CONTENT, Tag.REASONING)


def _diagnostic(text: str, result: ParseResult, message: str = "") -> Diagnostic:
    pos = result.farthest
    line, col = line_col(text, pos)
    expected = tuple(result.expected)
    exp = ", ".join(expected[:6]) or "something else"
    return Diagnostic(pos, line, col, expected, caret_context(text, pos), message or f"expected {exp}")


def _dropped_call(captures: list[CaptureNode]) -> bool:
    """Whether the captures end in a partial tool call whose name is not complete."""
    for node in reversed(captures):
        if node.tag is Tag.TOOL_CALL:
            if not node.partial:
                return False
            name = next((c for c in node.children if c.tag is Tag.TOOL_NAME), None)
            return name is None or name.partial
        if node.partial or node.children:
            return _dropped_call(node.children)
    return False


def grammar_markers(grammar: Grammar) -> tuple[str, ...]:
    """Every delimiter of an ``Until`` in ``grammar`` (white space trimmed): the markup that must
    never reach an open text span while streaming."""
    found: dict[str, None] = {}
    for _, rule in grammar.rules:
        for node in walk(rule):
            if isinstance(node, Until):
                found.update((d.strip(), None) for d in node.delimiters if d.strip())
    return tuple(found)


def _calls_have_ids(grammar: Grammar) -> bool:
    """Whether a tool call of ``grammar`` may capture its own id."""
    return any(isinstance(n, Capture) and n.tag is Tag.TOOL_ID for _, rule in grammar.rules for n in walk(rule))


def _open_text(captures: list[CaptureNode]) -> Tag | None:
    """The tag of the open REASONING / CONTENT span at the end of a partial parse, if any."""
    for node in reversed(captures):
        if node.partial:
            if node.tag in _TEXT_TAGS:
                return node.tag
            return _open_text(node.children)
    return None


class ChatParser:
    """Parses what a model generated after the prompt, using one chat grammar."""

    def __init__(self, grammar: Grammar, *, reasoning_field: str = "reasoning_content", id_salt: str = "") -> None:
        self.grammar = grammar
        self.reasoning_field = reasoning_field
        self.id_salt = id_salt
        self._engine = Parser(grammar)
        self.markers = grammar_markers(self._engine.grammar)
        self.call_ids = _calls_have_ids(self._engine.grammar)

    @property
    def engine(self) -> Parser:
        return self._engine

    def _message(self, text: str, captures: list[CaptureNode], cache: MapCache | None = None) -> ChatMessage:
        return snapshot(text, captures, id_salt=self.id_salt, cache=cache)[0]

    def parse(self, text: str, strict: bool = False) -> ChatMessage:
        """The message for a complete output. Lenient unless ``strict``."""
        return self.conclude(text, self._engine.parse(text), strict=strict)

    def conclude(
        self,
        text: str,
        result: ParseResult,
        *,
        strict: bool = False,
        partial: ParseResult | None = None,
        cache: MapCache | None = None,
    ) -> ChatMessage:
        """The final message from a full-mode ``result`` (``partial``: a partial-mode, open-atomic
        result for the same text, computed when needed; ``cache``: see :class:`MapCache`)."""
        if result.status is Status.OK and result.end == len(text):
            return self._message(text, result.captures, cache)
        if strict:
            raise ParseError(text, result.farthest, result.expected)
        if partial is None:
            partial = self._engine.parse(text, partial=True, open_atomic=True)
        if partial.status is Status.NEED_MORE:
            return self._truncated(text, partial)
        return self._recover(text, result)

    def _truncated(self, text: str, result: ParseResult) -> ChatMessage:
        """The output ended inside a match: keep it, unfinished call marked incomplete; a held-back
        tail (a marker prefix) goes to the open text span (content when none). A call cut off
        before its name is complete is not a call: its text goes to content, with a diagnostic."""
        msg, upto = snapshot(text, result.captures, id_salt=self.id_salt)
        if _dropped_call(result.captures) and not msg.incomplete:
            return replace(msg, content=msg.content + text[upto:]).with_diagnostic(
                _diagnostic(text, result, "the output ends inside a tool call whose name is not complete"))
        tail = text[result.end :]
        if not tail or msg.incomplete:
            return msg
        if _open_text(result.captures) is Tag.REASONING:
            return replace(msg, reasoning_content=msg.reasoning_content + tail)
        return replace(msg, content=msg.content + tail)

    def _recover(self, text: str, failed: ParseResult) -> ChatMessage:
        """Everything recognised before the output left the grammar — a call it was writing
        included (marked incomplete, as a stream has already shown it) — and the rest as content."""
        prefix = text[: failed.farthest]
        again = self._engine.parse(prefix, partial=True, open_atomic=True)
        captures = again.captures if again.status is not Status.FAIL else []
        msg, upto = snapshot(prefix, captures, id_salt=self.id_salt)
        msg = replace(msg, content=msg.content + text[upto:])
        return msg.with_diagnostic(_diagnostic(text, failed))

    def parse_partial(self, text: str) -> ChatMessage:
        """The message so far for an output that may continue (unfinished calls marked)."""
        result = self._engine.parse(text, partial=True, open_atomic=True)
        if result.status is Status.FAIL:
            return self._recover(text, result)
        return self._message(text, result.captures)

    def stream(self, *, fast: bool = True) -> ChatStream:
        """A streaming parse (``fast=False``: re-parse and re-map everything on every chunk, the
        reference the incremental path is tested against)."""
        return ChatStream(self, fast=fast)

    def stream_snapshot(
        self, text: str, result: ParseResult, cache: MapCache | None = None
    ) -> tuple[ChatMessage, int]:
        """A streaming snapshot of a partial result: (message, end of the text it accounts for)."""
        return snapshot(text, result.captures, id_salt=self.id_salt, hold=self.markers, ids=self.call_ids,
                        cache=cache)


__all__ = ["ChatParser", "ChatStream", "grammar_markers"]
