"""Stage: gbnf back-end — lazy-grammar triggers derived from the IR's ``Trigger`` nodes.

For each ``Trigger(e)`` reachable from the root we translate the leading part of ``e`` into an
ECMAScript regex (only constructs that translate exactly over UTF-8 bytes: literals, ASCII
classes, repeats and choices of those; translation stops at the first other node or once enough
literal text was seen). Then:

* the trigger can only start the output (everything before it on every path is translatable
  and nullable, e.g. white space): ``PATTERN_FULL`` ``^lead(prefix)[\\s\\S]*$`` — fires only when
  the output begins with the call, never on prose containing ``{``;
* otherwise, a pure-literal prefix (a marker such as ``<tool_call>``): ``WORD`` (cut after a
  leading ``<…>`` / ``[…]`` marker, since the IR merges adjacent literals);
* otherwise: ``PATTERN`` ``(prefix)`` — the grammar starts at the capture group.

Patterns never start with ``[\\s\\S]*`` and use no lookbehind, named groups or inline flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pegtool.gbnf import escape
from pegtool.gbnf.emit import GbnfError, lower_json
from pegtool.grammar.facts import TRANSPARENT, nullable, nullable_rules
from pegtool.grammar.ir import (
    AnyChar,
    CharClass,
    Choice,
    Grammar,
    Literal,
    Node,
    Not,
    Peek,
    Ref,
    Repeat,
    Seq,
    Trigger,
    children,
)

TOKEN, WORD, PATTERN, PATTERN_FULL = 0, 1, 2, 3
ENOUGH_LITERAL = 4  # stop translating a prefix once this many literal characters were seen
_MAX_DEPTH = 8


@dataclass(frozen=True)
class GrammarTrigger:
    """A llama-server trigger: ``type`` 0 token (``token`` id), 1 word, 2 pattern, 3 pattern_full."""

    type: int
    value: str
    token: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "value": self.value}
        if self.type == TOKEN:
            out["token"] = self.token
        return out


def trigger_regex(t: GrammarTrigger) -> str:
    """One regex for llama-cpp-python's lazy pattern sampler (``^...$`` = whole-output match)."""
    if t.type == WORD:
        return "(" + escape.regex_literal(t.value) + ")"
    if t.type == PATTERN:
        return t.value
    if t.type == PATTERN_FULL:
        value = t.value if t.value.startswith("^") else "^" + t.value
        return value if value.endswith("$") else value + "$"
    raise GbnfError("a token trigger has no regex form; pass its token id to the sampler instead")


def triggers_for(grammar: Grammar) -> list[GrammarTrigger]:
    """The triggers of ``grammar`` (deduplicated, in order of appearance)."""
    try:
        grammar = lower_json(grammar)[0]
    except GbnfError:
        pass
    walker = _Sites(grammar)
    walker.visit(grammar[grammar.root], True, "", 0)
    out: list[GrammarTrigger] = []
    for item, head, lead in walker.merged():
        trig = _trigger(item, head, lead, walker)
        if trig not in out:
            out.append(trig)
    return out


def _trigger(item: Node, head: bool, lead: str, sites: _Sites) -> GrammarTrigger:
    """The trigger of one site: the shortest translated prefix that no literal outside the
    triggered grammars contains (``<|open|>`` also opens a content block: keep ``<|open|>tools``)."""
    others = sites.outside_literals()
    rx, lit = "", None
    for enough in (ENOUGH_LITERAL, 16, 32, 64):
        rx, lit, complete = _Translator(sites.g, enough).prefix(item, 0)
        if not rx:
            raise GbnfError(f"cannot derive a trigger: the triggered grammar starts with {type(item).__name__}")
        if lit and not _ambiguous(escape.regex_literal(_marker(lit)), others):
            lit = _marker(lit)
            break
        if not _ambiguous(rx, others) or complete:
            break
    if head:
        return GrammarTrigger(PATTERN_FULL, f"^{lead}({rx})[\\s\\S]*$")
    if lit is not None and lit:
        return GrammarTrigger(WORD, lit)
    return GrammarTrigger(PATTERN, f"({rx})")


def _ambiguous(rx: str, others: list[str]) -> bool:
    """Whether the prefix regex ``rx`` occurs inside a literal the grammar uses elsewhere."""
    try:
        pattern = re.compile(rx)
    except re.error:
        return False
    return any(pattern.search(text) for text in others)


def _marker(lit: str) -> str:
    """The leading marker of a literal prefix: literals merge in the IR, so ``[TOOL_CALLS]{`` is cut
    after the bracketed marker (a word trigger should be the marker, often one special token).

    >>> _marker("[TOOL_CALLS]{"), _marker("<tool_call>\\n"), _marker("functools[")
    ('[TOOL_CALLS]', '<tool_call>', 'functools[')
    """
    closer = {"<": ">", "[": "]"}.get(lit[0])
    if closer and closer in lit[1:]:
        return lit[: lit.index(closer, 1) + 1]
    return lit


