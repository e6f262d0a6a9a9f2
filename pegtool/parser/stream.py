"""Stage: parser — streaming: model output chunks -> OpenAI deltas, never retracted.

:class:`ChatStream` appends each chunk to an engine :class:`~pegtool.parser.engine.Session`
(partial mode, open atomic groups), maps the captures to a *streaming snapshot* (open text spans
stop before any marker of the grammar, a partial call shows once its name is settled) and sends
the difference to what was already sent (:func:`~pegtool.messages.diff_messages`).

Cost per chunk follows the new text, not the response (:mod:`pegtool.parser.frontier`): a chunk
that only prolongs the run the parse stopped in (reasoning / content / a string argument) grows
the open captures without parsing; the agreement parse of a tentative result is carried over the
same way; the mapper reuses complete calls and scans open spans from where it last stopped
(:class:`~pegtool.parser.mapper.MapCache`). ``fast=False`` re-parses and re-maps everything on
every chunk: the reference the incremental path is tested against (same deltas).

Guarantees: the concatenated deltas always equal the message :meth:`ChatStream.finish` returns;
argument fragments concatenate to the final ``arguments``; no delta is taken back. A snapshot
that would retract something already sent is held back (nothing is sent for that chunk). If the
output breaks the grammar, or the final parse disagrees with what was sent, the stream keeps
what it sent and every later character goes to ``content`` (with a diagnostic): text is never
lost. ``finish()`` on truncated output marks the unfinished call ``incomplete``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pegtool.grammar.ir import Tag
from pegtool.messages import ChatMessage, Diagnostic, RetractionError, ToolCall, diff_messages
from pegtool.parser.engine import CaptureNode, ParseResult, Session, Status
from pegtool.parser.frontier import regrown
from pegtool.parser.lane import Lane
from pegtool.parser.mapper import MapCache

if TYPE_CHECKING:
    from pegtool.parser.chat import ChatParser


class ChatStream:
    """Feed chunks, get OpenAI deltas. Concatenated deltas always equal the final message."""

    def __init__(self, parser: ChatParser, *, fast: bool = True) -> None:
        self._parser = parser
        self._fast = fast
        self._session: Session = parser.engine.session(open_atomic=True, grow=fast)
        self._sent = ChatMessage()
        self._upto = 0  # end of the text the sent snapshot accounts for
        self._last: ParseResult | None = None
        self._full: ParseResult | None = None  # the latest agreement parse (full mode)
        self._snap_cache = MapCache() if fast else None
        self._final_cache = MapCache() if fast else None
        self._broken = False  # the output left the grammar: later text streams as content
        self._final: ChatMessage | None = None
        self.ids = parser.new_ids()  # one response: snapshots, agreement parses and finish() agree
        self.held = 0  # snapshots held back because they would have retracted a delta
        self.deltas: list[dict[str, Any]] = []
        #: the deltas :meth:`finish` released (text held back as a possible marker prefix, ...)
        self.finish_deltas: list[dict[str, Any]] = []
        self._lane: Lane | None = None  # the open span the next chunks may simply prolong
        self.laned = 0  # chunks sent through the lane (no snapshot)

    @property
    def text(self) -> str:
        return self._session.text

    @property
    def sent(self) -> ChatMessage:
        """The message the deltas sent so far add up to."""
        self._settle()
        return self._sent

    def _settle(self) -> None:
        """Fold the text the lane sent into ``_sent`` (one join per run of laned chunks)."""
        if self._lane is not None and self._lane.pieces:
            self._sent = self._lane.settle(self._sent)

    @property
    def finish_reason(self) -> str:
        """OpenAI ``finish_reason`` for the final chunk: "length" when a call is unfinished,
        "tool_calls" when calls were made, else "stop" (call after :meth:`finish`)."""
        msg = self._final or self.sent
        if msg.incomplete:
            return "length"
        return "tool_calls" if msg.tool_calls else "stop"

    def feed(self, chunk: str) -> list[dict[str, Any]]:
        """Append ``chunk``; the deltas it releases (possibly none)."""
        if self._final is not None:
            raise ValueError("feed() after finish()")
        if not chunk:
            return []
        if self._broken:
            self._session.append(chunk)
            return self._send(replace(self._sent, content=self._sent.content + chunk), len(self._session))
        parsed = self._session.parsed
        result = self._session.extend(chunk)
        self._last = result
        lane = self._lane
        if lane is not None and self._session.parsed == parsed and result.frontier is not None:
            out = lane.follow(self._session, result, self._parser.markers)
            if out is not None:
                self.laned += 1
                self._upto = max(self._upto, lane.upto)
                self.deltas.extend(out)
                return out
        self._settle()
        self._lane = None
        if result.status is Status.FAIL:
            return self._break(result)
        text = self.text
        msg, upto = self._parser.stream_snapshot(text, result, self._snap_cache, self.ids)
        agree = result.tentative and not (self._parser.marked_calls and _inside_call(result.captures))
        if agree:
            msg = self._agreement(msg)
        out = self._send(msg, upto)
        if self._fast and not agree and self._sent is msg and result.frontier is not None:
            self._lane = Lane.open(text, result, msg, self._snap_cache, self._parser.reasoning_field)
        return out

    def _agreement(self, msg: ChatMessage) -> ChatMessage:
        """A tentative partial parse may lose to another way once the text ends: send only what
        it shares with the message the text would give if it ended here."""
        text = self.text
        now = regrown(self._full, text) if self._full is not None and self._fast else None
        if now is None:
            now = self._parser.engine.parse(text, diagnose=False, track_end=self._fast)
        self._full = now
        if now.status is not Status.OK or now.end != len(text):
            return msg
        return common_part(msg, self._parser.conclude(text, now, cache=self._final_cache, ids=self.ids))

    def _send(self, msg: ChatMessage, upto: int) -> list[dict[str, Any]]:
        self._settle()
        try:
            out = diff_messages(self._sent, msg, reasoning_field=self._parser.reasoning_field)
        except RetractionError:
            self.held += 1
            return []
        self._sent, self._upto = msg, max(self._upto, upto)
        self.deltas.extend(out)
        return out

    def _break(self, result: ParseResult) -> list[dict[str, Any]]:
        """The output left the grammar: from now on, everything not yet sent is content."""
        text = self.text
        recovered = self._parser.conclude(text, result, partial=result, ids=self.ids)
        out = self._send(recovered, len(text))
        if self._sent is not recovered:
            out = self._fallback(result_message=None)
        self._broken = True
        return out

    def _fallback(self, result_message: ChatMessage | None, why: str = "") -> list[dict[str, Any]]:
        """Keep what was sent; the text after it becomes content (with a diagnostic)."""
        text = self.text
        rest = text[self._upto :]
        calls = self._sent.tool_calls
        diags = result_message.diagnostics if result_message is not None else ()
        if not diags:
            pos = self._upto
            msg = why or "the output left the chat grammar after this point; the rest is content"
            diags = (Diagnostic(pos, 0, 0, (), text[pos : pos + 40], msg),)
        new = ChatMessage(self._sent.content + rest, self._sent.reasoning_content, calls,
                          self._sent.diagnostics + diags)
        out = self._send(new, len(text))
        return out

    def finish(self) -> ChatMessage:
        """The final message; the deltas it releases are appended to ``self.deltas``."""
        if self._final is not None:
            return self._final
        self._settle()
        self._lane = None
        if self._broken:
            self.finish_deltas = []
            self._final = self._sent
            return self._final
        text = self.text
        final = self._parser.conclude(text, self._session.finish(), partial=self._last_partial(), ids=self.ids)
        before = len(self.deltas)
        self._send(final, len(text))
        if self._sent is not final:
            self._fallback(final, "the final parse disagrees with what was streamed; the rest is content")
        self.finish_deltas = self.deltas[before:]
        self._final = self._sent
        return self._final

    def _last_partial(self) -> ParseResult:
        if self._last is None:
            self._last = self._session.result()
        return self._last


def _inside_call(captures: list[CaptureNode]) -> bool:
    """Whether a partial parse ended inside a tool call. Then no agreement parse is needed: the
    grammar decided the call from its markers (text after a call marker is a call, never
    content), so the call either completes as shown or the output leaves the grammar."""
    while captures and captures[-1].partial:
        if captures[-1].tag is Tag.TOOL_CALL:
            return True
        captures = captures[-1].children
    return False


def _common(a: str, b: str) -> str:
    if b.startswith(a):
        return a
    i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return a[:i]


def common_part(a: ChatMessage, b: ChatMessage) -> ChatMessage:
    """The largest message both ``a`` and ``b`` extend (field-wise common prefixes)."""
    calls = []
    for x, y in zip(a.tool_calls, b.tool_calls, strict=False):
        if (x.name, x.id) != (y.name, y.id):
            break
        calls.append(ToolCall(x.name, _common(x.arguments, y.arguments), x.id, True))
    return ChatMessage(_common(a.content, b.content), _common(a.reasoning_content, b.reasoning_content),
                       tuple(calls))


__all__ = ["ChatStream", "common_part"]
