"""Stage: grammar — finite automata over code points, and their exact lowering to IR.

Regular constraints of a JSON Schema (``pattern``, ``format``, integer ranges, enum strings in raw
text) are compiled to a deterministic automaton (DFA) first, then emitted as IR. Why a DFA: the
IR is read two ways — as a PEG (ordered choice, possessive repetition) by the parser and as a CFG
by the GBNF emitter — and a *deterministic* right-linear grammar reads the same both ways:

* each state is ``S* (c1 q1 / c2 q2 / … / ε)`` where ``S`` is the self-loop class, the ``ci`` are
  pairwise disjoint classes (so at most one alternative can start) and ``ε`` is present only for
  accepting states, last;
* the PEG reading therefore returns the *longest accepted prefix* along the unique DFA path, and
  the CFG reading every accepted prefix. They agree whenever the text that follows the automaton
  can never be consumed by it (a closing quote, a non-digit after a number, or a delimiter that
  the automaton was intersected away from — see :func:`avoid_delimiters`).

Transitions are lists of disjoint inclusive code-point ranges ``(lo, hi, target)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pegtool.errors import SchemaError
from pegtool.grammar.builder import EPS, GrammarBuilder, chars, choice, lit, repeat, seq
from pegtool.grammar.ir import Node, Ref

MAX_CP = 0x10FFFF
MAX_STATES = 4000

Ranges = tuple[tuple[int, int], ...]
Edge = tuple[int, int, int]


@dataclass(frozen=True)
class DFA:
    """A DFA with start state 0; ``trans[q]`` is a sorted list of disjoint ``(lo, hi, target)``."""

    trans: tuple[tuple[Edge, ...], ...]
    accepting: frozenset[int]

    @property
    def size(self) -> int:
        return len(self.trans)

    def step(self, state: int, ch: str) -> int | None:
        cp = ord(ch)
        for lo, hi, tgt in self.trans[state]:
            if lo <= cp <= hi:
                return tgt
        return None

    def accepts(self, text: str) -> bool:
        state: int | None = 0
        for ch in text:
            state = self.step(state, ch)  # type: ignore[arg-type]
            if state is None:
                return False
        return state in self.accepting


# --- NFA and subset construction --------------------------------------------------------------


class NFA:
    """Thompson NFA: ``eps[q]`` epsilon targets, ``edges[q]`` list of ``(ranges, target)``."""

    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[Ranges, int]]] = []

    def new(self) -> int:
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def closure(self, states: Iterable[int]) -> frozenset[int]:
        seen = set(states)
        stack = list(seen)
        while stack:
            for t in self.eps[stack.pop()]:
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        return frozenset(seen)


def _split_points(edges: Iterable[tuple[Ranges, int]]) -> list[int]:
    points = set()
    for ranges, _ in edges:
        for lo, hi in ranges:
            points.add(lo)
            points.add(hi + 1)
    return sorted(points)


def determinize(nfa: NFA, start: int, final: int) -> DFA:
    """Subset construction; the result is trimmed and minimised."""
    first = nfa.closure([start])
    index = {first: 0}
    order = [first]
    trans: list[list[Edge]] = []
    while len(trans) < len(order):
        cur = order[len(trans)]
        edges = [e for q in cur for e in nfa.edges[q]]
        row: list[Edge] = []
        points = _split_points(edges)
        for lo, nxt in zip(points, points[1:], strict=False):
            targets = [t for ranges, t in edges if any(a <= lo <= b for a, b in ranges)]
            if not targets:
                continue
            key = nfa.closure(targets)
            if key not in index:
                index[key] = len(order)
                order.append(key)
                if len(order) > MAX_STATES:
                    raise SchemaError(f"regular expression needs more than {MAX_STATES} states")
            _append_edge(row, lo, nxt - 1, index[key])
        trans.append(row)
    accepting = frozenset(i for i, s in enumerate(order) if final in s)
    return minimize(DFA(tuple(tuple(r) for r in trans), accepting))


def _append_edge(row: list[Edge], lo: int, hi: int, tgt: int) -> None:
    if row and row[-1][2] == tgt and row[-1][1] + 1 == lo:
        row[-1] = (row[-1][0], hi, tgt)
    else:
        row.append((lo, hi, tgt))


# --- trimming and minimisation ----------------------------------------------------------------


def trim(dfa: DFA) -> DFA:
    """Drop states that are unreachable or cannot reach acceptance; renumber (start stays 0).

    An empty language yields a DFA with one non-accepting state and no edges."""
    reach = _reachable(dfa)
    rev: dict[int, set[int]] = {q: set() for q in range(dfa.size)}
    for q, row in enumerate(dfa.trans):
        for _, _, t in row:
            rev[t].add(q)
    alive = set(dfa.accepting)
    stack = list(alive)
    while stack:
        for p in rev[stack.pop()]:
            if p not in alive:
                alive.add(p)
                stack.append(p)
    keep = [q for q in range(dfa.size) if q in reach and q in alive]
    if 0 not in keep:
        return DFA(((),), frozenset())
    new = {q: i for i, q in enumerate(keep)}
    trans = tuple(tuple((lo, hi, new[t]) for lo, hi, t in dfa.trans[q] if t in new) for q in keep)
    return DFA(trans, frozenset(new[q] for q in keep if q in dfa.accepting))


def _reachable(dfa: DFA) -> set[int]:
    seen, stack = {0}, [0]
    while stack:
        for _, _, t in dfa.trans[stack.pop()]:
            if t not in seen:
                seen.add(t)
                stack.append(t)
    return seen


def minimize(dfa: DFA) -> DFA:
    """Moore partition refinement over interval transitions (after :func:`trim`)."""
    dfa = trim(dfa)
    cls = [1 if q in dfa.accepting else 0 for q in range(dfa.size)]
    while True:
        sigs: dict[tuple[object, ...], int] = {}
        new_cls = []
        for q in range(dfa.size):
            row: list[Edge] = []
            for lo, hi, t in dfa.trans[q]:
                _append_edge(row, lo, hi, cls[t])
            sig = (cls[q], tuple(row))
            new_cls.append(sigs.setdefault(sig, len(sigs)))
        if len(sigs) == len(set(cls)):
            break
        cls = new_cls
    return _quotient(dfa, new_cls)


def _quotient(dfa: DFA, cls: list[int]) -> DFA:
    order: dict[int, int] = {cls[0]: 0}
    for q in range(dfa.size):
        order.setdefault(cls[q], len(order))
    reps: dict[int, int] = {}
    for q in range(dfa.size):
        reps.setdefault(order[cls[q]], q)
    trans = []
    for i in range(len(order)):
        row: list[Edge] = []
        for lo, hi, t in dfa.trans[reps[i]]:
            _append_edge(row, lo, hi, order[cls[t]])
        trans.append(tuple(row))
    accepting = frozenset(order[cls[q]] for q in dfa.accepting)
    return DFA(tuple(trans), accepting)


# --- constructions ----------------------------------------------------------------------------


def intersect(a: DFA, b: DFA) -> DFA:
    """The product automaton accepting ``L(a) ∩ L(b)`` (minimised)."""
    index = {(0, 0): 0}
    order = [(0, 0)]
    trans: list[tuple[Edge, ...]] = []
    while len(trans) < len(order):
        p, q = order[len(trans)]
        row: list[Edge] = []
        for lo, hi, tp, tq in _overlaps(a.trans[p], b.trans[q]):
            key = (tp, tq)
            if key not in index:
                index[key] = len(order)
                order.append(key)
                if len(order) > MAX_STATES:
                    raise SchemaError(f"constraint combination needs more than {MAX_STATES} states")
            _append_edge(row, lo, hi, index[key])
        trans.append(tuple(row))
    acc = frozenset(i for i, (p, q) in enumerate(order) if p in a.accepting and q in b.accepting)
    return minimize(DFA(tuple(trans), acc))


def _overlaps(ea: Sequence[Edge], eb: Sequence[Edge]) -> Iterable[tuple[int, int, int, int]]:
    i = j = 0
    while i < len(ea) and j < len(eb):
        lo = max(ea[i][0], eb[j][0])
        hi = min(ea[i][1], eb[j][1])
        if lo <= hi:
            yield lo, hi, ea[i][2], eb[j][2]
        if ea[i][1] < eb[j][1]:
            i += 1
        else:
            j += 1


def literals(words: Iterable[str]) -> DFA:
    """A DFA accepting exactly ``words`` (a trie, minimised)."""
    trans: list[dict[int, int]] = [{}]
    acc = set()
    for w in words:
        q = 0
        for ch in w:
            nxt = trans[q].get(ord(ch))
            if nxt is None:
                trans.append({})
                nxt = trans[q][ord(ch)] = len(trans) - 1
            q = nxt
        acc.add(q)
    rows = tuple(tuple((c, c, t) for c, t in sorted(row.items())) for row in trans)
    return minimize(DFA(rows, frozenset(acc)))


def complement(dfa: DFA, alphabet: Ranges = ((0, MAX_CP),)) -> DFA:
    """Strings over ``alphabet`` not accepted by ``dfa`` (completes with a sink state)."""
    sink = dfa.size
    trans = []
    for q in range(dfa.size + 1):
        row: list[Edge] = []
        edges = dfa.trans[q] if q < sink else ()
        for lo, hi in alphabet:
            for a, b, t in _fill(edges, lo, hi, sink):
                _append_edge(row, a, b, t)
        trans.append(tuple(row))
    acc = frozenset(q for q in range(sink + 1) if q not in dfa.accepting)
    return minimize(DFA(tuple(trans), acc))


def _fill(edges: Sequence[Edge], lo: int, hi: int, sink: int) -> Iterable[Edge]:
    cur = lo
    for a, b, t in edges:
        if b < cur or a > hi:
            continue
        if a > cur:
            yield cur, a - 1, sink
        yield max(a, cur), min(b, hi), t
        cur = min(b, hi) + 1
    if cur <= hi:
        yield cur, hi, sink


def length_range(lo: int, hi: int | None, alphabet: Ranges = ((0, MAX_CP),)) -> DFA:
    """Strings over ``alphabet`` whose length is in ``[lo, hi]`` (``hi=None``: unbounded)."""
    top = lo if hi is None else hi
    trans = []
    for q in range(top + 1):
        nxt = q + 1 if q < top else (q if hi is None else None)
        trans.append(tuple((a, b, nxt) for a, b in alphabet) if nxt is not None else ())
    acc = frozenset(q for q in range(lo, top + 1))
    return DFA(tuple(trans), acc)


def avoid_delimiters(delimiters: Sequence[str]) -> DFA:
    """Texts that contain no delimiter and do not end with a proper prefix of one.

    Intersecting a constraint with this automaton makes raw text followed by a delimiter read the
    same as PEG and as CFG: the PEG's longest accepted prefix can never run into the delimiter,
    because a text ending inside a delimiter prefix is not accepting and one containing a whole
    delimiter is dead. The price: a constrained raw value may not end with, e.g., ``"<"`` when a
    delimiter starts with ``"<"``.
    """
    delims = [d for d in delimiters if d]
    prefixes = sorted({d[:i] for d in delims for i in range(len(d))}, key=lambda s: (len(s), s))
    index = {p: i for i, p in enumerate(prefixes)}
    special = sorted({ord(c) for d in delims for c in d})
    trans = []
    for p in prefixes:
        row: list[Edge] = []
        for lo, hi, ch in _alphabet_pieces(special):
            tgt = _ac_step(p, ch, delims, index)
            if tgt is not None:
                _append_edge(row, lo, hi, tgt)
        trans.append(tuple(row))
    return minimize(DFA(tuple(trans), frozenset({0})))


def _alphabet_pieces(special: list[int]) -> Iterable[tuple[int, int, str]]:
    """Each special code point alone, plus the gaps between them (represented by ``""``)."""
    cur = 0
    for cp in special:
        if cp > cur:
            yield cur, cp - 1, ""
        yield cp, cp, chr(cp)
        cur = cp + 1
    if cur <= MAX_CP:
        yield cur, MAX_CP, ""


def _ac_step(state: str, ch: str, delims: list[str], index: dict[str, int]) -> int | None:
    if not ch:
        return 0
    text = state + ch
    if any(text.endswith(d) for d in delims):
        return None
    for i in range(len(text) + 1):
        if text[i:] in index:
            return index[text[i:]]
    return 0


def strongly_connected(dfa: DFA) -> list[set[int]]:
    """Tarjan's SCCs, iteratively."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on, stack, out = set(), [], []
    counter = 0
    for root in range(dfa.size):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on.add(v)
            succ = [t for _, _, t in dfa.trans[v]]
            if i < len(succ):
                work.append((v, i + 1))
                w = succ[i]
                if w not in index:
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                out.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return out


