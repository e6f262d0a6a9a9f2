"""Stage: grammar — the PEG intermediate representation (IR).

The IR is data only: small frozen, slotted dataclasses with no behaviour. Both back-ends
(``pegtool.parser`` — a partial-input PEG interpreter — and ``pegtool.gbnf`` — a GBNF emitter for
llama.cpp) are visitors over these classes, so one description of a dialect yields both the
parser and the constraint grammar.

PEG semantics of each node (``e``, ``e1``… are sub-expressions, ``.`` is any code point)::

    Epsilon            ε                 always matches, consumes nothing
    Start              ^                 matches only at position 0
    End                !.                matches only at the end of the input
    Literal(s)         "s"               the exact code points of ``s``
    Seq(e1..en)        e1 e2 … en        all in order
    Choice(e1..en)     e1 / e2 / … / en  first alternative that matches wins (ordered choice)
    Repeat(e,m,n)      e{m,n}            greedy, possessive; ``max=None`` means unbounded
    Peek(e)            &e                and-predicate: succeeds if e matches, consumes nothing
    Not(e)             !e                not-predicate: succeeds if e fails, consumes nothing
    AnyChar            .                 any one code point
    CharClass(r, neg)  [r] / [^r]        one code point inside (or outside) the ranges
    Until(d1..dn)      (!(d1/…/dn) .)*   text up to (not including) the first delimiter
    Json               JSON value        any JSON value (RFC 8259, no surrounding spaces)
    JsonSchema(s)      JSON value ∈ s    a JSON value valid under JSON Schema ``s``
    SchemaText(s, d)   raw text ∈ s      unquoted text up to a delimiter in ``d`` that, read as
                                         a raw string argument, satisfies schema ``s``
    Ref(name)          name              a named rule of the grammar (recursion allowed)
    Capture(tag, e)    e                 e, recorded in the parse tree under ``tag``
    Atomic(e)          e                 e; in partial mode a half-matched e yields no node
    Trigger(e)         e                 e; marks where a lazy grammar starts constraining
    Lenient(e, r)      e (generate)      generation is held to e (GBNF); reading accepts r
                       r (read)          (the parser), which must accept every text e does

``Json``, ``JsonSchema`` and ``SchemaText`` are lowered to core nodes by
``pegtool.grammar.schema`` so both back-ends see the same expansion.

Code points, not bytes, everywhere. Character ranges are stored as integer code points.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, Union


class Tag(str, Enum):
    """What a captured span means in the final chat message."""

    CONTENT = "content"
    REASONING = "reasoning"
    TOOL_CALL = "tool_call"  # one whole call
    TOOL_NAME = "tool_name"
    TOOL_ID = "tool_id"
    TOOL_ARGS = "tool_args"  # arguments as one JSON object text
    ARG = "arg"  # one name/value argument pair (tagged-argument dialects)
    ARG_NAME = "arg_name"
    ARG_VALUE = "arg_value"  # a JSON-encoded argument value
    ARG_STRING = "arg_string"  # a raw (unquoted) string argument value
    ARG_PY = "arg_py"  # a Python-literal value of a pythonic call (pegtool.dialects.pythonic)
    #: a value in a template's own notation with strings between quote markers (Gemma 4:
    #: ``{k:<|"|>v<|"|>}``); the text of each string inside is captured as ``ARG_STRING``
    ARG_MARKED = "arg_marked"
    #: a value as nested elements (MiniMax-M3: ``<k><item>a</item></k>``); inside, each element is
    #: an ``ARG`` with its name as ``ARG_NAME`` (object members) or ``TEXT`` (array items), each leaf
    #: text an ``ARG_STRING`` (a string by the schema) or ``ARG_VALUE`` (JSON if it reads as a scalar)
    ARG_XML = "arg_xml"
    #: a form the reader accepted although generation never writes it (a missing marker, an
    #: argument encoding the template does not use); its ``note`` says what was repaired
    REPAIR = "repair"
    TEXT = "text"  # generic span, for tests and custom grammars


class _Ops:
    """Operator sugar shared by all nodes: ``a + b`` is a sequence, ``a | b`` an ordered choice.

    The operators only build nodes (through :mod:`pegtool.grammar.builder`, which normalises);
    nodes still carry no back-end behaviour.
    """

    __slots__ = ()

    def __add__(self, other: object) -> Node:
        from pegtool.grammar.builder import seq

        return seq(self, other)  # type: ignore[arg-type]

    def __radd__(self, other: object) -> Node:
        from pegtool.grammar.builder import seq

        return seq(other, self)  # type: ignore[arg-type]

    def __or__(self, other: object) -> Node:
        from pegtool.grammar.builder import choice

        return choice(self, other)  # type: ignore[arg-type]

    def __ror__(self, other: object) -> Node:
        from pegtool.grammar.builder import choice

        return choice(other, self)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Epsilon(_Ops):
    """``ε``: matches the empty string."""


@dataclass(frozen=True, slots=True)
class Start(_Ops):
    """``^``: matches the empty string at position 0 only."""


@dataclass(frozen=True, slots=True)
class End(_Ops):
    """``!.``: matches the empty string at the end of the input only."""


@dataclass(frozen=True, slots=True)
class Literal(_Ops):
    """``"text"``: the exact code points of ``text`` (non-empty)."""

    text: str


@dataclass(frozen=True, slots=True)
class Seq(_Ops):
    """``e1 e2 … en``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Choice(_Ops):
    """``e1 / e2 / … / en``: ordered choice."""

    alts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Repeat(_Ops):
    """``e{min,max}``: greedy possessive repetition; ``max=None`` is unbounded."""

    item: Node
    min: int = 0
    max: int | None = None


