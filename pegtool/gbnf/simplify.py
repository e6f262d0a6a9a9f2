"""Stage: gbnf back-end — rewrites that keep the GBNF language and give llama.cpp's engine less work.

llama.cpp keeps one pushdown stack per way the text read so far can be continued, advances every
stack on every character, and when a sampled token is rejected, checks the whole vocabulary
against every stack. Grammars that are ambiguous where a model writes (white space above all)
multiply the stacks. :func:`simplify` rewrites the IR (after JSON lowering, before emission) so
the same language has fewer ways to be read. Every rewrite is an identity of languages (``W`` is
a run ``[c]{lo,hi}`` of one character class ``C``; ``U`` an ``Until``; ``A`` a node that may
absorb C characters — an ``Until`` none of whose delimiters starts or ends with a C character, or
an unbounded repeat of a class containing C):

* ``Capture`` / ``Atomic`` are dropped (transparent in GBNF); nested sequences are flattened.
* ``[c]{a,b} [c]{d,e}`` → ``[c]{a+d,b+e}``: two adjacent runs make every character ambiguous
  (after k characters, k+1 ways to split them).
* ``[c]{0,n} A`` → ``A`` and ``A [c]{0,n}`` → ``A`` (``A`` already reads those characters).
* ``A Z? W`` → ``A (Z W)?`` when ``A W = A``.
* ``(W Z)? W`` → ``W (Z W)?``; ``W1 (Z W2)? W3`` → ``W1 Z [W2 W3] | [W1 W3]`` (the optional
  block no longer leaves two runs next to each other).
* Alternatives that are the same (a rule reference and its body included) are kept once, and
  alternatives are left-factored on a common prefix of items and of literal text: llama.cpp
  follows every alternative in parallel, so ``"{\\"name\\": \\"" ("a" … | "b" …)`` keeps one stack
  where the unfactored form keeps one per tool until the names differ.

``Until`` nodes keep their neighbours where the emitter reads them (an ``Until`` followed by a
delimiter literal), predicates and anchors are never moved, and ``Trigger`` items are rewritten
inside only (a lazy grammar starts at them).
"""

from __future__ import annotations

from collections.abc import Mapping

from pegtool.gbnf import charset
from pegtool.gbnf.charset import Ranges
from pegtool.gbnf.irinfo import char_set
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
    map_children,
)

_PINNED = (Not, Peek, Start, End)


def simplify(grammar: Grammar) -> Grammar:
    """``grammar`` rewritten as described in the module docstring (same GBNF language)."""
    s = _Simplifier(grammar.rule_map)
    try:
        return Grammar(tuple((name, s.node(body)) for name, body in grammar.rules), grammar.root)
    except RecursionError:  # a very deeply nested grammar: emitted as written (same language)
        return grammar


def _run(node: Node) -> tuple[Ranges, int, int | None] | None:
    """(class, min, max) when ``node`` is a run of one character class."""
    if isinstance(node, Repeat):
        cs = char_set(node.item)
        if cs is not None:
            return cs, node.min, node.max
    return None


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _merge_runs(a: Node, b: Node) -> Node | None:
    ra, rb = _run(a), _run(b)
    if ra is None or rb is None or ra[0] != rb[0]:
        return None
    assert isinstance(a, Repeat)
    return Repeat(a.item, ra[1] + rb[1], _add(ra[2], rb[2]))


def _optional_run(node: Node) -> Ranges | None:
    r = _run(node)
    return r[0] if r is not None and r[1] == 0 else None


def _absorbs(node: Node, chars: Ranges) -> bool:
    """Whether ``node``'s language is closed under adding ``chars`` before or after its strings
    (and so reads any such run next to it already)."""
    if isinstance(node, Until):
        return all(
            not charset.contains(chars, ord(d[0])) and not charset.contains(chars, ord(d[-1]))
            for d in node.delimiters
        ) and bool(node.delimiters)
    if isinstance(node, Repeat) and node.max is None:
        inner = char_set(node.item)
        return inner is not None and charset.subtract(chars, inner) == ()
    return False


def _optional(node: Node) -> Node | None:
    """``Z`` when ``node`` is ``Z?``."""
    if isinstance(node, Repeat) and (node.min, node.max) == (0, 1):
        return node.item
    return None


