"""``pegtool serve --upstream``: pegtool in front of llama-server, tested against a FAKE llama-server.

The fake is a small Starlette app answering ``POST /completion`` the way llama-server does
(one JSON object, or SSE events ``data: {"content": ..., "stop": false}`` ending with an event
carrying ``stop``, ``stop_type`` and the token counts) with text the test chooses, and recording
the bodies it received. So these tests check what pegtool sends (prompt, lazy grammar, triggers,
preserved tokens, n_predict, sampling) and how it turns the answers into OpenAI responses; they
do not check that a real llama-server accepts the grammar (see the README, "Serving").
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"

openai = pytest.importorskip("openai")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

WEATHER = {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"location": "Paris"}}\n</tool_call>'


class FakeLlamaServer:
    """What the test wants llama-server to answer, and what it was sent."""

    def __init__(self) -> None:
        self.pieces: list[str] = ["Hello", " there."]
        self.status = 200
        self.stop_type = "eos"
        self.delay = 0.0
        self.bodies: list[dict[str, Any]] = []
        self.streams_finished = 0
        self.streams_aborted = 0

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response, StreamingResponse
        from starlette.routing import Route

        async def completion(request: Request) -> Response:
            body = await request.json()
            self.bodies.append(body)
            if self.status != 200:
                return JSONResponse({"error": {"code": self.status, "message": "the fake failed",
                                               "type": "server_error"}}, status_code=self.status)
            counts = {"tokens_evaluated": 17, "tokens_predicted": len(self.pieces)}
            if not body.get("stream"):
                return JSONResponse({"content": "".join(self.pieces), "stop": True, "stop_type": self.stop_type,
                                     "model": "fake", **counts})
            return StreamingResponse(self._events(counts), media_type="text/event-stream")

        async def health(request: Request) -> Response:
            return JSONResponse({"status": "ok"})

        return Starlette(routes=[Route("/completion", completion, methods=["POST"]),
                                 Route("/health", health, methods=["GET"])])

    async def _events(self, counts: dict[str, int]) -> AsyncIterator[bytes]:
        try:
            for piece in self.pieces:
                if self.delay:
                    await asyncio.sleep(self.delay)
                yield f"data: {json.dumps({'content': piece, 'stop': False})}\n\n".encode()
            last = {"content": "", "stop": True, "stop_type": self.stop_type, **counts}
            yield f"data: {json.dumps(last)}\n\n".encode()
            self.streams_finished += 1
        except asyncio.CancelledError:
            self.streams_aborted += 1
            raise


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeLlamaServer, str]]:
    from serve_support import running

    server = FakeLlamaServer()
    with running(server.app()) as url:
        yield server, url


@pytest.fixture(scope="module")
def served(fake: tuple[FakeLlamaServer, str]) -> Iterator[tuple[str, Any]]:
    from serve_support import running

    from pegtool.format import ChatFormat
    from pegtool.serve import UpstreamHost, create_app

    host = UpstreamHost(fake[1], ChatFormat.load(TEMPLATE), "qwen-upstream")
    with running(create_app(host)) as url:
        yield url, host
    host.close()


@pytest.fixture()
def llama_server(fake: tuple[FakeLlamaServer, str]) -> FakeLlamaServer:
    server = fake[0]
    server.__init__()  # type: ignore[misc] # a fresh scenario for each test
    return server


@pytest.fixture(scope="module")
def client(served: tuple[str, Any]) -> Any:
    return openai.OpenAI(base_url=served[0] + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_tool_call_request_body_and_answer(llama_server: FakeLlamaServer, client: Any) -> None:
    llama_server.pieces = [CALL]
    out = client.chat.completions.create(model="x", messages=ASK, tools=TOOLS, max_tokens=40, temperature=0.1,
                                         seed=7, stop=["STOP"])
    body = llama_server.bodies[-1]
    assert body["prompt"].startswith("<|im_start|>system") and body["prompt"].endswith("<|im_start|>assistant\n")
    assert "root ::=" in body["grammar"] and body["grammar_lazy"] is True
    assert body["grammar_triggers"] == [{"type": 1, "value": "<tool_call>"}]
    assert {"<tool_call>", "</tool_call>"} <= set(body["preserved_tokens"])
    assert body["n_predict"] == 40 and body["temperature"] == 0.1 and body["seed"] == 7
    assert body["stop"] == ["STOP"] and not body.get("stream")
    call = out.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"location": "Paris"}
    assert call.id and out.choices[0].finish_reason == "tool_calls"
    assert out.model == "qwen-upstream"
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.total_tokens) == (17, 1, 18)


def test_required_sends_an_eager_grammar(llama_server: FakeLlamaServer, client: Any) -> None:
    llama_server.pieces = [CALL]
    out = client.chat.completions.create(model="x", messages=ASK, tools=TOOLS, tool_choice="required", max_tokens=40)
    body = llama_server.bodies[-1]
    assert "grammar_lazy" not in body or body["grammar_lazy"] is False
    assert out.choices[0].message.tool_calls[0].function.name == "get_weather"


def test_streamed_call_split_inside_markers(llama_server: FakeLlamaServer, client: Any) -> None:
    llama_server.pieces = [CALL[i:i + 3] for i in range(0, len(CALL), 3)]
    chunks = list(client.chat.completions.create(model="x", messages=ASK, tools=TOOLS, max_tokens=40, stream=True,
                                                 stream_options={"include_usage": True}))
    assert llama_server.bodies[-1]["stream"] is True
    parts = [p for c in chunks if c.choices for p in c.choices[0].delta.tool_calls or []]
    assert parts[0].id and parts[0].function.name == "get_weather"
    assert json.loads("".join(p.function.arguments or "" for p in parts)) == {"location": "Paris"}
    assert not "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage.prompt_tokens == 17 and not chunks[-1].choices


def test_ids_unique_across_responses(llama_server: FakeLlamaServer, client: Any) -> None:
    llama_server.pieces = [CALL + "\n" + CALL]
    ids = []
    for _ in range(3):
        out = client.chat.completions.create(model="x", messages=ASK, tools=TOOLS, max_tokens=80)
        ids += [c.id for c in out.choices[0].message.tool_calls]
    assert len(ids) == 6 and len(set(ids)) == 6


def test_output_that_does_not_parse_is_200_with_the_text(llama_server: FakeLlamaServer, client: Any) -> None:
    text = 'Sure. <tool_call>\n{"nam": get_weather}\n</tool_call> done'
    llama_server.pieces = [text]
    out = client.chat.completions.create(model="x", messages=ASK, tools=TOOLS, max_tokens=40)
    assert not out.choices[0].message.tool_calls
    assert out.choices[0].message.content == text


def test_truncated_output_is_length(llama_server: FakeLlamaServer, client: Any) -> None:
    llama_server.pieces, llama_server.stop_type = ["Hello the"], "limit"
    out = client.chat.completions.create(model="x", messages=ASK, max_tokens=2)
    assert out.choices[0].finish_reason == "length" and out.choices[0].message.content == "Hello the"


def test_response_format_is_sent_as_a_grammar(llama_server: FakeLlamaServer, client: Any) -> None:
    llama_server.pieces = ['{"city": "Lyon"}']
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    out = client.chat.completions.create(model="x", messages=ASK, max_tokens=20, response_format={
        "type": "json_schema", "json_schema": {"name": "c", "schema": schema}})
    body = llama_server.bodies[-1]
    assert "root ::=" in body["grammar"] and not body.get("grammar_lazy")
    assert json.loads(out.choices[0].message.content) == {"city": "Lyon"}


def test_client_mistake_is_400_without_asking_upstream(llama_server: FakeLlamaServer, client: Any) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="x", messages=ASK, tools=TOOLS, tool_choice="any")
    assert info.value.body["param"] == "tool_choice"
    assert llama_server.bodies == []


def test_upstream_failure_is_502(llama_server: FakeLlamaServer, client: Any) -> None:
    llama_server.status = 500
    for stream in (False, True):
        with pytest.raises(openai.InternalServerError) as info:
            out = client.chat.completions.create(model="x", messages=ASK, max_tokens=5, stream=stream)
            list(out) if stream else None
        assert info.value.status_code == 502
        assert info.value.body["type"] == "server_error" and "the fake failed" in info.value.body["message"]


def test_upstream_unreachable_is_502_and_health_says_so() -> None:
    import socket

    import httpx
    from serve_support import running

    from pegtool.format import ChatFormat
    from pegtool.serve import UpstreamHost, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once the socket is closed
    host = UpstreamHost(dead, ChatFormat.load(TEMPLATE), "nowhere")
    with running(create_app(host)) as url:
        resp = httpx.post(url + "/v1/chat/completions", json={"messages": ASK, "max_tokens": 4})
        assert resp.status_code == 502 and "upstream llama-server" in resp.json()["error"]["message"]
        assert httpx.get(url + "/health").status_code == 503
    host.close()


def test_disconnect_mid_stream_closes_the_upstream_stream(llama_server: FakeLlamaServer, client: Any) -> None:
    llama_server.pieces, llama_server.delay = ["word "] * 400, 0.02
    stream = client.chat.completions.create(model="x", messages=ASK, max_tokens=400, stream=True)
    got = 0
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            got += 1
            if got == 3:
                break
    stream.close()
    deadline = time.monotonic() + 20
    while not llama_server.streams_aborted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert llama_server.streams_aborted == 1 and llama_server.streams_finished == 0
    llama_server.pieces, llama_server.delay = ["ok"], 0.0
    out = client.chat.completions.create(model="x", messages=ASK, max_tokens=4)
    assert out.choices[0].message.content == "ok"


def test_a_conversation_the_template_refuses_is_400(llama_server: FakeLlamaServer) -> None:
    """Gemma 2's template raises on a system message: the client's conversation, so a 400."""
    import httpx
    from serve_support import running

    from pegtool.format import ChatFormat
    from pegtool.serve import UpstreamHost, create_app

    host = UpstreamHost("http://127.0.0.1:9", ChatFormat.load(ROOT / "templates" / "google-gemma-2-2b-it.jinja"), "g2")
    with running(create_app(host)) as url:
        resp = httpx.post(url + "/v1/chat/completions", json={"messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]})
    host.close()
    error = resp.json()["error"]
    assert resp.status_code == 400 and error["param"] == "messages" and error["code"] == "template_rejected"
    assert "System role not supported" in error["message"]
