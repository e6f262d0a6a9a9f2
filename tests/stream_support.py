"""Test support: stream a text one character at a time and collect the argument fragments."""

from __future__ import annotations

from typing import Any


def _arguments(deltas: list[dict[str, Any]]) -> str:
    return "".join(tc["function"].get("arguments", "") for d in deltas for tc in d.get("tool_calls", []))


def stream_by_character(parser: Any, text: str, watch: str) -> tuple[Any, str, str]:
    """Feed ``text`` to a new stream of ``parser`` one character at a time, then finish it.

    Returns (the final message, the argument text sent when the text so far first ended with
    ``watch``, all argument text sent including the finishing deltas)."""
    stream = parser.stream()
    sent, at_watch = "", None
    for i, ch in enumerate(text):
        sent += _arguments(stream.feed(ch))
        if at_watch is None and text[:i + 1].endswith(watch):
            at_watch = sent
    assert at_watch is not None, f"{watch!r} is not in the text"
    final = stream.finish()
    return final, at_watch, sent + _arguments(stream.finish_deltas)
