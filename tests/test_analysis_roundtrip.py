"""Round trip: rendered assistant messages parse back to the same content, reasoning and calls.

The whole table is asserted: every scenario of every template passes or is skipped, except the
known exceptions of :mod:`pegtool.analysis.exceptions` (which must still fail: a fixed exception
is removed from the list)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pegtool.analysis.exceptions import ROUNDTRIP_EXCEPTIONS, expected_failures
from pegtool.analysis.roundtrip import SCENARIOS, load_tools, roundtrip_source
from pegtool.template import load_template

T = Path(__file__).resolve().parents[1] / "templates"
TEMPLATES = sorted(T.glob("*.jinja"))
TOOLS = load_tools()
EXPECTED = expected_failures()

MUST_PASS = {
    "Qwen-Qwen2.5-7B-Instruct": ["content", "one_call", "two_calls", "content_call", "rich_args", "code_arg"],
    "Qwen3-Coder": ["content", "one_call", "two_calls", "content_call", "rich_args", "code_arg", "zero_args",
                    "typed_args"],
    "GLM-4.6": ["content", "reasoning_content", "one_call", "two_calls", "typed_args", "zero_args"],
    "meta-llama-Llama-3.1-8B-Instruct": ["content", "one_call", "rich_args", "zero_args"],
    "Mistral-Small-3.2-24B-Instruct-2506": ["one_call", "two_calls", "rich_args"],
    "deepseek-ai-DeepSeek-V3.1": ["one_call", "two_calls", "content_call", "rich_args"],
    "moonshotai-Kimi-K2": ["one_call", "two_calls", "rich_args"],
    "MiniMax-M2": ["one_call", "two_calls", "reasoning_content"],
    "deepseek-ai-DeepSeek-V4": ["one_call", "two_calls", "typed_args"],
    "LFM2.5-8B-A1B": ["one_call", "two_calls", "rich_args", "code_arg", "typed_args"],
    "GigaChat3-10B-A1.8B": ["one_call", "content_call", "rich_args", "zero_args"],
    "openbmb-MiniCPM5-1B": ["code_arg", "typed_args", "rich_args"],
    "google-gemma-4-31B-it": ["content_call"],
}


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.stem for p in TEMPLATES])
def test_round_trip_table(path: Path) -> None:
    report = roundtrip_source(load_template(path), TOOLS)
    status = {o.scenario: (o.status, o.reason) for o in report.outcomes}
    assert set(status) == set(SCENARIOS)
    for scenario in MUST_PASS.get(path.stem, []):
        assert status[scenario][0] == "pass", (scenario, status[scenario][1])
    unexpected = {s: r for s, (st, r) in status.items() if st == "fail" and (path.stem, s) not in EXPECTED}
    assert not unexpected, unexpected
    fixed = [s for (t, s) in EXPECTED if t == path.stem and status[s][0] != "fail"]
    assert not fixed, f"known exceptions now {[status[s][0] for s in fixed]}: remove {fixed} from the list"


def test_exceptions_name_real_templates_and_scenarios() -> None:
    names = {p.stem for p in TEMPLATES}
    for e in ROUNDTRIP_EXCEPTIONS:
        assert e.template in names and e.scenario in SCENARIOS and e.reason
    assert len(EXPECTED) == len(ROUNDTRIP_EXCEPTIONS)
