"""Regression tests for hostile templates, hostile output and careless clients (issue 13):
every failure is a typed :class:`PegtoolError`, every budget holds, no output is lost."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from pegtool import ChatFormat
from pegtool.errors import AnalysisError, PegtoolError, RequestError, SchemaError, TemplateError
from pegtool.gbnf import json_schema_to_gbnf
from pegtool.template import Renderer, TemplateSource, load_template, sandbox
from pegtool.template.sandbox import OperationTimeout, RenderLimitError

ROOT = Path(__file__).resolve().parents[1]
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text(encoding="utf-8"))
USER = [{"role": "user", "content": "hi"}]
SIMPLE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}"


@pytest.fixture(scope="module")
def qwen() -> ChatFormat:
    return ChatFormat.load(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")


def _tool(parameters: Any, name: Any = "f") -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": name, "parameters": parameters}}]


# --- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "{{" + "(" * 2000 + "1" + ")" * 2000 + "}}",
    "{% if 1 %}" * 500 + "x" + "{% endif %}" * 500,
])
def test_deeply_nested_template_syntax_is_a_template_error(text: str) -> None:
    with pytest.raises(TemplateError, match="nesting too deep"):
        ChatFormat.from_template(text).render(USER)


def test_empty_variant_list(tmp_path: Path) -> None:
    p = tmp_path / "tokenizer_config.json"
    p.write_text('{"chat_template": []}')
    with pytest.raises(TemplateError, match="empty list"):
        load_template(p)


def test_deeply_nested_tokenizer_config(tmp_path: Path) -> None:
    p = tmp_path / "tokenizer_config.json"
    p.write_text('{"chat_template": "x", "a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(TemplateError, match="nested too deeply"):
        load_template(p)


def _gguf_with_nested_arrays(path: Path, depth: int) -> Path:
    """A GGUF header whose one metadata value is an array of arrays ``depth`` levels deep."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, 0, 1))
    key = b"evil"
    out += struct.pack("<Q", len(key)) + key + struct.pack("<I", 9)
    for _ in range(depth):
        out += struct.pack("<IQ", 9, 1)  # array of one array
    out += struct.pack("<IQ", 4, 0)  # innermost: empty array of uint32
    path.write_bytes(bytes(out))
    return path


def test_gguf_nested_arrays_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="nested deeper"):
        load_template(_gguf_with_nested_arrays(tmp_path / "m.gguf", 5000))


def test_constant_folding_is_bounded_at_compile_time() -> None:
    # jinja folds constant filter calls at compile time, outside any render: refused there
    text = "{% if false %}{{ 'x'|center(1000000000) }}{% endif %}ok"
    assert ChatFormat.from_template(text).render(USER) == "ok"
    with pytest.raises(RenderLimitError, match="size bound"):
        ChatFormat.from_template("{{ 'x'|center(1000000000) }}").render(USER)


@pytest.mark.parametrize("text", [
    "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{% set xs = ['x'] %}{% for i in range(40) %}{% set _ = xs.extend(xs) %}{% endfor %}",
])
def test_concatenation_and_list_growth_are_bounded(text: str) -> None:
    with pytest.raises(RenderLimitError, match="PEGTOOL_MAX_GENERATED"):
        Renderer(TemplateSource.from_text(text), max_output=100_000).render(USER)


def test_long_user_message_is_not_refused() -> None:
    big = "x" * 10_000_000
    out = Renderer(TemplateSource.from_text(SIMPLE)).render([{"role": "user", "content": big}])
    assert len(out) == len(big) + len("<user></user>")


def test_template_output_beyond_input_is_refused() -> None:
    text = "{% for i in range(3000) %}{{ messages[0].content }}{% endfor %}"
    with pytest.raises(RenderLimitError, match="generated"):
        Renderer(TemplateSource.from_text(text), max_output=1000).render([{"role": "user", "content": "y" * 100}])


def test_analysis_has_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # every render loops 250,000 times; ~90 renders would take many seconds: the analysis as a
    # whole stops at its budget
    spin = "{% for i in range(500) %}{% for j in range(500) %}{% endfor %}{% endfor %}" + SIMPLE
    monkeypatch.setattr(sandbox.LIMITS, "analysis_timeout_s", 0.5)
    with pytest.raises(OperationTimeout, match="analysis exceeded its time limit of 0.5 s.*PEGTOOL_ANALYSIS_TIMEOUT"):
        _ = ChatFormat.from_template(spin, name="spin").analysis


def test_template_whose_every_render_fails_raises() -> None:
    with pytest.raises(AnalysisError, match="every render"):
        _ = ChatFormat.from_template("{{ raise_exception('no') }}").analysis


# --- schemas and requests --------------------------------------------------------------------------


