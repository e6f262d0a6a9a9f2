"""Benchmark: streaming cost of long single-argument outputs (issue: superlinear long arguments).

One call whose only argument is a long string, streamed in 16-character chunks: 10 KB, 100 KB
and 1 MB, plain text and escape-heavy (quotes, backslashes, newlines in the JSON string), in a
JSON dialect (Qwen 2.5, ``<tool_call>{"name": …, "arguments": {"code": "…"}}</tool_call>``) and a
tagged dialect (Qwen3-Coder, the raw string between ``<parameter=code>`` and ``</parameter>``);
then nested JSON values (``[[[…]]]``) of 2–32 KB as a JSON argument. Prints the total streaming
time and the cost per KB: linear growth shows as a flat per-KB column.

Run: ``python benchmarks/bench_stream_long.py [--max-kb N] [--chunk N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pegtool.format import ChatFormat  # noqa: E402

TOOLS = [
    {"type": "function", "function": {"name": "python", "description": "Run code.",
     "parameters": {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}}},
    {"type": "function", "function": {"name": "store", "description": "Store a value.",
     "parameters": {"type": "object", "properties": {"value": {}}, "required": ["value"]}}},
]
USER = [{"role": "user", "content": "Run it."}]
PLAIN_LINE = "for item in range(10): total = total + item * 2  # sum them up\n"
ESCAPED_LINE = 'print("a \\"quoted\\" \\\\path\\\\ here")\t# "x" \\ y\n'


def code(size: int, escaped: bool) -> str:
    line = ESCAPED_LINE if escaped else PLAIN_LINE
    return (line * (size // len(line) + 1))[:size]


def output(stem: str, size: int, escaped: bool) -> str:
    body = code(size, escaped)
    if stem == "Qwen3-Coder":
        return f"<tool_call>\n<function=python>\n<parameter=code>\n{body}\n</parameter>\n</function>\n</tool_call>"
    return '<tool_call>\n{"name": "python", "arguments": ' + json.dumps({"code": body}) + "}\n</tool_call>"


def nested(depth: int) -> str:
    value = "[" * depth + "]" * depth
    return '<tool_call>\n{"name": "store", "arguments": {"value": ' + value + "}}\n</tool_call>"


def parser_for(stem: str) -> Any:
    return ChatFormat.load(ROOT / "templates" / f"{stem}.jinja").prepare(USER, TOOLS).parser


def stream_seconds(parser: Any, text: str, chunk: int) -> tuple[float, Any]:
    t = time.perf_counter()
    s = parser.stream()
    for i in range(0, len(text), chunk):
        s.feed(text[i : i + chunk])
    final = s.finish()
    return time.perf_counter() - t, final


def row(label: str, parser: Any, text: str, chunk: int) -> None:
    seconds, final = stream_seconds(parser, text, chunk)
    ok = bool(final.tool_calls) and not final.tool_calls[0].incomplete and not final.diagnostics
    kb = len(text) / 1024
    print(f"{label:<44} {kb:>9.1f} {seconds:>9.3f} {seconds / kb * 1e6:>10.1f}  {'ok' if ok else 'NOT A CALL'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-kb", type=int, default=1024, help="largest single-argument size (KB)")
    ap.add_argument("--chunk", type=int, default=16)
    args = ap.parse_args(argv)
    print(f"{'output':<44} {'KB':>9} {'stream s':>9} {'us per KB':>10}")
    for stem in ("Qwen-Qwen2.5-7B-Instruct", "Qwen3-Coder"):
        parser = parser_for(stem)
        for escaped in (False, True):
            for kb in (10, 100, 1024):
                if kb > args.max_kb:
                    continue
                label = f"{stem} {'escapes' if escaped else 'plain'} {kb} KB"
                row(label, parser, output(stem, kb * 1024, escaped), args.chunk)
    parser = parser_for("Qwen-Qwen2.5-7B-Instruct")
    for kb in (2, 4, 8, 16, 32):
        row(f"Qwen-Qwen2.5-7B-Instruct nested [ {kb} KB", parser, nested(kb * 512), args.chunk)
    print("\nus per KB: streaming time divided by the output size; linear cost keeps it flat as the "
          "size grows.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
