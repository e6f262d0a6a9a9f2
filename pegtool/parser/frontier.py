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

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pegtool.parser.jsonscan import JsonRun

if TYPE_CHECKING:
    from pegtool.parser.engine import ParseResult
    from pegtool.parser.matchers import CaptureNode

#: "the run does not simply grow": re-parse
NO = -1


def held_back(text: str, lo: int, hi: int, delimiters: tuple[str, ...]) -> int:
    """The first position in ``[lo, hi)`` whose tail is a proper prefix of a delimiter, or -1."""
    n = len(text)
    by_first = _by_first(delimiters)
    for j in range(lo, min(hi, n)):
        candidates = by_first.get(text[j])
        if candidates is None:
            continue
        tail = text[j:]
        if any(len(d) > n - j and d.startswith(tail) for d in candidates):
            return j
    return -1


@functools.lru_cache(maxsize=256)
def _by_first(delimiters: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The delimiters grouped by their first character (only those can start at a position)."""
    out: dict[str, list[str]] = {}
    for d in delimiters:
        if d:
            out.setdefault(d[0], []).append(d)
    return {k: tuple(v) for k, v in out.items()}


class UntilRun:
    """The growth rule of ``until(delims)``: no delimiter may start in the new text (nor in the
    delimiter-length window before it); a tail that is a delimiter prefix is held back."""

    __slots__ = ("delimiters", "find", "longest", "firsts")

    def __init__(self, delimiters: tuple[str, ...], find: Callable[[str, int], int]) -> None:
        self.delimiters = delimiters
        self.find = find
        self.longest = max(len(d) for d in delimiters)
        self.firsts = re.compile("[" + "".join(re.escape(d[0]) for d in delimiters) + "]").search

    def grow(self, text: str, start: int, old_n: int) -> int:
        if self.grow_full(text, start, old_n) == NO:
            return NO
        n = len(text)
        lo = n - self.longest + 1
        if self.firsts(text, max(start, lo)) is None:
            return n
        j = held_back(text, max(start, lo), n, self.delimiters)
        return j if j >= 0 else n

    def grow_full(self, text: str, start: int, old_n: int) -> int:
        """Full mode: the run reaches the new end unless a delimiter starts in the new text."""
        return NO if self.find(text, max(start, old_n - self.longest + 1)) >= 0 else len(text)

    def advance(self, text: str, start: int, old_n: int) -> tuple[int, Run, int] | None:
        end = self.grow(text, start, old_n)
        return None if end == NO else (end, self, start)

    def reads_from(self, start: int, old_n: int) -> int:
        """The first position :meth:`advance` reads (a delimiter may start that far back)."""
        return max(0, start, old_n - self.longest + 1)

    def shifted(self, delta: int) -> UntilRun:
        return self


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

    grow_full = grow

    def advance(self, text: str, start: int, old_n: int) -> tuple[int, Run, int] | None:
        end = self.grow(text, start, old_n)
        return None if end == NO else (end, self, start)

    def reads_from(self, start: int, old_n: int) -> int:
        return old_n

    def shifted(self, delta: int) -> CharRun:
        return self


class LoopRun:
    """The growth rule of ``e*`` with a capture-free ``e``: resume the repetition at the start of
    the iteration the text ended in (earlier iterations are final); it must end for want of text
    again. ``anchor``: where the repetition started (it must lie before the old end)."""

    __slots__ = ("loop", "count", "anchor", "make_ctx")

    def __init__(self, loop: Callable[..., int], count: int, anchor: int, make_ctx: Callable[[str], Any]) -> None:
        self.loop, self.count, self.anchor, self.make_ctx = loop, count, anchor, make_ctx

    def advance(self, text: str, start: int, old_n: int) -> tuple[int, Run, int] | None:
        ctx = self.make_ctx(text)
        r = self.loop(ctx, start, self.count)
        leaf = ctx.leaf
        if r >= NO or leaf is None:
            return None
        run = leaf[0]
        if isinstance(run, LoopRun) and run.loop is self.loop:  # still this repetition
            run = LoopRun(self.loop, run.count, self.anchor, self.make_ctx)
        return -2 - r, run, leaf[1]

    def advance_full(self, text: str, start: int, old_n: int) -> tuple[Run, int] | None:
        """Full mode: resumed at ``start``, the repetition must end at the new end of the text,
        replayable the same way (nothing else looked at the end)."""
        ctx = self.make_ctx(text)
        if self.loop(ctx, start, self.count) != len(text) or len(ctx.ends) != 1:
            return None
        run, at = ctx.ends[0]
        if not (isinstance(run, LoopRun) and run.loop is self.loop):
            return None
        return LoopRun(self.loop, run.count, self.anchor, self.make_ctx), at

    def reads_from(self, start: int, old_n: int) -> int:
        return 0  # the resumed loop runs on the whole text: never given a shifted window

    def shifted(self, delta: int) -> LoopRun:
        return self


Run = UntilRun | CharRun | LoopRun | JsonRun


@dataclass(frozen=True, slots=True)
class Frontier:
    """The run leaf a NEED_MORE parse of ``text[:n]`` stopped in, started at ``start``."""

    run: Run
    start: int
    n: int

    def grow(self, text: str) -> tuple[int, Frontier] | None:
        """(the new NEED_MORE position, the new frontier) once ``text`` (which extends the parsed
        text) is parsed, or None when the outcome may change otherwise (then re-parse)."""
        anchor = self.run.anchor if isinstance(self.run, LoopRun) else self.start
        if anchor >= self.n:
            return None  # an empty run: nodes above it may have looked at the end of the text
        step = self.run.advance(text, self.start, self.n)
        if step is None:
            return None
        end, run, start = step
        return end, Frontier(run, start, len(text))

    def grow_in(self, window: Callable[[int], tuple[str, int]]) -> tuple[int, Frontier] | None:
        """:meth:`grow` on the text as far as the run reads it: ``window(lo)`` gives ``(w, base)``,
        the text from ``base`` (at most ``lo``) to its end, so appending a chunk costs the chunk
        whatever the length of the text before it."""
        w, base = window(self.run.reads_from(self.start, self.n))
        if base == 0:
            return self.grow(w)
        inner = Frontier(self.run.shifted(-base), self.start - base, self.n - base)
        step = inner.grow(w)
        if step is None:
            return None
        end, front = step
        return end + base, Frontier(front.run.shifted(base), front.start + base, front.n + base)


@dataclass(frozen=True, slots=True)
class Ending:
    """Full mode: how a parse of ``text[:n]`` looked at the end of the text — the runs that
    reached it from before (``(None, pos)``: something else did, so appending text may change
    the outcome). Positions at the end itself see the same (nothing) after appending."""

    runs: tuple[tuple[Run | None, int], ...]
    n: int

    def advance(self, text: str) -> Ending | None:
        """The Ending of the full parse of ``text`` (extending the parsed text) when it is the same
        parse with every run that reached the old end reaching the new one; else None."""
        n = len(text)
        runs: list[tuple[Run | None, int]] = []
        for run, start in self.runs:
            if isinstance(run, LoopRun):
                step = run.advance_full(text, start, self.n)
                if step is None:
                    return None
                runs.append(step)
            elif run is None or run.grow_full(text, start, self.n) != n:
                return None
            else:
                runs.append((run, start))
        return Ending(tuple(runs), n)


def _move(nodes: list[CaptureNode], old: int, new: int) -> list[CaptureNode]:
    """Copy of ``nodes`` with every position ``old`` (the trailing nodes) moved to ``new``."""
    k = len(nodes)
    while k and nodes[k - 1].end == old:
        k -= 1
    if k == len(nodes):
        return nodes
    out = nodes[:k]
    for node in nodes[k:]:
        start = new if node.start == old else node.start
        out.append(type(node)(node.tag, start, new, _move(node.children, old, new), node.partial, node.note))
    return out


def regrown(result: ParseResult, text: str) -> ParseResult | None:
    """A full-mode ``result`` carried over to ``text`` (which extends the parsed text) without
    parsing, or None when a parse is needed (see :class:`Ending`)."""
    ending = result.ending.advance(text) if result.ending is not None else None
    if ending is None or result.ending is None:
        return None
    old, new = result.ending.n, len(text)
    if not ending.runs:  # nothing reached the old end from before: the parse is the same
        return replace(result, ending=ending)
    if any((run.anchor if isinstance(run, LoopRun) else start) >= old for run, start in result.ending.runs):
        return None  # an empty run at the old end: a node ending there may have ended first
    end = new if result.end == old else result.end
    far = new if result.farthest == old else result.farthest
    return replace(result, end=end, farthest=far, captures=_move(result.captures, old, new), ending=ending)


def _shift(nodes: list[CaptureNode], end: int) -> list[CaptureNode]:
    """Copy of ``nodes`` with the open capture path (always the last node) ending at ``end``."""
    if not nodes or not nodes[-1].partial:
        return nodes
    out = list(nodes)
    last = out[-1]
    out[-1] = type(last)(last.tag, last.start, end, _shift(last.children, end), True, last.note)
    return out


def grown(result: ParseResult, end: int, front: Frontier) -> ParseResult:
    """``result`` (a NEED_MORE parse with a frontier) after its run grew to ``end``."""
    return type(result)(result.status, end, _shift(result.captures, end), end, (), result.tentative, front)


__all__ = ["NO", "CharRun", "Ending", "Frontier", "LoopRun", "UntilRun", "grown", "held_back", "regrown"]
