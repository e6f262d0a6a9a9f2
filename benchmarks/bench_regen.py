"""Benchmark: time a full ``pegtool regen`` over the template gallery (in memory, nothing written).

    python benchmarks/bench_regen.py [DIR] [--jobs N] [--tools tools.json]

Prints the wall-clock total, the per-template median and the slowest templates, and how many
templates recorded errors. ``--jobs 1`` measures the serial cost; the default uses up to 4 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pegtool.gallery import generate  # noqa: E402
from pegtool.gallery.progress import Progress  # noqa: E402
from pegtool.gallery.runner import default_jobs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", default=str(REPO / "templates"))
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--tools", default=None)
    ap.add_argument("--worst", type=int, default=5, help="how many of the slowest templates to list")
    args = ap.parse_args(argv)
    from pegtool.gallery import find_templates

    n = len(find_templates(Path(args.dir)))
    jobs = args.jobs or default_jobs(n)
    gen = generate(args.dir, tools_path=args.tools, jobs=jobs, progress=Progress(n, sys.stderr))
    times = sorted(zip(gen.seconds, (b.entry.stem for b in gen.builts), strict=True), reverse=True)
    print(f"templates: {len(gen.builts)}   jobs: {jobs}")
    print(f"total wall-clock: {gen.total_seconds:.2f}s   sum of per-template times: {sum(gen.seconds):.2f}s")
    if times:
        print(f"per template: median {statistics.median(gen.seconds):.2f}s   worst {times[0][0]:.2f}s")
        for secs, stem in times[: args.worst]:
            print(f"  {secs:7.2f}s  {stem}")
    print(f"templates with errors: {len(gen.failed)}")
    for b in gen.failed:
        print(f"  {b.entry.stem}: {', '.join(sorted(b.errors))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
