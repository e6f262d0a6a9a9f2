"""End-to-end: real constrained decoding with llama-cpp-python and the Gemma 3 270M GGUF (CPU).

For each dialect, pegtool renders the prompt from the dialect's own chat template, builds the
grammar, llama.cpp's sampler enforces it, and pegtool parses the raw text back:

* tool_choice "required" and a named tool -> calls whose arguments validate against the tool's
  JSON schema (``jsonschema``);
* tool_choice "auto" -> a lazy grammar. The 270M model is not a tool-calling model and seldom
  writes a dialect's trigger on its own, so the request adds a logit bias towards the tokens of
  the trigger text, and the conversation may carry one earlier call of the same tool (a few-shot
  history rendered by the template itself). The first of a few such prompts that gets the model
  to write the trigger is used; nothing is appended to the prompt. The text before the trigger is
  free; from the trigger on it must be accepted by the lazy GBNF (checked with llama.cpp's own
  grammar engine);
* streaming yields the same final message as the non-streamed call.

Greedy decoding with a repeat penalty (the tiny model otherwise loops inside strings), small ``max_tokens``, a three-tool subset of tests/fixtures/tools.json to keep
prompts short, and one model load per session.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from integration_support import load_llama  # noqa: E402

jsonschema = pytest.importorskip("jsonschema")

DIALECTS = {
    "qwen2.5-json": "Qwen-Qwen2.5-7B-Instruct.jinja",
    "hermes3-json": "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
    "qwen3-coder-xml": "Qwen3-Coder.jinja",
    "mistral-nemo": "mistralai-Mistral-Nemo-Instruct-2407.jinja",
    "llama3.1-json": "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "glm-4.6": "GLM-4.6.jinja",
    "gemma-4": "google-gemma-4-31B-it.jinja",
}
TOOL_NAMES = ("get_weather", "calculate", "search")
#: Hermes 3's template cannot render calculate's ``["integer", "null"]`` (its type macro recurses
#: without end, as in HF), so that dialect gets three other tools of the set, set_alarm's
#: ``pattern`` included.
DIALECT_TOOLS = {"hermes3-json": ("get_weather", "set_alarm", "fs.read-file")}
NAMED = {"hermes3-json": "set_alarm"}
MAX_TOKENS = 90
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]
HISTORY = [
    {"role": "user", "content": "What's the weather in Rome?"},
    {"role": "assistant", "content": "", "tool_calls": [{
        "id": "call00001", "type": "function",
        "function": {"name": "get_weather", "arguments": {"location": "Rome"}}}]},
    {"role": "tool", "tool_call_id": "call00001", "name": "get_weather", "content": '{"temp": 21}'},
    {"role": "assistant", "content": "It is 21 degrees in Rome."},
    {"role": "user", "content": "What's the weather in Paris?"},
]

#: Prompts for "auto", tried in order until the model writes the trigger: (conversation, which
#: tokens of the trigger text get a logit bias, how much).
AUTO_PROMPTS = [("history", "all", 3.0), ("ask", "all", 2.0), ("ask", "all", 3.0), ("history", "first", 8.0)]

_formats: dict[str, Any] = {}


def _tool_names(dialect: str) -> tuple[str, ...]:
    return DIALECT_TOOLS.get(dialect, TOOL_NAMES)


def _tools(dialect: str) -> list[dict[str, Any]]:
    tools = json.loads((ROOT / "tests" / "fixtures" / "tools.json").read_text())
    return [t for t in tools if t["function"]["name"] in _tool_names(dialect)]


def _schemas(dialect: str) -> dict[str, Any]:
    return {t["function"]["name"]: t["function"]["parameters"] for t in _tools(dialect)}


def _format(dialect: str) -> Any:
    from pegtool.format import ChatFormat

    if dialect not in _formats:
        _formats[dialect] = ChatFormat.load(ROOT / "templates" / DIALECTS[dialect])
    return _formats[dialect]


def _request(dialect: str, messages: list[dict[str, Any]], tool_choice: Any, **extra: Any) -> dict[str, Any]:
    return {"messages": messages, "tools": _tools(dialect), "tool_choice": tool_choice,
            "temperature": 0, "repeat_penalty": 1.3, "max_tokens": MAX_TOKENS, **extra}


def _run(dialect: str, request: dict[str, Any]) -> Any:
    """One generation from a reset model state. llama.cpp reuses the cached prompt prefix of the
    previous request, and greedy decoding on CPU is not bit-stable across batch shapes, so without
    the reset a test's output would depend on which test ran before it."""
    from pegtool.integrations.llama_cpp import chat_completion

    llama = load_llama()
    llama.reset()
    return chat_completion(llama, request, chat_format=_format(dialect))


