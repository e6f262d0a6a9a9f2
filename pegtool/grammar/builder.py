"""Stage: grammar — combinators that build (and normalise) IR nodes.

Each helper documents its PEG formula. Normalisation happens while building: nested sequences
and choices are flattened, ``ε`` vanishes from sequences, adjacent literals merge, duplicate
choice alternatives are dropped, and a one-element sequence/choice is its element.
:class:`GrammarBuilder` interns rules so identical sub-grammars get one name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pegtool.grammar import origins
from pegtool.grammar.ir import (
    AnyChar,
    Atomic,
    Capture,
    CharClass,
    Choice,
    End,
    Epsilon,
    Grammar,
    Json,
    JsonSchema,
    Lenient,
    Literal,
    Node,
    Not,
    Peek,
    Ref,
    Repeat,
    SchemaText,
    Seq,
    Start,
    Tag,
    Trigger,
    Until,
    canonical_schema,
)

EPS = Epsilon()


def _as_node(x: Node | str) -> Node:
    return lit(x) if isinstance(x, str) else x


def lit(text: str) -> Node:
    """``"text"``; the empty string is ``ε``."""
    return Literal(text) if text else EPS


def seq(*parts: Node | str) -> Node:
    """``e1 e2 … en`` (flattened; ``ε`` removed; adjacent literals merged)."""
    out: list[Node] = []
    for part in parts:
        node = _as_node(part)
        for item in node.items if isinstance(node, Seq) else (node,):
            if isinstance(item, Epsilon):
                continue
            if out and isinstance(item, Literal) and isinstance(out[-1], Literal):
                out[-1] = Literal(out[-1].text + item.text)
            else:
                out.append(item)
    if not out:
        return EPS
    return out[0] if len(out) == 1 else Seq(tuple(out))


def choice(*alts: Node | str) -> Node:
    """``e1 / e2 / … / en`` (flattened; duplicates dropped, first occurrence kept)."""
    out: list[Node] = []
    for alt in alts:
        node = _as_node(alt)
        for item in node.alts if isinstance(node, Choice) else (node,):
            if item not in out:
                out.append(item)
    if not out:
        raise ValueError("choice() needs at least one alternative")
    return out[0] if len(out) == 1 else Choice(tuple(out))


def repeat(item: Node | str, min: int = 0, max: int | None = None) -> Node:
    """``e{min,max}`` (greedy, possessive)."""
    node = _as_node(item)
    if max is not None and max < min:
        raise ValueError(f"repeat bounds {min}>{max}")
    if max == 0 or isinstance(node, Epsilon):
        return EPS
    if min == 1 and max == 1:
        return node
    return Repeat(node, min, max)


def opt(item: Node | str) -> Node:
    """``e?`` = ``e{0,1}``."""
    return repeat(item, 0, 1)


def star(item: Node | str) -> Node:
    """``e*`` = ``e{0,}``."""
    return repeat(item, 0, None)


def plus(item: Node | str) -> Node:
    """``e+`` = ``e{1,}``."""
    return repeat(item, 1, None)


def peek(item: Node | str) -> Node:
    """``&e``."""
    return Peek(_as_node(item))


def not_(item: Node | str) -> Node:
    """``!e``."""
    return Not(_as_node(item))


def any_char() -> Node:
    """``.``."""
    return AnyChar()


def start() -> Node:
    """``^`` (position 0)."""
    return Start()


def end() -> Node:
    """``!.`` (end of input)."""
    return End()


def chars(spec: str | Iterable[tuple[int, int] | tuple[str, str] | str], negated: bool = False) -> Node:
    """``[spec]`` / ``[^spec]``. ``spec`` is a string of single characters, or an iterable of
    characters and ``(lo, hi)`` pairs (characters or code points). Ranges are merged and sorted."""
    pairs: list[tuple[int, int]] = []
    for item in spec:
        if isinstance(item, str):
            pairs.append((ord(item), ord(item)))
        else:
            lo, hi = item
            pairs.append((lo if isinstance(lo, int) else ord(lo), hi if isinstance(hi, int) else ord(hi)))
    return CharClass(merge_ranges(pairs), negated)


def merge_ranges(pairs: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sort and merge overlapping or adjacent inclusive ranges.

    >>> merge_ranges([(5, 7), (1, 2), (3, 3), (10, 11)])
    ((1, 3), (5, 7), (10, 11))
    """
    merged: list[list[int]] = []
    for lo, hi in sorted(pairs):
        if lo > hi:
            raise ValueError(f"empty range {lo}-{hi}")
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((a, b) for a, b in merged)


