"""Stage: grammar — static facts about IR nodes shared by both back-ends.

Nullability: whether a node can succeed without consuming input. Predicates (``&e``, ``!e``),
anchors and ``Until`` can; a character, a non-empty literal or a JSON value cannot.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping

from pegtool.grammar.ir import (
    Atomic,
    Capture,
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

TRANSPARENT = (Capture, Atomic, Trigger)


def nullable(node: Node, null_rules: Container[str]) -> bool:
    """Whether ``node`` can succeed without consuming input, given the nullable rule names."""
    if isinstance(node, (Epsilon, Start, End, Peek, Not, Until)):
        return True
    if isinstance(node, Literal):
        return not node.text
    if isinstance(node, Seq):
        return all(nullable(i, null_rules) for i in node.items)
    if isinstance(node, Choice):
        return any(nullable(a, null_rules) for a in node.alts)
    if isinstance(node, Repeat):
        return node.min == 0 or nullable(node.item, null_rules)
    if isinstance(node, Ref):
        return node.name in null_rules
    if isinstance(node, TRANSPARENT):
        return nullable(node.item, null_rules)
    return False  # AnyChar, CharClass, Json, JsonSchema, SchemaText


def nullable_rules(rules: Mapping[str, Node] | Iterable[tuple[str, Node]]) -> frozenset[str]:
    """Names of the rules that can succeed without consuming input (least fixpoint)."""
    pairs = list(rules.items()) if isinstance(rules, Mapping) else list(rules)
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, node in pairs:
            if name not in found and nullable(node, found):
                found.add(name)
                changed = True
    return frozenset(found)