class _Sites:
    """Walks the root collecting ``(trigger item, only-at-head, lead regex)`` sites."""

    def __init__(self, g: Grammar, enough: int = ENOUGH_LITERAL) -> None:
        self.g = g
        self.enough = enough
        self.known = nullable_rules(g.rule_map)
        self.sites: list[tuple[Node, bool, str]] = []
        self.seen: set[tuple[str, bool, str]] = set()
        self._outside: list[str] | None = None

    def visit(self, node: Node, head: bool, lead: str, depth: int) -> None:
        if isinstance(node, Trigger):
            self.sites.append((node.item, head, lead))
        elif isinstance(node, Seq):
            for item in node.items:
                self.visit(item, head, lead, depth)
                if head:
                    rx = _Translator(self.g).whole(item)
                    head = rx is not None and nullable(item, self.known)
                    lead += rx or ""
        elif isinstance(node, Choice):
            for alt in node.alts:
                self.visit(alt, head, lead, depth)
        elif isinstance(node, Repeat):
            self.visit(node.item, head, lead, depth)
            if node.max != 1:
                self.visit(node.item, False, "", depth)
        elif isinstance(node, (*TRANSPARENT,)):
            self.visit(node.item, head, lead, depth)
        elif isinstance(node, Ref) and (node.name, head, lead) not in self.seen:
            self.seen.add((node.name, head, lead))
            self.visit(self.g[node.name], head, lead, depth + 1)

    def outside_literals(self) -> list[str]:
        """The literal texts reachable from the root outside triggers and lookaheads."""
        if self._outside is None:
            out: list[str] = []
            self._collect(self.g[self.g.root], out, set())
            self._outside = out
        return self._outside

    def _collect(self, node: Node, out: list[str], seen: set[str]) -> None:
        if isinstance(node, (Trigger, Peek, Not)):
            return
        if isinstance(node, Literal):
            out.append(node.text)
        elif isinstance(node, Ref):
            if node.name not in seen:
                seen.add(node.name)
                self._collect(self.g[node.name], out, seen)
        else:
            for child in children(node):
                self._collect(child, out, seen)

    def merged(self) -> list[tuple[Node, bool, str]]:
        """A trigger also reachable away from the head is a non-head trigger."""
        anywhere = {id(item) for item, head, _ in self.sites if not head}
        out: list[tuple[Node, bool, str]] = []
        for item, head, lead in self.sites:
            site = (item, head and id(item) not in anywhere, lead if head else "")
            if site not in out:
                out.append(site)
        return out


class _Translator:
    """Exact IR -> ECMAScript regex translation of (prefixes of) node languages."""

    def __init__(self, g: Grammar, enough: int = ENOUGH_LITERAL) -> None:
        self.g = g
        self.enough = enough

    def whole(self, node: Node, depth: int = 0) -> str | None:
        """A regex for the whole language of ``node``, or ``None``."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, Literal):
            return escape.regex_literal(node.text)
        if isinstance(node, CharClass):
            return None if node.negated else escape.regex_class(node.ranges)
        if isinstance(node, TRANSPARENT):
            return self.whole(node.item, depth)
        if isinstance(node, Ref):
            return self.whole(self.g[node.name], depth + 1)
        if isinstance(node, Seq):
            parts = [self.whole(i, depth) for i in node.items]
            return None if any(p is None for p in parts) else "".join(parts)  # type: ignore[arg-type]
        if isinstance(node, Choice):
            parts = [self.whole(a, depth) for a in node.alts]
            return None if any(p is None for p in parts) else "(?:" + "|".join(parts) + ")"  # type: ignore[arg-type]
        if isinstance(node, Repeat):
            return self._repeat(node, depth)
        return None

    def _repeat(self, node: Repeat, depth: int) -> str | None:
        item = node.item
        inner = item
        while isinstance(inner, TRANSPARENT):
            inner = inner.item
        if isinstance(inner, CharClass) and inner.negated and node.max is None:
            body = escape.regex_class(inner.ranges, True)  # bytes of a multi-byte char all match
        elif isinstance(inner, AnyChar) and node.max is None:
            body = "[\\s\\S]"
        else:
            body = self.whole(item, depth)
        if body is None:
            return None
        if not (body.startswith("[") or body.startswith("(?:")) or len(body) == 1:
            body = f"(?:{body})"
        hi = "" if node.max is None else str(node.max)
        quant = {(0, ""): "*", (1, ""): "+", (0, "1"): "?"}.get((node.min, hi), f"{{{node.min},{hi}}}")
        return body + quant

    def prefix(self, node: Node, depth: int) -> tuple[str, str | None, bool]:
        """``(regex, pure literal text or None, complete)`` for a prefix of ``node``'s strings;
        ``complete`` says the whole node was translated."""
        node_rx = self.whole(node, depth) if not isinstance(node, (Seq, Ref, *TRANSPARENT)) else None
        if node_rx is not None:
            lit = node.text if isinstance(node, Literal) else None
            return node_rx, lit, True
        if isinstance(node, TRANSPARENT):
            return self.prefix(node.item, depth)
        if isinstance(node, Ref) and depth < _MAX_DEPTH:
            return self.prefix(self.g[node.name], depth + 1)
        if isinstance(node, Seq):
            return self._seq_prefix(node, depth)
        if isinstance(node, Choice):
            return self._choice_prefix(node, depth)
        return "", None, False

    def _choice_prefix(self, node: Choice, depth: int) -> tuple[str, str | None, bool]:
        """``(?:p1|p2|…)`` over the alternatives' prefixes (their first sets: a call that starts
        with one of several tool names or JSON objects)."""
        parts = [self.prefix(alt, depth) for alt in node.alts]
        if any(not rx for rx, _, _ in parts):
            return "", None, False
        rxs = list(dict.fromkeys(rx for rx, _, _ in parts))
        lits = {lit for _, lit, _ in parts}
        lit = lits.pop() if len(lits) == 1 else None
        complete = all(c for _, _, c in parts)
        return (rxs[0] if len(rxs) == 1 else "(?:" + "|".join(rxs) + ")"), lit, complete

    def _seq_prefix(self, node: Seq, depth: int) -> tuple[str, str | None, bool]:
        rx, n_lit = "", 0
        lit: str | None = ""
        for item in node.items:
            part, part_lit, complete = self.prefix(item, depth)
            rx += part
            lit = lit + part_lit if lit is not None and part_lit is not None else None
            n_lit += len(part_lit or "")
            if not complete or (n_lit >= self.enough and part_lit):
                return rx, lit, False
        return rx, lit, True
