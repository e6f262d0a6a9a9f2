"""``pegtool serve`` end to end: the Gemma 3 270M GGUF behind the server, driven by the official
``openai`` client over loopback HTTP.

The model is loaded once for the module and the server runs in a background thread. The GGUF has
no chat template of its own, so the server uses Qwen 2.5's (a Hermes-style ``<tool_call>``
dialect, as in the e2e tests). Generation is greedy with a repeat penalty and small
``max_tokens``; tool_choice "auto" gets the e2e tests' nudge (a logit bias towards the tokens of
the trigger text), since a 270M model is not a tool-calling model.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"

openai = pytest.importorskip("openai")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
jsonschema = pytest.importorskip("jsonschema")

WEATHER = {"type": "object", "properties": {"location": {"type": "string", "maxLength": 20}},
           "required": ["location"], "additionalProperties": False}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city",
                                            "parameters": WEATHER}},
         {"type": "function", "function": {"name": "get_time", "description": "Get the time in a city",
                                            "parameters": WEATHER}}]
PING = {"type": "object", "properties": {}, "additionalProperties": False}
PINGS = [{"type": "function", "function": {"name": f"ping_{c}", "description": f"Ping server {c}",
                                            "parameters": PING}} for c in "abc"]
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]
GREEDY: dict[str, Any] = {"temperature": 0, "extra_body": {"repeat_penalty": 1.3}}
AUTO_BIAS = (4.0, 3.0, 5.0)  # logit bias strengths towards the trigger's tokens, tried in order
SEEN_IDS: list[str] = []  # every tool-call id the tests received, checked for uniqueness at the end


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Any]]:
    from integration_support import load_llama
    from serve_support import running

    from pegtool.format import ChatFormat
    from pegtool.serve import LocalHost, create_app

    host = LocalHost(load_llama(), ChatFormat.load(TEMPLATE), "gemma-3-270m")
    with running(create_app(host)) as url:
        yield url, host


@pytest.fixture(scope="module")
def client(served: tuple[str, Any]) -> Any:
    return openai.OpenAI(base_url=served[0] + "/v1", api_key="unused", max_retries=0, timeout=300)


def _validate_calls(calls: Any, names: set[str]) -> None:
    assert calls
    for call in calls:
        assert call.type == "function" and call.id
        assert call.function.name in names
        jsonschema.validate(json.loads(call.function.arguments), WEATHER if call.function.name.startswith("get_")
                            else PING)
        SEEN_IDS.append(call.id)


def test_models_and_health(served: tuple[str, Any], client: Any) -> None:
    import httpx

    assert [m.id for m in client.models.list()] == ["gemma-3-270m"]
    health = httpx.get(served[0] + "/health").json()
    assert health["status"] == "ok" and health["model"] == "gemma-3-270m"


def test_plain_chat(client: Any) -> None:
    out = client.chat.completions.create(model="any", messages=[{"role": "user", "content": "Say hello."}],
                                         max_tokens=12, **GREEDY)
    choice = out.choices[0]
    assert out.object == "chat.completion" and out.id.startswith("chatcmpl-")
    assert out.model == "gemma-3-270m"
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert not choice.message.tool_calls
    assert choice.finish_reason in ("stop", "length")
    assert out.usage.prompt_tokens > 0 and 0 < out.usage.completion_tokens <= 12
    assert out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens


def test_plain_chat_streamed_with_usage(client: Any) -> None:
    chunks = list(client.chat.completions.create(
        model="any", messages=[{"role": "user", "content": "Say hello."}], max_tokens=12, stream=True,
        stream_options={"include_usage": True}, **GREEDY))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[-1].choices[0].finish_reason in ("stop", "length")
    assert all(c.choices[0].finish_reason is None for c in with_choices[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in with_choices)
    assert text.strip()
    usage = chunks[-1].usage  # the usage chunk: last, no choices
    assert not chunks[-1].choices and usage is not None
    assert 0 < usage.completion_tokens <= 12 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_tool_choice_required(client: Any) -> None:
    out = client.chat.completions.create(model="any", messages=ASK, tools=TOOLS, tool_choice="required",
                                         max_tokens=48, **GREEDY)
    _validate_calls(out.choices[0].message.tool_calls, {"get_weather", "get_time"})
    assert out.choices[0].finish_reason == "tool_calls"


def test_tool_choice_named_streamed(client: Any) -> None:
    """A named tool, streamed: the first delta of the call carries id, type and name; the argument
    fragments concatenate to JSON that validates."""
    stream = client.chat.completions.create(
        model="any", messages=[{"role": "user", "content": "Ping server b."}], tools=PINGS,
        tool_choice={"type": "function", "function": {"name": "ping_b"}}, max_tokens=30, stream=True, **GREEDY)
    calls: dict[int, dict[str, Any]] = {}
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        finish = chunk.choices[0].finish_reason or finish
        for part in chunk.choices[0].delta.tool_calls or []:
            if part.index not in calls:
                assert part.id and part.type == "function" and part.function.name == "ping_b"
                calls[part.index] = {"id": part.id, "name": part.function.name, "arguments": ""}
            else:
                assert part.id is None and part.function.name is None
            calls[part.index]["arguments"] += part.function.arguments or ""
    assert finish == "tool_calls" and list(calls) == [0]
    jsonschema.validate(json.loads(calls[0]["arguments"]), PING)
    SEEN_IDS.append(calls[0]["id"])


def test_tool_choice_auto_with_nudge(served: tuple[str, Any], client: Any) -> None:
    """The lazy grammar takes over once the model writes ``<tool_call>``; a logit bias towards the
    trigger's tokens makes it do so (as in the e2e tests: the first bias that works is used)."""
    ids = served[1].llama.tokenize(b"<tool_call>", add_bos=False, special=True)
    tried = []
    for strength in AUTO_BIAS:
        out = client.chat.completions.create(model="any", messages=ASK, tools=TOOLS, tool_choice="auto",
                                             max_tokens=48, logit_bias={str(t): strength for t in ids}, **GREEDY)
        if out.choices[0].message.tool_calls:
            break
        tried.append(out.choices[0].message.content)
    _validate_calls(out.choices[0].message.tool_calls, {"get_weather", "get_time"})
    assert out.choices[0].finish_reason == "tool_calls", tried


