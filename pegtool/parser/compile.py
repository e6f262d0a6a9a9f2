"""Stage: parser — compile IR nodes to Python closures (the PEG interpreter).

Every node becomes a closure ``m(ctx, pos) -> int``. The returned integer encodes the outcome:

* ``r >= 0``  — success, ``r`` is the end position;
* ``r == -1`` — failure (:data:`FAIL`);
* ``r <= -2`` — need more input; the node matched up to ``-2 - r`` (see :func:`need_more`).

Captured nodes are appended to ``ctx.caps``; whoever backtracks truncates that list. One
:class:`Program` is compiled per (partial, fast) mode so the hot paths carry no mode tests. The
*fast* program uses first-character dispatch and ``re`` patterns for regular sub-trees and records
no failures; the *exact* program records the farthest failure and what was expected there.
Repetition is a loop, so recursion depth grows only with the nesting of the grammar/input.
Ref calls are memoised (packrat) by ``(rule, pos)``; each entry remembers whether it examined the
end of the text, so after text is appended the entries that did not stay valid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pegtool.grammar.ir import (
    AnyChar,
    Atomic,
    Capture,
    CharClass,
    Choice,
    End,
    Epsilon,
    Grammar,
    Literal,
    Node,
    Not,
    Peek,
    Ref,
    Repeat,
    Seq,
    Start,
    Tag,
    Trigger,
    Until,
)
from pegtool.parser.check import (
    FirstSets,
    class_members,
    deref,
    is_regular,
    nullable_rules,
    regular_rules,
)
from pegtool.parser.fastpath import INF, Bounds, RegexGen, class_re, compile_pattern

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

    def text(self, source: str) -> str:
        return source[self.start : self.end]


class Ctx:
    """Mutable state of one parse run."""

    __slots__ = ("text", "n", "caps", "far", "exp", "memo", "hit", "hits")

    def __init__(self, text: str, memo: dict[int, tuple[int, list[CaptureNode], bool]]) -> None:
        self.text = text
        self.n = len(text)
        self.caps: list[CaptureNode] = []
        self.far = -1
        self.exp: list[str] = []
        self.memo = memo
        self.hit = False  # the current rule invocation examined the end of the text
        self.hits: list[int] = []  # memo keys whose entries examined the end of the text

    def fail(self, pos: int, desc: str) -> None:
        if pos > self.far:
            self.far = pos
            self.exp = [desc]
        elif pos == self.far:
            self.exp.append(desc)


Matcher = Callable[[Ctx, int], int]


class Facts:
    """Mode-independent facts about a checked grammar, shared by all programs."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.index = {name: i for i, (name, _) in enumerate(grammar.rules)}
        self.nrules = len(grammar.rules)
        null = nullable_rules(grammar)
        self.regular = regular_rules(grammar)
        self.first = FirstSets(grammar, null)
        self.regex = RegexGen(grammar.rule_map)
        self.bounds = Bounds(grammar.rule_map)


def describe(node: Node) -> str:
    """A short human description of what ``node`` expects (for error messages)."""
    if isinstance(node, Literal):
        return json.dumps(node.text, ensure_ascii=False)
    if isinstance(node, CharClass):
        return _describe_class(node)
    if isinstance(node, AnyChar):
        return "any character"
    if isinstance(node, End):
        return "end of input"
    if isinstance(node, Start):
        return "start of input"
    if isinstance(node, Ref):
        return node.name
    return type(node).__name__


def _describe_class(node: CharClass) -> str:
    def show(cp: int) -> str:
        ch = chr(cp)
        if ch in "]\\-^":
            return "\\" + ch
        return ch if ch.isprintable() else json.dumps(ch)[1:-1]

    parts = [show(lo) if lo == hi else f"{show(lo)}-{show(hi)}" for lo, hi in node.ranges[:8]]
    more = "…" if len(node.ranges) > 8 else ""
    return f"[{'^' if node.negated else ''}{''.join(parts)}{more}]"


