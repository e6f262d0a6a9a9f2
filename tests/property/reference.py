"""Test support: tiny reference matchers for generated grammars — one with PEG semantics, one with
CFG semantics (sets of end positions, as llama.cpp reads GBNF). They check the generator's claim
that its grammars mean the same under both readings, independently of pegtool's back-ends."""

from __future__ import annotations

from pegtool.grammar.ir import (
    AnyChar,
    Atomic,
    Capture,
    CharClass,
    Choice,
    Epsilon,
    Grammar,
    Literal,
    Node,
    Ref,
    Repeat,
    Seq,
    Trigger,
    Until,
)


def _in_class(node: CharClass, c: str) -> bool:
    return any(lo <= ord(c) <= hi for lo, hi in node.ranges) != node.negated


def _char(node: Node, text: str, pos: int) -> bool:
    if pos >= len(text):
        return False
    return isinstance(node, AnyChar) or (isinstance(node, CharClass) and _in_class(node, text[pos]))


def peg_match(g: Grammar, text: str) -> bool:
    return _peg(g, g[g.root], text, 0) == len(text)


def _peg(g: Grammar, node: Node, text: str, pos: int) -> int | None:  # noqa: C901 - a dispatcher
    if isinstance(node, Epsilon):
        return pos
    if isinstance(node, Literal):
        return pos + len(node.text) if text.startswith(node.text, pos) else None
    if isinstance(node, (CharClass, AnyChar)):
        return pos + 1 if _char(node, text, pos) else None
    if isinstance(node, (Capture, Atomic, Trigger)):
        return _peg(g, node.item, text, pos)
    if isinstance(node, Ref):
        return _peg(g, g[node.name], text, pos)
    if isinstance(node, Until):
        while pos < len(text) and not any(text.startswith(d, pos) for d in node.delimiters):
            pos += 1
        return pos
    if isinstance(node, Seq):
        cur: int | None = pos
        for item in node.items:
            cur = _peg(g, item, text, cur) if cur is not None else None
        return cur
    if isinstance(node, Choice):
        for alt in node.alts:
            end = _peg(g, alt, text, pos)
            if end is not None:
                return end
        return None
    assert isinstance(node, Repeat)
    count = 0
    while node.max is None or count < node.max:
        end = _peg(g, node.item, text, pos)
        if end is None or end == pos:
            break
        pos, count = end, count + 1
    return pos if count >= node.min else None


def cfg_match(g: Grammar, text: str) -> bool:
    return len(text) in _cfg(g, g[g.root], text, frozenset({0}))


def _cfg(g: Grammar, node: Node, text: str, starts: frozenset[int]) -> frozenset[int]:  # noqa: C901
    if isinstance(node, Epsilon):
        return starts
    if isinstance(node, Literal):
        return frozenset(p + len(node.text) for p in starts if text.startswith(node.text, p))
    if isinstance(node, (CharClass, AnyChar)):
        return frozenset(p + 1 for p in starts if _char(node, text, p))
    if isinstance(node, (Capture, Atomic, Trigger)):
        return _cfg(g, node.item, text, starts)
    if isinstance(node, Ref):
        return _cfg(g, g[node.name], text, starts)
    if isinstance(node, Until):
        return frozenset(e for p in starts for e in _until_ends(node.delimiters, text, p))
    if isinstance(node, Seq):
        for item in node.items:
            starts = _cfg(g, item, text, starts) if starts else starts
        return starts
    if isinstance(node, Choice):
        return frozenset().union(*(_cfg(g, a, text, starts) for a in node.alts))
    assert isinstance(node, Repeat)
    out = starts if node.min == 0 else frozenset()
    cur, count = starts, 0
    while cur and (node.max is None or count < node.max):
        cur, count = _cfg(g, node.item, text, cur), count + 1  # item is never nullable
        if count >= node.min:
            out |= cur
    return out


def _until_ends(delimiters: tuple[str, ...], text: str, pos: int) -> range:
    """Ends ``e`` such that ``text[pos:e]`` contains no delimiter."""
    limit = len(text)
    for s in range(pos, len(text)):
        for d in delimiters:
            if text.startswith(d, s):
                limit = min(limit, s + len(d) - 1)
    return range(pos, limit + 1)
