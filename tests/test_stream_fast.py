"""The incremental streaming path (frontier growth, carried-over agreement parses, mapping
caches) sends exactly the deltas of the reference path that re-parses and re-maps everything."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_stream_props import _cases, _chunks

from pegtool.parser.chat import ChatParser

ROOT = Path(__file__).resolve().parents[1]
#: ../shared/bench from the project root (a fresh clone has shared/ beside it)
BENCH = ROOT.parent / "shared" / "bench"


def _deltas(parser: ChatParser, pieces: list[str], fast: bool) -> tuple[list[list[dict[str, Any]]], Any]:
    s = parser.stream(fast=fast)
    per_feed = [s.feed(p) for p in pieces]
    final = s.finish()
    return per_feed + [s.finish_deltas if hasattr(s, "finish_deltas") else []], final


def _same(parser: ChatParser, pieces: list[str]) -> None:
    fast, final_fast = _deltas(parser, pieces, True)
    slow, final_slow = _deltas(parser, pieces, False)
    assert fast == slow
    assert final_fast == final_slow


@pytest.mark.parametrize("index", range(4))
def test_one_char_chunks_fast_equals_slow(index: int) -> None:
    for tmpl, scen, parser, text in _cases()[index::4]:
        try:
            _same(parser, list(text))
        except AssertionError as exc:
            raise AssertionError(f"{tmpl} / {scen}: {exc}") from exc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=2**32), st.integers(1, 24))
def test_random_chunkings_fast_equals_slow(which: int, seed: int, max_len: int) -> None:
    cases = _cases()
    tmpl, scen, parser, text = cases[which % len(cases)]
    pieces = _chunks(text, random.Random(seed), max_len)
    try:
        _same(parser, pieces)
    except AssertionError as exc:
        raise AssertionError(f"{tmpl} / {scen} / {pieces!r}: {exc}") from exc


def _bench_parser(stem: str) -> ChatParser:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_stream import TOOLS, USER  # type: ignore[import-not-found]

    from pegtool.format import ChatFormat

    prep = ChatFormat.load(ROOT / "templates" / f"{stem}.jinja").prepare(
        USER, TOOLS, parallel_tool_calls=True, reasoning_format="auto", enable_thinking=True, call_id_seed=0)
    return prep.parser


@pytest.mark.skipif(not BENCH.is_dir(), reason="bench inputs not available")
@pytest.mark.parametrize("stem", ["Qwen3.5-4B", "GLM-4.7-Flash", "deepseek-ai-DeepSeek-V3.1", "Kimi-K2-Thinking",
                                  "MiniMax-M2"])
def test_long_bench_outputs_fast_equals_slow(stem: str) -> None:
    """The 32 KB bench outputs (reasoning, content, five calls with 2 KB code) in 61-char chunks."""
    text = (BENCH / f"{stem}.txt").read_text(encoding="utf-8")
    _same(_bench_parser(stem), [text[i : i + 61] for i in range(0, len(text), 61)])
