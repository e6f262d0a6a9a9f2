"""Stage: gbnf back-end (testing aid) — an offline recogniser: does a GBNF grammar accept a string?

It parses the GBNF with :mod:`pegtool.gbnf.syntax` and runs the same algorithm as llama.cpp's
grammar engine, written independently: repetitions are rewritten into helper rules, and a *set of
stacks* (each stack: the positions still to match, innermost on top) advances one code point at a
time. The text is accepted when a stack is empty after the last code point. This is exact for
left-recursion-free grammars (which ``check_gbnf`` guarantees), needs no model or vocabulary,
and is fast enough for the property tests. (lark's Earley parser was the other option; a
character-level CFG with thousands of single-character terminals is a poor fit for its lexer.)
llama.cpp itself (``pegtool.gbnf.llama``) stays the final judge.
"""

from __future__ import annotations

from pegtool.errors import GrammarError
from pegtool.gbnf.syntax import AnyCh, Cls, Group, Item, Lit, RuleRef, TokenRef, parse_gbnf

Elem = tuple  # ("c", ranges, negated) or ("r", rule_id)
Pos = tuple[int, int, int]  # rule id, alternative, index in the alternative
Stack = tuple[Pos, ...]
_ANY = ("c", ((0, 0x10FFFF),), False)


class Recognizer:
    """``Recognizer(gbnf).accepts(text)``; ``accepts_prefix(text)`` for partial text."""

    def __init__(self, gbnf: str, root: str = "root") -> None:
        from pegtool.gbnf.validate import check_gbnf

        errors = check_gbnf(gbnf)
        if errors:
            raise GrammarError("invalid GBNF: " + "; ".join(errors))
        parsed = parse_gbnf(gbnf)
        self.ids = {r.name: i for i, r in enumerate(parsed.rules)}
        self.rules: list[list[list[Elem]]] = [[] for _ in parsed.rules]
        for r in parsed.rules:
            self.rules[self.ids[r.name]] = [self._seq(seq) for seq in r.alts]
        self.root = self.ids[root]

    # --- compilation ----------------------------------------------------------------------

    def _new_rule(self, alts: list[list[Elem]]) -> int:
        self.rules.append(alts)
        return len(self.rules) - 1

    def _seq(self, items: list[Item]) -> list[Elem]:
        out: list[Elem] = []
        for item in items:
            prev = self._atom(item)
            for lo, hi in item.reps:
                prev = self._repeat(prev, lo, None if hi is not None and hi > 2000 else hi)
            out += prev
        return out

    def _atom(self, item: Item) -> list[Elem]:
        atom = item.atom
        if isinstance(atom, Lit):
            return [("c", ((c, c),), False) for c in atom.chars]
        if isinstance(atom, Cls):
            return [("c", atom.ranges, atom.negated)]
        if isinstance(atom, AnyCh):
            return [_ANY]
        if isinstance(atom, RuleRef):
            return [("r", self.ids[atom.name])]
        if isinstance(atom, Group):
            return [("r", self._new_rule([self._seq(s) for s in atom.alts]))]
        assert isinstance(atom, TokenRef)
        raise GrammarError("token references need a vocabulary; use llama.cpp to check them")

    def _repeat(self, prev: list[Elem], lo: int, hi: int | None) -> list[Elem]:
        out = prev * lo
        if hi is None:
            rid = self._new_rule([])
            self.rules[rid] = [prev + [("r", rid)], []]
            return out + [("r", rid)]
        last: int | None = None
        for _ in range(hi - lo):
            alt = prev + ([("r", last)] if last is not None else [])
            last = self._new_rule([alt, []])
        return out + ([("r", last)] if last is not None else [])

    # --- the stack machine ------------------------------------------------------------------

    def _advance(self, stack: Stack, out: set[Stack]) -> None:
        todo, seen = [stack], set()
        while todo:
            cur = todo.pop()
            if cur in seen:
                continue
            seen.add(cur)
            if not cur:
                out.add(cur)
                continue
            rule, alt, idx = cur[-1]
            elem = self.rules[rule][alt][idx]
            if elem[0] == "c":
                out.add(cur)
                continue
            rest = cur[:-1] + ((rule, alt, idx + 1),) if idx + 1 < len(self.rules[rule][alt]) else cur[:-1]
            for k, sub in enumerate(self.rules[elem[1]]):
                todo.append(rest + ((elem[1], k, 0),) if sub else rest)

    def _start(self) -> set[Stack]:
        out: set[Stack] = set()
        for k, alt in enumerate(self.rules[self.root]):
            self._advance(((self.root, k, 0),) if alt else (), out)
        return out

    def _step(self, stacks: set[Stack], cp: int) -> set[Stack]:
        out: set[Stack] = set()
        for st in stacks:
            if not st:
                continue
            rule, alt, idx = st[-1]
            _, ranges, negated = self.rules[rule][alt][idx]
            if any(lo <= cp <= hi for lo, hi in ranges) != negated:
                seq = self.rules[rule][alt]
                self._advance(st[:-1] + ((rule, alt, idx + 1),) if idx + 1 < len(seq) else st[:-1], out)
        return out

    def _run(self, text: str) -> set[Stack]:
        stacks = self._start()
        for ch in text:
            stacks = self._step(stacks, ord(ch))
            if not stacks:
                break
        return stacks

    def accepts(self, text: str) -> bool:
        """Whether the whole of ``text`` is a sentence of the grammar."""
        return any(not st for st in self._run(text))

    def accepts_prefix(self, text: str) -> bool:
        """Whether ``text`` can be continued (or is) a sentence of the grammar."""
        return bool(self._run(text))


def gbnf_accepts(gbnf: str, text: str) -> bool:
    """One-shot helper: does ``gbnf`` accept ``text``?"""
    return Recognizer(gbnf).accepts(text)
