"""Stage: parser — the message a request asked for, from the message the chat grammar reads.

Two request options change what a client gets back without changing what the model writes:

* ``reasoning_format`` (llama-server's names): ``"auto"`` / ``"deepseek"`` extract reasoning into
  ``reasoning_content``; ``"none"`` returns the model's text as it was produced, reasoning markup
  included, with the reasoning opener that the generation prompt supplied put back in front (so a
  client that reads ``<think>`` itself sees a well-formed block); ``"deepseek-legacy"`` does both:
  reasoning extracted *and* kept inline in ``content``.
* an assistant prefill (``continue_final_message``): the model continues a message the prompt
  already holds part of. The final message is the whole assistant message (prefill +
  continuation); streaming deltas carry only the new text.

:class:`ShapedParser` is a :class:`~pegtool.parser.chat.ChatParser` for the extracting grammar
plus, for the inline forms, a second parser whose grammar does not extract reasoning (its
``content`` is the output as written, tool calls aside). Its streams run both parsers on the
same chunks and send the difference of the shaped snapshots, so deltas are never retracted and
concatenate to the new text of the final message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pegtool.grammar.ir import Grammar
from pegtool.messages import ChatMessage, RetractionError, diff_messages
from pegtool.parser.chat import ChatParser
from pegtool.parser.stream import ChatStream


class ShapedParser(ChatParser):
    """A chat parser whose messages follow a reasoning format and include an assistant prefill.

    ``inline``: for ``"deepseek-legacy"``, the parser whose ``content`` is the raw output (tool
    calls aside); for ``"none"`` the parser's own grammar does not extract reasoning
    (``keep_reasoning`` False). ``opener``: the reasoning opener the generation prompt ended with,
    put in front of the raw content. ``content_prefix`` / ``reasoning_prefix``: the prefill, in front of the final message
    only (deltas carry the new text)."""

    def __init__(self, grammar: Grammar, *, reasoning_field: str = "reasoning_content", id_style: str = "plain",
                 id_seed: int | None = None, id_factory: Any = None,
                 inline: ChatParser | None = None, keep_reasoning: bool = True, opener: str = "",
                 content_prefix: str = "", reasoning_prefix: str = "") -> None:
        super().__init__(grammar, reasoning_field=reasoning_field, id_style=id_style, id_seed=id_seed,
                         id_factory=id_factory)
        self.inline = inline
        self.keep_reasoning = keep_reasoning
        self.opener = opener
        self.content_prefix = content_prefix
        self.reasoning_prefix = reasoning_prefix

    def shape(self, main: ChatMessage, inline: ChatMessage | None, *, whole: bool) -> ChatMessage:
        """The message the request asked for, from the extracting parse ``main`` and the inline
        parse (``whole``: with the prefill in front)."""
        msg = main
        if self.inline is not None and inline is not None:
            msg = replace(main, content=inline.content)
        if self.opener:
            msg = replace(msg, content=self.opener + msg.content)
        if not self.keep_reasoning:
            msg = replace(msg, reasoning_content="")
        if whole and (self.content_prefix or self.reasoning_prefix):
            reasoning = self.reasoning_prefix + msg.reasoning_content if self.keep_reasoning else ""
            msg = replace(msg, content=self.content_prefix + msg.content, reasoning_content=reasoning)
        return msg

    def parse(self, text: str, strict: bool = False) -> ChatMessage:
        main = super().parse(text, strict=strict)
        inline = self.inline.parse(text) if self.inline is not None else None
        return self.shape(main, inline, whole=True)

    def parse_partial(self, text: str) -> ChatMessage:
        main = super().parse_partial(text)
        inline = self.inline.parse_partial(text) if self.inline is not None else None
        return self.shape(main, inline, whole=True)

    def stream(self, *, fast: bool = True) -> ShapedStream:  # type: ignore[override]
        return ShapedStream(self, fast=fast)


class ShapedStream:
    """Streams a :class:`ShapedParser`: deltas of the new text; :meth:`finish` returns the whole
    message (prefill included)."""

    def __init__(self, parser: ShapedParser, *, fast: bool = True) -> None:
        self._parser = parser
        self._main = ChatStream(parser, fast=fast)
        self._inline = parser.inline.stream(fast=fast) if parser.inline is not None else None
        self._sent = ChatMessage()
        self._final: ChatMessage | None = None
        self.deltas: list[dict[str, Any]] = []
        self.finish_deltas: list[dict[str, Any]] = []

    @property
    def text(self) -> str:
        return self._main.text

    @property
    def sent(self) -> ChatMessage:
        """The message the deltas sent so far add up to (the new text only)."""
        return self._sent

    @property
    def held(self) -> int:
        return self._main.held

    @property
    def finish_reason(self) -> str:
        return self._main.finish_reason

    def _snapshot(self) -> ChatMessage:
        inline = self._inline.sent if self._inline is not None else None
        return self._parser.shape(self._main.sent, inline, whole=False)

    def _send(self, msg: ChatMessage) -> list[dict[str, Any]]:
        try:
            out = diff_messages(self._sent, msg, reasoning_field=self._parser.reasoning_field)
        except RetractionError:
            return []
        self._sent = msg
        self.deltas.extend(out)
        return out

    def feed(self, chunk: str) -> list[dict[str, Any]]:
        if self._final is not None:
            raise ValueError("feed() after finish()")
        if not chunk:
            return []
        self._main.feed(chunk)
        if self._inline is not None:
            self._inline.feed(chunk)
        return self._send(self._snapshot())

    def finish(self) -> ChatMessage:
        """The whole final message; the deltas it releases are in ``finish_deltas``."""
        if self._final is not None:
            return self._final
        main = self._main.finish()
        inline = self._inline.finish() if self._inline is not None else None
        before = len(self.deltas)
        self._send(self._parser.shape(main, inline, whole=False))
        self.finish_deltas = self.deltas[before:]
        self._final = self._parser.shape(main, inline, whole=True)
        return self._final


__all__ = ["ShapedParser", "ShapedStream"]