# --- lowering to IR ---------------------------------------------------------------------------

Encoder = Callable[[Ranges], Node]

_SHORT_ESCAPES = {0x08: "b", 0x0C: "f", 0x0A: "n", 0x0D: "r", 0x09: "t", 0x22: '"', 0x5C: "\\"}


def raw_encoder(ranges: Ranges) -> Node:
    """Raw text: a code point is itself."""
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return lit(chr(ranges[0][0]))
    return chars(ranges)


def json_encoder(ranges: Ranges) -> Node:
    """Inside a JSON string: the canonical (shortest) JSON encoding of each code point.

    ``"`` and ``\\`` and controls are escaped (``\\n``; ``\\u00XX`` in either hex case when no short
    form exists); every other code point appears raw. Escapes all start with a backslash and
    differ in their second character, so the alternatives are disjoint."""
    specials = [(0, 0x1F), (0x22, 0x22), (0x5C, 0x5C)]
    raw = _subtract(ranges, specials)
    cps = [cp for lo, hi in _intersect_ranges(ranges, specials) for cp in range(lo, hi + 1)]
    alts: list[Node] = [raw_encoder(raw)] if raw else []
    short = [_SHORT_ESCAPES[cp] for cp in cps if cp in _SHORT_ESCAPES]
    longs = [_unicode_escape(cp) for cp in cps if cp not in _SHORT_ESCAPES]
    esc = ([chars(short)] if short else []) + longs
    if esc:
        alts.append(seq("\\", choice(*esc)))
    return choice(*alts)


