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

import re
from dataclasses import replace

from pegtool.errors import ParseError, caret_context, line_col
from pegtool.grammar.ir import (
    Atomic,
    Capture,
    Choice,
    Grammar,
    Literal,
    Node,
    Ref,
    Seq,
    Tag,
    Trigger,
    Until,
    walk,
)
from pegtool.messages import ChatMessage, Diagnostic
from pegtool.parser.engine import CaptureNode, Parser, ParseResult, Status
from pegtool.parser.ids import CallIds, IdFactory
from pegtool.parser.mapper import MapCache, complete_only, snapshot
from pegtool.parser.stream import ChatStream

_TEXT_TAGS = (Tag.CONTENT, Tag.REASONING)
_NON_SPACE = re.compile(r"\S")


def _diagnostic(text: str, result: ParseResult, message: str = "") -> Diagnostic:
    pos = result.farthest
    line, col = line_col(text, pos)
    expected = tuple(result.expected)
    exp = ", ".join(expected[:6]) or "something else"
    return Diagnostic(pos, line, col, expected, caret_context(text, pos), message or f"expected {exp}")


def _covered_end(captures: list[CaptureNode]) -> int:
    return max((c.end for c in captures), default=0)


def grammar_markers(grammar: Grammar) -> tuple[str, ...]:
    """Every delimiter of an ``Until`` in ``grammar`` (white space trimmed): the markup that must
    never reach an open text span while streaming."""
    found: dict[str, None] = {}
    for _, rule in grammar.rules:
        for node in walk(rule):
            if isinstance(node, Until):
                found.update((d.strip(), None) for d in node.delimiters if d.strip())
    return tuple(found)


def _ids_after_arguments(grammar: Grammar) -> bool:
    """Whether a call of ``grammar`` captures its id after its arguments (Mistral Nemo's
    ``{"name": …, "arguments": {…}, "id": "…"}``)."""
    for _, rule in grammar.rules:
        args_seen = False
        for n in walk(rule):
            if isinstance(n, Capture) and n.tag in (Tag.TOOL_ARGS, Tag.ARG):
                args_seen = True
            elif isinstance(n, Capture) and n.tag is Tag.TOOL_ID and args_seen:
                return True
    return False


def _starts_with_name(node: Node, grammar: Grammar, depth: int = 0) -> bool:
    """Whether ``node`` may begin with the tool name itself (no marker before it)."""
    if depth > 50:
        return False
    if isinstance(node, Capture):
        return node.tag is Tag.TOOL_NAME or _starts_with_name(node.item, grammar, depth + 1)
    if isinstance(node, (Atomic, Trigger)):
        return _starts_with_name(node.item, grammar, depth + 1)
    if isinstance(node, Ref):
        return _starts_with_name(grammar[node.name], grammar, depth + 1)
    if isinstance(node, Choice):
        return any(_starts_with_name(a, grammar, depth + 1) for a in node.alts)
    if isinstance(node, Seq):
        for item in node.items:
            if isinstance(item, Literal) and not item.text:
                continue
            return _starts_with_name(item, grammar, depth + 1)
    return False


def _unmarked_calls(grammar: Grammar) -> bool:
    """Whether a call of ``grammar`` begins with the bare tool name (Functionary): until it is
    complete, such text may still turn out to be content."""
    return any(isinstance(n, Capture) and n.tag is Tag.TOOL_CALL and _starts_with_name(n.item, grammar)
               for _, rule in grammar.rules for n in walk(rule))


def _calls_have_ids(grammar: Grammar) -> bool:
    """Whether a tool call of ``grammar`` may capture its own id."""
    return any(isinstance(n, Capture) and n.tag is Tag.TOOL_ID for _, rule in grammar.rules for n in walk(rule))


def _nameless_call(captures: list[CaptureNode]) -> CaptureNode | None:
    """The unfinished tool call at the end of a partial parse when its name is not complete."""
    for node in reversed(captures):
        if node.partial:
            if node.tag is Tag.TOOL_CALL:
                name = next((c for c in node.children if c.tag is Tag.TOOL_NAME), None)
                return node if name is None or name.partial else None
            return _nameless_call(node.children)
    return None


