"""Stage: parser — back-end (a): a partial-input PEG interpreter over the IR.

:class:`Parser` compiles a :class:`~pegtool.grammar.ir.Grammar` once (JSON nodes lowered, refs
and left recursion checked) and parses strings with three outcomes: ``OK``, ``FAIL`` (with the
farthest failure position and what was expected there) and ``NEED_MORE`` (partial mode: the text
ended inside a possible match; the captures matched so far are returned, cut-off ones marked
``partial``). Positions are code-point indices (Python ``str``).

>>> from pegtool.grammar.builder import capture, lit, until
>>> from pegtool.grammar.ir import Grammar, Tag
>>> g = Grammar.of({"root": capture(Tag.CONTENT, until("<tool_call>")) + lit("<tool_call>")})
>>> p = Parser(g)
>>> p.parse("hi <tool_call>").status
<Status.OK: 'ok'>
>>> r = p.parse("hi <tool_", partial=True)
>>> r.status, r.captures[0].end, r.captures[0].partial
(<Status.NEED_MORE: 'need_more'>, 3, True)

:meth:`Parser.session` returns a :class:`Session` whose memo table survives appended text: memo
entries that never examined the end of the text stay valid, the basis of incremental streaming.
"""

from __future__ import annotations

import enum
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from pegtool.errors import ParseError
from pegtool.grammar.ir import Grammar
from pegtool.parser.check import check_grammar
from pegtool.parser.compile import Facts, Program
from pegtool.parser.frontier import Ending, Frontier, grown
from pegtool.parser.lowering import Lowering, lower_grammar
from pegtool.parser.matchers import FAIL, CaptureNode, Ctx, Matcher

#: Recursion limit while parsing: Python >= 3.11 runs Python-to-Python calls without C stack,
#: so deep (grammar-nesting) recursion is safe there; older versions get a modest raise.
DEEP_RECURSION = 250_000 if sys.version_info >= (3, 11) else 6_000


class Status(enum.Enum):
    OK = "ok"
    FAIL = "fail"
    NEED_MORE = "need_more"


@dataclass
class ParseResult:
    """Outcome of one parse. ``end``: how far the match reached (OK / NEED_MORE).

    ``farthest`` / ``expected`` describe the farthest failure; they are computed exactly when the
    parse failed or stopped before the end of the text (otherwise ``farthest == end``)."""

    status: Status
    end: int
    captures: list[CaptureNode] = field(default_factory=list)
    farthest: int = 0
    expected: tuple[str, ...] = ()
    #: NEED_MORE only: the outcome passed an ordered choice with alternatives left, or a
    #: repetition that could stop, so a different parse may win once the text ends
    tentative: bool = False
    #: NEED_MORE only: the run leaf the parse stopped in, when appending text may simply grow it
    #: (see :mod:`pegtool.parser.frontier`); None otherwise
    frontier: Frontier | None = None
    #: full mode (fast engine): how the parse looked at the end of the text, to carry it over
    #: to a longer text without parsing (:func:`pegtool.parser.frontier.regrown`)
    ending: Ending | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def error(self, text: str, message: str = "") -> ParseError:
        """A ParseError (with caret context) describing the farthest failure in ``text``."""
        return ParseError(text, self.farthest, self.expected, message)


