"""ChatFormat.prepare caches the grammar, parser, GBNF and triggers per (tools, options)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import pegtool

ROOT = Path(__file__).resolve().parent.parent
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
USER = [{"role": "user", "content": "What is the weather in Paris?"}]
OTHER = [{"role": "user", "content": "And in Rome?"}]


@pytest.fixture()
def qwen() -> pegtool.ChatFormat:
    return pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")


def test_same_tools_and_options_share_one_build(qwen: pegtool.ChatFormat) -> None:
    first = qwen.prepare(USER, TOOLS, tool_choice="required")
    again = qwen.prepare(OTHER, copy.deepcopy(TOOLS), tool_choice="required")
    assert again.parser is first.parser and again.grammar_ir is first.grammar_ir
    assert again.grammar is first.grammar  # the GBNF text is emitted once
    assert again.prompt != first.prompt and "Rome" in again.prompt  # the prompt is per request
    assert qwen.build_cache.hits == 1 and qwen.build_cache.misses == 1


def test_cached_build_equals_a_fresh_one(qwen: pegtool.ChatFormat) -> None:
    qwen.prepare(USER, TOOLS)
    warm = qwen.prepare(USER, TOOLS)
    fresh = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja").prepare(USER, TOOLS)
    assert warm.to_llama_server() == fresh.to_llama_server()
    warm.grammar_triggers.clear()  # a caller mutating its copy does not reach the cache
    assert qwen.prepare(USER, TOOLS).grammar_triggers == fresh.grammar_triggers


@pytest.mark.parametrize(
    "change",
    [
        {"tool_choice": "auto"},
        {"parallel_tool_calls": False},
        {"reasoning_format": "none"},
        {"tool_choice": {"type": "function", "function": {"name": "python"}}},
    ],
)
def test_other_options_build_again(qwen: pegtool.ChatFormat, change: dict) -> None:
    base = qwen.prepare(USER, TOOLS, tool_choice="required")
    other = qwen.prepare(USER, TOOLS, **{"tool_choice": "required", **change})
    assert other.parser is not base.parser


def test_property_order_is_part_of_the_key(qwen: pegtool.ChatFormat) -> None:
    tool = next(t for t in TOOLS if len(t["function"]["parameters"].get("required", ())) > 1)
    swapped = copy.deepcopy(tool)
    props = swapped["function"]["parameters"]["properties"]
    swapped["function"]["parameters"]["properties"] = dict(reversed(list(props.items())))
    swapped["function"]["parameters"]["required"].reverse()
    a = qwen.prepare(USER, [tool], tool_choice="required")
    b = qwen.prepare(USER, [swapped], tool_choice="required")
    assert a.parser is not b.parser and a.grammar != b.grammar


def test_changed_tools_build_again(qwen: pegtool.ChatFormat) -> None:
    a = qwen.prepare(USER, TOOLS, tool_choice="required")
    fewer = qwen.prepare(USER, TOOLS[:2], tool_choice="required")
    assert fewer.parser is not a.parser and fewer.grammar != a.grammar


def test_replaced_analysis_is_not_served_from_cache(qwen: pegtool.ChatFormat) -> None:
    a = qwen.prepare(USER, TOOLS)
    qwen.__dict__["analysis"] = copy.deepcopy(qwen.analysis)
    b = qwen.prepare(USER, TOOLS)
    assert b.parser is not a.parser
