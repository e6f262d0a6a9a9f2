"""The tool_calls_in_reasoning policy (issue 3): a call started inside a reasoning block that was
never closed is a call by default; with the policy off it stays reasoning. Tool markup quoted
inside a closed reasoning block is never a call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pegtool

ROOT = Path(__file__).resolve().parent.parent
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
USER = [{"role": "user", "content": "Run it."}]
CALL = "<tool_call>\n<function=python>\n<parameter=code>\nprint(1)\n</parameter>\n</function>\n</tool_call>"


@pytest.fixture(scope="module")
def fmt() -> pegtool.ChatFormat:
    return pegtool.ChatFormat.load(ROOT / "templates" / "Qwen3.5-4B.jinja")


def test_call_inside_open_reasoning_is_a_call(fmt: pegtool.ChatFormat) -> None:
    msg = fmt.prepare(USER, TOOLS, enable_thinking=True).parser.parse("Let me run it.\n" + CALL)
    assert [c.name for c in msg.tool_calls] == ["python"]
    assert msg.reasoning_content.strip() == "Let me run it."


def test_policy_off_keeps_open_reasoning(fmt: pegtool.ChatFormat) -> None:
    prep = fmt.prepare(USER, TOOLS, enable_thinking=True, tool_calls_in_reasoning=False)
    text = "Let me run it.\n" + CALL
    msg = prep.parser.parse(text)
    assert msg.tool_calls == () and msg.reasoning_content == text


def test_markup_quoted_in_closed_reasoning_is_not_a_call(fmt: pegtool.ChatFormat) -> None:
    text = "I could write " + CALL + " but no.\n</think>\n\nDone."
    msg = fmt.prepare(USER, TOOLS, enable_thinking=True).parser.parse(text)
    assert msg.tool_calls == () and msg.content == "Done." and CALL in msg.reasoning_content
