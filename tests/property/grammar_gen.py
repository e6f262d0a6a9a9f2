"""Test support: random IR grammars on which PEG and CFG semantics agree, plus strings to try.

Why a restricted style: pegtool's parser reads the IR as a PEG (ordered choice commits to the
first alternative that matches, repetition is greedy and possessive, ``Until`` stops at the first
delimiter) while llama.cpp reads the emitted GBNF as a context-free grammar (every alternative,
every repetition count). On arbitrary grammars the CFG may accept strings the PEG rejects; that
is the documented difference, not a bug. The generator therefore only builds *deterministic*
(LL(1)-style) grammars, where both readings define the same language:

* ``Choice``: alternatives have pairwise disjoint FIRST sets; at most one is nullable and it is
  the last one; when one is nullable, the FIRST sets of the others are disjoint from the FOLLOW
  set of the choice.
* ``Repeat(e, m, n)``: ``e`` is not nullable; when ``n`` is unbounded or ``n > m``, FIRST(e) is
  disjoint from the FOLLOW set of the repetition.
* ``Until(ds)`` only appears immediately followed, in the same sequence, by a ``Literal`` ``L``
  that starts with one of the ``ds`` and no proper suffix of any delimiter is a prefix of ``L``
  (so the first delimiter occurrence is exactly where ``L`` starts, in both readings).
* ``Ref``: helper rules defined before use, plus one self-recursive rule of the form
  ``open (self / atom){0,k} close`` (never left-recursive).
* ``Capture``/``Atomic``/``Trigger`` wrap anything (transparent for acceptance); ``Epsilon`` is
  allowed. ``Not``, ``Peek``, ``Start``, ``End`` and the JSON nodes are excluded.
* No NUL character anywhere (llama.cpp can neither hold it in a grammar nor sample it).

Generation is top-down with the FOLLOW set ``F`` of the position being filled: every node built
by :func:`Gen.node` has ``forbid(node) ∩ F = ∅``, where ``forbid`` is the set of characters that
must not follow the node for the conditions above to hold inside it.

All randomness goes through a :class:`Chooser`, so the same code runs under hypothesis (shrinks
to small cases) or under :class:`random.Random`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from property.charset import ALL, EMPTY, CharSet

from pegtool.grammar.builder import merge_ranges
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
    Tag,
    Trigger,
    Until,
)

T = TypeVar("T")

ALPHABET = 'abcxyz01<>/{}[]()"\\-^ \n\té中😀'
EXTRA = "QZ#~ü한🎉"  # characters only random text, negated classes and mutations use
POOL = ALPHABET + EXTRA
NAMED_RANGES = [("a", "c"), ("x", "z"), ("0", "9"), ("[", "^"), ("\u4e00", "\u4e2d"), ("😀", "😏")]
BRACKETS = [("(", ")"), ("<", ">"), ("{", "}"), ("[", "]")]


class Chooser(Protocol):
    def int(self, lo: int, hi: int) -> int: ...


def pick(ch: Chooser, seq: Sequence[T]) -> T:
    return seq[ch.int(0, len(seq) - 1)]


def coin(ch: Chooser, percent: int) -> bool:
    """True with probability ``percent``%; shrinks towards False."""
    return ch.int(0, 99) >= 100 - percent


class RandomChooser:
    def __init__(self, seed: int) -> None:
        self._rnd = random.Random(seed)

    def int(self, lo: int, hi: int) -> int:
        return self._rnd.randint(lo, hi)


class DrawChooser:
    """Adapts hypothesis' ``draw`` (from ``st.data()`` or ``@st.composite``)."""

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        from hypothesis import strategies as st

        self._draw, self._st = draw, st

    def int(self, lo: int, hi: int) -> int:
        return int(self._draw(self._st.integers(lo, hi)))


# --- facts: FIRST, nullable, forbid ---------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    first: CharSet
    nullable: bool
    forbid: CharSet


LEAF = Facts(EMPTY, True, EMPTY)


