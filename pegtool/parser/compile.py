"""Stage: parser — compile IR nodes to Python closures (the PEG interpreter).

Every node becomes a matcher closure (see :mod:`pegtool.parser.matchers` for the calling
convention and the runtime state). One :class:`Program` is compiled per (partial, fast) mode so the hot paths carry no mode tests. The
*fast* program uses first-character dispatch and ``re`` patterns for regular sub-trees and records
no failures; the *exact* program records the farthest failure and what was expected there.
Rules are compiled on first reference; regular rules are inlined, the others memoised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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
    Trigger,
    Until,
)
from pegtool.parser.check import (
    FirstSets,
    deref,
    is_regular,
    nullable_rules,
    regular_rules,
)
from pegtool.parser.fastpath import INF, Bounds, RegexGen, class_re, compile_pattern
from pegtool.parser.jsonscan import ENTRIES as JSON_ENTRIES
from pegtool.parser.jsonscan import has_core_rules, json_matcher
from pegtool.parser.matchers import (
    FAIL,
    CaptureNode,
    Ctx,
    Lazy,
    Matcher,
    char_test,
    choice_all,
    choice_dispatch,
    full_regex,
    memo_ref,
    partial_regex,
    predicate,
    repeat_chars,
    repeat_loop,
    repeat_resume,
    until_matcher,
)


class Facts:
    """Mode-independent facts about a checked grammar, shared by all programs."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.index = {name: i for i, (name, _) in enumerate(grammar.rules)}
        self.nrules = len(grammar.rules)
        null = nullable_rules(grammar.rules)
        self.regular = regular_rules(grammar)
        self.first = FirstSets(grammar, null)
        self.regex = RegexGen(grammar.rule_map)
        self.bounds = Bounds(grammar.rule_map)
        #: the core JSON rules are the canonical ones: a resumable scanner may match them
        self.json_core = has_core_rules(grammar.rule_map)


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

    def __init__(self, facts: Facts, *, partial: bool, fast: bool, open_atomic: bool = False) -> None:
        self.facts = facts
        self.partial = partial
        self.fast = fast
        self.open_atomic = open_atomic
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
        bounds = self.facts.bounds
        if not self.partial:
            exact = Lazy(lambda: self.structural(node))
            return full_regex(match, bounds.extent(node), bounds.lookahead(node), exact)
        slow = Lazy(lambda: self.structural(node))
        return partial_regex(match, bounds.extent(node), bounds.lookahead(node), slow)

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
                    c.leaf = None
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
                if pos + size == c.n and c.ends is not None:
                    c.ends.append((None, pos))  # the end reached by a non-run: not movable
                return pos + size
            if c.n - pos < size and s.startswith(text[pos:]):
                if partial:
                    c.hit = True
                    c.leaf = None
                    return -2 - c.n
                if pos < c.n and c.ends is not None:
                    c.ends.append((None, pos))
            if record:
                c.fail(pos, desc)
            return FAIL

        return m

    def _c_AnyChar(self, node: AnyChar) -> Matcher:
        return self._one_char(node, None)

    def _c_CharClass(self, node: CharClass) -> Matcher:
        return self._one_char(node, char_test(node))

    def _one_char(self, node: Node, test: Callable[[str], bool] | None) -> Matcher:
        partial, record, desc = self.partial, not self.fast, describe(node)

        def m(c: Ctx, pos: int) -> int:
            if pos < c.n:
                if test is None or test(c.text[pos]):
                    if pos + 1 == c.n and c.ends is not None:
                        c.ends.append((None, pos))
                    return pos + 1
            elif partial:
                c.hit = True
                c.leaf = None
                return -2 - pos
            if record:
                c.fail(pos, desc)
            return FAIL

        return m

    def _c_Until(self, node: Until) -> Matcher:
        if not node.delimiters:
            return repeat_chars(AnyChar(), 0, None, self.partial, False, "")
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
            return choice_all(fs)
        return choice_dispatch(fs, *table)

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
            return repeat_chars(item, node.min, node.max, self.partial, not self.fast, desc)
        skip = None
        inner = deref(item, self.facts.grammar)
        if isinstance(inner, Choice) and isinstance(inner.alts[0], CharClass):
            skip = re.compile(class_re(inner.alts[0]) + "*").match
        resumable = is_regular(item, self.facts.regular)
        loop = repeat_loop(self.compile(item), node.min, node.max, skip, resumable)
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
        match = compile_pattern(f"(?:(?=.{{{extent}}})(?:{pattern}))*+")
        return None if match is None else repeat_resume(match, loop)

    def _c_Peek(self, node: Peek) -> Matcher:
        return predicate(self.compile(node.item), True, not self.fast, describe(node.item))

    def _c_Not(self, node: Not) -> Matcher:
        return predicate(self.compile(node.item), False, not self.fast, describe(node.item))

    def _c_Capture(self, node: Capture) -> Matcher:
        f, tag, note = self.compile(node.item), node.tag, node.note

        def m(c: Ctx, pos: int) -> int:
            outer = c.caps
            inner: list[CaptureNode] = []
            c.caps = inner
            r = f(c, pos)
            c.caps = outer
            if r >= 0:
                outer.append(CaptureNode(tag, pos, r, inner, False, note))
            elif r != FAIL:
                outer.append(CaptureNode(tag, pos, -2 - r, inner, True, note))
            return r

        return m

    def _c_Atomic(self, node: Atomic) -> Matcher:
        f = self.compile(node.item)
        if self.open_atomic:
            return f

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
            if self.fast and name in JSON_ENTRIES and self.facts.json_core:
                self._refs[name] = json_matcher(name, self.partial)
            elif self.fast and name in self.facts.regular:
                # Regular rules are non-recursive and capture-free: inline, no memo needed.
                self._refs[name] = self.compile(self.facts.grammar[name])
            else:
                idx = self.facts.index[name]
                self._refs[name] = memo_ref(idx, self.facts.nrules, self._bodies)
                self._bodies[idx] = self.compile(self.facts.grammar[name])
        return self._refs[name]

    def _c_Json(self, node: Node) -> Matcher:
        raise TypeError("JSON nodes must be lowered before compiling (pegtool.grammar.schema.lower)")

    _c_JsonSchema = _c_SchemaText = _c_Json


_CHEAP = (Epsilon, Start, End, Literal, AnyChar, CharClass, Until, Ref, Capture, Atomic, Trigger)


__all__ = ["Facts", "Program", "describe"]