def _assert_valid_calls(dialect: str, out: dict[str, Any], names: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    message = out["choices"][0]["message"]
    raw = out["pegtool"]["raw_text"]
    calls = message.get("tool_calls") or []
    assert calls, f"no tool call parsed from {raw!r}"
    names = names or _tool_names(dialect)
    schemas = _schemas(dialect)
    for call in calls:
        fn = call["function"]
        assert fn["name"] in names, raw
        jsonschema.validate(json.loads(fn["arguments"]), schemas[fn["name"]])
        assert call["id"]
    assert out["choices"][0]["finish_reason"] in ("tool_calls", "length"), raw
    return calls


@pytest.mark.parametrize("dialect", DIALECTS)
def test_required_call_validates(dialect: str) -> None:
    _assert_valid_calls(dialect, _run(dialect, _request(dialect, ASK, "required")))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_named_tool_call_validates(dialect: str) -> None:
    name = NAMED.get(dialect, "calculate")
    named = {"type": "function", "function": {"name": name}}
    calls = _assert_valid_calls(dialect, _run(dialect, _request(dialect, ASK, named)), names=(name,))
    assert {c["function"]["name"] for c in calls} == {name}


def _calls_of(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls") or []]


STREAM_KNOWN: dict[str, str] = {}  # dialects whose stream may differ from the one-shot parse: none


@pytest.mark.parametrize("dialect", [pytest.param(d, marks=pytest.mark.xfail(reason=STREAM_KNOWN[d], strict=False))
                                     if d in STREAM_KNOWN else d for d in DIALECTS])
def test_streaming_equals_non_streamed(dialect: str) -> None:
    """The streamed chunks of a real generation equal the plain completion of the *same* text.

    Two separate generations are not compared: their texts may differ on another machine (see
    ``_run``); what streaming promises is that its deltas add up to the one-shot parse."""
    from pegtool.integrations.llama_cpp import prepare_request
    from pegtool.integrations.openai_shapes import completion_object, finish_reason
    from pegtool.messages import apply_deltas

    request = _request(dialect, ASK, "required")
    chunks = list(_run(dialect, {**request, "stream": True}))
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"].get("role") == "assistant"
    raw = chunks[-1]["pegtool"]["raw_text"]
    streamed = apply_deltas([c["choices"][0]["delta"] for c in chunks]).to_openai()
    prep = prepare_request(_format(dialect), request)
    parsed = prep.parser.parse(raw)
    message = completion_object(parsed, finish=finish_reason(parsed, "stop"))["choices"][0]["message"]
    assert _calls_of(streamed) == _calls_of(message), raw
    assert all(c["id"] for c in streamed.get("tool_calls") or []), raw
    assert (streamed.get("content") or None) == (message.get("content") or None), raw
    assert streamed.get("reasoning_content") == message.get("reasoning_content"), raw
    # the streamed calls are real calls too
    _assert_valid_calls(dialect, {"choices": [{"message": streamed,
                                               "finish_reason": chunks[-1]["choices"][0]["finish_reason"]}],
                                  "pegtool": {"raw_text": raw}})


def _trigger_bias(prep: Any, tokens: str, strength: float) -> tuple[str, dict[str, float]]:
    """The trigger's literal text and a logit bias towards its tokens (all, or the first)."""
    trig = prep.grammar_triggers[0]
    text = trig["value"] if trig["type"] in (0, 1) else _literal_of(trig["value"])
    ids = load_llama().tokenize(text.encode(), add_bos=False, special=True)
    return text, {str(t): strength for t in (ids if tokens == "all" else ids[:1])}


def _literal_of(pattern: str) -> str:
    group = re.search(r"\(((?:\\.|[^()\\])*)\)", pattern)
    assert group, pattern
    return re.sub(r"\\(.)", r"\1", group.group(1))


def _trigger_position(trigger: dict[str, Any], raw: str, text: str) -> int:
    """Where the lazy grammar started: a word's position, or a pattern's first capture group."""
    if trigger["type"] in (0, 1):
        return raw.find(text)
    found = re.search(trigger["value"], raw)
    return found.start(1) if found else -1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_auto_lazy_grammar_takes_over_at_the_trigger(dialect: str) -> None:
    from pegtool.gbnf.llama import LlamaGrammarJudge
    from pegtool.integrations.llama_cpp import prepare_request

    tried = []
    for conversation, tokens, strength in AUTO_PROMPTS:
        messages = HISTORY if conversation == "history" else ASK
        prep = prepare_request(_format(dialect), _request(dialect, messages, "auto"))
        assert prep.grammar_lazy and prep.grammar_triggers
        trigger_text, bias = _trigger_bias(prep, tokens, strength)
        out = _run(dialect, _request(dialect, messages, "auto", logit_bias=bias))
        raw = out["pegtool"]["raw_text"]
        start = _trigger_position(prep.grammar_triggers[0], raw, trigger_text)
        if start >= 0:
            break
        tried.append(raw)
    assert start >= 0, f"the model never wrote the trigger: {tried!r}"
    _assert_valid_calls(dialect, out)
    tail = raw[start:]
    judge = LlamaGrammarJudge(load_llama().model_path)
    check = judge.accepts_prefix if out["choices"][0]["finish_reason"] == "length" else judge.accepts
    assert check(prep.grammar, tail) or judge.accepts_prefix(prep.grammar, tail), tail
