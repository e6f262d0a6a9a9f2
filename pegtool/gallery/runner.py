"""Stage: gallery — ``regen``: build every template's artefacts (in parallel), then write or check.

Generation never depends on scheduling: templates are built independently (each in a fresh
guarded context with a fixed clock) and assembled in file-name order, so a run on one core and
a run on four give the same bytes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from pegtool.errors import PegtoolError
from pegtool.gallery.build import ARTEFACTS, Built, build_template, clean_error
from pegtool.gallery.discover import Entry, find_templates
from pegtool.gallery.markdown import index_md, plural
from pegtool.gallery.progress import Progress
from pegtool.gallery.sync import Changes, compare, diffs, write

INDEX = "INDEX.md"
MAX_JOBS = 4

Tools = list[dict[str, Any]]


def standard_tools() -> Tools:
    """The standard tool set shipped with pegtool (``pegtool/data/tools.json``)."""
    text = resources.files("pegtool").joinpath("data/tools.json").read_text(encoding="utf-8")
    return _tool_list(json.loads(text), "pegtool/data/tools.json")


def load_tools(path: str | Path | None) -> Tools:
    """Tools from a JSON file (a list, or an object with ``tools``); the standard set for None."""
    if path is None:
        return standard_tools()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PegtoolError(f"{path}: cannot read tools: {exc}") from exc
    return _tool_list(data, str(path))


def _tool_list(data: Any, where: str) -> Tools:
    from pegtool.errors import RequestError
    from pegtool.request import check_tools

    tools = data["tools"] if isinstance(data, dict) and isinstance(data.get("tools"), list) else data
    try:
        check_tools(tools)  # the request layer's message (a single tool object, a nameless tool, ...)
    except RequestError as exc:
        raise PegtoolError(f"{where}: {exc}") from exc
    return tools


def default_jobs(n_templates: int) -> int:
    env = os.environ.get("PEGTOOL_JOBS", "")
    jobs = int(env) if env.isdigit() and int(env) > 0 else min(MAX_JOBS, os.cpu_count() or 1)
    return max(1, min(jobs, n_templates))


def build_safely(directory: Path, entry: Entry, tools: Tools, standard: Tools) -> tuple[Built, float]:
    """``build_template`` that also survives a bug in regen itself; returns the seconds it took."""
    start = time.perf_counter()
    try:
        built = build_template(directory, entry, tools, standard)
    except Exception as exc:  # noqa: BLE001 - the gallery must go on
        built = Built(entry, errors={"regen": clean_error(exc, directory)})
        note = f"# pegtool regen: not generated: {built.errors['regen']}\n"
        built.files = {name: note for name in ARTEFACTS}
    return built, time.perf_counter() - start


@dataclass
class Generation:
    """The outcome of building a gallery in memory."""

    builts: list[Built]
    seconds: list[float]
    total_seconds: float
    expected: dict[str, bytes] = field(default_factory=dict)

    @property
    def failed(self) -> list[Built]:
        return [b for b in self.builts if b.errors]


Step = Callable[[str, float, bool], None]


def _build_serial(directory: Path, entries: list[Entry], tools: Tools, standard: Tools,
                  step: Step) -> list[tuple[Built, float]]:
    results = []
    for e in entries:
        built, secs = build_safely(directory, e, tools, standard)
        step(e.stem, secs, bool(built.errors))
        results.append((built, secs))
    return results


def _build_parallel(directory: Path, entries: list[Entry], tools: Tools, standard: Tools,
                    step: Step, jobs: int) -> list[tuple[Built, float]]:
    results: dict[int, tuple[Built, float]] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(build_safely, directory, e, tools, standard): i for i, e in enumerate(entries)}
        for fut in as_completed(futures):
            built, secs = results[futures[fut]] = fut.result()
            step(built.entry.stem, secs, bool(built.errors))
    return [results[i] for i in range(len(entries))]


def generate(directory: str | Path, *, tools_path: str | Path | None = None, jobs: int | None = None,
             progress: Progress | None = None) -> Generation:
    """Build every template's artefacts and the index in memory; nothing is written."""
    d = Path(directory)
    if not d.is_dir():
        raise PegtoolError(f"{d}: not a directory")
    tools, standard = load_tools(tools_path), standard_tools()
    entries = find_templates(d)
    jobs = default_jobs(len(entries)) if jobs is None else max(1, jobs)
    step: Step = progress.step if progress is not None else (lambda name, secs, failed: None)
    start = time.perf_counter()
    results = None
    if jobs > 1 and len(entries) > 1:
        try:
            results = _build_parallel(d, entries, tools, standard, step, jobs)
        except (OSError, BrokenProcessPool, ImportError):
            results = None  # no process pool here (sandbox, frozen app): build serially instead
    if results is None:
        results = _build_serial(d, entries, tools, standard, step)
    gen = Generation([b for b, _ in results], [s for _, s in results], time.perf_counter() - start)
    gen.expected = expected_files(gen.builts, tools_label(tools_path, tools, standard))
    return gen


