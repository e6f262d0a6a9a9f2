"""Tests for pegtool.integrations.llama_cpp / generate on the Gemma 3 270M model (CPU).

A hand-built Hermes-style chat grammar (tests/integration_support.py) keeps these independent of
template analysis; the per-dialect end-to-end tests live in tests/e2e/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pegtool.errors import PegtoolError, TemplateError
from pegtool.messages import apply_deltas

sys.path.insert(0, str(Path(__file__).parent))
from integration_support import GEMMA_PROMPT, hermes_prepared, load_llama  # noqa: E402

GREEDY = {"temperature": 0, "max_tokens": 60}


def test_prompt_tokens_has_exactly_one_bos() -> None:
    from pegtool.integrations.generate import prompt_tokens

    llama = load_llama()
    bos = llama.token_bos()
    for prompt in ("<bos>hello", "hello"):
        toks = prompt_tokens(llama, prompt)
        assert toks[0] == bos and bos not in toks[1:]
    assert prompt_tokens(llama, "[BOS]hello", bos_token="[BOS]") == prompt_tokens(llama, "hello")


def test_required_completion_object() -> None:
    from pegtool.integrations.llama_cpp import complete

    llama = load_llama()
    prep = hermes_prepared(GEMMA_PROMPT.format(question="Weather in Paris?"), required=True)
    out = complete(llama, prep, GREEDY)
    choice = out["choices"][0]
    assert out["object"] == "chat.completion" and choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather" and call["id"]
    assert "location" in json.loads(call["function"]["arguments"])
    assert out["usage"]["completion_tokens"] > 0
    assert out["pegtool"]["raw_text"].lstrip().startswith("<tool_call>")


def test_stream_equals_the_whole_completion() -> None:
    from pegtool.integrations.llama_cpp import complete

    llama = load_llama()
    prep = hermes_prepared(GEMMA_PROMPT.format(question="Weather in Rome?"), required=True)
    whole = complete(llama, prep, GREEDY)["choices"][0]
    chunks = list(complete(llama, hermes_prepared(prep.prompt, required=True), {**GREEDY, "stream": True}))
    assert chunks[-1]["choices"][0]["finish_reason"] == whole["finish_reason"]
    streamed = apply_deltas([c["choices"][0]["delta"] for c in chunks]).to_openai()
    assert streamed["tool_calls"] == whole["message"]["tool_calls"]


def test_length_finish_and_stop_strings() -> None:
    from pegtool.integrations.llama_cpp import complete

    llama = load_llama()
    prompt = GEMMA_PROMPT.format(question="Write a short poem about the sea.")
    out = complete(llama, hermes_prepared(prompt), {"temperature": 0, "max_tokens": 12})
    assert out["choices"][0]["finish_reason"] == "length" and out["usage"]["completion_tokens"] == 12
    full = out["choices"][0]["message"]["content"]
    stop = full[len(full) // 2:len(full) // 2 + 3]
    out = complete(llama, hermes_prepared(prompt), {"temperature": 0, "max_tokens": 12, "stop": [stop]})
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["choices"][0]["message"]["content"] == full[:full.index(stop)]


def test_gguf_without_template_asks_for_a_chat_format() -> None:
    from pegtool.integrations.llama_cpp import chat_completion

    with pytest.raises(TemplateError, match="chat_format"):
        chat_completion(load_llama(), {"messages": [{"role": "user", "content": "hi"}]})


def test_chat_handler_plugs_into_create_chat_completion(tmp_path: Path) -> None:
    from pegtool.format import ChatFormat
    from pegtool.integrations.llama_cpp import PegtoolChatHandler

    llama = load_llama()
    tpl = Path(__file__).parent.parent / "templates" / "mistralai-Mistral-Nemo-Instruct-2407.jinja"
    handler = PegtoolChatHandler(ChatFormat.load(tpl))
    old, llama.chat_handler = llama.chat_handler, handler
    try:
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"location": {"type": "string", "maxLength": 12}},
            "required": ["location"], "additionalProperties": False}}}]
        out = llama.create_chat_completion(
            messages=[{"role": "user", "content": "Weather in Oslo?"}], tools=tools,
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            temperature=0, max_tokens=80)
        assert out["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
        with pytest.raises(PegtoolError):
            handler(llama=llama, messages=[], grammar=object())
    finally:
        llama.chat_handler = old
