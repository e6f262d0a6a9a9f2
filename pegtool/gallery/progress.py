"""Stage: gallery — progress reporting: a one-line bar on a terminal, plain lines in CI and logs."""

from __future__ import annotations

import os
from typing import TextIO

BAR_WIDTH = 28


def is_interactive(stream: TextIO) -> bool:
    """A terminal that is not a CI runner (``CI`` set to anything but ``""``/``0``/``false``)."""
    ci = os.environ.get("CI", "").strip().lower()
    if ci not in ("", "0", "false", "no"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Counts finished items; ``bar=None`` picks the bar when ``stream`` is an interactive terminal."""

    def __init__(self, total: int, stream: TextIO, *, bar: bool | None = None, label: str = "regen") -> None:
        self.total, self.stream, self.label, self.done = total, stream, label, 0
        self.bar = is_interactive(stream) if bar is None else bar

    def step(self, name: str, seconds: float, failed: bool = False) -> None:
        self.done += 1
        if self.bar:
            self._draw(name)
        else:
            mark = "  (errors)" if failed else ""
            self.stream.write(f"{self.label} [{self.done}/{self.total}] {name} {seconds:.2f}s{mark}\n")
        self.stream.flush()

    def _draw(self, name: str) -> None:
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        line = f"\r{self.label} [{bar}] {self.done}/{self.total} {name[:40]:<40}"
        self.stream.write(line + ("\n" if self.done >= self.total else ""))

    def close(self) -> None:
        if self.bar and self.done < self.total:
            self.stream.write("\n")
            self.stream.flush()