def tools_label(path: str | Path | None, tools: Tools, standard: Tools) -> str:
    """How INDEX.md names a custom tool set (its file name and tool names); empty for the standard
    set. No directory: the page must not depend on where the file was."""
    if path is None or tools == standard:
        return ""
    names = ", ".join(f"`{t.get('function', t).get('name', '?')}`" for t in tools)
    return f"the tools of `{Path(path).name}`: {names}" if names else f"the tools of `{Path(path).name}` (none)"


def expected_files(builts: list[Built], tools: str = "") -> dict[str, bytes]:
    """Every file regen owns, relative to the gallery directory, as bytes."""
    files = {f"{b.entry.stem}/{name}": text.encode("utf-8") for b in builts for name, text in b.files.items()}
    files[INDEX] = index_md(builts, tools).encode("utf-8")
    return files


@dataclass
class RegenResult:
    """What one ``regen`` run found (and, unless ``check``, wrote)."""

    directory: Path
    gen: Generation
    changes: Changes
    check: bool
    command: str  # how to rerun it without --check (for the STALE hint)

    @property
    def ok(self) -> bool:
        return not (self.check and self.changes.stale)

    def diff(self) -> str:
        return diffs(self.directory, self.gen.expected, self.changes) if self.check else ""

    def report(self) -> str:
        return _report(self.gen, self.changes, self.check, self.command)

    def to_dict(self) -> dict[str, Any]:
        c = self.changes
        return {"ok": self.ok, "check": self.check, "templates": len(self.gen.builts),
                "seconds": round(self.gen.total_seconds, 2),
                "with_errors": {b.entry.stem: b.errors for b in self.gen.failed},
                "changed": c.changed, "missing": c.missing, "extra": c.extra,
                "written": [] if self.check else c.all(), "diff": self.diff()}


def run_regen(directory: str | Path, *, tools_path: str | Path | None = None, check: bool = False,
              jobs: int | None = None, progress_stream: TextIO | None = None, quiet: bool = False) -> RegenResult:
    """Regenerate (or, with ``check``, compare) the gallery in ``directory``; progress goes to
    ``progress_stream`` (stderr by default; nothing with ``quiet``)."""
    stream = sys.stderr if progress_stream is None else progress_stream
    d = Path(directory)
    if not d.exists():
        raise PegtoolError(f"{d}: no such directory")
    n = len(find_templates(d)) if d.is_dir() else 0
    progress = None if quiet else Progress(n, stream, label="regen --check" if check else "regen")
    try:
        gen = generate(d, tools_path=tools_path, jobs=jobs, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    changes = compare(d, gen.expected, [b.entry.stem for b in gen.builts])
    if not check:
        write(d, gen.expected, changes)
    command = f"pegtool regen {directory}" + (f" --tools {tools_path}" if tools_path is not None else "")
    return RegenResult(d, gen, changes, check, command)


def regen(directory: str | Path, *, tools_path: str | Path | None = None, check: bool = False,
          out: TextIO | None = None, jobs: int | None = None, progress_stream: TextIO | None = None) -> bool:
    """Regenerate the gallery in ``directory`` (or, with ``check``, compare it and print diffs).

    Returns True when the directory is up to date afterwards (always, unless ``check`` found stale,
    missing or extra files). Templates that fail are reported in their artefacts, not raised.
    """
    out = sys.stdout if out is None else out
    result = run_regen(directory, tools_path=tools_path, check=check, jobs=jobs, progress_stream=progress_stream)
    out.write(result.diff())
    out.write(result.report() + "\n")
    out.flush()
    return result.ok


def _report(gen: Generation, changes: Changes, check: bool, command: str = "pegtool regen") -> str:
    label = "regen --check" if check else "regen"
    names = [b.entry.stem for b in gen.failed]
    shown = ", ".join(names[:8]) + (f", ... ({len(names) - 8} more)" if len(names) > 8 else "")
    errors = f"{len(names)} with errors ({shown})" if names else "no errors"
    head = f"{plural(len(gen.builts), 'template')} in {gen.total_seconds:.1f}s, {errors}"
    counts = (f"{plural(len(changes.changed), 'file')} changed, {len(changes.missing)} missing, "
              f"{len(changes.extra)} extra")
    if check:
        verdict = "up to date" if not changes.stale else f"STALE: {counts}; run `{command}`"
    else:
        verdict = f"{counts}: written" if changes.stale else "up to date"
    return f"{label}: {head}\n{label}: {verdict}"
