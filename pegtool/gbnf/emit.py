"""Stage: gbnf back-end — the IR visitor that writes a GBNF grammar for llama.cpp.

``to_gbnf(grammar)`` lowers JSON nodes (``pegtool.grammar.schema.lower``), then emits one GBNF
rule per reachable IR rule (names sanitised to ``[a-zA-Z0-9-]+``, start rule ``root``), shares
identical large sub-expressions as rules (hash-consing), and checks the result with
:func:`pegtool.gbnf.validate.check_gbnf`. Output is deterministic: same IR, same bytes.

PEG vs CFG. GBNF is a CFG without lookahead, anchors, ordered choice or possessive repetition.
Choice and Repeat are emitted as CFG alternation/repetition (the PEG-vs-CFG difference of
ordered choice and possessive loops is inherent and documented for the agreement tests). Nodes
with no GBNF counterpart are handled as follows; *exact* means the emitted language equals the
PEG language of that construct in its context:

* ``Capture``, ``Atomic``, ``Trigger`` (``lazy=False``): transparent — exact.
* ``Until(D)``: an automaton of the delimiter-free strings (see :mod:`pegtool.gbnf.automaton`) —
  exact. Directly followed (in a ``Seq``) by a ``Literal`` starting with a delimiter, the end is
  also restricted so that the delimiter after it is the FIRST one — exact when no delimiter is
  longer than that literal plus one character; otherwise a (documented) over-approximation.
* ``Repeat(Seq(Not(d1/…/dn), AnyChar), 0|1, None)`` with literal ``d``: same automaton — exact.
* ``Start``: ε when it is the first thing of every path from the root — exact; else ε + warning.
* ``End`` / ``Not(AnyChar)``: ε when only end anchors follow up to the end of the output — exact
  (GBNF is anchored at the end); elsewhere ε + warning.
* ``Not(X) c`` / ``Peek(X) c`` where X is a one-character set (class, ``.``, 1-char literal, a
  choice of those) and ``c`` a one-character node: one class ``c − X`` / ``c ∩ X`` — exact.
* ``Not(X) "t…"`` / ``Peek(X) "t…"`` where X is a literal set (or a one-character set) and the
  next item a literal: ε or the empty language, decided statically — exact, unless some
  ``x ∈ X`` extends beyond ``t`` (then ε + warning).
* ``Not(X)`` / ``Peek(X)`` at the end of the output: ε or the empty language — exact.
* Any other ``Not``/``Peek``/``Start``/``End``: ε (an over-approximation) and a warning in
  ``GbnfText.warnings``; the agreement property tests exclude these forms.
* ``Repeat(e, m, n)``: ``e{m,n}``; ``n > 2000`` becomes ``{m,}`` (warning: llama.cpp's limit),
  ``m > 2000`` is split into nested rules (exact). An unbounded repeat of a nullable ``e`` is
  emitted as ``(e − ε)*`` (llama.cpp rejects nullable bodies of ``*`` as left recursion).
* ``Json``/``JsonSchema``/``SchemaText`` must be lowered first; ``Ref`` → a rule reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pegtool.errors import GrammarError
from pegtool.gbnf import automaton, charset, escape
from pegtool.gbnf.charset import Ranges
from pegtool.gbnf.irinfo import (
    NO_CTX,
    TRANSPARENT,
    Ctx,
    char_set,
    is_end,
    item_contexts,
    literal_set,
    nullable_at_end,
    rule_contexts,
    until_body,
    unwrap,
)
from pegtool.gbnf.simplify import simplify
from pegtool.grammar.facts import nullable, nullable_rules
from pegtool.grammar.ir import (
    AnyChar,
    CharClass,
    Choice,
    End,
    Epsilon,
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
    Start,
    Trigger,
    Until,
    one_side,
    walk,
)
from pegtool.grammar.origins import Origins

if TYPE_CHECKING:
    from pegtool.grammar.schema import SchemaWarning

MAX_REPEAT = 2000
ALT, SEQ, ATOM = 0, 1, 2
NEVER = automaton.NEVER
EMPTY = '""'
SHARE_MIN_CHARS = 48


class GbnfError(GrammarError):
    """The IR cannot be written as (valid) GBNF."""


class GbnfText(str):
    """GBNF text; ``warnings`` lists the places where the grammar over-approximates the IR."""

    warnings: tuple[str, ...] = ()

    def __new__(cls, text: str, warnings: tuple[str, ...] = ()) -> GbnfText:
        obj = super().__new__(cls, text)
        obj.warnings = warnings
        return obj


@dataclass(frozen=True)
class _NonEmptyUntil:
    """Internal: ``Until(D)`` minus the empty string (an unbounded repeat's body)."""

    delimiters: tuple[str, ...]


Expr = tuple[str, int]


def to_gbnf(grammar: Grammar, *, lazy: bool = False, check: bool = True, warn: bool = True,
            origins: Origins | None = None) -> GbnfText:
    """GBNF for ``grammar``; ``lazy=True``: root is the choice of all ``Trigger`` items (what
    llama.cpp constrains once a trigger fired). Schema keywords the grammar does not enforce are
    listed in ``.warnings`` and, with ``warn``, issued as ``UnsupportedSchemaWarning``s; ``origins``
    (recorded while building a chat grammar) lets them name the tool and parameter."""
    grammar, found = lower_schemas(grammar)
    _check_refs(grammar)
    grammar = simplify(grammar)
    text = _Emitter(grammar).run(lazy)
    if found:
        lines = tuple(dict.fromkeys(line for w in found for line in w.lines(origins)))
        text = GbnfText(str(text), lines + text.warnings)
        if warn:
            from pegtool.grammar.schema import issue_warnings

            issue_warnings(found, origins, stacklevel=2)
    if check:
        from pegtool.gbnf.validate import check_gbnf

        errors = check_gbnf(text)
        if errors:
            raise GbnfError("emitted GBNF is invalid: " + "; ".join(errors))
    return text


def lower_schemas(grammar: Grammar) -> tuple[Grammar, list[SchemaWarning]]:
    """``grammar`` with Json/JsonSchema/SchemaText lowered by ``pegtool.grammar.schema``, and the
    schema warnings (unsupported keywords, with their JSON pointer). Every ``Lenient`` becomes its
    generating side first: the GBNF holds the model to the strict form."""
    grammar = one_side(grammar, "generate")
    json_nodes = (Json, JsonSchema, SchemaText)
    if not any(isinstance(n, json_nodes) for _, body in grammar.rules for n in walk(body)):
        return grammar, []
    from pegtool.grammar.schema import lower

    return lower(grammar)


def lower_json(grammar: Grammar) -> tuple[Grammar, list[str]]:
    """:func:`lower_schemas` with the warnings as text (``schema #/pointer: message``)."""
    lowered, found = lower_schemas(grammar)
    return lowered, [line for w in found for line in w.lines()]


def _check_refs(grammar: Grammar) -> None:
    if grammar.root not in grammar:
        raise GbnfError(f"root rule {grammar.root!r} is not defined")
    for name, body in grammar.rules:
        for node in walk(body):
            if isinstance(node, Ref) and node.name not in grammar:
                raise GbnfError(f"rule {name!r} references undefined rule {node.name!r}")


def trigger_items(grammar: Grammar) -> list[Node]:
    """Items of all ``Trigger`` nodes reachable from the root (deterministic order, deduped)."""
    seen_rules, out, todo = {grammar.root}, [], [grammar[grammar.root]]
    while todo:
        for node in walk(todo.pop(0)):
            if isinstance(node, Trigger) and node.item not in out:
                out.append(node.item)
            elif isinstance(node, Ref) and node.name not in seen_rules:
                seen_rules.add(node.name)
                todo.append(grammar[node.name])
    return out


def _class_text(rs: Ranges) -> str:
    if rs == charset.FULL:
        return "."
    if not rs:
        return NEVER
    if len(rs) == 1 and rs[0][0] == rs[0][1]:
        return escape.literal(chr(rs[0][0]))
    pos, neg = escape.char_class(rs), escape.char_class(charset.complement(rs), True)
    return neg if len(neg) < len(pos) else pos


def _suffix(lo: int, hi: int | None) -> str:
    fixed = {(0, 1): "?", (0, None): "*", (1, None): "+"}
    if (lo, hi) in fixed:
        return fixed[(lo, hi)]
    if hi == lo:
        return f"{{{lo}}}"
    return f"{{{lo},}}" if hi is None else f"{{{lo},{hi}}}"


class _Emitter:
    def __init__(self, grammar: Grammar) -> None:
        self.g = grammar
        self.rules: Mapping[str, Node] = grammar.rule_map
        self.known = nullable_rules(self.rules)
        self.names = escape.NameTable()
        self.rule_names: dict[str, str] = {}
        self.out: dict[str, str] = {}
        self.queue: list[str] = []
        self.warnings: list[str] = []
        self.memo: dict[tuple[int, Ctx], Expr] = {}
        self.keys: dict[int, int] = {}
        self.table: dict[tuple[object, ...], int] = {}
        self.keep: list[object] = []
        self.counts: dict[int, int] = {}
        self.shared: dict[str, str] = {}
        self.untils: dict[tuple[object, ...], str] = {}
        self.current = "root"
        self.ctxs: dict[str, Ctx] = {}

    # --- driver -------------------------------------------------------------------------

    def run(self, lazy: bool) -> GbnfText:
        if lazy:
            items = trigger_items(self.g)
            if not items:
                raise GbnfError("lazy=True needs at least one Trigger node reachable from the root")
            root: Node = items[0] if len(items) == 1 else Choice(tuple(items))
            root_ctx: Ctx = (False, True)
        else:
            root, root_ctx = self.g[self.g.root], (True, True)
            self.rule_names[self.g.root] = "root"
        self.ctxs = rule_contexts(self.rules, [(root, root_ctx)])
        for ir_name in self.ctxs:  # a rule that is one long run is the shared name of that run
            body = unwrap(self.rules[ir_name])
            if isinstance(body, Repeat) and _is_long_run(body) and ir_name != self.g.root:
                self.shared.setdefault(self._run_text(body), self._ref(ir_name))
        for body in self.rules.values():
            self._count(body)
        self.out["root"] = ""  # keep root first
        self.current = "root"
        self.out["root"] = self._body(root, root_ctx)
        self._drain()
        text = "".join(f"{name} ::= {body}\n" for name, body in self.out.items())
        return GbnfText(text, tuple(dict.fromkeys(self.warnings)))

    def _drain(self) -> None:
        while self.queue:
            ir_name = self.queue.pop(0)
            name = self.rule_names[ir_name]
            self.current = name
            self.out[name] = self._body(self.rules[ir_name], self.ctxs.get(ir_name, NO_CTX))

    def _body(self, node: Node, ctx: Ctx) -> str:
        run = unwrap(node)
        if isinstance(run, Repeat) and _is_long_run(run):
            text = self._run_text(run)
            self.shared.setdefault(text, self.current)  # later copies of this run refer to the rule
            return text
        return self._expr(node, ctx)[0] or EMPTY  # a rule body is never itself hoisted

    def warn(self, msg: str) -> None:
        self.warnings.append(f"{self.current}: {msg}")

    # --- hash-consing --------------------------------------------------------------------

    def key(self, node: object) -> int:
        k = self.keys.get(id(node))
        if k is not None:
            return k
        if isinstance(node, (Seq, Choice)):
            sig: tuple[object, ...] = (
                type(node),
                tuple(self.key(c) for c in (node.items if isinstance(node, Seq) else node.alts)),
            )
        elif hasattr(node, "item"):
            rest = tuple(getattr(node, f) for f in node.__dataclass_fields__ if f != "item")  # type: ignore[attr-defined]
            sig = (type(node), self.key(node.item), rest)  # type: ignore[attr-defined]
        else:
            sig = (node,)
        k = self.table.setdefault(sig, len(self.table))
        self.keys[id(node)] = k
        self.keep.append(node)
        return k

    def _count(self, node: Node) -> None:
        stack = [node]
        while stack:
            cur = stack.pop()
            k = self.key(cur)
            self.counts[k] = self.counts.get(k, 0) + 1
            if self.counts[k] == 1 and isinstance(cur, (Seq, Choice, Repeat, *TRANSPARENT)):
                stack.extend(
                    cur.items if isinstance(cur, Seq) else cur.alts if isinstance(cur, Choice) else [cur.item]
                )

    def expr(self, node: Node, ctx: Ctx) -> Expr:
        mk = (self.key(node), ctx)
        if mk in self.memo:
            return self.memo[mk]
        out = self._expr(node, ctx)
        if out[1] != ATOM and len(out[0]) >= SHARE_MIN_CHARS and self.counts.get(mk[0], 0) > 1:
            out = (self._share(out[0], node), ATOM)
        self.memo[mk] = out
        return out

    def _share(self, text: str, node: Node) -> str:
        if text not in self.shared:
            name = self.names.fresh(f"{self.current}-{_hint(node)}")
            self.shared[text] = name
            self.out[name] = text
        return self.shared[text]

    def hoist(self, text: str, node: Node) -> str:
        """A rule name for ``text`` (shared when the same text was hoisted before)."""
        return self._share(text, node)

    # --- visitors ------------------------------------------------------------------------

    def _expr(self, node: Node, ctx: Ctx) -> Expr:  # noqa: C901 - a flat dispatch
        if isinstance(node, Literal):
            return (escape.literal(node.text), ATOM) if node.text else ("", SEQ)
        if isinstance(node, (CharClass, AnyChar)):
            return _class_text(char_set(node) or ()), ATOM
        if isinstance(node, Seq):
            return self._seq(node.items, ctx)
        if isinstance(node, Choice):
            return self._choice(node, ctx)
        if isinstance(node, Repeat):
            return self._repeat(node, ctx)
        if isinstance(node, TRANSPARENT):
            return self.expr(node.item, ctx)
        if isinstance(node, Ref):
            return self._ref(node.name), ATOM
        if isinstance(node, Until):
            return self._until(node.delimiters, None, False)
        if isinstance(node, _NonEmptyUntil):
            return self._until(node.delimiters, None, True)
        if isinstance(node, Epsilon):
            return "", SEQ
        if isinstance(node, (Start, End, Peek, Not)):
            return self._lone_predicate(node, ctx), ATOM
        raise GbnfError(f"cannot emit {type(node).__name__} (lower JSON nodes first)")

    def _ref(self, ir_name: str) -> str:
        if ir_name not in self.rule_names:
            self.rule_names[ir_name] = self.names.fresh(ir_name)
            self.queue.append(ir_name)
        return self.rule_names[ir_name]

    def _choice(self, node: Choice, ctx: Ctx) -> Expr:
        alts = [self.expr(a, ctx)[0] or EMPTY for a in node.alts]
        alts = list(dict.fromkeys(alts))
        return (alts[0], SEQ) if len(alts) == 1 else (" | ".join(alts), ALT)

    def _seq(self, items: tuple[Node, ...], ctx: Ctx) -> Expr:
        parts: list[Expr] = []
        ctxs = item_contexts(items, ctx)
        i = 0
        while i < len(items):
            text, prec, used = self._seq_item(items, i, ctxs[i])
            if text:
                parts.append((text, prec))
            i += used
        if not parts:
            return "", SEQ
        if len(parts) == 1:
            return parts[0]
        return " ".join(f"({t})" if p == ALT else t for t, p in parts), SEQ

    def _seq_item(self, items: tuple[Node, ...], i: int, ctx: Ctx) -> tuple[str, int, int]:
        node, nxt = unwrap(items[i]), (items[i + 1] if i + 1 < len(items) else None)
        if isinstance(node, (Not, Peek)) and nxt is not None:
            fused = self._predicate_before(node, nxt)
            if fused is not None:
                return fused[0], ATOM, fused[1]
        delims = node.delimiters if isinstance(node, Until) else _repeat_until(node)
        if delims is not None and nxt is not None:
            follow = _follow_literal(delims, nxt)
            nonempty = isinstance(node, Repeat) and node.min == 1
            if follow is not None:
                return (*self._until(delims, follow, nonempty), 1)
        return (*self.expr(items[i], ctx), 1)

    # --- predicates and anchors -------------------------------------------------------------

    def _predicate_before(self, pred: Not | Peek, nxt: Node) -> tuple[str, int] | None:
        neg = isinstance(pred, Not)
        xs, cs = char_set(pred.item), char_set(nxt)
        if xs is not None and cs is not None:
            return _class_text(charset.subtract(cs, xs) if neg else charset.intersect(cs, xs)), 2
        first = unwrap(nxt)
        if not isinstance(first, Literal) or not first.text:
            return None
        t = first.text
        if xs is not None:
            hit = charset.contains(xs, ord(t[0]))
            return (NEVER if hit == neg else ""), 1
        lits = literal_set(pred.item)
        if lits is None:
            return None
        if any(t.startswith(x) for x in lits):
            return (NEVER if neg else ""), 1
        if not any(x.startswith(t) for x in lits):
            return ("" if neg else NEVER), 1
        return None

    def _lone_predicate(self, node: Start | End | Peek | Not, ctx: Ctx) -> str:
        head, tail = ctx
        if isinstance(node, Start):
            if not head:
                self.warn("Start not at the beginning of the output: emitted as empty (over-approximation)")
            return ""
        if is_end(node):
            if not tail:
                self.warn("End not at the end of the output: emitted as empty (over-approximation)")
            return ""
        assert isinstance(node, (Peek, Not))
        if tail:
            ok = nullable_at_end(node, self.known)
            return "" if ok else NEVER
        self.warn(
            f"{type(node).__name__} predicate has no GBNF form here: emitted as empty (over-approximation)"
        )
        return ""

    # --- repetition -------------------------------------------------------------------------

    def _run_text(self, node: Repeat) -> str:
        return self._bounded(_class_text(char_set(node.item) or ()), node.item, node.min, node.max)

    def _repeat(self, node: Repeat, ctx: Ctx) -> Expr:
        lo, hi, item = node.min, node.max, node.item
        if _is_long_run(node):
            # llama.cpp expands x{m,n} into n rules at each place it is written: one shared rule
            text = self._run_text(node)
            if text not in self.shared:
                name = self.names.fresh(_run_hint(node))
                self.shared[text] = name
                self.out[name] = text
            return self.shared[text], ATOM
        delims = until_body(item)
        if delims is not None and hi is None and lo <= 1:
            return self._until(delims, None, lo == 1)
        if hi is None and nullable(item, self.known):
            stripped = self._strip(item)
            if stripped is None:
                return "", SEQ
            item, lo = stripped, 0
        text, prec = self.expr(item, ctx if hi == 1 else NO_CTX)
        if not text or text == NEVER:
            return ("", SEQ) if lo == 0 or not text else (NEVER, ATOM)
        if prec != ATOM:
            risky = "{" in text or (hi or lo) > 1
            text = self.hoist(text, item) if risky else f"({text})"
        return self._bounded(text, item, lo, hi), ATOM if (lo, hi) == (1, 1) else SEQ

    def _bounded(self, atom: str, item: Node, lo: int, hi: int | None) -> str:
        if lo <= MAX_REPEAT:
            if hi is not None and hi > MAX_REPEAT:
                self.warn(f"repeat bound {hi} > {MAX_REPEAT}: emitted as unbounded (llama.cpp's limit)")
                hi = None
            if (lo, hi) == (0, 0):
                return ""
            return atom + _suffix(lo, hi) if (lo, hi) != (1, 1) else atom
        block = self.hoist(f"{atom}{{{MAX_REPEAT}}}", item)
        blocks, rest = divmod(lo, MAX_REPEAT)
        tail_hi = None if hi is None else hi - lo + rest
        head = self._bounded(block, item, blocks, blocks)
        return f"{head} {self._bounded(atom, item, rest, tail_hi)}".strip()

    def _strip(self, node: Node) -> Node | None:
        """A node for ``L(node) − {ε}`` valid under a star (``(a b)* = (a | b)*`` for nullable a, b)."""
        node = unwrap(node)
        if not nullable(node, self.known):
            return node
        if isinstance(node, Until):
            return _NonEmptyUntil(node.delimiters)  # type: ignore[return-value]
        if isinstance(node, Repeat):
            return self._strip(node.item)
        if isinstance(node, (Seq, Choice)):
            parts = [self._strip(p) for p in (node.items if isinstance(node, Seq) else node.alts)]
            kept = tuple(p for p in parts if p is not None)
            return None if not kept else kept[0] if len(kept) == 1 else Choice(kept)
        if isinstance(node, Ref):
            raise GbnfError(f"unbounded repetition of rule {node.name!r}, which can match the empty string")
        return None  # Epsilon, predicates, anchors

    # --- until --------------------------------------------------------------------------------

    def _until(self, delims: tuple[str, ...], follow: str | None, nonempty: bool) -> Expr:
        auto = automaton.build(delims, follow)
        if len(auto.labels) == 1 and auto.accepting[0]:
            return _class_text(auto.edges[0][0][0]) + ("+" if nonempty else "*"), SEQ
        cache_key = (tuple(delims), follow, nonempty)
        if cache_key not in self.untils:
            self.untils[cache_key] = self._until_rules(auto, delims, nonempty)
        return self.untils[cache_key], ATOM

    def _until_rules(self, auto: automaton.UntilAutomaton, delims: tuple[str, ...], nonempty: bool) -> str:
        base = self.names.fresh("until-" + _delim_hint(delims))
        names = [base] + [self.names.fresh(f"{base}-{i}") for i in range(1, len(auto.labels))]
        for name, body in automaton.render(auto, names.__getitem__, _class_text):
            self.out[name] = body
        if not nonempty:
            return base
        entry = self.names.fresh(f"{base}-nonempty")
        self.out[entry] = automaton.render_nonempty_entry(auto, names.__getitem__, _class_text)
        return entry


def _is_long_run(node: Repeat) -> bool:
    """A bounded run of one character class that llama.cpp would expand into several rules."""
    return node.max is not None and node.max >= 2 and node.max <= MAX_REPEAT and char_set(node.item) is not None


_SPACE = charset.of_chars(" \t\n\r")


def _run_hint(node: Repeat) -> str:
    cs = char_set(node.item) or ()
    base = "space" if cs and charset.subtract(cs, _SPACE) == () else "run"
    return f"{base}-{node.max}" if node.min == 0 else f"{base}-{node.min}-{node.max}"


def _repeat_until(node: Node) -> tuple[str, ...] | None:
    if isinstance(node, Repeat) and node.max is None and node.min <= 1:
        return until_body(node.item)
    return None


def _follow_literal(delims: tuple[str, ...], nxt: Node) -> str | None:
    first = unwrap(nxt)
    while isinstance(first, Seq):
        first = unwrap(first.items[0])
    if isinstance(first, Literal) and any(first.text.startswith(d) for d in delims):
        return first.text
    return None


def _hint(node: object) -> str:
    node = unwrap(node)  # type: ignore[arg-type]
    return {Seq: "seq", Choice: "alt", Repeat: "rep"}.get(type(node), type(node).__name__.lower())


def _delim_hint(delims: tuple[str, ...]) -> str:
    name = escape.rule_name(delims[0])
    return name if name != "r" else "delim"
