"""Grammar size for the standard tool set (pegtool/data/tools.json).

Prints, per tool schema: GBNF bytes and rule count, IR rule count after lowering, and the time to
build it; then the same for the whole tool set inside a few real chat grammars (lazy form).
Run: python benchmarks/bench_grammar_size.py
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

from pegtool import ChatFormat, json_schema_to_gbnf

ROOT = Path(__file__).resolve().parent.parent
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
TEMPLATES = ["Qwen3-Coder", "Qwen-Qwen2.5-7B-Instruct", "GLM-4.6", "mistralai-Mistral-Nemo-Instruct-2407"]


def _rules(gbnf: str) -> int:
    return sum(1 for line in gbnf.splitlines() if "::=" in line)


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"{'tool':<16} {'GBNF bytes':>10} {'rules':>6} {'ms':>8}")
    total = 0
    for tool in TOOLS:
        fn = tool["function"]
        t0 = time.perf_counter()
        gbnf = json_schema_to_gbnf(fn["parameters"])
        ms = (time.perf_counter() - t0) * 1000
        total += len(gbnf.encode())
        print(f"{fn['name']:<16} {len(gbnf.encode()):>10} {_rules(gbnf):>6} {ms:>8.1f}")
    print(f"{'sum':<16} {total:>10}")
    print()
    print(f"{'chat grammar (all 8 tools, lazy)':<46} {'GBNF bytes':>10} {'rules':>6} {'ms':>8}")
    for stem in TEMPLATES:
        fmt = ChatFormat.load(ROOT / "templates" / f"{stem}.jinja")
        t0 = time.perf_counter()
        prep = fmt.prepare([{"role": "user", "content": "hi"}], TOOLS)
        gbnf = prep.grammar or ""
        ms = (time.perf_counter() - t0) * 1000
        print(f"{stem:<46} {len(gbnf.encode()):>10} {_rules(gbnf):>6} {ms:>8.1f}")


if __name__ == "__main__":
    main()
