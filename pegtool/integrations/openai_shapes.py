"""Stage: integration — OpenAI Chat Completions objects around a parsed :class:`ChatMessage`.

Shared by the llama-cpp-python and llama-server integrations: the ``chat.completion`` object,
``chat.completion.chunk`` objects for streamed deltas, and the finish reason rule
("tool_calls" when a complete call was produced, "length" when generation was cut off,
otherwise "stop").
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from pegtool.messages import ChatMessage

__all__ = ["completion_id", "completion_object", "chunk_object", "finish_reason", "stream_chunks"]


def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def finish_reason(msg: ChatMessage, stopped_by: str) -> str:
    """OpenAI's finish reason for ``msg`` when generation ended with ``stopped_by``."""
    if stopped_by == "length":
        return "length"
    if msg.tool_calls and not msg.incomplete:
        return "tool_calls"
    return "stop"


def completion_object(
    msg: ChatMessage,
    *,
    finish: str,
    model: str = "",
    cid: str | None = None,
    usage: dict[str, int] | None = None,
    reasoning_field: str = "reasoning_content",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` dict. ``extra`` lands under the ``"pegtool"`` key (raw text, ...)."""
    out: dict[str, Any] = {
        "id": cid or completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": msg.to_openai(reasoning_field=reasoning_field),
            "logprobs": None,
            "finish_reason": finish,
        }],
    }
    if usage is not None:
        out["usage"] = usage
    if extra:
        out["pegtool"] = extra
    return out


def chunk_object(delta: dict[str, Any], *, cid: str, model: str = "", created: int = 0,
                 finish: str | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk`` dict carrying ``delta``."""
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created or int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def stream_chunks(parser: Any, pieces: Iterable[str], stopped_by: Any, *, model: str = "",
                  cid: str | None = None, extra: Any = None) -> Iterator[dict[str, Any]]:
    """Chunks for text ``pieces`` fed through ``parser.stream()``.

    ``stopped_by`` is called after the pieces are exhausted and returns "stop" or "length" (or
    None when the generation's end is not known: then the message decides, "length" for an
    unfinished call, see :attr:`pegtool.parser.stream.ChatStream.finish_reason`).
    The first chunk carries the role; then one chunk per delta, those :meth:`finish` releases
    included (text held back as a possible marker prefix).
    ``extra`` (called at the end) gives a dict put under the last chunk's ``"pegtool"`` key.
    The last chunk has an empty delta and the finish reason.
    """
    cid, created = cid or completion_id(), int(time.time())
    yield chunk_object({"role": "assistant", "content": ""}, cid=cid, model=model, created=created)
    stream = parser.stream()
    for piece in pieces:
        for delta in stream.feed(piece):
            yield chunk_object(delta, cid=cid, model=model, created=created)
    sent = len(stream.deltas)
    final = stream.finish()
    for delta in stream.deltas[sent:]:
        yield chunk_object(delta, cid=cid, model=model, created=created)
    stopped = stopped_by()
    finish = stream.finish_reason if stopped is None else finish_reason(final, stopped)
    last = chunk_object({}, cid=cid, model=model, created=created, finish=finish)
    if extra is not None:
        last["pegtool"] = extra()
    yield last
