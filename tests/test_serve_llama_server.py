"""``pegtool serve --upstream`` in front of a REAL llama-server (opt-in).

Runs when ``PEGTOOL_LLAMA_SERVER`` names a llama-server binary, or when ``.ci/build-llama-server``
has built one into its cache (``~/.cache/pegtool/llama-server-<version>/build/llama-server``:
llama-server from the llama.cpp vendored in llama-cpp-python's sdist, linked against the wheel's
own libraries); skipped otherwise. llama-server serves the Gemma 3 270M GGUF (``--no-repack``: the extra CPU buffer
types crash on some CPUs, as with llama-cpp-python); pegtool serves in upstream mode in a thread
and the official ``openai`` client drives it: plain chat, tool_choice required / named (streamed)
/ auto with the e2e nudge, and response_format json_schema, each validated with ``jsonschema``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_support import free_port, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"


def _binary() -> str:
    if os.environ.get("PEGTOOL_LLAMA_SERVER"):
        return os.environ["PEGTOOL_LLAMA_SERVER"]
    try:
        from importlib.metadata import version

        cache = Path(os.environ.get("PEGTOOL_CACHE", Path.home() / ".cache" / "pegtool"))
        return str(cache / f"llama-server-{version('llama-cpp-python')}" / "build" / "llama-server")
    except Exception:  # noqa: BLE001 - no llama-cpp-python: nothing to find
        return ""


BINARY = _binary()

pytestmark = pytest.mark.skipif(not BINARY or not Path(BINARY).exists(),
                                reason="no llama-server binary: run .ci/build-llama-server or set PEGTOOL_LLAMA_SERVER")

WEATHER = {"type": "object", "properties": {"location": {"type": "string", "maxLength": 20}},
           "required": ["location"], "additionalProperties": False}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city",
                                            "parameters": WEATHER}}]
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]
GREEDY: dict[str, Any] = {"temperature": 0, "extra_body": {"repeat_penalty": 1.3}}


@pytest.fixture(scope="module")
def upstream(gemma_model_path: str) -> Iterator[str]:

    port = free_port()
    proc = subprocess.Popen([BINARY, "-m", gemma_model_path, "--host", "127.0.0.1", "--port", str(port),
                             "-c", "2048", "-t", "2", "-np", "1", "--no-repack"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, url, "llama-server", every=0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def client(upstream: str) -> Iterator[Any]:
    openai = pytest.importorskip("openai")
    from serve_support import running

    from pegtool.format import ChatFormat
    from pegtool.serve import UpstreamHost, create_app

    host = UpstreamHost(upstream, ChatFormat.load(TEMPLATE), "gemma-upstream")
    with running(create_app(host)) as url:
        yield openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=300)
    host.close()


def test_plain_chat(client: Any) -> None:
    out = client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Say hello."}],
                                         max_tokens=12, **GREEDY)
    assert isinstance(out.choices[0].message.content, str) and out.choices[0].finish_reason in ("stop", "length")
    assert out.usage.prompt_tokens > 0 and 0 < out.usage.completion_tokens <= 12


def test_required_call_validates(client: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    out = client.chat.completions.create(model="x", messages=ASK, tools=TOOLS, tool_choice="required",
                                         max_tokens=48, **GREEDY)
    call = out.choices[0].message.tool_calls[0]
    assert call.id and call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER)
    assert out.choices[0].finish_reason == "tool_calls"


def test_named_call_streamed(client: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    args, name, finish = "", None, None
    for chunk in client.chat.completions.create(
            model="x", messages=ASK, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}},
            max_tokens=48, stream=True, **GREEDY):
        if not chunk.choices:
            continue
        finish = chunk.choices[0].finish_reason or finish
        for part in chunk.choices[0].delta.tool_calls or []:
            name = name or part.function.name
            args += part.function.arguments or ""
    assert name == "get_weather" and finish == "tool_calls"
    jsonschema.validate(json.loads(args), WEATHER)


def test_auto_with_nudge(client: Any, gemma_model_path: str) -> None:
    from llama_cpp import Llama

    vocab = Llama(gemma_model_path, vocab_only=True, verbose=False)
    ids = vocab.tokenize(b"<tool_call>", add_bos=False, special=True)
    for strength in (4.0, 3.0, 5.0):
        out = client.chat.completions.create(model="x", messages=ASK, tools=TOOLS, tool_choice="auto", max_tokens=48,
                                             logit_bias={str(t): strength for t in ids}, **GREEDY)
        if out.choices[0].message.tool_calls:
            break
    assert out.choices[0].message.tool_calls[0].function.name == "get_weather"


def test_response_format_json_schema(client: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}},
              "required": ["city"], "additionalProperties": False}
    out = client.chat.completions.create(
        model="x", messages=[{"role": "user", "content": "Name a city in France, as JSON."}], max_tokens=30,
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}, **GREEDY)
    jsonschema.validate(json.loads(out.choices[0].message.content), schema)
