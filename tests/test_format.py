"""ChatFormat.prepare: the constraint each tool_choice / response_format yields, and the
llama-server body fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import pegtool

ROOT = Path(__file__).resolve().parent.parent
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
USER = [{"role": "user", "content": "What is the weather in Paris?"}]
CALL = '<tool_call>\n{"name": "python", "arguments": {"code": "print(1)"}}\n</tool_call>'


@pytest.fixture(scope="module")
def qwen() -> pegtool.ChatFormat:
    return pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")


def test_auto_is_lazy_with_word_trigger_preserved(qwen: pegtool.ChatFormat) -> None:
    prep = qwen.prepare(USER, TOOLS)
    body = prep.to_llama_server()
    assert body["grammar_lazy"] is True and body["grammar_triggers"]
    words = [t["value"] for t in body["grammar_triggers"] if t["type"] == 1]
    assert set(words) <= set(body["preserved_tokens"])
    assert not any(t["value"].startswith("[\\s\\S]*") for t in body["grammar_triggers"])


def test_required_and_named_are_eager(qwen: pegtool.ChatFormat, llama_judge: Any) -> None:
    for choice in ("required", {"type": "function", "function": {"name": "python"}}):
        prep = qwen.prepare(USER, TOOLS, tool_choice=choice)
        assert not prep.grammar_lazy and prep.grammar
        assert llama_judge.accepts(prep.grammar, CALL)
    named = qwen.prepare(USER, TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert named.grammar and not llama_judge.accepts(named.grammar, CALL)


def test_none_has_no_grammar_and_markup_stays_content(qwen: pegtool.ChatFormat) -> None:
    prep = qwen.prepare(USER, TOOLS, tool_choice="none")
    assert prep.grammar is None and "grammar" not in prep.to_llama_server()
    msg = prep.parser.parse("Sure: " + CALL)
    assert msg.tool_calls == () and msg.content == "Sure: " + CALL


def test_response_format_constrains_content(qwen: pegtool.ChatFormat, llama_judge: Any) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    prep = qwen.prepare(USER, response_format={"type": "json_schema", "json_schema": {"schema": schema}})
    assert prep.grammar and not prep.grammar_lazy
    assert llama_judge.accepts(prep.grammar, '{"a": 3}')
    assert not llama_judge.accepts(prep.grammar, '{"a": "x"}')
    assert prep.parser.parse('{"a": 3}').content == '{"a": 3}'


def test_unoffered_tool_is_not_a_call(qwen: pegtool.ChatFormat) -> None:
    prep = qwen.prepare(USER, TOOLS)
    text = '<tool_call>\n{"name": "rm_rf", "arguments": {}}\n</tool_call>'
    msg = prep.parser.parse(text)
    assert msg.tool_calls == () and msg.content == text and msg.diagnostics


def test_bare_tools_are_accepted(qwen: pegtool.ChatFormat) -> None:
    bare = [t["function"] for t in TOOLS]
    assert qwen.prepare(USER, bare).prompt == qwen.prepare(USER, TOOLS).prompt


def test_prompt_without_doubled_bos() -> None:
    fmt = pegtool.ChatFormat.from_template("{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}", bos_token="<s>")
    prep = fmt.prepare(USER)
    assert prep.prompt.startswith("<s>") and not prep.to_llama_server()["prompt"].startswith("<s>")


def test_thinking_forced_open_form(qwen: pegtool.ChatFormat) -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen3.5-4B.jinja")
    body = fmt.prepare(USER, enable_thinking=True).to_llama_server(thinking_forced_open=True)
    assert body["thinking_forced_open"] is True and "generation_prompt" not in body


def test_strict_parse_raises_with_caret(qwen: pegtool.ChatFormat) -> None:
    prep = qwen.prepare(USER, TOOLS)
    with pytest.raises(pegtool.ParseError) as info:
        prep.parser.parse('<tool_call>\n{"name": "python", "arguments": {"code": }}\n</tool_call>', strict=True)
    assert "^" in info.value.context()


def test_arguments_breaking_the_schema_are_still_a_call(qwen: pegtool.ChatFormat) -> None:
    """The grammar holds generation to the schema; reading keeps any JSON object as the call's
    arguments (key order, wrong types), so a call never leaks into content."""
    prep = qwen.prepare(USER, TOOLS)
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"unit": "kelvin", "location": "Oslo"}}\n</tool_call>'
    msg = prep.parser.parse(text, strict=True)
    assert msg.content == "" and msg.tool_calls[0].name == "get_weather"
    assert json.loads(msg.tool_calls[0].arguments) == {"unit": "kelvin", "location": "Oslo"}
    from pegtool.gbnf.recognizer import Recognizer

    eager = qwen.prepare(USER, TOOLS, tool_choice="required")
    assert not Recognizer(str(eager.grammar)).accepts_prefix(text)
    assert Recognizer(str(eager.grammar)).accepts(text.replace('"unit": "kelvin", ', "") + "\n")
