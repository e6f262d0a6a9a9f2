"""The chat grammar built from an analysis parses model output into the OpenAI message parts."""

from __future__ import annotations

import json
from pathlib import Path

from pegtool.analysis import analyze
from pegtool.grammar.chat import build_chat_grammar
from pegtool.grammar.ir import Trigger, walk
from pegtool.parser.chat import ChatParser
from pegtool.template import load_template

ROOT = Path(__file__).resolve().parents[1]
TOOLS = [t for t in json.loads((ROOT / "tests/fixtures/tools.json").read_text())
         if t["function"]["name"] in ("get_weather", "search", "list_files")]


def parser(name: str, **kw):  # type: ignore[no-untyped-def]
    a = analyze(load_template(ROOT / "templates" / f"{name}.jinja"))
    return ChatParser(build_chat_grammar(a, TOOLS, **kw), id_seed=0)


def test_hermes_call_and_content() -> None:
    msg = parser("Qwen-Qwen2.5-7B-Instruct").parse(
        'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"location": "Paris"}}\n</tool_call>')
    assert msg.content.strip() == "Sure."
    assert msg.tool_calls[0].name == "get_weather"
    assert json.loads(msg.tool_calls[0].arguments) == {"location": "Paris"}


def test_tagged_string_stays_string() -> None:
    msg = parser("Qwen3-Coder").parse(
        "<tool_call>\n<function=search>\n<parameter=query>\n02134\n</parameter>\n</function>\n</tool_call>")
    assert json.loads(msg.tool_calls[0].arguments) == {"query": "02134"}


def test_reasoning_closed_then_content() -> None:
    msg = parser("Qwen-Qwen3-0.6B").parse("<think>\nhmm\n</think>\n\nHello")
    assert msg.reasoning_content.strip() == "hmm" and msg.content.strip() == "Hello"


def test_call_inside_open_reasoning_is_a_call() -> None:
    p = parser("Qwen3.5-4B", generation_prompt="<|im_start|>assistant\n<think>\n")
    msg = p.parse("let me look\n<tool_call>\n<function=list_files>\n</function>\n</tool_call>")
    assert msg.reasoning_content.strip() == "let me look"
    assert [c.name for c in msg.tool_calls] == ["list_files"]


def test_markup_quoted_in_closed_reasoning_is_not_a_call() -> None:
    p = parser("Qwen3.5-4B", generation_prompt="<|im_start|>assistant\n<think>\n")
    msg = p.parse("say <tool_call> maybe\n</think>\n\nNo call.")
    assert msg.tool_calls == () and "<tool_call>" in msg.reasoning_content


def test_tool_choice_none_keeps_markup_as_content() -> None:
    msg = parser("Qwen-Qwen2.5-7B-Instruct", tool_choice="none").parse("<tool_call>x</tool_call>")
    assert msg.tool_calls == () and "<tool_call>" in msg.content


def test_calls_region_is_one_trigger() -> None:
    a = analyze(load_template(ROOT / "templates/Qwen-Qwen2.5-7B-Instruct.jinja"))
    g = build_chat_grammar(a, TOOLS)
    triggers = [n for _, r in g.rules for n in walk(r) if isinstance(n, Trigger)]
    assert len(triggers) == 1


ALL_TOOLS = json.loads((ROOT / "tests/fixtures/tools.json").read_text())


def full_parser(name: str, **kw):  # type: ignore[no-untyped-def]
    a = analyze(load_template(ROOT / "templates" / f"{name}.jinja"))
    return ChatParser(build_chat_grammar(a, ALL_TOOLS, **kw), id_seed=0)


def _args(msg) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(c.arguments) for c in msg.tool_calls]


def test_python_style_scalars_in_tagged_values() -> None:
    msg = full_parser("Qwen3-Coder").parse(
        "<tool_call>\n<function=set_alarm>\n<parameter=time>\n07:30\n</parameter>\n<parameter=repeat>\nTrue\n"
        "</parameter>\n<parameter=days>\n['mon']\n</parameter>\n</function>\n</tool_call>")
    assert _args(msg) == [{"time": "07:30", "repeat": True, "days": ["mon"]}]


def test_pythonic_call_with_quote_in_raw_string() -> None:
    msg = full_parser("LFM2.5-8B-A1B").parse(
        "<|tool_call_start|>[python(code='x = {'a': 1}'), calculate(expression='1', precision=None)]"
        "<|tool_call_end|>")
    assert [c.name for c in msg.tool_calls] == ["python", "calculate"]
    assert _args(msg) == [{"code": "x = {'a': 1}"}, {"expression": "1", "precision": None}]


def test_cdata_wrapper_is_stripped() -> None:
    msg = full_parser("openbmb-MiniCPM5-1B").parse(
        '<function name="python"><param name="code"><![CDATA[a < b\nc]]></param></function>')
    assert _args(msg) == [{"code": "a < b\nc"}]


def test_call_after_end_of_turn_marker() -> None:
    msg = full_parser("GigaChat3-10B-A1.8B").parse(
        'Checking.<|message_sep|>\n\nfunction call<|role_sep|>\n{"name": "list_files", "arguments": {}}')
    assert msg.content.strip() == "Checking." and [c.name for c in msg.tool_calls] == ["list_files"]
    assert full_parser("GigaChat3-10B-A1.8B").parse("Done.<|message_sep|>").content.strip() == "Done."


def test_content_after_calls_before_turn_end() -> None:
    msg = full_parser("google-gemma-4-31B-it").parse(
        '<|tool_call>call:list_files{}<tool_call|>Let me check.<|tool_response>')
    assert [c.name for c in msg.tool_calls] == ["list_files"] and msg.content.strip() == "Let me check."