class Program:
    """The closures of one grammar for one mode; :meth:`rule` gives a rule's entry point."""

    def __init__(self, facts: Facts, *, partial: bool, fast: bool) -> None:
        self.facts = facts
        self.partial = partial
        self.fast = fast
        self._bodies: list[Matcher | None] = [None] * facts.nrules
        self._refs: dict[str, Matcher] = {}

    def rule(self, name: str) -> Matcher:
        return self._ref(name)

    # --- dispatch ---------------------------------------------------------------------------

    def compile(self, node: Node) -> Matcher:
        if self.fast and not isinstance(node, _CHEAP) and is_regular(node, self.facts.regular):
            fast = self._regex(node)
            if fast is not None:
                return fast
        return self.structural(node)

    def structural(self, node: Node) -> Matcher:
        method: Callable[[Any], Matcher] = getattr(self, "_c_" + type(node).__name__)
        return method(node)

    # --- regex fast path --------------------------------------------------------------------

    def _regex(self, node: Node) -> Matcher | None:
        pattern = self.facts.regex.pattern(node)
        match = compile_pattern(pattern) if pattern is not None else None
        if match is None:
            return None
        if not self.partial:
            return _full_regex(match)
        bounds = self.facts.bounds
        slow = _Lazy(lambda: self.structural(node))
        return _partial_regex(match, bounds.extent(node), bounds.lookahead(node), slow)

    # --- leaves -----------------------------------------------------------------------------

    def _c_Epsilon(self, node: Epsilon) -> Matcher:
        return lambda c, pos: pos

    def _c_Start(self, node: Start) -> Matcher:
        record = not self.fast

        def m(c: Ctx, pos: int) -> int:
            if pos == 0:
                return 0
            if record:
                c.fail(pos, "start of input")
            return FAIL

        return m

    def _c_End(self, node: End) -> Matcher:
        partial, record = self.partial, not self.fast

        def m(c: Ctx, pos: int) -> int:
            if pos == c.n:
                if partial:
                    c.hit = True
                    return -2 - pos
                return pos
            if record:
                c.fail(pos, "end of input")
            return FAIL

        return m

    def _c_Literal(self, node: Literal) -> Matcher:
        s, size = node.text, len(node.text)
        if not s:
            return self._c_Epsilon(Epsilon())
        partial, record, desc = self.partial, not self.fast, describe(node)

        def m(c: Ctx, pos: int) -> int:
            text = c.text
            if text.startswith(s, pos):
                return pos + size
            if partial and c.n - pos < size and s.startswith(text[pos:]):
                c.hit = True
                return -2 - c.n
            if record:
                c.fail(pos, desc)
            return FAIL

        return m

    def _c_AnyChar(self, node: AnyChar) -> Matcher:
        return self._one_char(node, None)

    def _c_CharClass(self, node: CharClass) -> Matcher:
        return self._one_char(node, _char_test(node))

    def _one_char(self, node: Node, test: Callable[[str], bool] | None) -> Matcher:
        partial, record, desc = self.partial, not self.fast, describe(node)

        def m(c: Ctx, pos: int) -> int:
            if pos < c.n:
                if test is None or test(c.text[pos]):
                    return pos + 1
            elif partial:
                c.hit = True
                return -2 - pos
            if record:
                c.fail(pos, desc)
            return FAIL

        return m

    def _c_Until(self, node: Until) -> Matcher:
        if not node.delimiters:
            return _repeat_chars(AnyChar(), 0, None, self.partial, False, "")
        return until_matcher(node.delimiters, self.partial)

    # --- composites -------------------------------------------------------------------------

    def _c_Seq(self, node: Seq) -> Matcher:
        fs = tuple(self.compile(i) for i in node.items)
        if len(fs) == 2:
            f1, f2 = fs

            def m2(c: Ctx, pos: int) -> int:
                pos = f1(c, pos)
                return f2(c, pos) if pos >= 0 else pos

            return m2

        def m(c: Ctx, pos: int) -> int:
            for f in fs:
                pos = f(c, pos)
                if pos < 0:
                    return pos
            return pos

        return m

    def _c_Choice(self, node: Choice) -> Matcher:
        fs = tuple(self.compile(a) for a in node.alts)
        table = self._dispatch_table(node, fs) if self.fast else None
        if table is None:
            return _choice_all(fs)
        return _choice_dispatch(fs, *table)

    def _dispatch_table(
        self, node: Choice, fs: tuple[Matcher, ...]
    ) -> tuple[dict[str, tuple[Matcher, ...]], tuple[Matcher, ...]] | None:
        firsts = [self.facts.first.of(a) for a in node.alts]
        known = set().union(*(f for f in firsts if f is not None))
        if not known or len(known) > 4096:
            return None
        default = tuple(f for f, s in zip(fs, firsts, strict=True) if s is None)
        table = {
            ch: tuple(f for f, s in zip(fs, firsts, strict=True) if s is None or ch in s) for ch in known
        }
        return table, default

    def _c_Repeat(self, node: Repeat) -> Matcher:
        item = node.item
        if isinstance(item, (CharClass, AnyChar)):
            desc = describe(item)
            return _repeat_chars(item, node.min, node.max, self.partial, not self.fast, desc)
        skip = None
        inner = deref(item, self.facts.grammar)
        if isinstance(inner, Choice) and isinstance(inner.alts[0], CharClass):
            skip = re.compile(class_re(inner.alts[0]) + "*").match
        loop = _repeat_loop(self.compile(item), node.min, node.max, skip)
        if self.fast and self.partial and node.min <= 1 and node.max is None:
            return self._resumable(item, loop) or loop
        return loop

    def _resumable(self, item: Node, loop: Matcher) -> Matcher | None:
        """For ``e*`` / ``e+`` with a regular ``e`` of bounded extent: skip, by regex, every
        iteration that is final (examines no character at or past the end), then loop."""
        if not is_regular(item, self.facts.regular):
            return None
        pattern, extent = self.facts.regex.pattern(item), self.facts.bounds.extent(item)
        if pattern is None or extent >= INF:
            return None
        match = compile_pattern(f"(?:({pattern}))*+")
        return None if match is None else _repeat_resume(match, extent, loop)

    def _c_Peek(self, node: Peek) -> Matcher:
        return _predicate(self.compile(node.item), True, not self.fast, describe(node.item))

    def _c_Not(self, node: Not) -> Matcher:
        return _predicate(self.compile(node.item), False, not self.fast, describe(node.item))

    def _c_Capture(self, node: Capture) -> Matcher:
        f, tag = self.compile(node.item), node.tag

        def m(c: Ctx, pos: int) -> int:
            outer = c.caps
            inner: list[CaptureNode] = []
            c.caps = inner
            r = f(c, pos)
            c.caps = outer
            if r >= 0:
                outer.append(CaptureNode(tag, pos, r, inner, False))
            elif r != FAIL:
                outer.append(CaptureNode(tag, pos, -2 - r, inner, True))
            return r

        return m

    def _c_Atomic(self, node: Atomic) -> Matcher:
        f = self.compile(node.item)

        def m(c: Ctx, pos: int) -> int:
            caps = c.caps
            k = len(caps)
            r = f(c, pos)
            if r < FAIL and len(caps) > k:
                del caps[k:]
            return r

        return m

    def _c_Trigger(self, node: Trigger) -> Matcher:
        return self.compile(node.item)

    def _c_Ref(self, node: Ref) -> Matcher:
        return self._ref(node.name)

    def _ref(self, name: str) -> Matcher:
        if name not in self._refs:
            if self.fast and name in self.facts.regular:
                # Regular rules are non-recursive and capture-free: inline, no memo needed.
                self._refs[name] = self.compile(self.facts.grammar[name])
            else:
                idx = self.facts.index[name]
                self._refs[name] = _memo_ref(idx, self.facts.nrules, self._bodies)
                self._bodies[idx] = self.compile(self.facts.grammar[name])
        return self._refs[name]

    def _c_Json(self, node: Node) -> Matcher:
        raise TypeError("JSON nodes must be lowered before compiling (pegtool.grammar.schema.lower)")

    _c_JsonSchema = _c_SchemaText = _c_Json