def _open_call(captures: list[CaptureNode]) -> CaptureNode | None:
    """The unfinished tool call at the end of a partial parse when its name is complete."""
    while captures and captures[-1].partial:
        node = captures[-1]
        if node.tag is Tag.TOOL_CALL:
            name = next((c for c in node.children if c.tag is Tag.TOOL_NAME), None)
            return node if name is not None and not name.partial else None
        captures = node.children
    return None


def _ends_open(captures: list[CaptureNode]) -> bool:
    """Whether a partial parse ended inside a capture."""
    return bool(captures) and captures[-1].partial


def _end_diagnostic(text: str, message: str) -> Diagnostic:
    line, col = line_col(text, len(text))
    return Diagnostic(len(text), line, col, (), caret_context(text, len(text)), message)


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

    def __init__(
        self,
        grammar: Grammar,
        *,
        reasoning_field: str = "reasoning_content",
        id_style: str = "plain",
        id_seed: int | None = None,
        id_factory: IdFactory | None = None,
    ) -> None:
        """``id_style`` ("plain": ``call_`` + 24 alphanumerics; "alnum9": 9 alphanumerics) shapes
        the ids given to calls the model wrote no id for; they are random and unique per
        response unless ``id_seed`` (each response draws from ``random.Random(id_seed)``) or
        ``id_factory(index, name)`` makes them reproducible (see :mod:`pegtool.parser.ids`)."""
        self.grammar = grammar
        self.reasoning_field = reasoning_field
        self.id_style = id_style
        self.id_seed = id_seed
        self.id_factory = id_factory
        self._engine = Parser(grammar)
        self.markers = grammar_markers(self._engine.grammar)
        self.call_ids = _calls_have_ids(self._engine.grammar)
        #: a stream sends a call before the model's id exists, with an id of the dialect's style
        self.late_ids = self.call_ids and _ids_after_arguments(self._engine.grammar)
        #: calls open with a marker: once it is read the text is a call (see ChatStream.feed)
        self.marked_calls = not _unmarked_calls(self._engine.grammar)

    @property
    def engine(self) -> Parser:
        return self._engine

    def new_ids(self) -> CallIds:
        """The id source of one new response (see :mod:`pegtool.parser.ids`)."""
        return CallIds(self.id_style, seed=self.id_seed, factory=self.id_factory)

    def _message(
        self, text: str, captures: list[CaptureNode], cache: MapCache | None = None, ids: CallIds | None = None
    ) -> ChatMessage:
        return snapshot(text, captures, call_ids=ids or self.new_ids(), cache=cache)[0]

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
        ids: CallIds | None = None,
    ) -> ChatMessage:
        """The final message from a full-mode ``result`` (``partial``: a partial-mode, open-atomic
        result for the same text, computed when needed; ``cache``: see :class:`MapCache`;
        ``ids``: the response's call ids, fresh ones when not given)."""
        ids = ids or self.new_ids()
        if result.status is Status.OK and result.end == len(text):
            if not (self.marked_calls and self._call_read_as_text(text, result.captures)):
                return self._message(text, result.captures, cache, ids)
            if partial is None:
                partial = self._engine.parse(text, partial=True, open_atomic=True)
            if partial.status is not Status.NEED_MORE or _open_call(partial.captures) is None:
                return self._message(text, result.captures, cache, ids)
            # the text ends inside a call whose name is read (a stream has shown it): a
            # truncated call, not the text a repair alternative reads it as
            return self._truncated(text, partial, ids)
        if strict:
            raise ParseError(text, result.farthest, result.expected)
        if partial is None:
            partial = self._engine.parse(text, partial=True, open_atomic=True)
        if partial.status is Status.NEED_MORE:
            return self._truncated(text, partial, ids)
        return self._recover(text, result, ids)

    def _call_read_as_text(self, text: str, captures: list[CaptureNode]) -> bool:
        """Whether a complete parse ends in text that may be an unfinished call read otherwise:
        non-empty content or reasoning at the end, after a call (a cheap test, walking back from
        the end; :meth:`conclude` then asks the partial parse). Only for calls that open with a
        marker: a call that begins with the bare tool name is text until it is complete."""
        tail = False
        stack = list(captures)
        while stack:
            node = stack.pop()
            if node.tag is Tag.TOOL_CALL:
                return tail
            if node.tag in _TEXT_TAGS:
                tail = tail or _NON_SPACE.search(text, node.start, node.end) is not None
            else:
                stack.extend(node.children)
        return False

    def _truncated(self, text: str, result: ParseResult, ids: CallIds) -> ChatMessage:
        """The output ended inside a match: keep it, unfinished call marked incomplete; a held-back
        tail (a marker prefix) goes to the open text span (content when none)."""
        cut = _nameless_call(result.captures)
        if cut is not None:
            # the output ended before the call's name was complete: no call, its text is content
            kept = complete_only(result.captures)
            msg = self._message(text, kept, ids=ids)
            msg = replace(msg, content=msg.content + text[self._call_text_start(text, kept, cut.start) :])
            why = "the output ended inside a tool call before its name was complete; its text is content"
            return msg.with_diagnostic(_end_diagnostic(text, why))
        msg = self._message(text, result.captures, ids=ids)
        if msg.incomplete:
            call = msg.tool_calls[-1]
            why = f"the output ended inside tool call {len(msg.tool_calls) - 1} ({call.name}) before it was complete"
            return msg.with_diagnostic(_end_diagnostic(text, why))
        if not _ends_open(result.captures):
            # the output ended inside markup that starts a call (a section marker, ...)
            start = self._call_text_start(text, result.captures, len(text))
            if text[start:].strip():
                msg = replace(msg, content=msg.content + text[start:])
                why = "the output ended inside tool-call markup before a call began; its text is content"
                return msg.with_diagnostic(_end_diagnostic(text, why))
        tail = text[result.end :]
        if not tail:
            return msg
        if _open_text(result.captures) is Tag.REASONING:
            return replace(msg, reasoning_content=msg.reasoning_content + tail)
        return replace(msg, content=msg.content + tail)

    def _call_text_start(self, text: str, kept: list[CaptureNode], start: int) -> int:
        """Where the text of an unfinished call (its capture starting at ``start``) begins: after
        the last capture before it (and after the marker that closed it, when that was reasoning)."""
        before = [c for c in kept if c.end <= start]
        if not before:
            return 0
        last = before[-1]
        if last.tag is not Tag.REASONING:
            return last.end
        gap = text[last.end : start]
        at = last.end + len(gap) - len(gap.lstrip())
        closer = next((m for m in self.markers if text.startswith(m, at) and at + len(m) <= start), "")
        return at + len(closer) if closer else start

    def _recover(self, text: str, failed: ParseResult, ids: CallIds | None = None) -> ChatMessage:
        """Everything recognised before the output left the grammar — a call it was writing
        included, once its name is complete (marked incomplete: a stream fed the text in small
        chunks has already shown it) — and the rest as content."""
        prefix, again = self._viable_prefix(text, failed.farthest)
        captures = again.captures if again.status is not Status.FAIL else []
        msg, upto = snapshot(prefix, captures, call_ids=ids or self.new_ids())
        msg = replace(msg, content=msg.content + text[upto:])
        return msg.with_diagnostic(_diagnostic(text, failed))

    def _viable_prefix(self, text: str, farthest: int) -> tuple[str, ParseResult]:
        """The longest prefix of ``text`` (from ``farthest`` on) that the grammar can still
        continue, and its partial-mode parse. It may pass the full-mode ``farthest``: a literal
        the text ends inside (``f`` of ``false``) is a valid partial parse, which a stream fed
        that far has already sent. Recovering from here, not from ``farthest``, makes the result
        independent of the chunking (a stream breaks exactly one character after this prefix)."""
        session = self._engine.session(open_atomic=True)
        last = session.extend(text[:farthest])
        end = farthest
        if last.status is Status.FAIL:
            return text[:farthest], last
        while end < len(text):
            step = session.extend(text[end])
            if step.status is Status.FAIL:
                break
            last, end = step, end + 1
        return text[:end], last

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
        self, text: str, result: ParseResult, cache: MapCache | None = None, ids: CallIds | None = None
    ) -> tuple[ChatMessage, int]:
        """A streaming snapshot of a partial result: (message, end of the text it accounts for)."""
        return snapshot(text, result.captures, call_ids=ids, hold=self.markers,
                        ids=self.call_ids and not self.late_ids, late=self.late_ids, cache=cache)


__all__ = ["ChatParser", "ChatStream", "grammar_markers"]