class Parser:
    """A grammar compiled to closures; one program per mode, built on first use."""

    def __init__(self, grammar: Grammar, *, lower: Lowering | None = None, fast: bool = True) -> None:
        lowered, warnings = lower_grammar(grammar, lower)
        check_grammar(lowered)
        self.grammar = lowered
        self.warnings: tuple[str, ...] = tuple(warnings)
        self.fast = fast
        self._facts = Facts(lowered)
        self._programs: dict[tuple[bool, bool, bool], Program] = {}

    def program(self, *, partial: bool, fast: bool, open_atomic: bool = False) -> Program:
        key = (partial, fast, open_atomic and partial)
        if key not in self._programs:
            self._programs[key] = Program(self._facts, partial=partial, fast=fast, open_atomic=key[2])
        return self._programs[key]

    def parse(
        self,
        text: str,
        *,
        partial: bool = False,
        rule: str | None = None,
        pos: int = 0,
        open_atomic: bool = False,
        diagnose: bool = True,
        track_end: bool = False,
    ) -> ParseResult:
        """Parse ``text`` from ``pos`` with ``rule`` (default: the root); need not consume all.

        ``open_atomic`` (partial mode only): a half-matched :class:`~pegtool.grammar.ir.Atomic`
        group keeps its captures (marked partial) instead of producing none — what a streaming
        consumer needs to show a tool call while its arguments are still arriving.

        ``track_end`` (full mode, fast engine): record how the parse looked at the end of the text
        (``result.ending``), so :func:`pegtool.parser.frontier.regrown` can carry the result over
        to a longer text without parsing."""
        return self._parse(
            text, {}, partial=partial, rule=rule, pos=pos, open_atomic=open_atomic, diagnose=diagnose,
            track_end=track_end,
        )[0]

    def match(self, text: str) -> bool:
        """Full acceptance: OK and the whole text consumed (GBNF's anchored reading)."""
        result = self.parse(text)
        return result.status is Status.OK and result.end == len(text)

    def session(self, *, rule: str | None = None, open_atomic: bool = False, grow: bool = True) -> Session:
        """An appendable parse whose memo table is reused across :meth:`Session.extend` calls
        (``grow=False``: always re-parse, never just grow the frontier)."""
        return Session(self, rule, open_atomic=open_atomic, grow=grow)

    def _parse(
        self,
        text: str,
        memo: dict,
        *,
        partial: bool,
        rule: str | None,
        pos: int,
        open_atomic: bool = False,
        diagnose: bool = True,
        track_end: bool = False,
    ) -> tuple[ParseResult, Ctx]:
        name = rule or self.grammar.root
        if name not in self.grammar:
            raise KeyError(f"no rule named {name!r}")
        prog = self.program(partial=partial, fast=self.fast, open_atomic=open_atomic)
        ctx = Ctx(text, memo)
        track = track_end and not partial and self.fast and pos < len(text)
        if track:
            ctx.ends = []
        result = _result(run(lambda: prog.rule(name), ctx, pos), ctx, exact=not self.fast)
        result.tentative = ctx.tentative and result.status is Status.NEED_MORE
        if result.status is Status.NEED_MORE and ctx.leaf is not None:
            result.frontier = Frontier(ctx.leaf[0], ctx.leaf[1], len(text))
        if track and ctx.ends is not None and not (diagnose and _needs_diagnosis(result, len(text))):
            result.ending = Ending(tuple(ctx.ends), len(text))
        if diagnose and self.fast and _needs_diagnosis(result, len(text)):
            exact = Ctx(text, {})
            slow = self.program(partial=partial, fast=False, open_atomic=open_atomic)
            run(lambda: slow.rule(name), exact, pos)
            result.farthest, result.expected = _expectations(exact)
        return result, ctx


def _needs_diagnosis(result: ParseResult, n: int) -> bool:
    return result.status is Status.FAIL or (result.status is Status.OK and result.end < n)


def run(get: Callable[[], Matcher], ctx: Ctx, pos: int) -> int:
    """Compile (lazily, ``get``) and call a matcher with a raised recursion limit, so deep rule
    chains (e.g. long length-bounded DFAs) compile too; too-deep input -> ParseError."""
    old = sys.getrecursionlimit()
    if old < DEEP_RECURSION:
        sys.setrecursionlimit(DEEP_RECURSION)
    try:
        return get()(ctx, pos)
    except RecursionError:
        raise ParseError(
            ctx.text, max(ctx.far, pos), (), "input is nested too deeply for the parser"
        ) from None
    finally:
        if old < DEEP_RECURSION:
            sys.setrecursionlimit(old)