_CHEAP = (Epsilon, Start, End, Literal, AnyChar, CharClass, Until, Ref, Capture, Atomic, Trigger)


class _Lazy:
    """A matcher compiled on first use (the interpreter fallback of a regex)."""

    __slots__ = ("_make", "_fn")

    def __init__(self, make: Callable[[], Matcher]) -> None:
        self._make = make
        self._fn: Matcher | None = None

    def get(self) -> Matcher:
        if self._fn is None:
            self._fn = self._make()
        return self._fn


def _full_regex(match: Callable[..., re.Match[str] | None]) -> Matcher:
    def m(c: Ctx, pos: int) -> int:
        mo = match(c.text, pos)
        return FAIL if mo is None else mo.end()

    return m


def _partial_regex(match: Callable[..., re.Match[str] | None], ext: int, la: int, slow: _Lazy) -> Matcher:
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


def _char_test(node: CharClass) -> Callable[[str], bool]:
    members = class_members(CharClass(node.ranges, False))
    if members is not None:
        return members.__contains__ if not node.negated else (lambda ch: ch not in members)
    match = re.compile(class_re(node)).match
    return lambda ch: match(ch) is not None


def _choice_all(fs: tuple[Matcher, ...]) -> Matcher:
    def m(c: Ctx, pos: int) -> int:
        caps = c.caps
        k = len(caps)
        for f in fs:
            r = f(c, pos)
            if r != FAIL:
                return r
            if len(caps) > k:
                del caps[k:]
        return FAIL

    return m