def _deep(n: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(n):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


@pytest.mark.parametrize("schema", [
    {"type": []},
    {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"},
    _deep(900),
    {"type": "object", "properties": "x"},
    {"type": "integer", "minimum": "0"},
    {"enum": list(range(100_000))},
    {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(5000)}},
    {"type": "string", "pattern": "^((a{1,50}){1,50}){1,50}$"},
    {"type": "string", "pattern": "(" * 3000 + "a" + ")" * 3000},
], ids=["empty-type", "allof-cycle", "900-deep", "properties-str", "minimum-str", "enum-100k",
        "5000-properties", "nested-repetitions", "deep-pattern"])
def test_bad_schemas_are_schema_errors(qwen: ChatFormat, schema: Any) -> None:
    with pytest.raises(SchemaError):
        json_schema_to_gbnf(schema)
    with pytest.raises(SchemaError):
        _ = qwen.prepare(USER, _tool(schema)).grammar


@pytest.mark.parametrize("schema", [
    {"type": "integer", "minimum": -10**300, "maximum": 10**300},
    {"type": "integer", "minimum": 0.5, "maximum": 1e10},
    {"type": "number", "minimum": -1e300},
])
def test_huge_numeric_bounds_compile(schema: Any) -> None:
    assert "root" in json_schema_to_gbnf(schema)


def test_integer_bounds_beyond_the_digit_limit_are_errors() -> None:
    with pytest.raises(SchemaError, match="16 digits"):
        json_schema_to_gbnf({"type": "integer", "minimum": 10**300})


@pytest.mark.parametrize("tools,choice", [
    (TOOLS, {"type": "function"}),
    (TOOLS, {"type": "function", "function": "get_weather"}),
    (TOOLS, 5),
    (TOOLS, "sometimes"),
    (TOOLS, {"type": "function", "function": {"name": "nope"}}),
    (_tool({}, name=5), "auto"),
    (_tool("x"), "auto"),
])
def test_malformed_requests_are_typed(qwen: ChatFormat, tools: Any, choice: Any) -> None:
    with pytest.raises(PegtoolError) as info:
        _ = qwen.prepare(USER, tools, tool_choice=choice).grammar
    assert isinstance(info.value, (RequestError, SchemaError))


def test_deep_tool_schema_in_prepare(qwen: ChatFormat) -> None:
    with pytest.raises(SchemaError, match="deeper"):
        qwen.prepare(USER, _tool(_deep(900)))


# --- model output ------------------------------------------------------------------------------


def test_truncated_mistral_nemo_call_is_kept() -> None:
    fmt = ChatFormat.load(ROOT / "templates" / "mistralai-Mistral-Nemo-Instruct-2407.jinja")
    parser = fmt.prepare(USER, TOOLS, call_id_seed=0).parser
    text = '[TOOL_CALLS][{"name": "python", "arguments": {"code": "hello world"}, "id": "a'
    msg = parser.parse(text)
    # the id written after the arguments is too late for a stream's first delta: the call has the
    # response's generated id (the seeded source's first), streamed or not
    first = parser.new_ids().get(0, "python")
    assert len(first) == 9 and first.isalnum()
    assert [(c.name, c.arguments, c.id, c.incomplete) for c in msg.tool_calls] == [
        ("python", '{"code": "hello world"}', first, True)]
    stream = parser.stream()
    for ch in text:
        stream.feed(ch)
    assert stream.finish().tool_calls == msg.tool_calls
    cut = parser.parse('[TOOL_CALLS][{"name": "pyth')  # cut inside the name: content + diagnostic
    assert cut.content == '[TOOL_CALLS][{"name": "pyth' and not cut.tool_calls and cut.diagnostics


@pytest.mark.parametrize("template", ["Qwen3-Coder", "GLM-4.6", "deepseek-ai-DeepSeek-V3.2", "tencent-Hy3"])
@pytest.mark.parametrize("value", ["[" * 10_000 + "]" * 10_000, '{"a":' * 5000 + "1" + "}" * 5000, "[" * 10_000])
def test_deeply_nested_tagged_argument(template: str, value: str) -> None:
    from pegtool.analysis import roundtrip as R

    fmt = ChatFormat.load(ROOT / "templates" / f"{template}.jinja")
    parser = fmt.prepare(USER, TOOLS).parser
    call = {"id": "call_1", "type": "function",
            "function": {"name": "create_event", "arguments": {"title": "x", "attendees": ["QQQ"]}}}
    _, text = R.model_text(fmt.renderer, fmt.analysis, {"role": "assistant", "content": "", "tool_calls": [call]},
                           TOOLS, USER)
    text = text.replace('"QQQ"', value).replace("'QQQ'", value)
    assert value in text
    msg = parser.parse(text)
    held = msg.content + "".join(c.arguments for c in msg.tool_calls)
    assert held.count("[") + held.count("{") >= value.count("[") + value.count("{")
    stream = parser.stream()
    for i in range(0, len(text), 4096):
        stream.feed(text[i:i + 4096])
    final = stream.finish()
    held = final.content + "".join(c.arguments for c in final.tool_calls)
    assert held.count("[") + held.count("{") >= value.count("[") + value.count("{")
    if value.count("[") == value.count("]"):  # well-formed: the stream gives what parse gives
        assert [(c.name, c.arguments) for c in final.tool_calls] == [(c.name, c.arguments) for c in msg.tool_calls]
