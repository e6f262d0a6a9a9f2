"""Stage: grammar — ECMAScript-style regular expressions (JSON Schema ``pattern``) to IR.

A pattern is parsed into a small AST, built into a Thompson NFA, determinised and minimised
(:mod:`pegtool.grammar.automata`), then lowered to IR that reads the same as PEG and as CFG.

Supported: literals, ``.``, classes ``[...]``/``[^...]`` with ranges, escapes ``\\d \\D \\w \\W \\s
\\S \\t \\n \\r \\v \\f \\0 \\xHH \\uHHHH \\cX`` and escaped punctuation, groups ``(...)``, ``(?:...)``,
``(?<name>...)``, alternation, quantifiers ``* + ? {n} {n,} {n,m}`` (lazy ``?`` suffixes accepted:
laziness does not change the language), and the anchors ``^``/``$`` at the start/end of a
top-level alternative. Unsupported (``SchemaError``): back-references, look-around, ``\\b``/``\\B``,
anchors elsewhere, flags.

``compile_regex`` has full-match semantics (like ``re.fullmatch``); JSON Schema's ``pattern`` is a
*search*, which ``search=True`` gives: an alternative without ``^`` may be preceded by any text and
one without ``$`` followed by any text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Union

from pegtool.errors import SchemaError
from pegtool.grammar.automata import DFA, MAX_CP, NFA, Encoder, Ranges, determinize, raw_encoder, to_ir
from pegtool.grammar.builder import GrammarBuilder, merge_ranges
from pegtool.grammar.ir import Grammar, Node

MAX_REPEAT = 1000

DIGIT: Ranges = ((0x30, 0x39),)
WORD: Ranges = merge_ranges([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
SPACE: Ranges = merge_ranges(
    [
        (9, 13),
        (0x20, 0x20),
        (0xA0, 0xA0),
        (0x1680, 0x1680),
        (0x2000, 0x200A),
        (0x2028, 0x2029),
        (0x202F, 0x202F),
        (0x205F, 0x205F),
        (0x3000, 0x3000),
        (0xFEFF, 0xFEFF),
    ]
)
LINE_TERMINATORS = [(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)]
ANY: Ranges = ((0, MAX_CP),)


def negate(ranges: Ranges) -> Ranges:
    """The complement of ``ranges`` within all code points."""
    out, cur = [], 0
    for lo, hi in merge_ranges(ranges):
        if lo > cur:
            out.append((cur, lo - 1))
        cur = hi + 1
    if cur <= MAX_CP:
        out.append((cur, MAX_CP))
    return tuple(out)


DOT: Ranges = negate(tuple(LINE_TERMINATORS))


# --- AST --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CharSet:
    ranges: Ranges


@dataclass(frozen=True)
class Concat:
    parts: tuple[Rx, ...]


@dataclass(frozen=True)
class Alt:
    alts: tuple[Rx, ...]


@dataclass(frozen=True)
class Rep:
    item: Rx
    min: int
    max: int | None


@dataclass(frozen=True)
class Anchor:
    kind: str  # "^" or "$"


Rx = Union[CharSet, Concat, Alt, Rep, Anchor]


#: groups nested inside one another in a pattern (real patterns use a handful)
MAX_GROUP_DEPTH = 100


class _Parser:
    """Recursive-descent parser for the supported ECMAScript subset."""

    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.pos = 0
        self.depth = 0  # open groups: bounded, so no pattern reaches Python's recursion limit

    def error(self, message: str) -> SchemaError:
        return SchemaError(f"pattern {self.src!r} at offset {self.pos}: {message}", "")

    def peek(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def take(self) -> str:
        ch = self.peek()
        if not ch:
            raise self.error("unexpected end of pattern")
        self.pos += 1
        return ch

    def parse(self) -> Rx:
        node = self.alternation()
        if self.pos != len(self.src):
            raise self.error(f"unexpected {self.peek()!r}")
        return node

    def alternation(self) -> Rx:
        alts = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            alts.append(self.sequence())
        return alts[0] if len(alts) == 1 else Alt(tuple(alts))

    def sequence(self) -> Rx:
        parts: list[Rx] = []
        while self.peek() and self.peek() not in "|)":
            parts.append(self.quantified())
        return parts[0] if len(parts) == 1 else Concat(tuple(parts))

    def quantified(self) -> Rx:
        atom = self.atom()
        while True:
            bounds = self.quantifier()
            if bounds is None:
                return atom
            if isinstance(atom, Anchor):
                raise self.error("quantified anchor")
            if self.peek() == "?":
                self.pos += 1  # lazy: same language
            atom = Rep(atom, *bounds)

    def quantifier(self) -> tuple[int, int | None] | None:
        ch = self.peek()
        if ch in ("*", "+", "?") and ch:
            self.pos += 1
            return {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
        if ch == "{":
            return self.braces()
        return None

    def braces(self) -> tuple[int, int | None] | None:
        end = self.src.find("}", self.pos)
        body = self.src[self.pos + 1 : end] if end > 0 else ""
        lo_s, comma, hi_s = body.partition(",")
        if not lo_s.isdigit() or (hi_s and not hi_s.isdigit()):
            return None  # a literal "{" as in ECMAScript's Annex B
        self.pos = end + 1
        lo, hi = int(lo_s), (int(hi_s) if hi_s else (None if comma else int(lo_s)))
        if hi is not None and hi < lo:
            raise self.error(f"bad quantifier {{{body}}}")
        if max(lo, hi or 0) > MAX_REPEAT:
            raise self.error(f"repetition bound above {MAX_REPEAT}")
        return lo, hi

    def atom(self) -> Rx:
        ch = self.take()
        if ch == "(":
            if self.depth >= MAX_GROUP_DEPTH:
                raise SchemaError("regular expression nested too deeply "
                                  f"(more than {MAX_GROUP_DEPTH} groups inside one another)")
            self.depth += 1
            try:
                return self.group()
            finally:
                self.depth -= 1
        if ch == "[":
            return CharSet(self.char_class())
        if ch == ".":
            return CharSet(DOT)
        if ch in "^$":
            return Anchor(ch)
        if ch == "\\":
            return CharSet(self.escape(in_class=False))
        if ch in "*+?":
            raise self.error(f"nothing to repeat before {ch!r}")
        if ch == ")":
            raise self.error("unbalanced ')'")
        return CharSet(((ord(ch), ord(ch)),))

    def group(self) -> Rx:
        if self.src.startswith("?:", self.pos):
            self.pos += 2
        elif self.src.startswith("?<", self.pos) and self.src[self.pos + 2 : self.pos + 3] not in ("=", "!"):
            self.pos = self.src.index(">", self.pos) + 1
        elif self.peek() == "?":
            raise self.error("look-around and inline flags are not supported")
        node = self.alternation()
        if self.take() != ")":
            raise self.error("expected ')'")
        return node

    def char_class(self) -> Ranges:
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        items: list[tuple[int, int]] = []
        first = True
        while first or self.peek() != "]":
            first = False
            lo_set = self.class_atom()
            if self.peek() == "-" and self.src[self.pos + 1 : self.pos + 2] not in ("]", ""):
                self.pos += 1
                hi_set = self.class_atom()
                items.append(self.class_range(lo_set, hi_set))
            else:
                items.extend(lo_set)
        self.pos += 1
        ranges = merge_ranges(items) if items else ()
        return negate(ranges) if negated else ranges

    def class_range(self, lo_set: Ranges, hi_set: Ranges) -> tuple[int, int]:
        if (
            len(lo_set) != 1
            or len(hi_set) != 1
            or lo_set[0][0] != lo_set[0][1]
            or hi_set[0][0] != hi_set[0][1]
        ):
            raise self.error("class escape used as a range bound")
        lo, hi = lo_set[0][0], hi_set[0][0]
        if lo > hi:
            raise self.error("range out of order in character class")
        return lo, hi

    def class_atom(self) -> Ranges:
        ch = self.take()
        if ch == "\\":
            return self.escape(in_class=True)
        return ((ord(ch), ord(ch)),)

    def escape(self, in_class: bool) -> Ranges:
        ch = self.take()
        classes = {
            "d": DIGIT,
            "D": negate(DIGIT),
            "w": WORD,
            "W": negate(WORD),
            "s": SPACE,
            "S": negate(SPACE),
        }
        if ch in classes:
            return classes[ch]
        simple = {"t": 9, "n": 10, "v": 11, "f": 12, "r": 13}
        if ch in simple:
            return ((simple[ch], simple[ch]),)
        if ch == "b" and in_class:
            return ((8, 8),)
        if ch in "bB":
            raise self.error("word boundaries are not supported")
        if ch == "0" and not self.peek().isdigit():
            return ((0, 0),)
        if ch.isdigit():
            raise self.error("back-references are not supported")
        cp = self.code_escape(ch)
        return ((cp, cp),)

    def code_escape(self, ch: str) -> int:
        if ch in "xu":
            width = 2 if ch == "x" else 4
            digits = self.src[self.pos : self.pos + width]
            if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
                self.pos += width
                return int(digits, 16)
            return ord(ch)
        if ch == "c" and self.peek().isalpha():
            return ord(self.take()) % 32
        return ord(ch)


def parse_regex(pattern: str) -> Rx:
    """Parse ``pattern`` into the regex AST (raises :class:`SchemaError` on unsupported syntax)."""
    return _Parser(pattern).parse()


# --- anchors and NFA construction ---------------------------------------------------------------


def _strip_anchors(node: Rx, search: bool) -> Rx:
    """Handle ``^``/``$`` at the ends of each top-level alternative; reject them elsewhere."""
    alts = node.alts if isinstance(node, Alt) else (node,)
    out = []
    for alt in alts:
        parts = list(alt.parts) if isinstance(alt, Concat) else [alt]
        head = bool(parts) and parts[0] == Anchor("^")
        tail = len(parts) > int(head) and parts[-1] == Anchor("$")
        parts = parts[int(head) : len(parts) - int(tail)]
        if any(_has_anchor(p) for p in parts):
            raise SchemaError("anchors (^, $) are only supported at the ends of the pattern")
        if search and not head:
            parts.insert(0, Rep(CharSet(ANY), 0, None))
        if search and not tail:
            parts.append(Rep(CharSet(ANY), 0, None))
        out.append(Concat(tuple(parts)))
    return out[0] if len(out) == 1 else Alt(tuple(out))


def _has_anchor(node: Rx) -> bool:
    if isinstance(node, Anchor):
        return True
    if isinstance(node, Concat):
        return any(_has_anchor(p) for p in node.parts)
    if isinstance(node, Alt):
        return any(_has_anchor(p) for p in node.alts)
    if isinstance(node, Rep):
        return _has_anchor(node.item)
    return False


def _build(nfa: NFA, node: Rx, start: int, end: int) -> None:
    """Add ``node`` to ``nfa`` between states ``start`` and ``end`` (Thompson construction)."""
    if isinstance(node, CharSet):
        if node.ranges:
            nfa.edges[start].append((node.ranges, end))
    elif isinstance(node, Concat):
        cur = start
        for part in node.parts:
            nxt = nfa.new()
            _build(nfa, part, cur, nxt)
            cur = nxt
        nfa.eps[cur].append(end)
    elif isinstance(node, Alt):
        for alt in node.alts:
            _build(nfa, alt, start, end)
    elif isinstance(node, Rep):
        _build_repeat(nfa, node, start, end)
    else:
        raise SchemaError("anchors (^, $) are only supported at the ends of the pattern")


def _build_repeat(nfa: NFA, node: Rep, start: int, end: int) -> None:
    cur = start
    for _ in range(node.min):
        nxt = nfa.new()
        _build(nfa, node.item, cur, nxt)
        cur = nxt
    if node.max is None:
        loop = nfa.new()
        nfa.eps[cur].append(loop)
        body_end = nfa.new()
        _build(nfa, node.item, loop, body_end)
        nfa.eps[body_end].append(loop)
        nfa.eps[loop].append(end)
        return
    for _ in range(node.max - node.min):
        nfa.eps[cur].append(end)
        nxt = nfa.new()
        _build(nfa, node.item, cur, nxt)
        cur = nxt
    nfa.eps[cur].append(end)


MAX_EXPANSION = 50_000  # NFA states a pattern may expand to (nested bounded repetitions multiply)


def _expanded_size(node: Rx) -> int:
    """The number of NFA states the Thompson construction of ``node`` creates (about)."""
    if isinstance(node, Concat):
        return 1 + sum(_expanded_size(p) for p in node.parts)
    if isinstance(node, Alt):
        return sum(_expanded_size(a) for a in node.alts)
    if isinstance(node, Rep):
        copies = node.max if node.max is not None else node.min + 1
        return 2 + copies * (1 + _expanded_size(node.item))
    return 1


@lru_cache(maxsize=512)
def regex_dfa(pattern: str, search: bool = False) -> DFA:
    """The minimal DFA of ``pattern`` (full match, or search semantics)."""
    try:
        tree = _strip_anchors(parse_regex(pattern), search)
        size = _expanded_size(tree)
    except RecursionError:
        raise SchemaError("regular expression nested too deeply") from None
    if size > MAX_EXPANSION:
        raise SchemaError(f"regular expression expands to {size:,} automaton states, more than "
                          f"{MAX_EXPANSION:,} (nested bounded repetitions multiply)")
    nfa = NFA()
    start, end = nfa.new(), nfa.new()
    _build(nfa, tree, start, end)
    return determinize(nfa, start, end)


def compile_regex(
    pattern: str,
    builder: GrammarBuilder | None = None,
    name: str = "regex",
    *,
    search: bool = False,
    encode: Encoder = raw_encoder,
) -> Node:
    """``pattern`` as an IR node matching exactly the strings the regex fully matches.

    Without ``builder`` the result is a self-contained node, which works for every pattern whose
    automaton has no cycle other than self-loops (``a*``, ``[0-9]{2,4}``, ``x+y``…); patterns like
    ``(ab)*`` need named rules and hence a ``builder``. ``encode`` maps a code-point class to IR
    (raw text by default; :func:`pegtool.grammar.automata.json_encoder` inside JSON strings)."""
    dfa = regex_dfa(pattern, search)
    if not dfa.accepting:
        raise SchemaError(f"pattern {pattern!r} matches no string")
    return to_ir(dfa, encode, builder, name)


def regex_grammar(pattern: str, *, search: bool = False) -> Grammar:
    """A complete grammar whose root matches exactly the strings ``pattern`` fully matches."""
    b = GrammarBuilder()
    node = compile_regex(pattern, b, "regex", search=search)
    if not b.has("root"):
        b.define("root", node)
    return b.build("root")


__all__ = ["compile_regex", "negate", "parse_regex", "regex_dfa", "regex_grammar"]
