"""Reference readings of a core-node IR grammar for the schema tests: the PEG reading (ordered
choice, possessive repetition; one end position) and the CFG reading (every end position).
Memoised recursion: small inputs only. The schema grammars must give both the same answer."""

from __future__ import annotations

import sys
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
    Trigger,
    Until,
)

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
_WRAPPERS = (Capture, Atomic, Trigger)


def _in_class(node: CharClass, ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in node.ranges) != node.negated


def _terminal(node: Node, text: str, pos: int) -> int | None | Any:
    """End position of a terminal node (None = no match); ``...`` if ``node`` is not terminal."""
    if isinstance(node, Epsilon):
        return pos
    if isinstance(node, Literal):
        return pos + len(node.text) if text.startswith(node.text, pos) else None
    if isinstance(node, CharClass):
        return pos + 1 if pos < len(text) and _in_class(node, text[pos]) else None
    if isinstance(node, AnyChar):
        return pos + 1 if pos < len(text) else None
    if isinstance(node, End):
        return pos if pos == len(text) else None
    return ...


def _until_ends(node: Until, text: str, pos: int) -> list[int]:
    ends = [pos]
    while pos < len(text) and not any(text.startswith(d, pos) for d in node.delimiters):
        pos += 1
        ends.append(pos)
    return ends


def peg_match(grammar: Grammar, text: str) -> bool:
    memo: dict[tuple[str, int], int | None] = {}

    def rule(name: str, pos: int) -> int | None:
        if (name, pos) not in memo:
            memo[(name, pos)] = None
            memo[(name, pos)] = ev(grammar[name], pos)
        return memo[(name, pos)]

    def repeat(node: Repeat, pos: int) -> int | None:
        count = 0
        while node.max is None or count < node.max:
            nxt = ev(node.item, pos)
            if nxt is None or nxt == pos:
                break
            pos, count = nxt, count + 1
        return pos if count >= node.min else None

    def seq(node: Seq, pos: int | None) -> int | None:
        for item in node.items:
            pos = ev(item, pos) if pos is not None else None
        return pos

    def ev(node: Node, pos: int) -> int | None:
        end = _terminal(node, text, pos)
        if end is not ...:
            return end  # type: ignore[no-any-return]
        if isinstance(node, Seq):
            return seq(node, pos)
        if isinstance(node, Choice):
            return next((r for r in (ev(a, pos) for a in node.alts) if r is not None), None)
        if isinstance(node, Repeat):
            return repeat(node, pos)
        if isinstance(node, Ref):
            return rule(node.name, pos)
        if isinstance(node, Until):
            return _until_ends(node, text, pos)[-1]
        if isinstance(node, Not):
            return pos if ev(node.item, pos) is None else None
        if isinstance(node, Peek):
            return pos if ev(node.item, pos) is not None else None
        if isinstance(node, _WRAPPERS):
            return ev(node.item, pos)
        raise TypeError(type(node).__name__)

    return ev(Ref(grammar.root), 0) == len(text)


def cfg_match(grammar: Grammar, text: str) -> bool:
    memo: dict[tuple[str, int], frozenset[int]] = {}

    def rule(name: str, pos: int) -> frozenset[int]:
        if (name, pos) not in memo:
            memo[(name, pos)] = frozenset()
            memo[(name, pos)] = ev(grammar[name], pos)
        return memo[(name, pos)]

    def many(node: Node, starts: frozenset[int]) -> frozenset[int]:
        return frozenset().union(*(ev(node, p) for p in starts))

    def repeat(node: Repeat, pos: int) -> frozenset[int]:
        out = {pos} if node.min == 0 else set()
        cur, count = frozenset({pos}), 0
        while cur and (node.max is None or count < node.max):
            cur, count = many(node.item, cur), count + 1
            if count >= node.min:
                if node.max is None and cur <= out:
                    break
                out |= cur
        return frozenset(out)

    def ev(node: Node, pos: int) -> frozenset[int]:
        end = _terminal(node, text, pos)
        if end is not ...:
            return frozenset() if end is None else frozenset({end})
        if isinstance(node, Seq):
            cur = frozenset({pos})
            for item in node.items:
                cur = many(item, cur)
            return cur
        if isinstance(node, Choice):
            return frozenset().union(*(ev(a, pos) for a in node.alts))
        if isinstance(node, Repeat):
            return repeat(node, pos)
        if isinstance(node, Ref):
            return rule(node.name, pos)
        if isinstance(node, Until):
            return frozenset(_until_ends(node, text, pos))
        if isinstance(node, _WRAPPERS):
            return ev(node.item, pos)
        raise TypeError(f"no CFG reading for {type(node).__name__}")

    return len(text) in ev(Ref(grammar.root), 0)