def _unicode_escape(cp: int) -> Node:
    hi, lo = divmod(cp, 16)
    low = "0123456789abcdef"[lo]
    return seq(f"u00{hi}", chars({low, low.upper()}))


def _subtract(ranges: Ranges, minus: list[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        cur = lo
        for a, b in minus:
            if b < cur or a > hi:
                continue
            if a > cur:
                out.append((cur, a - 1))
            cur = max(cur, b + 1)
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def _intersect_ranges(ranges: Ranges, other: list[tuple[int, int]]) -> Ranges:
    out = []
    for lo, hi in ranges:
        for a, b in other:
            if max(lo, a) <= min(hi, b):
                out.append((max(lo, a), min(hi, b)))
    return tuple(sorted(out))


def to_ir(dfa: DFA, encode: Encoder, builder: GrammarBuilder | None = None, name: str = "re") -> Node:
    """The DFA as IR (see the module docstring for why this reads the same as PEG and CFG).

    States on a cycle longer than a self-loop become named rules (``builder`` required); with a
    builder, states entered from several places become rules too, to avoid duplication."""
    dfa = minimize(dfa)
    if not dfa.accepting:
        raise SchemaError("the constraint accepts no string at all")
    sccs = strongly_connected(dfa)
    named = {q for comp in sccs if len(comp) > 1 for q in comp}
    if named and builder is None:
        raise SchemaError("this regular language needs named rules: pass a GrammarBuilder")
    if builder is not None:
        named |= {q for q, n in _in_degree(dfa).items() if n > 1 and dfa.trans[q]}
    names = _state_names(builder, name, named)
    nodes: dict[int, Node] = {}
    for comp in sccs:  # reverse topological order: successors first
        for q in comp:
            nodes[q] = _state_node(dfa, q, encode, nodes, names)
    if builder is not None:
        for q, rule in names.items():
            builder.define(rule, nodes[q])
    return Ref(names[0]) if 0 in names else nodes[0]


def _in_degree(dfa: DFA) -> dict[int, int]:
    deg: dict[int, int] = {}
    for q, row in enumerate(dfa.trans):
        for t in {t for _, _, t in row if t != q}:
            deg[t] = deg.get(t, 0) + 1
    return deg


def _state_names(builder: GrammarBuilder | None, name: str, named: set[int]) -> dict[int, str]:
    if builder is None or not named:
        return {}
    name = (
        "-".join(
            p
            for p in "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in name).split("-")
            if p
        )
        or "re"
    )
    base, n = name, 1
    while any(builder.has(f"{base}-{q}") for q in named) or builder.has(base):
        n += 1
        base = f"{name}{n}"
    return {q: (base if q == 0 else f"{base}-{q}") for q in sorted(named)}


def _state_node(dfa: DFA, q: int, encode: Encoder, nodes: dict[int, Node], names: dict[int, str]) -> Node:
    chain = _counter_chain(dfa, q)
    if chain is not None:
        cls, lo, hi = chain
        return repeat(encode(cls), lo, hi)
    groups: dict[int, list[tuple[int, int]]] = {}
    for lo, hi, t in dfa.trans[q]:
        groups.setdefault(t, []).append((lo, hi))
    loop = repeat(encode(tuple(groups.pop(q))), 0, None) if q in groups else EPS
    alts: list[Node] = []
    for t, ranges in groups.items():
        target = Ref(names[t]) if t in names else nodes[t]
        alts.append(seq(encode(tuple(ranges)), target))
    if not alts:
        return loop
    body = choice(*alts)
    return seq(loop, repeat(body, 0, 1) if q in dfa.accepting else body)


def _counter_chain(dfa: DFA, q: int) -> tuple[Ranges, int, int] | None:
    """``C{lo,hi}`` when ``q`` starts a chain of single-class steps ending in an accepting sink."""
    cls: Ranges | None = None
    steps, first_acc, cur, seen = 0, None, q, set()
    while True:
        if cur in seen:
            return None
        seen.add(cur)
        row = dfa.trans[cur]
        if cur in dfa.accepting and first_acc is None:
            first_acc = steps
        if not row:
            break
        targets = {t for _, _, t in row}
        ranges = tuple((lo, hi) for lo, hi, _ in row)
        if len(targets) != 1 or (cls is not None and ranges != cls) or cur in targets:
            return None
        if first_acc is not None and cur not in dfa.accepting:
            return None
        cls, cur, steps = ranges, targets.pop(), steps + 1
    if cls is None or first_acc is None or cur not in dfa.accepting or steps < 2:
        return None
    return cls, first_acc, steps