def _choice_dispatch(
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
                return r
            if len(caps) > k:
                del caps[k:]
        return FAIL

    return m


def _repeat_chars(
    item: CharClass | AnyChar, lo: int, hi: int | None, partial: bool, record: bool, desc: str
) -> Matcher:
    """``[c]{lo,hi}`` by one regex run (exact: each iteration is one character)."""
    pattern = class_re(item) if isinstance(item, CharClass) else "(?s:.)"
    match = re.compile(pattern + "*").match

    def m(c: Ctx, pos: int) -> int:
        n = c.n
        stop = n if hi is None else min(n, pos + hi)
        e = match(c.text, pos, stop).end()  # type: ignore[union-attr]
        if hi is not None and e - pos >= hi:
            return e
        if e == n and partial:
            c.hit = True
            return -2 - e
        if record:
            c.fail(e, desc)
        return e if e - pos >= lo else FAIL

    return m


def _repeat_resume(match: Callable[..., re.Match[str] | None], extent: int, loop: Any) -> Matcher:
    """Find the last iteration boundary that no end-of-text effect can move, then ``loop``."""

    def m(c: Ctx, pos: int) -> int:
        text, stop = c.text, c.n
        while True:
            mo = match(text, pos, stop)
            last = -1 if mo is None else mo.start(1)
            if last < 0:
                return loop(c, pos)  # type: ignore[no-any-return]
            if last + extent <= stop:
                return loop(c, mo.end(), 1)  # type: ignore[no-any-return, union-attr]
            stop = last

    return m


def _repeat_loop(
    f: Matcher, lo: int, hi: int | None, skip: Callable[..., re.Match[str] | None] | None
) -> Matcher:
    """``e{lo,hi}`` as a loop; ``skip`` jumps over a run of the first alternative's class."""

    def m(c: Ctx, pos: int, count: int = 0) -> int:
        caps = c.caps
        while hi is None or count < hi:
            if skip is not None:
                e = skip(c.text, pos).end()  # type: ignore[union-attr]
                if e > pos:
                    if hi is not None and count + e - pos > hi:
                        e = pos + hi - count
                    count += e - pos
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
                return r
        return pos if count >= lo else FAIL

    return m


def _predicate(f: Matcher, positive: bool, record: bool, desc: str) -> Matcher:
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
            return -2 - pos
        if (r >= 0) == positive:
            return pos
        if record and not positive:
            c.fail(pos, "not " + desc)
        return FAIL

    return m


def _memo_ref(idx: int, nrules: int, bodies: list[Matcher | None]) -> Matcher:
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

    def m(c: Ctx, pos: int) -> int:
        text, n = c.text, c.n
        i = find(text, pos)
        if i < 0:
            i = n
        elif not partial or n - i >= longest:
            return i
        if not partial:
            return n
        c.hit = True
        j = _held_back(text, max(pos, n - longest + 1), i, delimiters)
        if j >= 0:
            return -2 - j
        return i if i < n else -2 - n

    return m


def _held_back(text: str, lo: int, hi: int, delimiters: tuple[str, ...]) -> int:
    """The first position in ``[lo, hi)`` whose tail is a proper prefix of a delimiter, or -1."""
    n = len(text)
    for j in range(lo, min(hi, n)):
        tail = text[j:]
        if any(len(d) > n - j and d.startswith(tail) for d in delimiters):
            return j
    return -1


__all__ = ["FAIL", "CaptureNode", "Ctx", "Facts", "Matcher", "Program", "describe", "need_more"]
