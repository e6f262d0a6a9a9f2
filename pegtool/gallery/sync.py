"""Stage: gallery — compare generated artefacts with the files on disk, write them, show diffs.

Paths are relative to the gallery directory, with ``/`` separators. The folder ``DIR/<stem>/`` of
a template belongs to regen: a file in it that regen does not generate is *extra* (stale). A folder
whose template is gone is recognised by its ``SUMMARY.md`` + ``analysis.json``; its artefact files
are extra too. Files are compared and written as bytes (UTF-8, ``\\n`` line ends on every OS).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pegtool.gallery.build import ARTEFACTS

MAX_DIFF_LINES = 400


@dataclass
class Changes:
    """What differs between the generated artefacts and the directory."""

    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.missing or self.changed or self.extra)

    def all(self) -> list[str]:
        return sorted(self.missing + self.changed + self.extra)


def _visible_files(folder: Path) -> Iterable[Path]:
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts):
            yield p


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def orphan_dirs(directory: Path, stems: Iterable[str]) -> list[Path]:
    """Generated folders whose template is no longer in the directory."""
    keep = set(stems)
    return [d for d in sorted(directory.iterdir()) if d.is_dir() and d.name not in keep
            and (d / "SUMMARY.md").is_file() and (d / "analysis.json").is_file()]


def extra_files(directory: Path, expected: Mapping[str, bytes], stems: Iterable[str]) -> list[str]:
    stems = list(stems)
    found = [_rel(p, directory) for s in stems if (directory / s).is_dir()
             for p in _visible_files(directory / s)]
    found += [_rel(d / name, directory) for d in orphan_dirs(directory, stems)
              for name in ARTEFACTS if (d / name).is_file()]
    return sorted(f for f in found if f not in expected)


def compare(directory: Path, expected: Mapping[str, bytes], stems: Iterable[str]) -> Changes:
    """Which expected files are missing or different on disk, and which files are extra."""
    changes = Changes(extra=extra_files(directory, expected, stems))
    for rel in sorted(expected):
        path = directory / rel
        if not path.is_file():
            changes.missing.append(rel)
        elif path.read_bytes() != expected[rel]:
            changes.changed.append(rel)
    return changes


def write(directory: Path, expected: Mapping[str, bytes], changes: Changes) -> None:
    """Bring the directory in line: write missing/changed files, delete extra ones."""
    for rel in changes.missing + changes.changed:
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(expected[rel])
    for rel in changes.extra:
        (directory / rel).unlink()
    for folder in sorted({(directory / rel).parent for rel in changes.extra}, reverse=True):
        if folder != directory and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _lines(data: bytes | None) -> list[str]:
    return [] if data is None else data.decode("utf-8", errors="replace").splitlines(keepends=True)


def file_diff(rel: str, old: bytes | None, new: bytes | None) -> str:
    """Unified diff of one file (``old`` on disk, ``new`` generated; None: absent), capped in length."""
    lines = list(difflib.unified_diff(
        _lines(old), _lines(new),
        fromfile=f"a/{rel}" if old is not None else "/dev/null",
        tofile=f"b/{rel}" if new is not None else "/dev/null"))
    lines = [ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in lines]
    if len(lines) > MAX_DIFF_LINES:
        cut = len(lines) - MAX_DIFF_LINES
        lines = lines[:MAX_DIFF_LINES] + [f"... diff of {rel} cut: {cut} more lines\n"]
    return "".join(lines)


def diffs(directory: Path, expected: Mapping[str, bytes], changes: Changes) -> str:
    """The unified diffs of every stale, missing and extra file, in path order."""
    out = []
    for rel in changes.all():
        path = directory / rel
        old = path.read_bytes() if path.is_file() else None
        out.append(file_diff(rel, old, expected.get(rel)))
    return "".join(out)
