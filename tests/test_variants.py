"""Variants of detected dialects that models write but templates never render (issue 10):
each is read back as the calls it holds, reported in ``msg.diagnostics`` as a repair, streamed in
small chunks to the same message as a one-shot parse; the strict (rendered) form stays the only
one the family's GBNF accepts. Cases follow the real outputs recorded in the peers' public test
suites (vLLM tests/tool_parsers, SGLang test_function_call_parser.py, llama.cpp test-chat.cpp),
written here with this project's tools."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pegtool import ChatFormat
from pegtool.gbnf import Recognizer
from pegtool.messages import ChatMessage, apply_deltas
from pegtool.parser.repairs import python_as_json

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
TOOLS: list[dict[str, Any]] = json.loads((ROOT / "tests/fixtures/tools.json").read_text(encoding="utf-8"))
OPEN = [  # tools whose schemas admit any argument
    {"type": "function", "function": {"name": "run", "description": "run anything", "parameters": {}}},
    {"type": "function", "function": {"name": "note", "description": "a note",
                                      "parameters": {"type": "object", "additionalProperties": True}}},
    {"type": "function", "function": {"name": "tag", "description": "tag a file", "parameters": {
        "type": "object", "properties": {"file": {"type": "string"}}, "required": ["file"]}}},
]
MESSAGES = [{"role": "user", "content": "hi"}]

MISTRAL = "Mistral-Small-3.2-24B-Instruct-2506"
NEMO = "mistralai-Mistral-Nemo-Instruct-2407"
QWEN_CODER = "Qwen3-Coder"
QWEN35 = "Qwen3.5-4B"
GEMMA = "google-gemma-4-31B-it"
LLAMA31 = "meta-llama-Llama-3.1-8B-Instruct"
LLAMA32 = "meta-llama-Llama-3.2-3B-Instruct"
DSV31 = "deepseek-ai-DeepSeek-V3.1"
KIMI = "moonshotai-Kimi-K2"
KIMI_THINKING = "Kimi-K2-Thinking"
GLM = "GLM-4.6"
GLM47 = "GLM-4.7-Flash"
QWEN25 = "Qwen-Qwen2.5-7B-Instruct"

DS_CALLS, DS_CALLS_END = "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>"
DS_CALL, DS_SEP, DS_END = "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>"
K_SEC, K_SEC_END = "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>"
K_CALL, K_ARGS, K_END = "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>"
Q = '<|"|>'


@functools.cache
def _fmt(name: str) -> ChatFormat:
    return ChatFormat.load(ROOT / "templates" / f"{name}.jinja")


@functools.cache
def _prep(name: str, tool_set: str = "std", choice: str = "auto") -> Any:
    tools = TOOLS if tool_set == "std" else OPEN
    return _fmt(name).prepare(MESSAGES, tools=tools, tool_choice=choice, call_id_seed=0)


def _calls(msg: ChatMessage) -> list[tuple[str, Any]]:
    return [(c.name, json.loads(c.arguments)) for c in msg.tool_calls]


def _streamed(prep: Any, text: str, size: int) -> ChatMessage:
    stream = prep.parser.stream()
    for i in range(0, len(text), size):
        stream.feed(text[i:i + size])
    final: ChatMessage = stream.finish()
    assert apply_deltas(stream.deltas).to_openai() == final.to_openai()
    return final


def check(name: str, text: str, calls: list[tuple[str, Any]], content: str = "", reasoning: str = "",
          repaired: tuple[str, ...] = (), tool_set: str = "std") -> ChatMessage:
    """``text`` parses to ``calls`` (+ content / reasoning) with a repair diagnostic holding each
    of ``repaired`` (none when empty), and streams to the same message in 1-, 3- and 7-character
    chunks."""
    prep = _prep(name, tool_set)
    msg = prep.parser.parse(text)
    assert _calls(msg) == calls, msg
    assert msg.content.strip() == content
    assert msg.reasoning_content.strip() == reasoning
    notes = [d.message for d in msg.diagnostics]
    if repaired:
        for part in repaired:
            assert any(part in n and n.startswith("repaired: ") for n in notes), notes
    else:
        assert notes == [], notes
    for size in (1, 3, 7):
        assert _streamed(prep, text, size).to_openai() == msg.to_openai(), size
    return msg


def _strict_gbnf(name: str, tool_set: str = "std") -> Recognizer:
    grammar = _prep(name, tool_set, "required").grammar
    assert grammar is not None
    return _recognizer(grammar)


@functools.cache
def _recognizer(gbnf: str) -> Recognizer:
    return Recognizer(gbnf)


PARIS = {"location": "Paris"}
TOKYO = {"location": "東京", "unit": "celsius"}
CODE = {"code": "for i in range(3):\n    print(\"naïve – ok\", i)\n"}


# --- Mistral ---------------------------------------------------------------------------------------

def test_mistral_v11_without_call_id() -> None:
    # the form models emit: [CALL_ID] is optional (generated and read alike, no repair); the
    # call gets a 9-character id of pegtool's
    msg = check(MISTRAL, '[TOOL_CALLS]get_weather[ARGS]{"location": "Paris"}', [("get_weather", PARIS)])
    assert len(msg.tool_calls[0].id) == 9 and msg.tool_calls[0].id.isalnum()


def test_mistral_v11_parallel_each_with_marker_and_content_before() -> None:
    text = ('Let me check.[TOOL_CALLS]get_weather[ARGS]{"location": "東京", "unit": "celsius"}'
            '[TOOL_CALLS]python[ARGS]' + json.dumps(CODE, ensure_ascii=False))
    check(MISTRAL, text, [("get_weather", TOKYO), ("python", CODE)], content="Let me check.")


def test_mistral_name_then_json_without_args_marker() -> None:
    check(MISTRAL, '[TOOL_CALLS]get_weather{"location": "Paris"}[TOOL_CALLS]get_weather{"location": "東京", '
          '"unit": "celsius"}', [("get_weather", PARIS), ("get_weather", TOKYO)], repaired=("[ARGS]",))


def test_mistral_json_list_after_marker() -> None:
    # the older form (args before the name, the word "name" inside the arguments, a space after
    # the marker: cases of vLLM's Mistral tests)
    text = ('[TOOL_CALLS] [{"arguments": {"query": "name"}, "name": "search"}, '
            '{"name": "get_weather", "arguments": {"location": "Paris"}}]')
    check(MISTRAL, text, [("search", {"query": "name"}), ("get_weather", PARIS)], repaired=("JSON list",))


def test_mistral_strict_form_is_the_only_one_generated() -> None:
    gbnf = _strict_gbnf(MISTRAL)
    assert gbnf.accepts('[TOOL_CALLS]get_weather[CALL_ID]a1B2c3D4e[ARGS]{"location": "Paris"}')
    assert gbnf.accepts('[TOOL_CALLS]get_weather[ARGS]{"location": "Paris"}')  # [CALL_ID] optional
    assert not gbnf.accepts('[TOOL_CALLS]get_weather[CALL_ID]a1B2[ARGS]{"location": "Paris"}')
    assert not gbnf.accepts('[TOOL_CALLS]get_weather{"location": "Paris"}')
    msg = check(MISTRAL, '[TOOL_CALLS]get_weather[CALL_ID]a1B2c3D4e[ARGS]{"location": "Paris"}',
                [("get_weather", PARIS)])
    assert msg.tool_calls[0].id == "a1B2c3D4e"


def test_mistral_nemo_list_without_ids_and_name_first() -> None:
    check(NEMO, '[TOOL_CALLS][{"name": "get_weather", "arguments": {"location": "Paris"}}, '
          '{"name": "python", "arguments": ' + json.dumps(CODE) + "}]",
          [("get_weather", PARIS), ("python", CODE)], repaired=("layout or with keys",))
    check(NEMO, 'Sure.[TOOL_CALLS]get_weather{"location": "Paris"}[TOOL_CALLS]get_weather{"location": "東京", '
          '"unit": "celsius"}', [("get_weather", PARIS), ("get_weather", TOKYO)], content="Sure.",
          repaired=("name{arguments}",))
    gbnf = _strict_gbnf(NEMO)
    assert gbnf.accepts('[TOOL_CALLS][{"name": "get_weather", "arguments": {"location": "Paris"}, "id": "a1B2c3D4e"}]')
    assert not gbnf.accepts('[TOOL_CALLS]get_weather{"location": "Paris"}')


# --- Qwen3-Coder / Qwen3.5 ---------------------------------------------------------------------------

def _xml_call(name: str, args: dict[str, str], opener: bool = True) -> str:
    body = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in args.items())
    call = f"<function={name}>\n{body}</function>"
    return f"<tool_call>\n{call}\n</tool_call>" if opener else call


@pytest.mark.parametrize("name", [QWEN_CODER, QWEN35])
def test_qwen_xml_without_tool_call_opener(name: str) -> None:
    think = "ok\n</think>\n\n" if name == QWEN35 else ""  # its prompt opens a reasoning block
    reasoning = "ok" if think else ""
    check(name, think + _xml_call("get_weather", PARIS, opener=False), [("get_weather", PARIS)],
          reasoning=reasoning, repaired=("without its <tool_call> marker",))
    text = think + "I'll run two things.\n\n" + _xml_call("get_weather", TOKYO, False) + "\n" + \
        _xml_call("python", CODE, False) + "\n</tool_call>"
    check(name, text, [("get_weather", TOKYO), ("python", CODE)], content="I'll run two things.",
          reasoning=reasoning, repaired=("<tool_call>",))


def test_qwen_xml_prose_mentioning_function_stays_content() -> None:
    text = "Use <function=name> tags, e.g. <function=unknown_tool> to call."
    check(QWEN_CODER, text, [], content=text)


def test_qwen_reasoning_then_call_without_opener() -> None:
    text = "weather first\n</think>\n\n" + _xml_call("get_weather", PARIS, False)
    check(QWEN35, text, [("get_weather", PARIS)], reasoning="weather first", repaired=("<tool_call>",))


def test_qwen_marker_text_inside_a_value() -> None:
    code = {"code": 'print("</function>")\nprint("</parameter>")\nx = "</tool_call>"'}
    check(QWEN_CODER, _xml_call("python", code), [("python", code)])
    gbnf = _strict_gbnf(QWEN_CODER)
    assert gbnf.accepts(_xml_call("get_weather", PARIS))
    assert not gbnf.accepts(_xml_call("get_weather", PARIS, opener=False))


@pytest.mark.parametrize("name", [QWEN_CODER, GLM])
def test_tagged_dialects_read_any_argument_of_an_open_schema(name: str) -> None:
    if name == GLM:
        text = ("<tool_call>run\n<arg_key>cmd</arg_key>\n<arg_value>ls -la</arg_value>\n"
                "<arg_key>n</arg_key>\n<arg_value>3</arg_value>\n</tool_call>"
                "<tool_call>tag\n<arg_key>file</arg_key>\n<arg_value>a.txt</arg_value>\n"
                "<arg_key>colour</arg_key>\n<arg_value>红</arg_value>\n</tool_call>")
    else:
        text = (_xml_call("run", {"cmd": "ls -la", "n": "3"}) + "\n" + _xml_call("tag", {"file": "a.txt", "colour": "红"}))
    check(name, text, [("run", {"cmd": "ls -la", "n": 3}), ("tag", {"file": "a.txt", "colour": "红"})],
          tool_set="open")


# --- Gemma 4 -----------------------------------------------------------------------------------------

def test_gemma_call_without_tool_call_token() -> None:
    check(GEMMA, f"call:get_weather{{location:{Q}Paris{Q}}}", [("get_weather", PARIS)],
          repaired=("without its <|tool_call> marker",))
    text = (f"Checking.call:get_weather{{location:{Q}東京{Q},unit:{Q}celsius{Q}}}"
            f"call:search{{filters:{{lang:{Q}fr{Q},max_results:5}},query:{Q}a\nb{Q}}}")
    check(GEMMA, text, [("get_weather", TOKYO), ("search", {"filters": {"lang": "fr", "max_results": 5},
                                                           "query": "a\nb"})],
          content="Checking.", repaired=("<|tool_call>",))


def test_gemma_prose_with_call_word_stays_content() -> None:
    text = "To recall: call:me maybe, or call:get_weather later."
    check(GEMMA, text, [], content=text)


def test_gemma_json_quoted_and_bare_values() -> None:
    check(GEMMA, '<|tool_call>call:get_weather{location:"Paris",unit:celsius}<tool_call|>',
          [("get_weather", {"location": "Paris", "unit": "celsius"})], repaired=("JSON-quoted", "without <|\"|> quotes"))
    check(GEMMA, '<|tool_call>call:search{filters:{"lang": "fr", "max_results": 5},query:"q"}<tool_call|>',
          [("search", {"filters": {"lang": "fr", "max_results": 5}, "query": "q"})], repaired=("in JSON",))
    # nested objects and arrays with bare keys and JSON-quoted strings, several calls, unicode
    text = ('call:search{filters:{lang:"fr",max_results:5},query:"naïve\\n東京"}'
            'call:create_event{attendees:["a@b.c",<|"|>d@e.f<|"|>],priority:None,start:"2024-05-01T10:00:00Z",'
            'title:<|"|>Réunion<|"|>}')
    check(GEMMA, text, [("search", {"filters": {"lang": "fr", "max_results": 5}, "query": "naïve\n東京"}),
                        ("create_event", {"attendees": ["a@b.c", "d@e.f"], "priority": None,
                                          "start": "2024-05-01T10:00:00Z", "title": "Réunion"})],
          repaired=("<|tool_call>", "in JSON", "JSON-quoted"))
    gbnf = _strict_gbnf(GEMMA)
    assert gbnf.accepts(f"<|tool_call>call:get_weather{{location:{Q}Paris{Q}}}<tool_call|>")
    assert not gbnf.accepts('<|tool_call>call:get_weather{location:"Paris"}<tool_call|>')


# --- Llama 3.x -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [LLAMA31, LLAMA32])
def test_llama_json_variants(name: str) -> None:
    pretty = '{\n  "name": "get_weather",\n  "parameters": {\n    "location": "Paris"\n  }\n}'
    check(name, pretty, [("get_weather", PARIS)], repaired=("layout",))
    check(name, '<|python_tag|>{"name": "get_weather", "parameters": {"location": "Paris"}}',
          [("get_weather", PARIS)], repaired=("<|python_tag|>",))
    check(name, '{"name": "get_weather", "arguments": {"location": "東京", "unit": "celsius"}}',
          [("get_weather", TOKYO)], repaired=("layout",))
    check(name, '{"type": "function", "name": "python", "parameters": ' + json.dumps(CODE) + "}",
          [("python", CODE)], repaired=("layout",))
    check(name, '[{"name": "get_weather", "parameters": {"location": "Paris"}}, '
          '{"name": "get_weather", "parameters": {"location": "東京", "unit": "celsius"}}]',
          [("get_weather", PARIS), ("get_weather", TOKYO)], repaired=("JSON list",))
    check(name, '<|python_tag|>{"name": "get_weather", "parameters": {"location": "Paris"}}; '
          '{"name": "get_weather", "parameters": {"location": "東京", "unit": "celsius"}}',
          [("get_weather", PARIS), ("get_weather", TOKYO)], repaired=("<|python_tag|>",))


def test_llama_prose_and_unknown_tools_stay_content() -> None:
    text = 'Here is JSON: {"name": "Bob", "parameters": {}}'
    msg = _prep(LLAMA31).parser.parse(text)
    assert msg.tool_calls == () and msg.content == text
    text = '{\n  "name": "not_a_tool",\n  "parameters": {}\n}'
    msg = _prep(LLAMA31).parser.parse(text)
    assert msg.tool_calls == () and msg.content == text


def test_llama_strict_form() -> None:
    gbnf = _strict_gbnf(LLAMA31)
    assert gbnf.accepts('{"name": "get_weather", "parameters": {"location": "Paris"}}')
    assert not gbnf.accepts('{\n  "name": "get_weather",\n  "parameters": {"location": "Paris"}\n}')
    check(LLAMA31, '{"name": "get_weather", "parameters": {"location": "Paris"}}', [("get_weather", PARIS)])


# --- DeepSeek V3.1, Kimi K2 ------------------------------------------------------------------------

def _ds(name: str, args: Any) -> str:
    return f"{DS_CALL}{name}{DS_SEP}{json.dumps(args, ensure_ascii=False)}{DS_END}"


def test_deepseek_v31_without_section_markers() -> None:
    check(DSV31, _ds("get_weather", PARIS), [("get_weather", PARIS)],
          repaired=("without the <｜tool▁calls▁begin｜>", "without the <｜tool▁calls▁end｜>"))
    text = "Let me see." + DS_CALLS + _ds("get_weather", TOKYO) + _ds("python", CODE)
    check(DSV31, text, [("get_weather", TOKYO), ("python", CODE)], content="Let me see.",
          repaired=("<｜tool▁calls▁end｜>",))
    gbnf = _strict_gbnf(DSV31)
    assert gbnf.accepts(DS_CALLS + _ds("get_weather", PARIS) + DS_CALLS_END)
    assert not gbnf.accepts(_ds("get_weather", PARIS))


def test_deepseek_v31_reasoning_then_calls() -> None:
    text = "<think>need the weather</think>" + DS_CALLS + _ds("get_weather", PARIS) + DS_CALLS_END
    prep = _fmt(DSV31).prepare(MESSAGES, tools=TOOLS, enable_thinking=True, call_id_seed=0)
    msg = prep.parser.parse(text)
    assert _calls(msg) == [("get_weather", PARIS)] and "need the weather" in msg.reasoning_content
    assert _streamed(prep, text, 3).to_openai() == msg.to_openai()


def _kimi(name: str, i: int, args: Any) -> str:
    return f"{K_CALL}functions.{name}:{i}{K_ARGS}{json.dumps(args, ensure_ascii=False)}{K_END}"


@pytest.mark.parametrize("name", [KIMI, KIMI_THINKING])
def test_kimi_without_section_markers(name: str) -> None:
    check(name, _kimi("get_weather", 0, PARIS) + _kimi("python", 1, CODE), [("get_weather", PARIS), ("python", CODE)],
          repaired=("without the <|tool_calls_section_begin|>",))
    check(name, "ok " + K_SEC + _kimi("get_weather", 0, TOKYO), [("get_weather", TOKYO)], content="ok",
          repaired=("without the <|tool_calls_section_end|>",))


def test_kimi_thinking_calls_inside_think() -> None:
    text = "<think>I should look it up " + K_SEC + _kimi("get_weather", 0, PARIS) + K_SEC_END
    check(KIMI_THINKING, text, [("get_weather", PARIS)], reasoning="I should look it up")
    text = "<think>Two lookups.\n" + _kimi("get_weather", 0, PARIS) + _kimi("get_weather", 1, TOKYO)
    check(KIMI_THINKING, text, [("get_weather", PARIS), ("get_weather", TOKYO)], reasoning="Two lookups.",
          repaired=("without the <|tool_calls_section_begin|>",))


# --- GLM 4.5-4.7 -------------------------------------------------------------------------------------

def _glm(name: str, args: dict[str, str], nl: str = "\n") -> str:
    """A GLM call (4.5 / 4.6 put a newline between the parts; 4.7 writes them back to back)."""
    body = "".join(f"<arg_key>{k}</arg_key>{nl}<arg_value>{v}</arg_value>{nl}" for k, v in args.items())
    return f"<tool_call>{name}{nl}{body}</tool_call>"


@pytest.mark.parametrize("name", [GLM, GLM47])
def test_glm_closing_tag_inside_a_value(name: str) -> None:
    code = {"code": 'print("</arg_value>")\ns = "</tool_call>"'}
    think = "ok</think>" if name == GLM47 else ""  # its prompt opens a reasoning block
    nl = "" if name == GLM47 else "\n"
    check(name, think + _glm("python", code, nl), [("python", code)], reasoning=think[:2])
    check(name, think + "Two calls:" + _glm("python", code, nl) + "\n" + _glm("get_weather", TOKYO, nl),
          [("python", code), ("get_weather", TOKYO)], content="Two calls:", reasoning=think[:2])


def test_glm_value_holding_a_python_literal() -> None:
    text = _glm("set_alarm", {"time": "07:30", "repeat": "True", "days": "['mon', 'tue']"})
    check(GLM, text, [("set_alarm", {"time": "07:30", "repeat": True, "days": ["mon", "tue"]})],
          repaired=("Python literal",))


def test_glm_value_holding_json() -> None:
    text = _glm("search", {"query": "q", "filters": '{"lang": "fr", "max_results": 5}'})
    check(GLM, text, [("search", {"query": "q", "filters": {"lang": "fr", "max_results": 5}})])
    assert _strict_gbnf(GLM).accepts(_glm("get_weather", PARIS))


# --- arguments: a JSON-encoded string, a Python literal ------------------------------------------

def test_arguments_as_json_encoded_string() -> None:
    enc = json.dumps(json.dumps(TOKYO, ensure_ascii=False), ensure_ascii=False)
    check(QWEN25, '<tool_call>\n{"name": "get_weather", "arguments": ' + enc + "}\n</tool_call>",
          [("get_weather", TOKYO)], repaired=("JSON-encoded string",))
    check(MISTRAL, "[TOOL_CALLS]get_weather[ARGS]" + enc, [("get_weather", TOKYO)], repaired=("JSON-encoded",))
    check(DSV31, DS_CALLS + f"{DS_CALL}get_weather{DS_SEP}{enc}{DS_END}" + DS_CALLS_END, [("get_weather", TOKYO)],
          repaired=("JSON-encoded",))


def test_arguments_as_python_literal() -> None:
    text = "<tool_call>\n{'name': 'set_alarm', 'arguments': {'time': '07:30', 'repeat': True, 'days': ['mon']}}\n</tool_call>"
    check(QWEN25, text, [("set_alarm", {"time": "07:30", "repeat": True, "days": ["mon"]})], repaired=("Python literal",))
    check(DSV31, DS_CALLS + f"{DS_CALL}calculate{DS_SEP}{{'expression': '1+1', 'precision': None}}{DS_END}" + DS_CALLS_END,
          [("calculate", {"expression": "1+1", "precision": None})], repaired=("Python literal",))


def test_marker_text_inside_json_string() -> None:
    args = {"code": 'print("</tool_call>")  # the tag </tool_call>'}
    check(QWEN25, "<tool_call>\n" + json.dumps({"name": "python", "arguments": args}) + "\n</tool_call>",
          [("python", args)])


def test_python_as_json_keeps_layout() -> None:
    assert python_as_json("{'a': True, 'b': None}") == '{"a": true, "b": null}'
    assert python_as_json("{'it''s': 1}") == '{"its": 1}'
    assert python_as_json("not python") == "not python"


def test_unknown_tool_in_a_variant_is_never_a_call() -> None:
    for name, text in [(MISTRAL, '[TOOL_CALLS]nope[ARGS]{"a": 1}'), (QWEN_CODER, _xml_call("nope", {"a": "1"}, False)),
                       (GEMMA, "call:nope{a:1}"), (DSV31, _ds("nope", {"a": 1}))]:
        msg = _prep(name).parser.parse(text)
        assert msg.tool_calls == () and msg.content == text, name


STRICT_AND_VARIANT = [
    (MISTRAL, '[TOOL_CALLS]get_weather[ARGS]{"location": "Paris"}',
     '[TOOL_CALLS]get_weather{"location": "Paris"}'),
    (NEMO, '[TOOL_CALLS][{"name": "get_weather", "arguments": {"location": "Paris"}, "id": "a1B2c3D4e"}]',
     '[TOOL_CALLS]get_weather{"location": "Paris"}'),
    (QWEN_CODER, _xml_call("get_weather", PARIS), _xml_call("get_weather", PARIS, False)),
    (GEMMA, f"<|tool_call>call:get_weather{{location:{Q}Paris{Q}}}<tool_call|>",
     '<|tool_call>call:get_weather{location:"Paris"}<tool_call|>'),
    (LLAMA31, '{"name": "get_weather", "parameters": {"location": "Paris"}}',
     '{"name": "get_weather", "arguments": {"location": "Paris"}}'),
    (DSV31, DS_CALLS + _ds("get_weather", PARIS) + DS_CALLS_END, _ds("get_weather", PARIS)),
    (KIMI, K_SEC + _kimi("get_weather", 0, PARIS) + K_SEC_END, _kimi("get_weather", 0, PARIS)),
    (GLM, _glm("get_weather", {"location": "Paris"}), _glm("get_weather", {"location": '"Paris"', "x": "1"})),
]


@pytest.mark.parametrize(("name", "strict", "variant"), STRICT_AND_VARIANT, ids=[c[0] for c in STRICT_AND_VARIANT])
def test_generation_is_held_to_the_strict_form(name: str, strict: str, variant: str) -> None:
    """The strict form parses without a repair and the family's GBNF accepts it; the variant is
    read back (with a repair, or as a call at least) but never generated."""
    gbnf = _strict_gbnf(name)
    assert gbnf.accepts(strict) and not gbnf.accepts(variant)
    msg = _prep(name).parser.parse(strict)
    assert [c.name for c in msg.tool_calls] == ["get_weather"] and msg.diagnostics == ()
    assert [c.name for c in _prep(name).parser.parse(variant).tool_calls] == ["get_weather"]


def test_llama_cpp_accepts_strict_forms(llama_judge: Any) -> None:
    # the judge's Gemma vocabulary cannot spell DeepSeek's full-width markers (checked above by
    # the GBNF recognizer instead)
    for name, text, variant in [c for c in STRICT_AND_VARIANT if c[0] != DSV31]:
        grammar = _prep(name, "std", "required").grammar
        assert llama_judge.accepts(grammar, text), name
        assert not llama_judge.accepts(grammar, variant), name
        assert not llama_judge.accepts(grammar, text.replace("get_weather", "get_weather_x")), name


def test_repair_notes_survive_serialisation_and_one_side() -> None:
    from pegtool.grammar import ir
    from pegtool.grammar.builder import GrammarBuilder, lenient, lit
    from pegtool.grammar.printer import to_text
    from pegtool.grammar.variants import repair

    b = GrammarBuilder()
    b.define("root", lenient(lit("a"), lit("a") | repair("no a", lit("b"))))
    g = b.build("root")
    assert ir.loads(ir.dumps(g)) == g and "repair[no a]" in to_text(g)
    read = ir.one_side(g, "read")
    assert any(isinstance(n, ir.Capture) and n.note == "no a" for n in ir.walk(read["root"]))
    # an IR text written before notes existed still loads
    old = ir.dumps(g).replace(',"note":"no a"', "")
    assert ir.loads(old)["root"] != g["root"]