@dataclass(frozen=True, slots=True)
class Peek(_Ops):
    """``&e``: and-predicate."""

    item: Node


@dataclass(frozen=True, slots=True)
class Not(_Ops):
    """``!e``: not-predicate."""

    item: Node


@dataclass(frozen=True, slots=True)
class AnyChar(_Ops):
    """``.``: any one code point."""


@dataclass(frozen=True, slots=True)
class CharClass(_Ops):
    """``[ranges]`` or ``[^ranges]``; ranges are inclusive code-point pairs."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Until(_Ops):
    """``(!(d1 / … / dn) .)*``: text up to the first of several (multi-character) delimiters."""

    delimiters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Json(_Ops):
    """Any JSON value."""


@dataclass(frozen=True, slots=True)
class JsonSchema(_Ops):
    """A JSON value valid under a JSON Schema; ``schema`` is its compact JSON text (key order kept)."""

    schema: str


@dataclass(frozen=True, slots=True)
class SchemaText(_Ops):
    """Raw, unquoted text that stops before any of ``delimiters`` and satisfies ``schema``."""

    schema: str
    delimiters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ref(_Ops):
    """A reference to the named rule ``name``."""

    name: str


@dataclass(frozen=True, slots=True)
class Capture(_Ops):
    """``e`` recorded in the parse tree under ``tag``; ``note`` is a free text the node carries
    into the parse tree (a ``REPAIR`` capture says there what the reader repaired)."""

    tag: Tag
    item: Node
    note: str = ""


@dataclass(frozen=True, slots=True)
class Atomic(_Ops):
    """``e``; while parsing partial input, a half-matched ``e`` produces no node at all."""

    item: Node


@dataclass(frozen=True, slots=True)
class Trigger(_Ops):
    """``e``; the lazy grammar is free text until here and constrained from here on."""

    item: Node


@dataclass(frozen=True, slots=True)
class Lenient(_Ops):
    """Two sides of one construct: ``item`` is what the model may generate (the GBNF back-end
    emits it), ``loose`` is what the reader accepts (the parser compiles it). ``loose`` must accept
    every text ``item`` accepts. Used where a constraint helps generation but rejecting text
    would lose a user's tool call: key order, repeated or missing arguments, id lengths."""

    item: Node
    loose: Node


Node = Union[
    Epsilon,
    Start,
    End,
    Literal,
    Seq,
    Choice,
    Repeat,
    Peek,
    Not,
    AnyChar,
    CharClass,
    Until,
    Json,
    JsonSchema,
    SchemaText,
    Ref,
    Capture,
    Atomic,
    Trigger,
    Lenient,
]

NODE_TYPES: tuple[type, ...] = (
    Epsilon,
    Start,
    End,
    Literal,
    Seq,
    Choice,
    Repeat,
    Peek,
    Not,
    AnyChar,
    CharClass,
    Until,
    Json,
    JsonSchema,
    SchemaText,
    Ref,
    Capture,
    Atomic,
    Trigger,
    Lenient,
)


@dataclass(frozen=True, slots=True)
class Grammar:
    """Named rules plus the name of the start rule. Rules are kept in a stable order."""

    rules: tuple[tuple[str, Node], ...]
    root: str = "root"
    _index: Mapping[str, Node] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", dict(self.rules))

    @property
    def rule_map(self) -> Mapping[str, Node]:
        return self._index

    def __getitem__(self, name: str) -> Node:
        return self._index[name]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    @classmethod
    def of(cls, rules: Mapping[str, Node], root: str = "root") -> Grammar:
        return cls(tuple(rules.items()), root)