def _items(node: Node) -> list[Node]:
    return list(node.items) if isinstance(node, Seq) else [node]


def _seq(items: list[Node]) -> Node:
    items = [i for i in items if not isinstance(i, Epsilon)]
    if not items:
        return Epsilon()
    return items[0] if len(items) == 1 else Seq(tuple(items))


def _common_text(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _factorable(node: Node) -> bool:
    """Items that may move into a shared prefix (their GBNF does not depend on their neighbours)."""
    return isinstance(node, (Literal, CharClass, AnyChar, Ref)) or (
        isinstance(node, Repeat) and node.max is not None and _run(node) is not None
    )


class _Simplifier:
    def __init__(self, rules: Mapping[str, Node]) -> None:
        self.rules = rules
        self.memo: dict[int, Node] = {}
        self.keep: list[Node] = []

    def node(self, node: Node) -> Node:
        key = id(node)
        hit = self.memo.get(key)
        if hit is None:
            hit = self._node(node)
            self.memo[key] = hit
            self.keep.append(node)
        return hit

    def _node(self, node: Node) -> Node:
        if isinstance(node, (Capture, Atomic)):
            return self.node(node.item)
        if isinstance(node, Seq):
            return self._sequence(node)
        if isinstance(node, Choice):
            return self._choice(node)
        if isinstance(node, (Repeat, Trigger)):
            return map_children(node, self.node)
        return node  # leaves; predicates are left as written (the emitter reads their items)

    # --- sequences ---------------------------------------------------------------------------

    def _sequence(self, node: Seq) -> Node:
        items: list[Node] = []
        groups: list[tuple[Node, ...]] = []
        for item in node.items:
            done = self.node(item)
            if isinstance(done, Seq):
                flat = _flat(done)
                groups.append(tuple(flat))
                items.extend(flat)
            else:
                items.append(done)
        items = [i for i in items if not isinstance(i, Epsilon)]
        while self._rewrite(items):
            pass
        for group in groups:  # a sub-sequence the rewrites left whole stays one node (shared by the emitter)
            _regroup(items, group)
        return _seq(items)

    def _rewrite(self, items: list[Node]) -> bool:  # noqa: C901 - one pass over the patterns
        """Apply the first sequence rewrite that matches; True when one did."""
        for i in range(len(items)):
            a = items[i]
            b = items[i + 1] if i + 1 < len(items) else None
            c = items[i + 2] if i + 2 < len(items) else None
            prev = items[i - 1] if i else None
            if isinstance(prev, _PINNED):
                continue
            if b is not None:
                merged = _merge_runs(a, b)
                if merged is not None:
                    items[i : i + 2] = [merged]
                    return True
                run_a, run_b = _optional_run(a), _optional_run(b)
                if run_a is not None and _absorbs(b, run_a):
                    del items[i]
                    return True
                if run_b is not None and _absorbs(a, run_b):
                    del items[i + 1]
                    return True
            if b is not None and c is not None:
                opt, run_c = _optional(b), _optional_run(c)
                if opt is not None and run_c is not None and _absorbs(a, run_c):
                    items[i + 1 : i + 3] = [Repeat(self._resequenced([*_items(opt), c]), 0, 1)]
                    return True
            if isinstance(a, Choice) and b is not None and _optional_run(b) is not None:
                if any(self._takes_run(_items(alt)[-1], b) for alt in a.alts):  # (X | Y W) W -> (X W | Y [W W])
                    alts = [self._resequenced([*_items(alt), b]) for alt in a.alts]
                    items[i : i + 2] = [Choice(tuple(alts))]
                    return True
            opt_a = _optional(a)
            if opt_a is not None and b is not None and _optional_run(b) is not None:
                inner = _items(opt_a)
                if inner and inner[0] == b and len(inner) > 1:  # (W Z)? W -> W (Z W)?
                    items[i : i + 2] = [b, Repeat(self._resequenced([*inner[1:], b]), 0, 1)]
                    return True
                options = opt_a.alts if isinstance(opt_a, Choice) else (opt_a,)
                if any(self._takes_run(_items(o)[-1], b) for o in options):  # (X W)? W -> X [W W] | W
                    items[i : i + 2] = [Choice((*(self._resequenced([*_items(o), b]) for o in options), b))]
                    return True
            if b is not None and c is not None and _optional_run(a) is not None and _optional_run(c) is not None:
                opt = _optional(b)
                inner = _items(opt) if opt is not None else []
                if len(inner) > 1 and _optional_run(inner[-1]) is not None:
                    tail, both = _merge_runs(inner[-1], c), _merge_runs(a, c)
                    if tail is not None and both is not None:  # W1 (Z W2)? W3
                        items[i : i + 3] = [Choice((self._resequenced([a, *inner[:-1], tail]), both))]
                        return True
        return False

    def _takes_run(self, last: Node, run: Node) -> bool:
        chars = _optional_run(run)
        return chars is not None and (_merge_runs(last, run) is not None or _absorbs(last, chars))

    def _resequenced(self, items: list[Node]) -> Node:
        items = [i for i in items if not isinstance(i, Epsilon)]
        while self._rewrite(items):
            pass
        return _seq(items)

    # --- choices -----------------------------------------------------------------------------

    def _resolved(self, node: Node) -> Node:
        """``node`` with a top-level rule reference replaced by the rule body (for comparisons)."""
        seen: set[str] = set()
        while isinstance(node, Ref) and node.name in self.rules and node.name not in seen:
            seen.add(node.name)
            node = self.rules[node.name]
        return node

    def _choice(self, node: Choice) -> Node:
        alts: list[Node] = []
        for alt in node.alts:
            done = self.node(alt)
            alts.extend(done.alts if isinstance(done, Choice) else [done])
        unique: list[Node] = []
        seen: list[Node] = []
        for alt in alts:
            key = self.node(self._resolved(alt)) if isinstance(alt, Ref) else alt
            if key not in seen:
                seen.append(key)
                unique.append(alt)
        return self._factor(unique)

    def _factor(self, alts: list[Node]) -> Node:
        """Left-factor ``alts`` (a CFG alternation: order does not change the language)."""
        optional = any(isinstance(a, Epsilon) for a in alts)
        alts = [a for a in alts if not isinstance(a, Epsilon)]
        groups: list[list[list[Node]]] = []
        for alt in alts:
            items = _items(alt)
            for group in groups:
                if _shares_head(group[0], items):
                    group.append(items)
                    break
            else:
                groups.append([items])
        out: list[Node] = []
        for group in groups:
            out.append(_seq(group[0]) if len(group) == 1 else self._factored(group))
        if not out:
            return Epsilon()
        body = out[0] if len(out) == 1 else Choice(tuple(out))
        return Repeat(body, 0, 1) if optional else body

    def _factored(self, group: list[list[Node]]) -> Node:
        prefix: list[Node] = []
        rests = [list(g) for g in group]
        while all(r for r in rests) and _factorable(rests[0][0]):
            head = rests[0][0]
            if all(r[0] == head for r in rests):
                prefix.append(head)
                rests = [r[1:] for r in rests]
                continue
            if isinstance(head, Literal) and all(isinstance(r[0], Literal) for r in rests):
                n = min(_common_text(head.text, r[0].text) for r in rests)  # type: ignore[union-attr]
                if n:
                    prefix.append(Literal(head.text[:n]))
                    rests = [[*([Literal(r[0].text[n:])] if r[0].text[n:] else []), *r[1:]]  # type: ignore[union-attr]
                             for r in rests]
                    continue
            break
        if not prefix:
            return Choice(tuple(_seq(r) for r in rests))
        rest = self._factor([_seq(r) for r in rests])
        return _seq([*prefix, *(_items(rest) if isinstance(rest, Seq) else [rest])])


def _flat(node: Seq) -> list[Node]:
    out: list[Node] = []
    for item in node.items:
        out.extend(_flat(item) if isinstance(item, Seq) else [item])
    return out


def _regroup(items: list[Node], group: tuple[Node, ...]) -> None:
    n = len(group)
    for i in range(len(items) - n + 1):
        if items[i] == group[0] and tuple(items[i : i + n]) == group:
            items[i : i + n] = [Seq(group)]
            return


def _shares_head(a: list[Node], b: list[Node]) -> bool:
    if not a or not b or not _factorable(a[0]) or not _factorable(b[0]):
        return False
    if a[0] == b[0]:
        return True
    x, y = a[0], b[0]
    return isinstance(x, Literal) and isinstance(y, Literal) and x.text[0] == y.text[0]