def test_response_format_json_schema(client: Any) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}},
              "required": ["city"], "additionalProperties": False}
    out = client.chat.completions.create(
        model="any", messages=[{"role": "user", "content": "Name a city in France, as JSON."}], max_tokens=30,
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}, **GREEDY)
    assert out.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(out.choices[0].message.content), schema)


BAD_REQUESTS: dict[str, tuple[dict[str, Any], str]] = {
    "tool schema invalid": ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "strng"}}}]},
                            "tools[0].function.parameters"),
    "tool without a name": ({"tools": [{"type": "function", "function": {"parameters": {}}}]}, "tools[0].function.name"),
    "tools not a list": ({"tools": {"type": "function", "function": {"name": "f"}}}, "tools"),
    "tool offered twice": ({"tools": [TOOLS[0], TOOLS[0]]}, "tools[1].function.name"),
    "tool_choice unknown": ({"tools": TOOLS, "tool_choice": "any"}, "tool_choice"),
    "tool_choice names a tool not offered": (
        {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice.function.name"),
    "tool_choice required without tools": ({"tool_choice": "required"}, "tool_choice"),
    "messages empty": ({"messages": []}, "messages"),
    "message without a role": ({"messages": [{"content": "hi"}]}, "messages[0].role"),
    "history arguments not JSON": ({"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                              "function": {"name": "get_weather", "arguments": "{oops"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "x"}]},
        "messages[1].tool_calls[0].function.arguments"),
    "response_format unknown type": ({"response_format": {"type": "yaml"}}, "response_format.type"),
    "response_format schema invalid": ({"response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "schema": {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}}}},
        "response_format.json_schema.schema"),
    "reasoning_format unknown": ({"reasoning_format": "deepseek_legacy"}, "reasoning_format"),
    "temperature out of range": ({"temperature": 7}, "temperature"),
    "max_tokens zero": ({"max_tokens": 0}, "max_tokens"),
    "several choices": ({"n": 2}, "n"),
    "stop not strings": ({"stop": [1, 2]}, "stop"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_client_mistakes_are_400(client: Any, case: str) -> None:
    fields, param = BAD_REQUESTS[case]
    body: dict[str, Any] = {"messages": ASK, "max_tokens": 8, **fields}
    messages = body.pop("messages")
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="any", messages=messages, extra_body=body)
    err = info.value
    assert err.status_code == 400
    assert err.body["type"] == "invalid_request_error" and err.body["param"] == param, err.body
    assert err.body["message"] and err.body["code"]


def test_body_that_is_not_json_is_400(served: tuple[str, Any]) -> None:
    import httpx

    resp = httpx.post(served[0] + "/v1/chat/completions", content=b"{not json",
                      headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error"


def test_concurrent_requests_are_queued_and_each_answered(client: Any) -> None:
    """Three requests at once, each forcing a different tool (one streamed): every answer is a
    valid call of its own tool, so no request saw another's grammar, sampler or context."""
    results: dict[str, Any] = {}

    def ask(name: str, stream: bool) -> None:
        try:
            kwargs = {"model": "any", "messages": [{"role": "user", "content": f"Ping server {name[-1]}."}],
                      "tools": PINGS, "tool_choice": {"type": "function", "function": {"name": name}},
                      "max_tokens": 30, **GREEDY}
            if not stream:
                out = client.chat.completions.create(**kwargs)
                results[name] = (out.choices[0].message.tool_calls, out.choices[0].finish_reason)
                return
            calls: dict[int, Any] = {}
            finish = None
            for chunk in client.chat.completions.create(stream=True, **kwargs):
                finish = chunk.choices[0].finish_reason or finish
                for part in chunk.choices[0].delta.tool_calls or []:
                    calls.setdefault(part.index, {"id": part.id, "name": part.function.name, "args": ""})
                    calls[part.index]["args"] += part.function.arguments or ""
            results[name] = (calls, finish)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    threads = [threading.Thread(target=ask, args=(name, name == "ping_c")) for name in ("ping_a", "ping_b", "ping_c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in ("ping_a", "ping_b"):
        calls, finish = results[name]
        assert finish == "tool_calls" and [c.function.name for c in calls] == [name], results[name]
        _validate_calls(calls, {name})
    calls, finish = results["ping_c"]
    assert finish == "tool_calls" and [c["name"] for c in calls.values()] == ["ping_c"], results["ping_c"]
    jsonschema.validate(json.loads(calls[0]["args"]), PING)
    SEEN_IDS.append(calls[0]["id"])


def test_disconnect_mid_stream_stops_generation_and_frees_the_server(served: tuple[str, Any], client: Any) -> None:
    host = served[1]
    before = len(host.finished)
    stream = client.chat.completions.create(
        model="any", messages=[{"role": "user", "content": "Count from one to one hundred in words."}],
        max_tokens=48, stream=True, **GREEDY)
    seen = 0
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            seen += 1
            if seen == 2:
                break
    stream.close()  # the client goes away after two pieces of text
    out = client.chat.completions.create(model="any", messages=[{"role": "user", "content": "Say hello."}],
                                         max_tokens=4, **GREEDY)
    assert out.choices[0].finish_reason in ("stop", "length")
    # the next request ran after the abandoned one, which stopped early instead of running to 48 tokens
    abandoned = list(host.finished)[before]
    assert abandoned["cancelled"] is True
    assert abandoned["usage"]["completion_tokens"] < 48
    assert list(host.finished)[-1]["cancelled"] is False


def test_tool_call_ids_are_unique() -> None:
    assert len(SEEN_IDS) >= 4
    assert len(set(SEEN_IDS)) == len(SEEN_IDS), SEEN_IDS
