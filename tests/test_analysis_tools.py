"""Dialects found by rendering: one check per big family (no template names in the analysis)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pegtool.analysis import IdPosition, ReasoningMode, ToolFormat, analyze
from pegtool.template import load_template

T = Path(__file__).resolve().parents[1] / "templates"


def a(name: str):  # type: ignore[no-untyped-def]
    return analyze(load_template(T / f"{name}.jinja"))


def test_hermes_style_json() -> None:
    t = a("Qwen-Qwen2.5-7B-Instruct").tools
    assert t.format is ToolFormat.JSON_NATIVE and t.call_start.strip() == "<tool_call>" and t.parallel
    assert t.json_call is not None and t.json_call.keys == ("name", "arguments")


def test_qwen3_coder_tagged() -> None:
    t = a("Qwen3-Coder").tools
    assert t.format is ToolFormat.TAG_WITH_TAGGED and t.tagged is not None
    assert t.tagged.arg_prefix == "<parameter=" and t.name_suffix.strip() == ">"


def test_mistral_ids_and_args() -> None:
    an = a("Mistral-Small-3.2-24B-Instruct-2506")
    assert an.canary.id_style == "alnum9"
    assert an.tools.id_position is IdPosition.BETWEEN_NAME_AND_ARGS
    assert any("9" in msg for _, msg in an.probe_errors)


def test_llama3_parameters_field_and_no_parallel() -> None:
    t = a("meta-llama-Llama-3.1-8B-Instruct").tools
    assert t.json_call is not None and t.json_call.args_field == "parameters" and not t.parallel


def test_kimi_index_slot() -> None:
    assert "{{index}}" in a("moonshotai-Kimi-K2").tools.name_suffix


def test_glm_arg_key_and_reasoning() -> None:
    an = a("GLM-4.6")
    assert an.tools.tagged is not None and an.tools.tagged.arg_prefix == "<arg_key>"
    assert an.reasoning.mode is ReasoningMode.TAG_BASED and an.reasoning.end == "</think>"


def test_functionary_v32_wants_json_string_args() -> None:
    assert a("meetkai-functionary-medium-v3.2").canary.args_as == "json"


@pytest.mark.parametrize("name", ["google-gemma-2-2b-it"])
def test_no_system_role(name: str) -> None:
    assert not a(name).capabilities.system_role


@pytest.mark.parametrize("name,style", [("GLM-4.6", "json"), ("Qwen3-Coder", "python_scalars"),
                                        ("ByteDance-Seed-OSS", "python"), ("openbmb-MiniCPM5-1B", "python")])
def test_value_style_found_by_rendering(name: str, style: str) -> None:
    tagged = a(name).tools.tagged
    assert tagged is not None and tagged.value_style == style


def test_pythonic_call_strings_are_quoted() -> None:
    t = a("LFM2.5-8B-A1B").tools
    assert t.tagged is not None and t.tagged.string_quote == "'" and t.tagged.arg_mid == "="
    assert t.name_suffix == "(" and t.call_end == ")"


def test_string_wrapper_found_by_rendering() -> None:
    t = a("openbmb-MiniCPM5-1B").tools
    assert t.tagged is not None and t.tagged.string_wrap == ("<![CDATA[", "]]>")


def test_calls_after_the_end_of_turn_marker() -> None:
    x = a("GigaChat3-10B-A1.8B")
    assert x.end_of_turn == ("<|message_sep|>",)
    assert x.tools.call_start.startswith("<|message_sep|>") and "function call" in x.tools.call_start


def test_marker_ending_a_call_turn_is_an_end_of_turn() -> None:
    x = a("google-gemma-4-31B-it")
    assert "<|tool_response>" in x.end_of_turn and x.tools.section_end == ""
