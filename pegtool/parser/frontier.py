"""Stage: parser — the frontier of a partial parse, for appending text without re-parsing.

In partial mode a NEED_MORE outcome travels from exactly one *origin* matcher (the one that ran
into the end of the text) straight up to the root: sequences stop at it, choices return it,
repetitions return it, captures record it as their (partial) end. Everything off that path
finished without looking at the end of the text, so appending text cannot change it.

When the origin is a *run* leaf — ``until(delims)`` or a repeated character class — appending
text that does not end the run only moves the run's end: the new parse is the old one with every
partial capture ending at the new position. :class:`Frontier` records that origin;
:meth:`Frontier.grow` tells, looking only at the new text (plus a delimiter's length before it),
whether the run simply grows and to where. Any other origin (a literal cut short, a predicate, a
replayed memo entry) leaves no frontier and the session re-parses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pegtool.parser.engine import ParseResult
    from pegtool.parser.matchers import CaptureNode

#: "the run does not simply grow": re-parse
NO = -1


def held_back(text: str, lo: int, hi: int, delimiters: tuple[str, ...]) -> int:
    """The first position in ``[lo, hi)`` whose tail is a proper prefix of a delimiter, or -1."""
    n = len(text)
    for j in range(lo, min(hi, n)):
        tail = text[j:]
        if any(len(d) > n - j and d.startswith(tail) for d in delimiters):
            return j
    return -1


class UntilRun:
    """The growth rule of ``until(delims)``: no delimiter may start in the new text (nor in the
    delimiter-length window before it); a tail that is a delimiter prefix is held back."""

    __slots__ = ("delimiters", "find", "longest")

    def __init__(self, delimiters: tuple[str, ...], find: Callable[[str, int], int]) -> None:
        self.delimiters = delimiters
        self.find = find
        self.longest = max(len(d) for d in delimiters)

    def grow(self, text: str, start: int, old_n: int) -> int:
        lo = max(start, old_n - self.longest + 1)
        if self.find(text, lo) >= 0:
            return NO
        n = len(text)
        j = held_back(text, max(start, n - self.longest + 1), n, self.delimiters)
        return j if j >= 0 else n


class CharRun:
    """The growth rule of ``[class]{lo,hi}``: every new character is in the class (and the upper
    bound is not reached)."""

    __slots__ = ("match", "hi")

    def __init__(self, match: Callable[..., object], hi: int | None) -> None:
        self.match = match
        self.hi = hi

    def grow(self, text: str, start: int, old_n: int) -> int:
        n = len(text)
        stop = n if self.hi is None else min(n, start + self.hi)
        e: int = self.match(text, old_n, stop).end()  # type: ignore[attr-defined]
        if self.hi is not None and e - start >= self.hi:
            return NO
        return n if e == n else NO


Run = UntilRun | CharRun


@dataclass(frozen=True, slots=True)
class Frontier:
    """The run leaf a NEED_MORE parse of ``text[:n]`` stopped in, started at ``start``."""

    run: Run
    start: int
    n: int

    def grow(self, text: str) -> int:
        """The new NEED_MORE position once ``text`` (which extends the parsed text) is parsed,
        or :data:`NO` when the outcome may change otherwise (then re-parse)."""
        if self.start >= self.n:
            return NO  # an empty run: nodes above it may have looked at the end of the text
        return self.run.grow(text, self.start, self.n)


def _shift(nodes: list[CaptureNode], end: int) -> list[CaptureNode]:
    """Copy of ``nodes`` with the open capture path (always the last node) ending at ``end``."""
    if not nodes or not nodes[-1].partial:
        return nodes
    out = list(nodes)
    last = out[-1]
    out[-1] = type(last)(last.tag, last.start, end, _shift(last.children, end), True)
    return out


def grown(result: ParseResult, end: int, text: str) -> ParseResult:
    """``result`` (a NEED_MORE parse with a frontier) after its run grew to ``end`` of ``text``."""
    assert result.frontier is not None
    front = replace(result.frontier, n=len(text))
    return replace(result, end=end, captures=_shift(result.captures, end), farthest=end, expected=(),
                   frontier=front)


__all__ = ["NO", "CharRun", "Frontier", "UntilRun", "grown", "held_back"]
