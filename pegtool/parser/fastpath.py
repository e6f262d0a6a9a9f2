"""Stage: parser — compile regular IR sub-trees to one Python ``re`` pattern (exact PEG semantics).

A capture-free, recursion-free sub-tree is translated with atomic groups and possessive
quantifiers (Python >= 3.11), which never backtrack, so the regex behaves exactly like the PEG:
``e*`` is ``(?:e)*+``, ``a / b`` is ``(?>a|b)``, ``&e`` is ``(?=e)``, ``!e`` is ``(?!e)``.

For partial input the engine must know whether a regex result could change when more text is
appended. Two static bounds answer that: :func:`extent` (how many characters from the start a
node may examine, whatever the outcome) and :func:`lookahead` (how many characters beyond the end
of a successful match it may examine). A result that examined nothing at or beyond the end of the
text is final; otherwise the engine falls back to its interpreter.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping

from pegtool.grammar.ir import (
    AnyChar,
    Atomic,
    CharClass,
    Choice,
    End,
    Epsilon,
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

#: Whether this Python's ``re`` has atomic groups and possessive quantifiers.
HAS_ATOMIC = sys.version_info >= (3, 11)
#: Larger patterns are not compiled (the interpreter handles the sub-tree).
MAX_PATTERN = 20_000
#: "Unbounded" for :func:`extent` / :func:`lookahead`.
INF = 1 << 62

Rules = Mapping[str, Node]


def class_re(node: CharClass) -> str:
    """A ``re`` character class for ``node`` (code points written as escapes).

    >>> class_re(CharClass(((48, 57),), False))
    '[\\\\U00000030-\\\\U00000039]'
    """
    if not node.ranges:
        return "(?s:.)" if node.negated else "(?!)"
    body = "".join(_code(lo) if lo == hi else f"{_code(lo)}-{_code(hi)}" for lo, hi in node.ranges)
    return f"[{'^' if node.negated else ''}{body}]"


def _code(cp: int) -> str:
    return f"\\U{cp:08x}"


class RegexGen:
    """Translate regular nodes to pattern text; Ref bodies are inlined (rules are non-recursive)."""

    def __init__(self, rules: Rules) -> None:
        self._rules = rules
        self._memo: dict[Node, str] = {}

    def pattern(self, node: Node) -> str | None:
        """The pattern of ``node``, or None when it is too large or not expressible."""
        if not HAS_ATOMIC:
            return None
        try:
            text = self._re(node)
        except (_TooLarge, RecursionError):  # deep rule chains (e.g. long DFAs) stay interpreted
            return None
        return text if len(text) <= MAX_PATTERN else None

    def _re(self, node: Node) -> str:
        out = self._memo.get(node)
        if out is None:
            out = self._dispatch(node)
            if len(out) > MAX_PATTERN:
                raise _TooLarge
            self._memo[node] = out
        return out

    def _dispatch(self, node: Node) -> str:  # noqa: C901 - one branch per node type
        if isinstance(node, Epsilon):
            return ""
        if isinstance(node, Start):
            return r"\A"
        if isinstance(node, End):
            return r"\Z"
        if isinstance(node, Literal):
            return re.escape(node.text)
        if isinstance(node, AnyChar):
            return "(?s:.)"
        if isinstance(node, CharClass):
            return class_re(node)
        if isinstance(node, Until):
            stop = "|".join(re.escape(d) for d in node.delimiters)
            return f"(?:(?!{stop})(?s:.))*+"
        if isinstance(node, Seq):
            return "".join(self._re(i) for i in node.items)
        if isinstance(node, Choice):
            return "(?>" + "|".join(self._re(a) for a in node.alts) + ")"
        if isinstance(node, Repeat):
            return self._repeat(node)
        if isinstance(node, Peek):
            return f"(?={self._re(node.item)})"
        if isinstance(node, Not):
            return f"(?!{self._re(node.item)})"
        if isinstance(node, Ref):
            return f"(?:{self._re(self._rules[node.name])})"
        if isinstance(node, (Atomic, Trigger)):
            return f"(?:{self._re(node.item)})"
        raise _TooLarge  # Capture / JSON nodes are never regular

    def _repeat(self, node: Repeat) -> str:
        item = node.item
        inner = item
        while isinstance(inner, Ref):
            inner = self._rules[inner.name]
        if (
            isinstance(inner, Choice)
            and isinstance(inner.alts[0], CharClass)
            and node.min <= 1
            and node.max is None
        ):
            rest = "|".join(self._re(a) for a in inner.alts[1:])
            body = f"(?>{class_re(inner.alts[0])}++|{rest})"
            return body + ("*+" if node.min == 0 else "++")
        if isinstance(item, (CharClass, AnyChar)):
            body = self._re(item)
        else:
            body = f"(?:{self._re(item)})"
        return body + _quantifier(node.min, node.max) + "+"


def _quantifier(lo: int, hi: int | None) -> str:
    if hi is None:
        return {0: "*", 1: "+"}.get(lo, f"{{{lo},}}")
    if (lo, hi) == (0, 1):
        return "?"
    return f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}"


class _TooLarge(Exception):
    pass


class Bounds:
    """Static examination bounds of regular nodes (see the module docstring)."""

    def __init__(self, rules: Rules) -> None:
        self._rules = rules
        self._ext: dict[Node, int] = {}
        self._la: dict[Node, int] = {}

    def extent(self, node: Node) -> int:
        """Most characters from the start position ``node`` may examine (INF if unbounded)."""
        if node not in self._ext:
            self._ext[node] = min(INF, self._extent(node))
        return self._ext[node]

    def lookahead(self, node: Node) -> int:
        """Most characters beyond the end of a successful match ``node`` may examine."""
        if node not in self._la:
            self._la[node] = min(INF, self._lookahead(node))
        return self._la[node]

    def _extent(self, node: Node) -> int:
        if isinstance(node, (Epsilon, Start)):
            return 0
        if isinstance(node, (End, AnyChar, CharClass)):
            return 1
        if isinstance(node, Literal):
            return len(node.text)
        if isinstance(node, Seq):
            return sum(self.extent(i) for i in node.items)
        if isinstance(node, Choice):
            return max(self.extent(a) for a in node.alts)
        if isinstance(node, Repeat):
            one = self.extent(node.item)
            if one == 0:
                return 0
            return INF if node.max is None else node.max * one
        if isinstance(node, Ref):
            return self.extent(self._rules[node.name])
        if isinstance(node, (Peek, Not, Atomic, Trigger)):
            return self.extent(node.item)
        return INF  # Until and anything else

    def _lookahead(self, node: Node) -> int:
        if isinstance(node, (Epsilon, Start, Literal, AnyChar, CharClass)):
            return 0
        if isinstance(node, End):
            return 1
        if isinstance(node, Until):
            return max(len(d) for d in node.delimiters)
        if isinstance(node, Seq):
            return max(self.lookahead(i) for i in node.items)
        if isinstance(node, Choice):
            failed = [self.extent(a) for a in node.alts[:-1]]
            return max([self.lookahead(a) for a in node.alts] + failed)
        if isinstance(node, Repeat):
            return max(self.lookahead(node.item), self.extent(node.item))
        if isinstance(node, Ref):
            return self.lookahead(self._rules[node.name])
        if isinstance(node, (Peek, Not)):
            return self.extent(node.item)
        if isinstance(node, (Atomic, Trigger)):
            return self.lookahead(node.item)
        return INF


def compile_pattern(pattern: str) -> Callable[..., re.Match[str] | None] | None:
    """``re.compile(pattern).match`` or None if ``re`` rejects the pattern."""
    try:
        return re.compile(pattern, re.DOTALL).match
    except (re.error, OverflowError, RecursionError):
        return None


__all__ = ["HAS_ATOMIC", "INF", "Bounds", "RegexGen", "class_re", "compile_pattern"]
