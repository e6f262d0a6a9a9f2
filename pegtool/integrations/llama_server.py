"""Stage: integration — llama-server ``/completion`` request bodies and responses.

pegtool renders the prompt and builds the grammar itself, so requests target ``POST
/completion`` (``/v1/chat/completions`` replaces lazy-grammar fields with its own and refuses
``grammar`` together with ``tools``). :func:`completion_body` builds the body from a
:class:`~pegtool.format.Prepared`; :func:`parse_completion_response` and
:func:`parse_sse_stream` turn llama-server's answer (JSON, or SSE lines ``data: {...}``) into
an OpenAI message / ``chat.completion.chunk`` dicts with pegtool's parser.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from pegtool.errors import PegtoolError
from pegtool.format import Prepared
from pegtool.integrations.openai_shapes import completion_object, finish_reason, stream_chunks
from pegtool.messages import ChatMessage

__all__ = [
    "completion_body",
    "completion_from_response",
    "parse_completion_response",
    "parse_sse_stream",
    "sse_events",
    "usage_of",
]

SAMPLING_FIELDS = frozenset({
    "temperature", "top_k", "top_p", "min_p", "typical_p", "seed", "repeat_penalty",
    "repeat_last_n", "presence_penalty", "frequency_penalty", "mirostat", "mirostat_tau",
    "mirostat_eta", "stop", "logit_bias", "n_probs", "cache_prompt", "id_slot", "samplers",
    "dry_multiplier", "dry_base", "dry_allowed_length", "xtc_probability", "xtc_threshold",
})


def _strip_bos(prompt: str, bos_tokens: Iterable[str]) -> str:
    for bos in bos_tokens:
        if bos and prompt.startswith(bos):
            return prompt[len(bos):]
    return prompt


def completion_body(prep: Prepared, *, n_predict: int | None = None, thinking_forced_open: bool = False,
                    stream: bool = False, bos_token: str | None = None, **sampling: Any) -> dict[str, Any]:
    """The JSON body of a llama-server ``POST /completion`` request for ``prep``.

    The prompt carries no BOS (the server adds one when the model asks for it); pass the
    model's ``bos_token`` when the template renders one its :class:`ChatFormat` does not know.
    ``thinking_forced_open`` targets older builds (``thinking_forced_open`` instead of
    ``generation_prompt``). Unknown sampling keys are refused rather than silently sent.
    """
    unknown = sorted(set(sampling) - SAMPLING_FIELDS)
    if unknown:
        raise PegtoolError(f"unknown llama-server sampling field(s): {', '.join(unknown)}")
    body = prep.to_llama_server(thinking_forced_open=thinking_forced_open)
    body["prompt"] = _strip_bos(body["prompt"], (prep.bos_token, bos_token or ""))
    if body.get("grammar_lazy") and not body.get("grammar_triggers"):
        body.pop("grammar_lazy")  # llama-server answers 400 to a lazy grammar without triggers
    if n_predict is not None:
        body["n_predict"] = int(n_predict)
    if stream:
        body["stream"] = True
    body.update(sampling)
    return body


def usage_of(data: dict[str, Any]) -> dict[str, int]:
    """OpenAI ``usage`` from a ``/completion`` response (or a stream's last event)."""
    usage = {"prompt_tokens": int(data.get("tokens_evaluated", 0) or 0),
             "completion_tokens": int(data.get("tokens_predicted", 0) or 0)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return usage


def _stopped_by(data: dict[str, Any]) -> str:
    if data.get("stop_type") == "limit" or data.get("truncated"):
        return "length"
    return "stop"


def parse_completion_response(prep: Prepared, response_json: dict[str, Any] | str, *,
                              strict: bool = False) -> ChatMessage:
    """The assistant message in a (non-streamed) ``/completion`` response."""
    data = json.loads(response_json) if isinstance(response_json, str) else response_json
    if "content" not in data:
        raise PegtoolError(f"not a llama-server /completion response: {str(data)[:120]}")
    return prep.parser.parse(str(data["content"]), strict=strict)


def completion_from_response(prep: Prepared, response_json: dict[str, Any] | str, *,
                             model: str = "") -> dict[str, Any]:
    """An OpenAI ``chat.completion`` dict for a (non-streamed) ``/completion`` response."""
    data = json.loads(response_json) if isinstance(response_json, str) else response_json
    msg = parse_completion_response(prep, data)
    return completion_object(msg, finish=finish_reason(msg, _stopped_by(data)),
                             model=model or str(data.get("model", "")), usage=usage_of(data),
                             reasoning_field=prep.parser.reasoning_field,
                             extra={"raw_text": data["content"]})


def sse_events(lines: Iterable[str | bytes]) -> Iterator[dict[str, Any]]:
    """The JSON objects of an SSE stream (``data: {...}`` lines; comments, blanks, [DONE] skipped)."""
    for raw in lines:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        line = line.strip()
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        event = json.loads(payload)
        if "error" in event:
            raise PegtoolError(f"llama-server error: {event['error']}")
        yield event


def parse_sse_stream(prep: Prepared, lines: Iterable[str | bytes], *, model: str = "") -> Iterator[dict[str, Any]]:
    """OpenAI ``chat.completion.chunk`` dicts for a streamed ``/completion`` response.

    The last chunk carries the raw text and the usage (from the server's last event) under its
    ``"pegtool"`` key."""
    last: dict[str, Any] = {}
    text: list[str] = []

    def pieces() -> Iterator[str]:
        for event in sse_events(lines):
            last.clear()
            last.update(event)
            if event.get("content"):
                text.append(str(event["content"]))
                yield text[-1]

    return stream_chunks(prep.parser, pieces(), lambda: _stopped_by(last), model=model,
                         extra=lambda: {"raw_text": "".join(text), "usage": usage_of(last)})
