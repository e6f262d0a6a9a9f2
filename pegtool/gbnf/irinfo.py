"""Stage: gbnf back-end — facts about IR nodes that the GBNF emitter needs.

Nullability (as GBNF will see it: predicates and anchors are empty), single-character sets,
literal sets, and the per-rule "position context" (does the rule only ever start the output /
end the output?), which decides whether anchors and predicates can be emitted exactly.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping

from pegtool.gbnf import charset
from pegtool.gbnf.charset import Ranges
from pegtool.grammar.facts import TRANSPARENT, nullable
from pegtool.grammar.ir import (
    AnyChar,
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
    children,
)

Ctx = tuple[bool, bool]  # (at the head of the output, at the tail of the output)
NO_CTX: Ctx = (False, False)


def unwrap(node: Node) -> Node:
    """``node`` without transparent wrappers (Capture, Atomic, Trigger)."""
    while isinstance(node, TRANSPARENT):
        node = node.item
    return node


def nullable_at_end(node: Node, known: Container[str]) -> bool:
    """Whether ``node`` matches when no input is left (PEG semantics of predicates)."""
    if isinstance(node, Not):
        return not nullable_at_end(node.item, known)
    if isinstance(node, Peek):
        return nullable_at_end(node.item, known)
    if isinstance(node, Seq):
        return all(nullable_at_end(i, known) for i in node.items)
    if isinstance(node, Choice):
        return any(nullable_at_end(a, known) for a in node.alts)
    if isinstance(node, Repeat):
        return node.min == 0 or nullable_at_end(node.item, known)
    if isinstance(node, TRANSPARENT):
        return nullable_at_end(node.item, known)
    if isinstance(node, Start):
        return False
    return nullable(node, known)


def char_set(node: Node) -> Ranges | None:
    """The code points of a node that always matches exactly one character, else ``None``."""
    node = unwrap(node)
    if isinstance(node, AnyChar):
        return charset.FULL
    if isinstance(node, CharClass):
        return charset.of_class(node.ranges, node.negated)
    if isinstance(node, Literal) and len(node.text) == 1:
        return charset.of_chars(node.text)
    if isinstance(node, Choice):
        parts = [char_set(a) for a in node.alts]
        if all(p is not None for p in parts):
            return charset.normalize(r for p in parts for r in p)  # type: ignore[union-attr]
    return None


def literal_set(node: Node) -> tuple[str, ...] | None:
    """The strings of a node that is a literal or a choice of literals, else ``None``."""
    node = unwrap(node)
    if isinstance(node, Literal):
        return (node.text,)
    if isinstance(node, Choice):
        parts = [literal_set(a) for a in node.alts]
        if all(p is not None for p in parts):
            return tuple(s for p in parts for s in p)  # type: ignore[union-attr]
    return None


def until_body(node: Node) -> tuple[str, ...] | None:
    """Delimiters ``D`` when ``node`` is ``!(d1/…/dn) .`` (the body of a hand-written until)."""
    node = unwrap(node)
    if isinstance(node, Seq) and len(node.items) == 2:
        pred, step = node.items
        if isinstance(pred, Not) and isinstance(unwrap(step), AnyChar):
            lits = literal_set(pred.item)
            if lits and all(lits):
                return tuple(sorted(set(lits)))
    return None


def is_end(node: Node) -> bool:
    node = unwrap(node)
    return isinstance(node, End) or (isinstance(node, Not) and isinstance(unwrap(node.item), AnyChar))


def item_contexts(items: tuple[Node, ...], ctx: Ctx) -> list[Ctx]:
    """The context of each item of a sequence: only the first item is at the head; an item is at
    the tail when everything after it is an end anchor."""
    out: list[Ctx] = []
    for i in range(len(items)):
        tail = ctx[1] and all(is_end(x) for x in items[i + 1 :])
        out.append((ctx[0] and i == 0, tail))
    return out


def child_contexts(node: Node, ctx: Ctx) -> Iterator[tuple[Node, Ctx]]:
    """Children of ``node`` with their position context (mirrors the emitter)."""
    if isinstance(node, Seq):
        yield from zip(node.items, item_contexts(node.items, ctx), strict=True)
    elif isinstance(node, Choice):
        for alt in node.alts:
            yield alt, ctx
    elif isinstance(node, Repeat):
        yield node.item, (ctx if node.max == 1 else NO_CTX)
    elif isinstance(node, TRANSPARENT):
        yield node.item, ctx
    else:
        for child in children(node):
            yield child, NO_CTX


def rule_contexts(rules: Mapping[str, Node], entries: list[tuple[Node, Ctx]]) -> dict[str, Ctx]:
    """For each reachable rule, the AND of the contexts of all its reference sites."""
    ctxs: dict[str, Ctx] = {}
    work: list[tuple[Node, Ctx]] = list(entries)
    while work:
        node, ctx = work.pop()
        if isinstance(node, Ref):
            old = ctxs.get(node.name)
            new = ctx if old is None else (old[0] and ctx[0], old[1] and ctx[1])
            if new != old and node.name in rules:
                ctxs[node.name] = new
                work.append((rules[node.name], new))
            continue
        work.extend(child_contexts(node, ctx))
    return ctxs


def is_epsilon(node: Node) -> bool:
    return isinstance(unwrap(node), Epsilon)
