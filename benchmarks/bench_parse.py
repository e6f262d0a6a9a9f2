"""Benchmark: parse throughput (MB/s) of pegtool's PEG engine on a ~100 KB model output.

The output is prose (~40 KB) followed by tool calls whose JSON arguments hold long code strings
(one ~50 KB argument with escapes and newlines). The grammar is
``content:Until("<tool_call>") ("<tool_call>" args:Json "</tool_call>" ws)* End``.

Prints MB/s for: the fast engine (regex fast paths), the pure interpreter, a partial parse, and
a session fed 4 KB chunks (its total time relative to one full parse). Run: ``python benchmarks/bench_parse.py``.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pegtool.grammar.builder import capture, end, lit, seq, space, star, until  # noqa: E402
from pegtool.grammar.ir import Grammar, Json, Tag  # noqa: E402
from pegtool.parser.engine import Parser, Status  # noqa: E402


def build_grammar() -> Grammar:
    call = seq(lit("<tool_call>"), capture(Tag.TOOL_ARGS, Json()), lit("</tool_call>"), space())
    root = seq(capture(Tag.CONTENT, until("<tool_call>")), star(capture(Tag.TOOL_CALL, call)), end())
    return Grammar.of({"root": root})


def build_text(seed: int = 1) -> str:
    rnd = random.Random(seed)
    words = "the model writes code carefully with steps options and then calls a tool <b> é 漢字 🙂".split()
    prose = " ".join(rnd.choice(words) for _ in range(8000)) + "\n\n"
    code_lines = [f'    print("line {i}: \\t{rnd.choice(words)}")  # é\\\\ 🙂' for i in range(1200)]
    big = "def main():\n" + "\n".join(code_lines)
    calls = [{"name": "python", "arguments": {"code": big[:52_000]}}]
    for i in range(4):
        calls.append(
            {"name": "special_function", "arguments": {"arg1": i, "nested": [1.5, True, None, {"k": "v"}]}}
        )
    body = "".join(f"<tool_call>{json.dumps(c, ensure_ascii=False, indent=1)}</tool_call>\n" for c in calls)
    return prose + body


def throughput(fn, text: str, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - t0)
    return len(text.encode("utf-8")) / best / 1e6


def stream(parser: Parser, text: str, chunk: int = 4096) -> None:
    session = parser.session()
    for i in range(0, len(text), chunk):
        session.extend(text[i : i + chunk])
    session.finish()


def main() -> None:
    grammar = build_grammar()
    text = build_text()
    fast, slow = Parser(grammar), Parser(grammar, fast=False)
    result = fast.parse(text)
    assert result.status is Status.OK and result.end == len(text), result
    assert slow.parse(text).end == result.end
    size = len(text.encode("utf-8"))
    args = max(len(c.children[0].text(text)) for c in result.captures[1:])
    print(
        f"input: {size / 1000:.1f} KB, {len(result.captures) - 1} tool calls, longest arguments {args / 1000:.1f} KB"
    )
    print(f"full parse, fast engine:      {throughput(fast.parse, text):8.1f} MB/s")
    print(f"full parse, pure interpreter: {throughput(slow.parse, text):8.1f} MB/s")
    print(
        f"partial parse, fast engine:   {throughput(lambda t: fast.parse(t, partial=True), text):8.1f} MB/s"
    )
    once = size / throughput(fast.parse, text) / 1e6
    chunked = size / throughput(lambda t: stream(fast, t), text, 3) / 1e6
    chunks = -(-len(text) // 4096)
    print(
        f"session, {chunks} chunks of 4 KB: {chunked * 1000:8.1f} ms total ({chunked / once:.1f}x one full parse)"
    )


if __name__ == "__main__":
    main()
