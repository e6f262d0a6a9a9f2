"""Tests for pegtool.integrations.llama_server with canned llama-server responses (no server)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pegtool.errors import PegtoolError
from pegtool.integrations.llama_server import (
    completion_body,
    completion_from_response,
    parse_completion_response,
    parse_sse_stream,
)
from pegtool.messages import apply_deltas

sys.path.insert(0, str(Path(__file__).parent))
from integration_support import hermes_prepared  # noqa: E402

CALL = '<tool_call>{"name": "get_weather", "arguments": {"location": "Paris"}}</tool_call>'


def _sse(pieces: list[str], stop_type: str = "eos") -> list[str]:
    lines = [": ping", ""]
    for p in pieces:
        lines += ["data: " + json.dumps({"content": p, "stop": False}), ""]
    lines += ["data: " + json.dumps({"content": "", "stop": True, "stop_type": stop_type}), ""]
    return lines


def test_body_for_a_lazy_grammar() -> None:
    prep = hermes_prepared("<bos><start_of_turn>user\nhi", bos="<bos>")
    body = completion_body(prep, n_predict=64, temperature=0.0, seed=1)
    assert body["prompt"].startswith("<start_of_turn>")  # no doubled BOS
    assert body["grammar_lazy"] is True and body["grammar_triggers"] == [{"type": 1, "value": "<tool_call>"}]
    assert "<tool_call>" in body["preserved_tokens"]
    assert body["grammar"].startswith("root ::=")
    assert body["n_predict"] == 64 and body["temperature"] == 0.0 and "stream" not in body
    assert "generation_prompt" in body and "thinking_forced_open" not in body
    json.dumps(body)


def test_body_strips_a_model_bos_the_format_does_not_know() -> None:
    body = completion_body(hermes_prepared("<|begin_of_text|>hi"), bos_token="<|begin_of_text|>")
    assert body["prompt"] == "hi"


def test_body_for_required_is_eager_and_older_builds_get_thinking_forced_open() -> None:
    body = completion_body(hermes_prepared("p", required=True), thinking_forced_open=True, stream=True)
    assert "grammar_lazy" not in body and "grammar_triggers" not in body
    assert body["thinking_forced_open"] is False and "generation_prompt" not in body
    assert body["stream"] is True


def test_unknown_sampling_fields_are_refused() -> None:
    with pytest.raises(PegtoolError):
        completion_body(hermes_prepared("p"), temprature=0.1)


def test_parse_response() -> None:
    prep = hermes_prepared("p")
    msg = parse_completion_response(prep, {"content": "Sure. " + CALL, "stop": True, "stop_type": "eos"})
    assert msg.content == "Sure. "
    assert msg.tool_calls[0].name == "get_weather"
    assert json.loads(msg.tool_calls[0].arguments) == {"location": "Paris"}
    out = completion_from_response(prep, json.dumps({"content": CALL, "tokens_predicted": 20,
                                                     "tokens_evaluated": 9, "stop_type": "eos"}))
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    assert out["usage"] == {"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29}


def test_truncated_response_finishes_with_length() -> None:
    out = completion_from_response(hermes_prepared("p"), {"content": CALL[:40], "stop_type": "limit"})
    assert out["choices"][0]["finish_reason"] == "length"


def test_not_a_completion_response() -> None:
    with pytest.raises(PegtoolError):
        parse_completion_response(hermes_prepared("p"), {"error": {"code": 400}})


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_sse_stream_matches_the_whole_response(size: int) -> None:
    prep = hermes_prepared("p")
    text = "Let me check. " + CALL
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    chunks = list(parse_sse_stream(prep, _sse(pieces)))
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    streamed = apply_deltas([c["choices"][0]["delta"] for c in chunks])
    whole = parse_completion_response(prep, {"content": text})
    assert streamed.content == whole.content
    assert [(c.name, c.arguments, c.id) for c in streamed.tool_calls] == \
        [(c.name, c.arguments, c.id) for c in whole.tool_calls]


def test_sse_stream_of_bytes_with_done_and_limit() -> None:
    lines = [x.encode() for x in _sse(["Hello", " world"], stop_type="limit")] + [b"data: [DONE]"]
    chunks = list(parse_sse_stream(hermes_prepared("p"), lines))
    assert apply_deltas([c["choices"][0]["delta"] for c in chunks]).content == "Hello world"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_sse_error_event() -> None:
    with pytest.raises(PegtoolError):
        list(parse_sse_stream(hermes_prepared("p"), ['data: {"error": {"message": "boom"}}']))