def facts(node: Node, rules: dict[str, Facts]) -> Facts:
    """FIRST / nullable / forbid of ``node`` (rule facts looked up in ``rules``)."""
    if isinstance(node, Epsilon):
        return LEAF
    if isinstance(node, Literal):
        return Facts(CharSet.of_chars(node.text[0]), False, EMPTY)
    if isinstance(node, CharClass):
        return Facts(CharSet.of_ranges(node.ranges, node.negated), False, EMPTY)
    if isinstance(node, AnyChar):
        return Facts(ALL, False, EMPTY)
    if isinstance(node, Until):
        return Facts(ALL, True, ALL)
    if isinstance(node, Ref):
        return rules[node.name]
    if isinstance(node, (Capture, Atomic, Trigger)):
        return facts(node.item, rules)
    if isinstance(node, Seq):
        return _seq_facts([facts(i, rules) for i in node.items])
    if isinstance(node, Choice):
        return _choice_facts([facts(a, rules) for a in node.alts])
    if isinstance(node, Repeat):
        f = facts(node.item, rules)
        optional_more = node.max is None or node.max > node.min
        return Facts(f.first, node.min == 0, f.forbid.union(f.first) if optional_more else f.forbid)
    raise TypeError(f"generator does not use {type(node).__name__}")


def _seq_facts(items: list[Facts]) -> Facts:
    first, forbid, nullable = EMPTY, EMPTY, True
    for f in items:
        if nullable:
            first = first.union(f.first)
        forbid = f.forbid.union(forbid) if f.nullable else f.forbid
        nullable = nullable and f.nullable
    return Facts(first, nullable, forbid)


def _choice_facts(alts: list[Facts]) -> Facts:
    first, forbid = EMPTY, EMPTY
    for f in alts:
        first, forbid = first.union(f.first), forbid.union(f.forbid)
    if any(f.nullable for f in alts):
        forbid = forbid.union(first)
    return Facts(first, any(f.nullable for f in alts), forbid)


def until_literal_ok(delimiters: Sequence[str], lit: str) -> bool:
    """No proper suffix of a delimiter is a prefix of ``lit`` (and ``lit`` starts with one)."""
    if not any(lit.startswith(d) for d in delimiters):
        return False
    return all(e[-k:] != lit[:k] for e in delimiters for k in range(1, min(len(e) - 1, len(lit)) + 1))


# --- grammar generation ---------------------------------------------------------------------