def _result(r: int, ctx: Ctx, *, exact: bool) -> ParseResult:
    far, exp = _expectations(ctx)
    if r == FAIL:
        return ParseResult(Status.FAIL, 0, [], far, exp)
    status, end = (Status.OK, r) if r >= 0 else (Status.NEED_MORE, -2 - r)
    if not exact:
        far, exp = end, ()
    return ParseResult(status, end, ctx.caps, far, exp)


def _expectations(ctx: Ctx) -> tuple[int, tuple[str, ...]]:
    return max(ctx.far, 0), tuple(dict.fromkeys(ctx.exp))


#: characters at the end of a session's text kept apart for growing a frontier (well over any marker)
TAIL = 4096


class Session:
    """Parse text that grows by appending; memo entries that never examined the old end of the
    text are kept between calls, so re-parsing costs little more than the new text."""

    def __init__(
        self, parser: Parser, rule: str | None = None, *, open_atomic: bool = False, grow: bool = True
    ) -> None:
        self.parser = parser
        self.grow = grow and parser.fast
        self.rule = rule
        self.open_atomic = open_atomic
        self._chunks: list[str] = []
        self._text = ""
        self._n = 0  # the length of the text (joined or not)
        self._tail = ""  # its last TAIL characters: what growing a frontier reads
        self._memo: dict[int, tuple[int, list[CaptureNode], bool]] = {}
        self._stale: list[int] = []
        self._last: ParseResult | None = None
        #: how many :meth:`extend` calls grew the frontier without parsing / re-parsed
        self.grown = self.parsed = 0

    @property
    def text(self) -> str:
        if self._chunks:
            self._text += "".join(self._chunks)
            self._chunks.clear()
        return self._text

    def __len__(self) -> int:
        return self._n

    def append(self, more: str) -> None:
        """Append ``more`` without parsing (the next :meth:`result` sees it)."""
        self._chunks.append(more)
        self._n += len(more)
        self._tail = (self._tail + more)[-TAIL:]

    def window(self, lo: int) -> tuple[str, int]:
        """``(w, base)``: the text from ``base`` (at most ``lo``) to its end. The last
        :data:`TAIL` characters are kept apart, so reading near the end does not join the text."""
        base = self._n - len(self._tail)
        if lo >= base:
            return self._tail, base
        return self.text, 0

    def extend(self, more: str) -> ParseResult:
        """Append ``more``; the partial-mode result for the text so far. When the last parse
        stopped inside a run that ``more`` merely prolongs, no parsing is done (the open captures
        grow; see :mod:`pegtool.parser.frontier`)."""
        self.append(more)
        last = self._last
        if last is not None and last.frontier is not None and self.grow:
            step = last.frontier.grow_in(self.window)
            if step is not None:
                self.grown += 1
                self._last = grown(last, *step)
                return self._last
        return self.result()

    def result(self) -> ParseResult:
        """Partial-mode result for the text so far (reusing the memo)."""
        memo = self._memo
        for key in self._stale:
            memo.pop(key, None)
        result, ctx = self.parser._parse(
            self.text, memo, partial=True, rule=self.rule, pos=0, open_atomic=self.open_atomic
        )
        self._stale = ctx.hits
        self._last = result
        self.parsed += 1
        return result

    def finish(self) -> ParseResult:
        """Full-mode result: the text is complete."""
        memo = dict(self._memo)
        for key in self._stale:
            memo.pop(key, None)
        return self.parser._parse(self.text, memo, partial=False, rule=self.rule, pos=0)[0]


_CACHE: OrderedDict[Grammar, Parser] = OrderedDict()
_CACHE_SIZE = 32


def parse(grammar: Grammar, text: str, *, partial: bool = False) -> ParseResult:
    """Parse with a cached compiled :class:`Parser` for ``grammar``."""
    parser = _CACHE.get(grammar)
    if parser is None:
        parser = _CACHE[grammar] = Parser(grammar)
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(grammar)
    return parser.parse(text, partial=partial)


__all__ = ["CaptureNode", "ParseResult", "Parser", "Session", "Status", "parse"]
