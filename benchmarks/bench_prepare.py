"""Cost of ``ChatFormat.prepare`` per request: cold (first request with these tools and options:
chat grammar, parser, GBNF and triggers are built) and warm (the same tools and options again:
served from the build cache; the prompt is still rendered for the request's messages).

For each bundled template (analysis done beforehand, not counted), with the two standard tools of
llama.cpp's tests and with the eight tools of pegtool/data/tools.json, tool_choice required and
auto. A request here is ``prepare(...)`` plus reading ``grammar`` and ``grammar_triggers``.
Prints median and worst cold / warm times and the slowest templates.

Run: ``python benchmarks/bench_prepare.py [--repeats N]`` (warm figure: median of N requests).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pegtool.errors import PegtoolError  # noqa: E402
from pegtool.format import ChatFormat  # noqa: E402

#: llama.cpp's two standard test tools: special_function(arg1: integer) and python(code: string).
TWO_TOOLS = [
    {"type": "function", "function": {"name": "special_function", "description": "I'm special",
     "parameters": {"type": "object", "properties": {"arg1": {"type": "integer", "description": "The arg."}},
                    "required": ["arg1"]}}},
    {"type": "function", "function": {"name": "python", "description": "an ipython interpreter",
     "parameters": {"type": "object", "properties": {"code": {"type": "string", "description": "Python code to execute."}},
                    "required": ["code"]}}}]
EIGHT_TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
MESSAGES = [[{"role": "user", "content": f"Request number {i}: what is the weather in Paris?"}] for i in range(64)]


def request(fmt: ChatFormat, i: int, tools: list[dict[str, Any]], choice: str) -> None:
    prep = fmt.prepare(MESSAGES[i % len(MESSAGES)], tools, tool_choice=choice)
    prep.grammar  # noqa: B018 - what a server sends
    if prep.grammar_lazy:
        prep.grammar_triggers  # noqa: B018


def measure(fmt: ChatFormat, tools: list[dict[str, Any]], choice: str, repeats: int) -> tuple[float, float]:
    """(cold ms, warm median ms)."""
    fmt.build_cache.clear()
    t0 = time.perf_counter()
    request(fmt, 0, tools, choice)
    cold = time.perf_counter() - t0
    warm = []
    for i in range(1, repeats + 1):
        t0 = time.perf_counter()
        request(fmt, i, tools, choice)
        warm.append(time.perf_counter() - t0)
    return cold * 1000, statistics.median(warm) * 1000


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    paths = sorted((ROOT / "templates").glob("*.jinja"))
    formats = []
    for path in paths:
        fmt = ChatFormat.load(path)
        try:
            fmt.analysis  # noqa: B018 - analysis is not part of a request
        except PegtoolError:
            continue
        formats.append((path.stem, fmt))
    print(f"templates: {len(formats)}; warm = median of {args.repeats} requests with new messages")
    print(f"{'tools':>5s} {'choice':>8s} {'n':>3s} | {'cold median':>11s} {'cold worst':>10s} | "
          f"{'warm median':>11s} {'warm worst':>10s} | {'cold/warm':>9s}")
    for label, tools in (("2", TWO_TOOLS), ("8", EIGHT_TOOLS)):
        for choice in ("required", "auto"):
            rows: dict[str, tuple[float, float]] = {}
            for name, fmt in formats:
                try:
                    rows[name] = measure(fmt, tools, choice, args.repeats)
                except PegtoolError:
                    continue  # the template cannot render these tools (as in HF)
            cold = sorted(r[0] for r in rows.values())
            warm = sorted(r[1] for r in rows.values())
            print(f"{label:>5s} {choice:>8s} {len(rows):3d} | {statistics.median(cold):9.2f}ms {cold[-1]:8.1f}ms | "
                  f"{statistics.median(warm):9.3f}ms {warm[-1]:8.2f}ms | {statistics.median(cold) / statistics.median(warm):8.0f}x")
            if label == "8" and choice == "required":
                slow = sorted(rows.items(), key=lambda kv: -kv[1][1])[:5]
                print("      slowest warm (8 tools, required): " + ", ".join(f"{n} {w:.2f} ms" for n, (_, w) in slow))


if __name__ == "__main__":
    main()
