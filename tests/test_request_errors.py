"""Client mistakes in a request fail early with a RequestError naming the field and the fix
(a server maps it to a 4xx); model-output problems never raise it."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

import pegtool
from pegtool.cli import EXIT_INPUT, main
from pegtool.errors import PegtoolError, RequestError

ROOT = Path(__file__).resolve().parent.parent
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
USER = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}


@pytest.fixture(scope="module")
def qwen() -> pegtool.ChatFormat:
    return pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")


def _error(fmt: pegtool.ChatFormat, messages: Any = USER, tools: Any = None, **kw: Any) -> RequestError:
    with pytest.raises(RequestError) as info:
        fmt.prepare(messages, tools, **kw)
    assert isinstance(info.value, PegtoolError)
    return info.value


def test_request_error_is_exported_and_distinct_from_model_errors() -> None:
    assert pegtool.RequestError is RequestError
    assert not issubclass(RequestError, pegtool.ParseError) and issubclass(RequestError, pegtool.PegtoolError)


@pytest.mark.parametrize("choice", ["any", "bogus", "Auto", ""])
def test_unknown_tool_choice_string(qwen: pegtool.ChatFormat, choice: str) -> None:
    err = _error(qwen, tools=TOOLS, tool_choice=choice)
    assert err.field == "tool_choice" and repr(choice) in str(err) and '"required"' in str(err)


def test_tool_choice_naming_an_unoffered_tool(qwen: pegtool.ChatFormat) -> None:
    err = _error(qwen, tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "search"}})
    assert err.field == "tool_choice.function.name"
    assert "'search'" in str(err) and "offered tools: 'get_weather'" in str(err)


@pytest.mark.parametrize("choice, field", [
    ({"type": "function"}, "tool_choice.function"),
    ({"type": "function", "function": {}}, "tool_choice.function"),
    ({"type": "function", "function": {"name": 3}}, "tool_choice.function"),
    ({"type": "retrieval", "function": {"name": "get_weather"}}, "tool_choice.type"),
    (["get_weather"], "tool_choice"),
])
def test_malformed_tool_choice_objects(qwen: pegtool.ChatFormat, choice: Any, field: str) -> None:
    assert _error(qwen, tools=[WEATHER], tool_choice=choice).field == field


def test_well_formed_named_choice_still_works(qwen: pegtool.ChatFormat) -> None:
    prep = qwen.prepare(USER, [WEATHER], tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert prep.grammar and not prep.grammar_lazy


def test_required_without_tools(qwen: pegtool.ChatFormat) -> None:
    assert _error(qwen, tool_choice="required").field == "tool_choice"


def test_unknown_parameter_type_reported_like_pegtool_schema(qwen: pegtool.ChatFormat, capsys: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    schema = {"type": "object", "properties": {"q": {"type": "strng"}}}
    tool = {"type": "function", "function": {"name": "search", "parameters": schema}}
    err = _error(qwen, tools=[tool])
    assert err.field == "tools[0].function.parameters" and "'search'" in str(err)
    assert isinstance(err, pegtool.SchemaError)  # also what `pegtool schema` raises
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(schema)))
    assert main(["schema", "-"]) == EXIT_INPUT
    schema_message = capsys.readouterr().err.removeprefix("pegtool: error: ").strip()
    assert schema_message and schema_message in str(err)


@pytest.mark.parametrize("tool, field", [
    ({"type": "function", "function": {"parameters": {}}}, "tools[0].function.name"),
    ({"type": "function", "function": {"name": "", "parameters": {}}}, "tools[0].function.name"),
    ({"type": "function", "function": {"name": 42}}, "tools[0].function.name"),
    ({"name": 7, "parameters": {}}, "tools[0].name"),
    ({"type": "function", "function": "get_weather"}, "tools[0].function"),
    ({"type": "code_interpreter", "function": {"name": "x"}}, "tools[0].type"),
    ("get_weather", "tools[0]"),
    ({"type": "function", "function": {"name": "f", "parameters": "object"}}, "tools[0].function.parameters"),
])
def test_broken_tools(qwen: pegtool.ChatFormat, tool: Any, field: str) -> None:
    err = _error(qwen, tools=[tool])
    assert err.field == field


def test_single_tool_object_instead_of_a_list(qwen: pegtool.ChatFormat) -> None:
    err = _error(qwen, tools=WEATHER)
    assert err.field == "tools" and "wrap it as [tool]" in str(err)


def test_duplicate_tool_names(qwen: pegtool.ChatFormat) -> None:
    assert "offered twice" in str(_error(qwen, tools=[WEATHER, WEATHER]))


def test_history_arguments_that_are_not_json(qwen: pegtool.ChatFormat) -> None:
    history = [*USER, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{'location': 'Paris'}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]
    err = _error(qwen, history, [WEATHER])
    assert err.field == "messages[1].tool_calls[0].function.arguments" and "not valid JSON" in str(err)
    history[1]["tool_calls"][0]["function"]["arguments"] = "[1, 2]"
    assert "JSON object" in str(_error(qwen, history, [WEATHER]))
    history[1]["tool_calls"][0]["function"]["arguments"] = '{"location": "Paris"}'
    assert "sunny" in qwen.prepare(history, [WEATHER]).prompt
    history[1]["tool_calls"][0]["function"]["arguments"] = {"location": "Paris"}  # a dict is accepted as is
    assert "sunny" in qwen.prepare(history, [WEATHER]).prompt


@pytest.mark.parametrize("messages, field", [
    ([], "messages"),
    ({"role": "user", "content": "hi"}, "messages"),
    ("hi", "messages"),
    ([{"content": "hi"}], "messages[0].role"),
    (["hi"], "messages[0]"),
    ([{"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"arguments": "{}"}}]}],
     "messages[0].tool_calls[0].function.name"),
])
def test_broken_message_lists(qwen: pegtool.ChatFormat, messages: Any, field: str) -> None:
    assert _error(qwen, messages).field == field


@pytest.mark.parametrize("value", ["deepseek_legacy", "think", "NONE", 1])
def test_unknown_reasoning_format(qwen: pegtool.ChatFormat, value: Any) -> None:
    err = _error(qwen, reasoning_format=value)
    assert err.field == "reasoning_format" and "deepseek-legacy" in str(err)


def test_cli_request_rejects_an_empty_message_list(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "m.json"
    path.write_text("[]")
    qwen = str(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")
    assert main(["request", qwen, "--messages", str(path)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "messages: is empty" in err and "Hello" not in err
    path.write_text(json.dumps({"messages": []}))
    assert main(["request", qwen, "--messages", str(path)]) == EXIT_INPUT


def test_integration_rejects_client_mistakes(qwen: pegtool.ChatFormat) -> None:
    from pegtool.integrations.llama_cpp import prepare_request

    with pytest.raises(RequestError, match="messages"):
        prepare_request(qwen, {"tools": [WEATHER]})
    with pytest.raises(RequestError, match="tool_choice"):
        prepare_request(qwen, {"messages": USER, "tools": [WEATHER], "tool_choice": "any"})


def test_cli_reports_a_single_tool_object(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "tool.json"
    path.write_text(json.dumps(WEATHER))
    qwen = str(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")
    assert main(["grammar", qwen, "--tools", str(path)]) == EXIT_INPUT
    assert "tools: got a single tool object" in capsys.readouterr().err