class Gen:
    """Builds one deterministic grammar; see the module docstring for the restrictions."""

    LEAVES = ("literal", "class", "any", "until", "ref", "epsilon")
    KINDS = LEAVES + ("seq", "choice", "repeat", "wrap", "seq", "choice", "repeat", "seq")

    def __init__(self, ch: Chooser, max_depth: int = 4) -> None:
        self.ch, self.max_depth = ch, max_depth
        self.rules: dict[str, Node] = {}
        self.facts: dict[str, Facts] = {}

    def grammar(self) -> Grammar:
        if coin(self.ch, 40):
            self._nest_rule()
        for i in range(self.ch.int(0, 2)):
            self._define(f"r{i}", self.node(EMPTY, self.max_depth - 1))
        root = self.node(EMPTY, self.max_depth)
        return Grammar((("root", root), *self.rules.items()), "root")

    def _define(self, name: str, body: Node) -> None:
        self.rules[name] = body
        self.facts[name] = facts(body, self.facts)

    def node(self, follow: CharSet, depth: int) -> Node:
        kinds = self.KINDS if depth > 0 else self.LEAVES
        kind = pick(self.ch, kinds)
        made = getattr(self, "_" + kind)(follow, depth - 1)
        return made if made is not None else self._literal(follow, depth)

    # leaves
    def _text(self, lo: int, hi: int) -> str:
        return "".join(pick(self.ch, ALPHABET) for _ in range(self.ch.int(lo, hi)))

    def _literal(self, follow: CharSet, depth: int) -> Node:
        return Literal(self._text(1, 4))

    def _class(self, follow: CharSet, depth: int) -> Node:
        pairs: list[tuple[int, int]] = []
        for _ in range(self.ch.int(1, 3)):
            if coin(self.ch, 50):
                lo, hi = pick(self.ch, NAMED_RANGES)
                pairs.append((ord(lo), ord(hi)))
            else:
                c = ord(pick(self.ch, ALPHABET))
                pairs.append((c, c))
        return CharClass(merge_ranges(pairs), coin(self.ch, 30))

    def _any(self, follow: CharSet, depth: int) -> Node:
        return AnyChar()

    def _epsilon(self, follow: CharSet, depth: int) -> Node:
        return Epsilon()

    def _until(self, follow: CharSet, depth: int) -> Node | None:
        delims = tuple(sorted({self._text(1, 3) for _ in range(self.ch.int(1, 2))}))
        lit = pick(self.ch, delims) + (self._text(1, 2) if coin(self.ch, 30) else "")
        if not until_literal_ok(delims, lit):
            return None
        return Seq((Until(delims), Literal(lit)))

    def _ref(self, follow: CharSet, depth: int) -> Node | None:
        usable = [n for n, f in self.facts.items() if not f.forbid.intersects(follow)]
        return Ref(pick(self.ch, usable)) if usable else None

    def _wrap(self, follow: CharSet, depth: int) -> Node:
        inner = self.node(follow, depth)
        kind = self.ch.int(0, 2)
        if kind == 0:
            return Capture(pick(self.ch, list(Tag)), inner)
        return Atomic(inner) if kind == 1 else Trigger(inner)

    # composites
    def _seq(self, follow: CharSet, depth: int) -> Node:
        items: list[Node] = []
        for _ in range(self.ch.int(2, 4)):
            item = self.node(follow, depth)
            f = facts(item, self.facts)
            follow = f.first.union(follow) if f.nullable else f.first
            items.append(item)
        return Seq(tuple(reversed(items)))

    def _choice(self, follow: CharSet, depth: int) -> Node | None:
        alts: list[Node] = []
        seen = EMPTY
        nullable: Node | None = None
        for _ in range(self.ch.int(2, 3)):
            alt = self.node(follow, depth)
            f = facts(alt, self.facts)
            if f.first.intersects(seen):
                continue
            if f.nullable:
                nullable = nullable or alt
                continue
            alts.append(alt)
            seen = seen.union(f.first)
        if (
            nullable is not None
            and not seen.intersects(follow)
            and not facts(nullable, self.facts).first.intersects(seen)
        ):
            alts.append(nullable)
        return Choice(tuple(alts)) if len(alts) >= 2 else None

    def _repeat(self, follow: CharSet, depth: int) -> Node | None:
        item = self.node(follow, depth)
        f = facts(item, self.facts)
        if f.nullable or f.forbid.intersects(f.first):
            return None
        lo = self.ch.int(0, 2)
        if f.first.intersects(follow):  # the repetition may not stop early: a fixed count
            lo = max(lo, 1)
            return Repeat(item, lo, lo)
        hi = pick(self.ch, [lo + 1, lo + 2, None, lo])
        return Repeat(item, lo, hi) if hi != 0 else None

    def _nest_rule(self) -> None:
        """``nest ::= open (nest / atom){0,k} close`` — recursion that is never left-recursive."""
        open_, close = pick(self.ch, BRACKETS)
        self.facts["nest"] = Facts(CharSet.of_chars(open_), False, EMPTY)
        self.rules["nest"] = Epsilon()  # placeholder so Ref("nest") resolves while building
        brackets = CharSet.of_chars(open_ + close)
        atom = self.node(brackets, 1)
        f = facts(atom, self.facts)
        if f.nullable or f.first.intersects(brackets) or f.forbid.intersects(f.first):
            atom = Literal(pick(self.ch, "abxy"))
        loop = Repeat(Choice((Ref("nest"), atom)), 0, pick(self.ch, [1, 2, None]))
        self.rules["nest"] = Seq((Literal(open_), loop, Literal(close)))
