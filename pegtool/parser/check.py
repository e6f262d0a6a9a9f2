"""Stage: parser — compile-time checks and facts about a grammar.

Before the engine compiles a grammar it checks that every ``Ref`` names a rule and that no rule
is left-recursive (both raise :class:`~pegtool.errors.GrammarError` naming the rule and path).
It also derives facts the compiler uses: which rules can match the empty string, which rules are
*regular* (no captures, no recursion: compilable to one ``re`` pattern), and the set of first
characters of a node (for first-character dispatch in ordered choices).
"""

from __future__ import annotations

from collections.abc import Iterator

from pegtool.errors import GrammarError
from pegtool.grammar.facts import nullable, nullable_rules
from pegtool.grammar.ir import (
    Atomic,
    Capture,
    CharClass,
    Choice,
    Grammar,
    Json,
    JsonSchema,
    Literal,
    Node,
    Not,
    Peek,
    Ref,
    Repeat,
    SchemaText,
    Seq,
    Trigger,
    walk,
)

#: A class is expanded into a first-character set only when it has at most this many members.
SMALL_CLASS = 256

_WRAPPERS = (Capture, Atomic, Trigger)


def check_grammar(grammar: Grammar) -> None:
    """Raise GrammarError for an undefined root or rule reference, or for left recursion."""
    if grammar.root not in grammar:
        raise GrammarError(f"root rule {grammar.root!r} is not defined")
    for name, node in grammar.rules:
        for sub in walk(node):
            if isinstance(sub, Ref) and sub.name not in grammar:
                raise GrammarError(f"rule {name!r} refers to undefined rule {sub.name!r}")
    _check_left_recursion(grammar, nullable_rules(grammar.rules))


def left_refs(node: Node, null_rules: frozenset[str]) -> Iterator[str]:
    """Rule names that ``node`` may call before consuming any input."""
    if isinstance(node, Ref):
        yield node.name
    elif isinstance(node, Seq):
        for item in node.items:
            yield from left_refs(item, null_rules)
            if not nullable(item, null_rules):
                break
    elif isinstance(node, Choice):
        for alt in node.alts:
            yield from left_refs(alt, null_rules)
    elif isinstance(node, (Repeat, Peek, Not, *_WRAPPERS)):
        yield from left_refs(node.item, null_rules)


def _check_left_recursion(grammar: Grammar, null_rules: frozenset[str]) -> None:
    graph = {name: sorted(set(left_refs(node, null_rules))) for name, node in grammar.rules}
    state: dict[str, int] = {}  # 1 = on the DFS path, 2 = done
    for name, _ in grammar.rules:
        if name not in state:
            _dfs_cycle(name, graph, state)


def _dfs_cycle(start: str, graph: dict[str, list[str]], state: dict[str, int]) -> None:
    """Iterative DFS; raise GrammarError with the cycle path on a back edge."""
    path = [start]
    iters = [iter(graph[start])]
    state[start] = 1
    while iters:
        nxt = next(iters[-1], None)
        if nxt is None:
            state[path.pop()] = 2
            iters.pop()
        elif state.get(nxt) == 1:
            cycle = path[path.index(nxt) :] + [nxt]
            raise GrammarError(f"left recursion in rule {nxt!r}: {' -> '.join(cycle)}")
        elif nxt not in state:
            state[nxt] = 1
            path.append(nxt)
            iters.append(iter(graph[nxt]))


def regular_rules(grammar: Grammar) -> frozenset[str]:
    """Rules with no capture, no JSON node and no (direct or indirect) recursion."""
    memo: dict[str, bool] = {}

    def visit(name: str, active: set[str]) -> bool:
        if name in memo:
            return memo[name]
        if name in active:
            return False
        active.add(name)
        ok = True
        for sub in walk(grammar[name]):
            if isinstance(sub, (Capture, Json, JsonSchema, SchemaText)):
                ok = False
            elif isinstance(sub, Ref) and not visit(sub.name, active):
                ok = False
            if not ok:
                break
        active.discard(name)
        memo[name] = ok
        return ok

    return frozenset(name for name, _ in grammar.rules if visit(name, set()))


def is_regular(node: Node, regular: frozenset[str]) -> bool:
    """Whether ``node`` has no capture/JSON node and refers only to regular rules."""
    for sub in walk(node):
        if isinstance(sub, (Capture, Json, JsonSchema, SchemaText)):
            return False
        if isinstance(sub, Ref) and sub.name not in regular:
            return False
    return True


def deref(node: Node, grammar: Grammar) -> Node:
    """``node`` with leading ``Ref``s resolved (safe after :func:`check_grammar`)."""
    seen: set[str] = set()
    while isinstance(node, Ref) and node.name not in seen:
        seen.add(node.name)
        node = grammar[node.name]
    return node


def class_members(node: CharClass) -> frozenset[str] | None:
    """The characters of a small non-negated class, else None."""
    if node.negated or sum(hi - lo + 1 for lo, hi in node.ranges) > SMALL_CLASS:
        return None
    return frozenset(chr(c) for lo, hi in node.ranges for c in range(lo, hi + 1))


class FirstSets:
    """First characters of nodes: a frozenset, or None when unknown / the node is nullable."""

    def __init__(self, grammar: Grammar, null_rules: frozenset[str]) -> None:
        self._grammar = grammar
        self._null = null_rules
        self._rules: dict[str, frozenset[str] | None] = {}
        self._active: set[str] = set()

    def of(self, node: Node) -> frozenset[str] | None:
        if nullable(node, self._null):
            return None
        if isinstance(node, Literal):
            return frozenset(node.text[0])
        if isinstance(node, CharClass):
            return class_members(node)
        if isinstance(node, Seq):
            return self.of(node.items[0])
        if isinstance(node, Choice):
            return self._union([self.of(a) for a in node.alts])
        if isinstance(node, (Repeat, *_WRAPPERS)):
            return self.of(node.item)
        if isinstance(node, Ref):
            return self._rule(node.name)
        return None  # AnyChar, JSON nodes

    def _union(self, sets: list[frozenset[str] | None]) -> frozenset[str] | None:
        out: set[str] = set()
        for s in sets:
            if s is None:
                return None
            out |= s
        return frozenset(out)

    def _rule(self, name: str) -> frozenset[str] | None:
        if name in self._rules:
            return self._rules[name]
        if name in self._active:
            return None
        self._active.add(name)
        result = self.of(self._grammar[name])
        self._active.discard(name)
        self._rules[name] = result
        return result


__all__ = [
    "FirstSets",
    "check_grammar",
    "class_members",
    "deref",
    "is_regular",
    "left_refs",
    "nullable",
    "nullable_rules",
    "regular_rules",
]
