"""Stage: parser — the runtime pieces of the PEG interpreter: parse state and matcher factories.

A matcher is a closure ``m(ctx, pos) -> int``. The returned integer encodes the outcome:

* ``r >= 0``  — success, ``r`` is the end position;
* ``r == -1`` — failure (:data:`FAIL`);
* ``r <= -2`` — need more input; the node matched up to ``-2 - r`` (see :func:`need_more`).

Captured nodes are appended to ``ctx.caps``; whoever backtracks truncates that list. Repetition
is a loop, so recursion depth grows only with the nesting of the grammar and the input. Rule
calls are memoised (packrat) by ``(rule, pos)``; each entry remembers whether it examined the end
of the text (``ctx.hit``), so after text is appended the entries that did not stay valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pegtool.grammar.ir import AnyChar, CharClass, Tag
from pegtool.parser.check import class_members
from pegtool.parser.fastpath import class_re
from pegtool.parser.frontier import CharRun, LoopRun, Run, UntilRun, held_back

FAIL = -1


def need_more(pos: int) -> int:
    """The encoded NEED_MORE outcome for a match that reached ``pos``."""
    return -2 - pos


@dataclass(slots=True)
class CaptureNode:
    """One captured span; ``partial`` is True when the text ended inside it."""

    tag: Tag
    start: int
    end: int
    children: list[CaptureNode]
    partial: bool = False
    note: str = ""  # the capture's note (see ``pegtool.grammar.ir.Capture``)

    def text(self, source: str) -> str:
        return source[self.start : self.end]


class Ctx:
    """Mutable state of one parse run."""

    __slots__ = ("text", "n", "caps", "far", "exp", "memo", "hit", "hits", "tentative", "leaf", "ends")

    def __init__(self, text: str, memo: dict[int, tuple[int, list[CaptureNode], bool]]) -> None:
        self.text = text
        self.n = len(text)
        self.caps: list[CaptureNode] = []
        self.far = -1
        self.exp: list[str] = []
        self.memo = memo
        self.hit = False  # the current rule invocation examined the end of the text
        self.hits: list[int] = []  # memo keys whose entries examined the end of the text
        #: partial mode: the NEED_MORE outcome passed a choice with alternatives left or a
        #: repetition that could stop, so once the text ends another way may win
        self.tentative = False
        #: partial mode: the origin of the latest NEED_MORE outcome when it is a run leaf
        #: (``(run, start)``, see :mod:`pegtool.parser.frontier`), else None
        self.leaf: tuple[Run, int] | None = None
        #: full mode: the runs that reached the end of the text from before it, ``(run, start)``,
        #: and ``(None, pos)`` for anything else that looked at the end from ``pos`` before it
        self.ends: list[tuple[Run | None, int]] | None = None

    @classmethod
    def fresh(cls, text: str) -> Ctx:
        """A context for resuming a capture-free matcher on ``text`` (no memo kept)."""
        return cls(text, {})

    @classmethod
    def fresh_full(cls, text: str) -> Ctx:
        """:meth:`fresh`, tracking the end of the text (full mode)."""
        ctx = cls(text, {})
        ctx.ends = []
        return ctx

    def fail(self, pos: int, desc: str) -> None:
        if pos > self.far:
            self.far = pos
            self.exp = [desc]
        elif pos == self.far:
            self.exp.append(desc)


Matcher = Callable[[Ctx, int], int]


class Lazy:
    """A matcher compiled on first use (the interpreter fallback of a regex)."""

    __slots__ = ("_make", "_fn")

    def __init__(self, make: Callable[[], Matcher]) -> None:
        self._make = make
        self._fn: Matcher | None = None

    def get(self) -> Matcher:
        if self._fn is None:
            self._fn = self._make()
        return self._fn


def full_regex(match: Callable[..., re.Match[str] | None], ext: int, la: int, exact: Lazy) -> Matcher:
    """A regex in full mode. When the parse tracks the end of the text (``ctx.ends``) and the
    regex may have looked at it, the interpreter (``exact``, same outcome) redoes the match to
    record precisely what looked at the end."""

    def m(c: Ctx, pos: int) -> int:
        mo = match(c.text, pos)
        if c.ends is not None and pos < c.n:
            e = FAIL if mo is None else mo.end()
            if (pos + ext > c.n) if e == FAIL else (e + la > c.n or e == c.n):
                exact.get()(c, pos)
        return FAIL if mo is None else mo.end()

    return m


def partial_regex(match: Callable[..., re.Match[str] | None], ext: int, la: int, slow: Lazy) -> Matcher:
    def m(c: Ctx, pos: int) -> int:
        mo = match(c.text, pos)
        if mo is not None:
            e = mo.end()
            if e + la <= c.n:
                return e
        elif pos + ext <= c.n:
            return FAIL
        return slow.get()(c, pos)

    return m


def char_test(node: CharClass) -> Callable[[str], bool]:
    members = class_members(CharClass(node.ranges, False))
    if members is not None:
        return members.__contains__ if not node.negated else (lambda ch: ch not in members)
    match = re.compile(class_re(node)).match
    return lambda ch: match(ch) is not None


def choice_all(fs: tuple[Matcher, ...]) -> Matcher:
    last = fs[-1] if fs else None

    def m(c: Ctx, pos: int) -> int:
        caps = c.caps
        k = len(caps)
        for f in fs:
            r = f(c, pos)
            if r != FAIL:
                if r < FAIL and f is not last:
                    c.tentative = True
                return r
            if len(caps) > k:
                del caps[k:]
        return FAIL

    return m


def choice_dispatch(
    fs: tuple[Matcher, ...], table: dict[str, tuple[Matcher, ...]], default: tuple[Matcher, ...]
) -> Matcher:
    get = table.get

    def m(c: Ctx, pos: int) -> int:
        alts = get(c.text[pos], default) if pos < c.n else fs
        caps = c.caps
        k = len(caps)
        for f in alts:
            r = f(c, pos)
            if r != FAIL:
                if r < FAIL and f is not alts[-1]:
                    c.tentative = True
                return r
            if len(caps) > k:
                del caps[k:]
        return FAIL

    return m


def repeat_chars(
    item: CharClass | AnyChar, lo: int, hi: int | None, partial: bool, record: bool, desc: str
) -> Matcher:
    """``[c]{lo,hi}`` by one regex run (exact: each iteration is one character)."""
    pattern = class_re(item) if isinstance(item, CharClass) else "(?s:.)"
    match = re.compile(pattern + "*").match
    run = CharRun(match, hi)

    def m(c: Ctx, pos: int) -> int:
        n = c.n
        stop = n if hi is None else min(n, pos + hi)
        e = match(c.text, pos, stop).end()  # type: ignore[union-attr]
        if hi is not None and e - pos >= hi:
            return e
        if e == n:
            if partial:
                c.hit = True
                c.leaf = (run, pos)
                return -2 - e
            if pos < n and c.ends is not None:
                c.ends.append((run if e - pos >= lo else None, pos))
        if record:
            c.fail(e, desc)
        return e if e - pos >= lo else FAIL

    return m


def repeat_resume(match: Callable[..., re.Match[str] | None], loop: Any) -> Matcher:
    """Skip by regex every iteration that starts at least ``extent`` characters before the end
    (those cannot change when text is appended), then let ``loop`` finish the repetition."""

    def m(c: Ctx, pos: int) -> int:
        e = match(c.text, pos).end()  # type: ignore[union-attr]
        return loop(c, e, 1 if e > pos else 0)  # type: ignore[no-any-return]

    return m


def repeat_loop(
    f: Matcher,
    lo: int,
    hi: int | None,
    skip: Callable[..., re.Match[str] | None] | None,
    resumable: bool = False,
) -> Matcher:
    """``e{lo,hi}`` as a loop; ``skip`` jumps over a run of the first alternative's class.
    ``resumable`` (``e`` capture-free, no upper bound): a NEED_MORE inside an iteration leaves a
    :class:`~pegtool.parser.frontier.LoopRun` frontier (resume at that iteration)."""
    run = CharRun(skip, None) if skip is not None and hi is None else None
    resume = resumable and hi is None

    def m(c: Ctx, pos: int, count: int = 0) -> int:
        caps = c.caps
        anchor = pos
        ran = -1  # where a skipped run that reached the end of the text started
        mark = (pos, count, 0)  # full mode: the last iteration that started before the end
        while hi is None or count < hi:
            if c.ends is not None and pos < c.n:
                mark = (pos, count, len(c.ends))
            if skip is not None:
                e = skip(c.text, pos).end()  # type: ignore[union-attr]
                if e > pos:
                    if hi is not None and count + e - pos > hi:
                        e = pos + hi - count
                    count += e - pos
                    ran = pos if e == c.n else -1
                    pos = e
                    if hi is not None and count >= hi:
                        break
            k = len(caps)
            r = f(c, pos)
            if r > pos:
                count += 1
                pos = r
            elif r == pos:  # an empty iteration repeats forever: the bounds are met
                count = max(count + 1, lo)
                break
            elif r == FAIL:
                if len(caps) > k:
                    del caps[k:]
                break
            else:
                if count >= lo:
                    c.tentative = True
                    if c.leaf is not None:
                        pass  # a run inside the item: the innermost frontier is the cheapest
                    elif resume:
                        c.leaf = (LoopRun(m, count, anchor, Ctx.fresh), pos)
                    elif ran >= 0 and run is not None:
                        c.leaf = (run, ran)  # the item at the end saw only the end
                return r
        if c.ends is not None and pos == c.n and mark[0] < pos:
            if resume and count >= lo:  # replay from the last iteration instead of its details
                del c.ends[mark[2] :]
                c.ends.append((LoopRun(m, mark[1], anchor, Ctx.fresh_full), mark[0]))
            elif ran >= 0:
                c.ends.append((run if count >= lo else None, ran))
        return pos if count >= lo else FAIL

    return m


def predicate(f: Matcher, positive: bool, record: bool, desc: str) -> Matcher:
    def m(c: Ctx, pos: int) -> int:
        caps = c.caps
        k = len(caps)
        far, exp, nexp = c.far, c.exp, len(c.exp)
        r = f(c, pos)
        if len(caps) > k:
            del caps[k:]
        if not positive:  # failures inside !e are not expectations
            c.far, c.exp = far, exp
            del exp[nexp:]
        if r < FAIL:
            c.leaf = None
            return -2 - pos
        if (r >= 0) == positive:
            return pos
        if record and not positive:
            c.fail(pos, "not " + desc)
        return FAIL

    return m


def memo_ref(idx: int, nrules: int, bodies: list[Matcher | None]) -> Matcher:
    """Packrat call of rule ``idx``: results and captures memoised by ``(rule, pos)``."""

    def m(c: Ctx, pos: int) -> int:
        key = pos * nrules + idx
        entry = c.memo.get(key)
        if entry is not None:
            r, caps, hit = entry
            if caps:
                c.caps.extend(caps)
            if hit:
                c.hit = True
            if r < FAIL:
                c.leaf = None
            return r
        outer, hit0 = c.caps, c.hit
        inner: list[CaptureNode] = []
        c.caps, c.hit = inner, False
        r = bodies[idx](c, pos)  # type: ignore[misc]
        c.caps = outer
        hit = c.hit
        c.memo[key] = (r, inner if r != FAIL else [], hit)
        if hit:
            c.hits.append(key)
        else:
            c.hit = hit0
        if inner and r != FAIL:
            outer.extend(inner)
        return r

    return m


def until_matcher(delimiters: tuple[str, ...], partial: bool) -> Matcher:
    """``(!(d1/…/dn) .)*`` with ``str.find`` (one delimiter) or one compiled regex search."""
    longest = max(len(d) for d in delimiters)
    if len(delimiters) == 1:
        d = delimiters[0]

        def find(text: str, pos: int) -> int:
            return text.find(d, pos)

    else:
        search = re.compile("|".join(re.escape(d) for d in delimiters)).search

        def find(text: str, pos: int) -> int:
            mo = search(text, pos)
            return -1 if mo is None else mo.start()

    run = UntilRun(delimiters, find)

    def m(c: Ctx, pos: int) -> int:
        text, n = c.text, c.n
        i = find(text, pos)
        if i < 0:
            i = n
        elif not partial or n - i >= longest:
            return i
        if not partial:
            if pos < n and c.ends is not None:
                c.ends.append((run, pos))
            return n
        c.hit = True
        j = held_back(text, max(pos, n - longest + 1), i, delimiters)
        if j < 0 and i < n:
            return i
        c.leaf = (run, pos)
        return -2 - (j if j >= 0 else n)

    return m


__all__ = [
    "FAIL",
    "CaptureNode",
    "Ctx",
    "Lazy",
    "Matcher",
    "char_test",
    "choice_all",
    "choice_dispatch",
    "full_regex",
    "memo_ref",
    "need_more",
    "partial_regex",
    "predicate",
    "repeat_chars",
    "repeat_loop",
    "repeat_resume",
    "until_matcher",
]
