"""Test support: strings for a generated grammar — random walks through it (accepted by design)
and small mutations of those walks (insert / delete / replace a character, truncate)."""

from __future__ import annotations

from property.grammar_gen import ALPHABET, POOL, Chooser, pick

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
    walk,
)

MAX_REPEAT_EXTRA = 3


class Walker:
    """Random derivations of a grammar built by :class:`property.grammar_gen.Gen`."""

    def __init__(self, grammar: Grammar, ch: Chooser, max_depth: int = 6) -> None:
        self.g, self.ch, self.max_depth = grammar, ch, max_depth

    def sample(self) -> str:
        out: list[str] = []
        self._emit(self.g[self.g.root], 0, out)
        return "".join(out)

    def _emit(self, node: Node, depth: int, out: list[str]) -> None:
        if isinstance(node, Literal):
            out.append(node.text)
        elif isinstance(node, Seq):
            self._seq(node, depth, out)
        elif isinstance(node, Choice):
            self._emit(self._choose(node.alts, depth), depth + 1, out)
        elif isinstance(node, Repeat):
            hi = node.min + MAX_REPEAT_EXTRA if node.max is None else node.max
            n = node.min if depth >= self.max_depth else self.ch.int(node.min, hi)
            for _ in range(n):
                self._emit(node.item, depth + 1, out)
        elif isinstance(node, (Capture, Atomic, Trigger)):
            self._emit(node.item, depth, out)
        elif isinstance(node, Ref):
            self._emit(self.g[node.name], depth + 1, out)
        elif isinstance(node, (CharClass, AnyChar)):
            out.append(self._char(node))
        elif not isinstance(node, Epsilon):
            raise TypeError(f"cannot sample {type(node).__name__}")

    def _seq(self, node: Seq, depth: int, out: list[str]) -> None:
        for item in node.items:
            if isinstance(item, Until):
                out.append(self._until_text(item.delimiters))
            else:
                self._emit(item, depth + 1, out)

    def _choose(self, alts: tuple[Node, ...], depth: int) -> Node:
        if depth >= self.max_depth:
            flat = [a for a in alts if not any(isinstance(n, Ref) for n in walk(a))]
            alts = tuple(flat) or alts
        return pick(self.ch, alts)

    def _char(self, node: CharClass | AnyChar) -> str:
        if isinstance(node, AnyChar):
            return pick(self.ch, POOL)
        if not node.negated:
            lo, hi = pick(self.ch, node.ranges)
            return chr(self.ch.int(lo, hi))
        options = [c for c in POOL if not any(lo <= ord(c) <= hi for lo, hi in node.ranges)]
        return pick(self.ch, options) if options else "\u0101"

    def _until_text(self, delimiters: tuple[str, ...]) -> str:
        text = ""
        for _ in range(self.ch.int(0, 5)):
            cand = text + pick(self.ch, POOL)
            if not any(d in cand for d in delimiters):
                text = cand
        return text


def mutate(text: str, ch: Chooser) -> str:
    """One small edit of ``text``: insert, delete, replace a character, or truncate."""
    kind = ch.int(0, 3)
    if not text:
        return pick(ch, ALPHABET)
    pos = ch.int(0, len(text) - 1)
    if kind == 0:
        return text[:pos] + pick(ch, POOL) + text[pos:]
    if kind == 1:
        return text[:pos] + text[pos + 1 :]
    if kind == 2:
        return text[:pos] + pick(ch, POOL) + text[pos + 1 :]
    return text[:pos]
