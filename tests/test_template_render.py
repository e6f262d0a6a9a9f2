"""Rendering: HF variables and filters, error mapping, and the sandbox's safety and resource bounds."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from pegtool.template import (
    Renderer,
    RenderLimitError,
    RenderTimeout,
    TemplateError,
    TemplateRaised,
    TemplateSource,
    normalize_tools,
)

USER = [{"role": "user", "content": "hi"}]


def render(text: str, messages: list[dict[str, Any]] | None = None, **kwargs: Any) -> str:
    source = TemplateSource.from_text(text, bos_token="<s>", eos_token="</s>")
    return Renderer(source, timeout_s=kwargs.pop("timeout_s", 5.0),
                    max_output=kwargs.pop("max_output", 2_000_000)).render(messages or USER, **kwargs)


def test_hf_variables() -> None:
    text = "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}{{ add_generation_prompt }}{{ tools }}"
    assert render(text) == "<s>hi</s>FalseNone"
    assert render("{{ enable_thinking }}", enable_thinking=True) == "True"


def test_trim_and_lstrip_blocks() -> None:
    assert render("  {% if true %}\nA\n  {% endif %}\nB") == "A\nB"


def test_tojson_hf_semantics() -> None:
    value = {"b": "é", "a": [1, 2]}
    assert render("{{ v | tojson }}", v=value) == json.dumps(value, ensure_ascii=False)
    assert render("{{ v | tojson(indent=2, sort_keys=true) }}", v=value) == json.dumps(
        value, ensure_ascii=False, indent=2, sort_keys=True)
    assert render("{{ v | tojson(separators=(',', ':')) }}", v=value) == '{"b":"é","a":[1,2]}'
    assert render("{{ '<&>' | tojson }}") == '"<&>"'  # no HTML escaping


def test_tojson_of_a_mapped_iterator() -> None:
    tools = normalize_tools([{"name": "f", "parameters": {}}])
    assert render("{{ tools | map(attribute='function') | tojson }}", tools=tools) == '[{"name": "f", "parameters": {}}]'


def test_from_json_filter() -> None:
    assert render("{{ ('{\"a\": 1}' | from_json).a }}") == "1"


def test_generation_tag_is_transparent() -> None:
    assert render("A{% generation %}B{{ 1 }}{% endgeneration %}C") == "AB1C"


def test_loop_controls_and_python_methods() -> None:
    text = ("{% for x in [1, 2, 3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}"
            "{{ ' Ab '.strip().lower() }}{{ 'a,b'.split(',') | length }}{{ {'k': 1}.items() | list }}")
    assert render(text) == "13ab2[('k', 1)]"


def test_strftime_now_and_fixed_time() -> None:
    source = TemplateSource.from_text("{{ strftime_now('%d %b %Y') }}")
    assert Renderer(source, now=datetime(2024, 7, 26)).render(USER) == "26 Jul 2024"
    assert render("{{ strftime_now('%Y') }}") == str(datetime.now().year)


def test_raise_exception_carries_template_message() -> None:
    with pytest.raises(TemplateRaised) as info:
        render("{{ raise_exception('System role not supported') }}")
    assert info.value.template_message == "System role not supported"
    assert "<string>: template raised: System role not supported" in str(info.value)


def test_runtime_error_names_template_line() -> None:
    with pytest.raises(TemplateError, match=r"<string>:3: render failed: TypeError") as info:
        render("a\nb\n{{ 1 + 'x' }}")
    assert info.value.line == 3


def test_messages_are_not_mutated() -> None:
    messages = [{"role": "user", "content": "hi", "extra": []}]
    render("{% set _ = messages[0].extra.append(1) %}{{ messages[0].extra }}", messages)
    assert messages[0]["extra"] == []


def test_list_append_is_allowed() -> None:
    assert render("{% set xs = [] %}{% set _ = xs.append(1) %}{{ xs }}") == "[1]"


@pytest.mark.parametrize("expr", [
    "''.__class__", "messages.__class__.__mro__", "raise_exception.__globals__",
    "cycler.__init__.__globals__", "().__class__.__base__.__subclasses__()",
])
def test_python_internals_are_blocked(expr: str) -> None:
    try:
        out = render("{{ " + expr + " }}")
    except TemplateError as exc:
        assert "sandbox" in str(exc) or "Undefined" in str(exc) or "undefined" in str(exc)
    else:
        assert out == ""  # an unsafe attribute reads as undefined


@pytest.mark.parametrize("obj", ["messages", "''"])
def test_str_format_escape_is_blocked(obj: str) -> None:
    try:
        out = render("{{ '{0.__class__.__mro__}'.format(" + obj + ") }}")
    except TemplateError as exc:
        assert "sandbox" in str(exc)
    else:
        assert "class" not in out


def test_timeout_triggers_template_error() -> None:
    text = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(RenderTimeout, match="time limit"):
        render(text, timeout_s=0.2)


def test_timeout_in_loops_without_calls() -> None:
    text = ("{% set xs = range(3000) | list %}"
            "{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}{% endfor %}{% endfor %}")
    with pytest.raises(RenderTimeout):
        render(text, timeout_s=0.2)


def test_output_size_bound() -> None:
    with pytest.raises(RenderLimitError, match=r"output exceeds 1,\d+ characters \(1,000 generated"):
        render("{% for i in range(2000) %}x{% endfor %}", max_output=1000)


@pytest.mark.parametrize("text", [
    "{{ 'x' * 100000000 }}", "{{ 'x'.center(100000000) }}", "{{ 'x' | center(100000000) }}",
    "{% set s = namespace(v='x') %}{% for i in range(40) %}{% set s.v = s.v + s.v %}{% endfor %}",
    "{{ 10 ** 100000 }}",
])
def test_intermediate_size_bounds(text: str) -> None:
    with pytest.raises(RenderLimitError):
        render(text, max_output=10000)


def test_recursion_is_bounded() -> None:
    with pytest.raises(RenderLimitError, match="recursion"):
        render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")


def test_normalize_tools_forms() -> None:
    bare = {"name": "f", "description": "d", "parameters": {"type": "object"}}
    envelope = {"type": "function", "function": bare}
    assert normalize_tools([bare]) == [envelope]
    assert normalize_tools([envelope]) == [envelope]
    assert normalize_tools(None) == []
    with pytest.raises(TemplateError, match="neither"):
        normalize_tools([{"description": "x"}])


def test_compiled_once_per_text() -> None:
    source = TemplateSource.from_text("{{ 1 }}")
    assert Renderer(source)._template is Renderer(source)._template


def test_datetime_variable_defaults_to_today() -> None:
    source = TemplateSource.from_text("Today is {{ datetime }}.")
    fixed = Renderer(source, now=datetime(2024, 7, 1, 9, 30)).render(USER)
    assert fixed == "Today is 2024-07-01."
    assert Renderer(source).render(USER, datetime="yesterday") == "Today is yesterday."


_DESCRIBES = ("{% for t in tools %}{{ t.function.name }}: {{ t.function.description }};"
              "{% for k, v in t.function.parameters.properties|items %} {{ k }}={{ v.description }}"
              "{% endfor %}{% endfor %}")


def test_missing_descriptions_get_an_empty_default() -> None:
    tools = normalize_tools([{"name": "f", "parameters": {"type": "object", "properties": {
        "a": {"type": "string", "description": "the a"}, "b": {"type": "integer"}}}}])
    assert render(_DESCRIBES, tools=tools) == "f: ; a=the a b="
    # a tool that carries every description renders exactly as given (no retry, no defaults)
    tools[0]["function"]["description"] = "does f"
    tools[0]["function"]["parameters"]["properties"]["b"]["description"] = "the b"
    assert render(_DESCRIBES, tools=tools) == "f: does f; a=the a b=the b"


def test_a_template_that_fails_for_another_reason_still_fails() -> None:
    with pytest.raises(TemplateError, match="nothing"):
        render("{{ tools[0].function.nothing.deeper }}", tools=normalize_tools([{"name": "f", "parameters": {}}]))


_PY_TYPE = ("{%- macro ty(s) %}{%- if s.type == 'string' %}str{%- elif s.type == 'object' %}"
            "Dict[str, {{ ty(s.additionalProperties) }}]{%- elif s.type is iterable %}Union[{%- for t in s.type %}"
            "{{ ty({'type': t}) }}{%- endfor %}]{%- else %}Any{%- endif %}{%- endmacro %}"
            "{% for k, v in tools[0].function.parameters.properties|items %}{{ k }}: {{ ty(v) }}; {% endfor %}")


def test_object_schemas_and_type_lists_that_a_type_macro_cannot_read() -> None:
    # Command-R+ / Hermes-style macros: an object without additionalProperties is undefined, and a
    # type list holding "null" recurses without end over the string's letters
    tools = normalize_tools([{"name": "f", "parameters": {"type": "object", "properties": {
        "o": {"type": "object"}, "n": {"type": ["string", "null"]}}}}])
    out = render(_PY_TYPE, tools=tools)
    assert out.startswith("o: Dict[str, ") and "; n: " in out  # rendered (as the macro reads {} / anyOf)
    assert tools[0]["function"]["parameters"]["properties"]["o"] == {"type": "object"}  # caller's data untouched
