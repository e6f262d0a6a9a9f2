"""Where the benchmarks find their inputs: relative to the repository, never an absolute path.

``shared/bench`` is looked for next to the project root (``../shared/bench``), then next to each
parent directory (a git worktree kept one level deeper); ``PEGTOOL_BENCH`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_dir() -> Path:
    """The ``shared/bench`` directory (the first candidate when none exists, for the error message)."""
    if os.environ.get("PEGTOOL_BENCH"):
        return Path(os.environ["PEGTOOL_BENCH"])
    candidates = [parent / "shared" / "bench" for parent in ROOT.parents]
    return next((c for c in candidates if c.is_dir()), candidates[0])
