"""The streaming lane (pegtool.parser.lane): chunks that only prolong the open span are mapped
from the end of the text alone. The deltas must be exactly those of the snapshot path (the
reference stream, ``fast=False``, re-parses and re-maps everything per chunk), for reasoning,
content, raw string arguments (with markers and escapes inside) and JSON arguments, and the lane
must actually carry the long runs."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from pegtool.format import ChatFormat
from pegtool.messages import apply_deltas

ROOT = Path(__file__).resolve().parents[1]
TOOLS = [
    {"type": "function", "function": {"name": "python", "description": "Run code.",
     "parameters": {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}}},
    {"type": "function", "function": {"name": "store", "description": "Store a value.",
     "parameters": {"type": "object", "properties": {"value": {}}, "required": ["value"]}}},
]
BODY = 'x = "a \\"q\\" \\\\ b"\tprint(</param "é" \n' * 40  # escapes, a marker prefix, unicode
OUTPUTS = {
    "Qwen3-Coder": "<tool_call>\n<function=python>\n<parameter=code>\n" + BODY
                   + "\n</parameter>\n</function>\n</tool_call>",
    "Qwen-Qwen2.5-7B-Instruct": "Let me run it. " * 30 + '<tool_call>\n{"name": "python", "arguments": '
                                + json.dumps({"code": BODY}) + "}\n</tool_call>",
    "Qwen-Qwen3-0.6B": "<think>\n" + "I will think about <tool it. " * 40 + "</think>\n\n" + "Answer text. " * 40,
    "deepseek-ai-DeepSeek-V3.1": "Plain " * 50 + "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>store<｜tool▁sep｜>"
                                 + json.dumps({"value": [[1, [2, "x" * 200]], {"k": [3] * 50}]})
                                 + "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
}


def _deltas(stem: str, text: str, sizes: list[int], fast: bool) -> tuple[list[dict[str, Any]], Any, int]:
    parser = ChatFormat.load(ROOT / "templates" / f"{stem}.jinja").prepare(
        [{"role": "user", "content": "go"}], TOOLS, call_id_seed=7).parser
    s = parser.stream(fast=fast)
    out: list[dict[str, Any]] = []
    i = 0
    for size in sizes:
        out.extend(s.feed(text[i:i + size]))
        i += size
    out.extend(s.feed(text[i:]))
    final = s.finish()
    return out + s.finish_deltas, final, getattr(s, "laned", 0)


@pytest.mark.parametrize("stem", sorted(OUTPUTS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lane_deltas_equal_the_snapshot_path(stem: str, seed: int) -> None:
    text = OUTPUTS[stem]
    rng = random.Random(seed)
    sizes = [rng.choice([1, 2, 3, 5, 8, 16, 40]) for _ in range(len(text) // 3)]
    fast, final, laned = _deltas(stem, text, sizes, True)
    slow, final_slow, _ = _deltas(stem, text, sizes, False)
    assert final == final_slow
    assert apply_deltas(fast) == apply_deltas(slow)
    assert fast == slow
    assert laned > 0  # the long runs went through the lane


def test_lane_is_folded_before_a_snapshot() -> None:
    stem = "Qwen3-Coder"
    text = OUTPUTS[stem]
    parser = ChatFormat.load(ROOT / "templates" / f"{stem}.jinja").prepare(
        [{"role": "user", "content": "go"}], TOOLS, call_id_seed=7).parser
    s = parser.stream()
    for i in range(0, len(text) - 40, 4):
        s.feed(text[i:i + 4])
    shown = s.sent  # the lane's pieces are part of what was sent
    rebuilt = apply_deltas(s.deltas)
    assert (shown.content, shown.tool_calls[0].arguments) == (rebuilt.content, rebuilt.tool_calls[0].arguments)
    assert s.laned > 0
    assert json.loads(shown.tool_calls[0].arguments + '"}')["code"].startswith(BODY[:100])
