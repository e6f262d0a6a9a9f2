"""Streaming cost grows linearly with the length of a long argument: an 8x longer argument,
streamed in the same 16-character chunks, costs at most ~8x the operations (Python function
calls counted with a profile hook — no clock involved). Covers a JSON argument (plain and
escape-heavy) and a raw tagged string argument; see benchmarks/bench_stream_long.py for times."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_stream_long import output, parser_for  # type: ignore[import-not-found]  # noqa: E402


def _operations(parser: Any, text: str, chunk: int = 16) -> int:
    count = 0

    def hook(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event == "call":
            count += 1

    s = parser.stream()
    s.feed(text[:chunk])  # programs compiled before counting
    sys.setprofile(hook)
    try:
        for i in range(chunk, len(text), chunk):
            s.feed(text[i : i + chunk])
        final = s.finish()
    finally:
        sys.setprofile(None)
    assert final.tool_calls and not final.tool_calls[0].incomplete
    return count


@pytest.mark.parametrize(("stem", "escaped"), [
    ("Qwen-Qwen2.5-7B-Instruct", False),
    ("Qwen-Qwen2.5-7B-Instruct", True),
    ("Qwen3-Coder", False),
    ("Qwen3-Coder", True),
])
def test_eight_times_the_argument_costs_about_eight_times_the_work(stem: str, escaped: bool) -> None:
    parser = parser_for(stem)
    small = _operations(parser, output(stem, 2_000, escaped))
    large = _operations(parser, output(stem, 16_000, escaped))
    assert large <= 8 * small * 1.25, (small, large, large / small)


def test_nested_json_value_costs_linear_work() -> None:
    """``[[[…]]]`` as an untyped argument: the core JSON rules are scanned with an explicit stack
    that resumes where the text ended (pegtool.parser.jsonscan), not re-parsed per chunk."""
    from bench_stream_long import nested  # type: ignore[import-not-found]

    parser = parser_for("Qwen-Qwen2.5-7B-Instruct")
    small = _operations(parser, nested(1_000))
    large = _operations(parser, nested(8_000))
    assert large <= 8 * small * 1.25, (small, large, large / small)