def children(node: Node) -> Iterator[Node]:
    """The direct sub-nodes of ``node`` (not following ``Ref``)."""
    if isinstance(node, Seq):
        yield from node.items
    elif isinstance(node, Choice):
        yield from node.alts
    elif isinstance(node, (Repeat, Peek, Not, Capture, Atomic, Trigger)):
        yield node.item
    elif isinstance(node, Lenient):
        yield node.item
        yield node.loose


def map_children(node: Node, f: Callable[[Node], Node]) -> Node:
    """``node`` rebuilt with ``f`` applied to each direct sub-node (the same node if it has none)."""
    if isinstance(node, Seq):
        return Seq(tuple(f(i) for i in node.items))
    if isinstance(node, Choice):
        return Choice(tuple(f(a) for a in node.alts))
    if isinstance(node, Repeat):
        return Repeat(f(node.item), node.min, node.max)
    if isinstance(node, Capture):
        return Capture(node.tag, f(node.item), node.note)
    if isinstance(node, (Peek, Not, Atomic, Trigger)):
        return type(node)(f(node.item))
    if isinstance(node, Lenient):
        return Lenient(f(node.item), f(node.loose))
    return node


def walk(node: Node) -> Iterator[Node]:
    """All nodes under ``node`` (pre-order, iterative, not following ``Ref``)."""
    stack = [node]
    while stack:
        cur = stack.pop()
        yield cur
        stack.extend(reversed(list(children(cur))))


def one_side(grammar: Grammar, side: str) -> Grammar:
    """``grammar`` with every :class:`Lenient` replaced by its ``"generate"`` side (``item``) or
    its ``"read"`` side (``loose``). Back-ends call this first; nothing after it sees ``Lenient``."""
    if side not in ("generate", "read"):
        raise ValueError(f"side must be 'generate' or 'read', not {side!r}")
    if not any(isinstance(n, Lenient) for _, body in grammar.rules for n in walk(body)):
        return grammar
    pick_loose = side == "read"

    def fix(node: Node) -> Node:
        if isinstance(node, Lenient):
            return fix(node.loose if pick_loose else node.item)
        return map_children(node, fix)

    return Grammar(tuple((name, fix(body)) for name, body in grammar.rules), grammar.root)


def canonical_schema(schema: Any) -> str:
    """The JSON text of a schema, as stored in ``JsonSchema``/``SchemaText``.

    Keys keep their order (``properties`` order is the order models write arguments in), so the
    text is deterministic for a given schema object without sorting.
    """
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":"))


# --- stable JSON serialisation -------------------------------------------------------------

_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in NODE_TYPES}


def node_to_json(node: Node) -> Any:
    """A JSON-ready form of ``node``: ``{"type": ClassName, <fields>}``."""
    out: dict[str, Any] = {"type": type(node).__name__}
    for f in fields(node):  # type: ignore[arg-type]
        out[f.name] = _value_to_json(getattr(node, f.name))
    return out


def _value_to_json(value: Any) -> Any:
    if isinstance(value, Tag):
        return value.value
    if isinstance(value, tuple) and value and isinstance(value[0], NODE_TYPES):
        return [node_to_json(v) for v in value]
    if isinstance(value, NODE_TYPES):
        return node_to_json(value)  # type: ignore[arg-type]
    if isinstance(value, tuple):
        return [_value_to_json(v) for v in value]
    return value


def node_from_json(data: Any) -> Node:
    """Inverse of :func:`node_to_json`."""
    cls = _BY_NAME[data["type"]]
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data and f.name == "note":
            continue
        raw = data[f.name]
        if f.name in ("items", "alts"):
            kwargs[f.name] = tuple(node_from_json(v) for v in raw)
        elif f.name in ("item", "loose"):
            kwargs[f.name] = node_from_json(raw)
        elif f.name == "tag":
            kwargs[f.name] = Tag(raw)
        elif f.name == "ranges":
            kwargs[f.name] = tuple((int(a), int(b)) for a, b in raw)
        elif f.name == "delimiters":
            kwargs[f.name] = tuple(raw)
        else:
            kwargs[f.name] = raw
    return cls(**kwargs)  # type: ignore[no-any-return]


def grammar_to_json(grammar: Grammar) -> dict[str, Any]:
    return {
        "root": grammar.root,
        "rules": [[name, node_to_json(node)] for name, node in grammar.rules],
    }


def grammar_from_json(data: Mapping[str, Any]) -> Grammar:
    return Grammar(tuple((n, node_from_json(d)) for n, d in data["rules"]), data["root"])


def dumps(grammar: Grammar) -> str:
    """Stable JSON text of a grammar (same grammar, same bytes)."""
    return json.dumps(grammar_to_json(grammar), ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Grammar:
    return grammar_from_json(json.loads(text))
