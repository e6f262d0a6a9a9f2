"""Stage: parser — the chat parser: model output (whole or streamed) -> ChatMessage / deltas.

Failure policy (conventions.md): model output never raises by default. When the text does not
match the chat grammar, every call recognised before the failure is kept, the rest of the text
becomes content, and a :class:`~pegtool.messages.Diagnostic` says where and what was expected.
``strict=True`` raises :class:`~pegtool.errors.ParseError` instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pegtool.errors import ParseError, caret_context, line_col
from pegtool.grammar.ir import Grammar
from pegtool.messages import ChatMessage, Diagnostic, RetractionError, diff_messages
from pegtool.parser.engine import CaptureNode, Parser, ParseResult, Status
from pegtool.parser.mapper import captures_to_message, complete_only


def _diagnostic(text: str, result: ParseResult) -> Diagnostic:
    pos = result.farthest
    line, col = line_col(text, pos)
    expected = tuple(result.expected)
    exp = ", ".join(expected[:6]) or "something else"
    return Diagnostic(pos, line, col, expected, caret_context(text, pos), f"expected {exp}")


def _covered_end(captures: list[CaptureNode]) -> int:
    return max((c.end for c in captures), default=0)


class ChatParser:
    """Parses what a model generated after the prompt, using one chat grammar."""

    def __init__(self, grammar: Grammar, *, reasoning_field: str = "reasoning_content", id_salt: str = "") -> None:
        self.grammar = grammar
        self.reasoning_field = reasoning_field
        self.id_salt = id_salt
        self._engine = Parser(grammar)

    def _message(self, text: str, captures: list[CaptureNode]) -> ChatMessage:
        return captures_to_message(text, captures, id_salt=self.id_salt)

    def parse(self, text: str, strict: bool = False) -> ChatMessage:
        """The message for a complete output. Lenient unless ``strict``."""
        result = self._engine.parse(text)
        if result.status is Status.OK and result.end == len(text):
            return self._message(text, result.captures)
        if strict:
            raise ParseError(text, result.farthest, result.expected)
        return self._recover(text, result)

    def _recover(self, text: str, failed: ParseResult) -> ChatMessage:
        prefix = text[: failed.farthest]
        again = self._engine.parse(prefix, partial=True)
        captures = complete_only(again.captures) if again.status is not Status.FAIL else []
        msg = self._message(prefix, captures)
        rest = text[_covered_end(captures) :]
        msg = replace(msg, content=msg.content + rest)
        return msg.with_diagnostic(_diagnostic(text, failed))

    def parse_partial(self, text: str) -> ChatMessage:
        """The message so far for an output that may continue (unfinished calls marked)."""
        result = self._engine.parse(text, partial=True)
        if result.status is Status.FAIL:
            return self._recover(text, result)
        return self._message(text, result.captures)

    def stream(self) -> ChatStream:
        return ChatStream(self)


class ChatStream:
    """Feed chunks, get OpenAI deltas. Concatenated deltas always equal the final message."""

    def __init__(self, parser: ChatParser) -> None:
        self._parser = parser
        self._text = ""
        self._sent = ChatMessage()
        self.deltas: list[dict[str, Any]] = []

    @property
    def text(self) -> str:
        return self._text

    def _advance(self, snapshot: ChatMessage) -> list[dict[str, Any]]:
        try:
            out = diff_messages(self._sent, snapshot, reasoning_field=self._parser.reasoning_field)
        except RetractionError:
            return []  # hold everything back until the text settles
        self._sent = snapshot
        self.deltas.extend(out)
        return out

    def feed(self, chunk: str) -> list[dict[str, Any]]:
        self._text += chunk
        return self._advance(self._parser.parse_partial(self._text))

    def finish(self) -> ChatMessage:
        """The final message; its deltas not yet sent are in ``self.deltas`` after this call."""
        final = self._parser.parse(self._text)
        if self._advance(final) == [] and final != self._sent:
            final = self._sent  # the final parse would retract what was streamed: keep what was sent
        return final
