"""Analysis time per template: render the canary conversations, diff them, build the record.

Prints the median and worst time over the bundled templates (each analysed cold: the cache is
cleared before every run), and the slowest five. llama.cpp's reference: a median of 10.8 ms per
template set-up (analysis + parser + grammar), slowest 85 ms (shared/bench/README.md).
Run: python benchmarks/bench_analysis.py [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

from pegtool.analysis import analyze
from pegtool.template import load_template

ROOT = Path(__file__).resolve().parent.parent


def _clear_caches() -> None:
    sys.modules["pegtool.analysis.analyze"]._CACHE.clear()


def main() -> None:
    warnings.simplefilter("ignore")
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    times: dict[str, float] = {}
    for path in sorted((ROOT / "templates").glob("*.jinja")):
        source = load_template(path)
        best = float("inf")
        for _ in range(repeats):
            _clear_caches()
            t0 = time.perf_counter()
            analyze(source)
            best = min(best, time.perf_counter() - t0)
        times[path.stem] = best * 1000
    values = sorted(times.values())
    print(f"templates analysed: {len(values)} (best of {repeats} cold runs each)")
    print(f"median: {statistics.median(values):.1f} ms   worst: {values[-1]:.1f} ms   total: {sum(values):.0f} ms")
    print("slowest:")
    for name, ms in sorted(times.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {ms:8.1f} ms  {name}")


if __name__ == "__main__":
    main()