def until(*delimiters: str) -> Node:
    """``(!(d1 / … / dn) .)*``: text up to the first delimiter (delimiters deduped, sorted)."""
    ds = tuple(sorted({d for d in delimiters if d}))
    if not ds:
        return star(AnyChar())
    return Until(ds)


def json_value() -> Node:
    """Any JSON value."""
    return Json()


def json_schema(schema: Any) -> Node:
    """A JSON value valid under ``schema`` (a dict/bool JSON Schema)."""
    text = canonical_schema(schema)
    origins.note(text)
    return JsonSchema(text)


def schema_text(schema: Any, *delimiters: str) -> Node:
    """Raw text up to a delimiter that satisfies ``schema`` as an unquoted string argument."""
    text = canonical_schema(schema)
    origins.note(text)
    return SchemaText(text, tuple(sorted(set(delimiters))))


def ref(name: str) -> Node:
    """A reference to rule ``name``."""
    return Ref(name)


def capture(tag: Tag, item: Node | str, note: str = "") -> Node:
    """``e`` captured under ``tag``."""
    return Capture(tag, _as_node(item), note)


def atomic(item: Node | str) -> Node:
    """``e`` with no half-parsed node escaping in partial mode."""
    return Atomic(_as_node(item))


def trigger(item: Node | str) -> Node:
    """``e`` marked as the lazy-grammar start point."""
    return Trigger(_as_node(item))


def lenient(item: Node | str, loose: Node | str) -> Node:
    """Generate ``item``, read ``loose`` (see :class:`~pegtool.grammar.ir.Lenient`)."""
    a, b = _as_node(item), _as_node(loose)
    return a if a == b else Lenient(a, b)


#: Most white space one ``space()`` admits: enough for any rendered layout, and a constrained
#: model cannot loop on white space for ever (small models do).
MAX_SPACE = 40


def space() -> Node:
    """``[ \\t\\n\\r]{0,40}``: optional white space between markers, bounded."""
    return repeat(chars(" \t\n\r"), 0, MAX_SPACE)


class GrammarBuilder:
    """Collects named rules; :meth:`intern` gives identical sub-grammars a single name."""

    def __init__(self) -> None:
        self._rules: dict[str, Node] = {}
        self._by_node: dict[Node, str] = {}

    def define(self, name: str, node: Node) -> Ref:
        """Define (or redefine) rule ``name``; returns a reference to it."""
        self._rules[name] = node
        self._by_node.setdefault(node, name)
        return Ref(name)

    def intern(self, name: str, node: Node) -> Ref:
        """A reference to a rule equal to ``node``, reusing an existing rule when one matches;
        otherwise defines ``name`` (suffixed with a number when already taken)."""
        if node in self._by_node:
            return Ref(self._by_node[node])
        unique, n = name, 1
        while unique in self._rules:
            n += 1
            unique = f"{name}-{n}"
        return self.define(unique, node)

    def has(self, name: str) -> bool:
        return name in self._rules

    @property
    def rules(self) -> Mapping[str, Node]:
        return self._rules

    def build(self, root: str = "root") -> Grammar:
        if root not in self._rules:
            raise ValueError(f"no rule named {root!r}")
        ordered = [(root, self._rules[root])] + [(k, v) for k, v in self._rules.items() if k != root]
        return Grammar(tuple(ordered), root)


__all__ = [
    "EPS",
    "GrammarBuilder",
    "any_char",
    "atomic",
    "capture",
    "chars",
    "choice",
    "end",
    "json_schema",
    "json_value",
    "lit",
    "merge_ranges",
    "not_",
    "opt",
    "peek",
    "plus",
    "ref",
    "repeat",
    "schema_text",
    "seq",
    "space",
    "star",
    "start",
    "trigger",
    "until",
]
