"""Stage: gbnf back-end — a lark parser for GBNF text, producing a small AST.

Mirrors llama.cpp's hand-written parser (``src/llama-grammar.cpp``): a rule ends at a newline,
except inside parentheses and right after ``::=`` or ``|`` (a post-lexer drops those newlines,
like lark's indenter does for Python). Rule names are lexed liberally (``_`` and ``.`` too) so
the validator can say *why* a name is bad; escapes are decoded here and bad ones reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Union

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

GBNF_LARK = r"""
start: (rule _NL)* rule?
rule: NAME DEF alts
alts: seq (BAR seq)*
seq: item*
item: atom postfix*
atom: STRING | CLASS | NAME | DOT | TOKEN | LPAR alts RPAR
postfix: STAR | PLUS | QMARK | BRACE

NAME: /[A-Za-z0-9_.\-]+/
DEF: "::="
BAR: "|"
DOT: "."
LPAR: "("
RPAR: ")"
STAR: "*"
PLUS: "+"
QMARK: "?"
STRING: /"(\\[\s\S]|[^"\\])*"/
CLASS: /\[(\\[\s\S]|[^\]\\])*\]/
TOKEN: /!?<[^>\r\n]*>/
BRACE: /\{[ \t]*[0-9]+[ \t]*(,[ \t]*[0-9]*[ \t]*)?\}/
_NL: /(\r?\n|\r)+/
%ignore /[ \t]+/
%ignore /#[^\r\n]*/
"""


class _Newlines:
    """Post-lexer: newlines only end rules at nesting depth 0 and not after ``::=`` or ``|``."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth, prev = 0, None
        for tok in stream:
            if tok.type == "_NL":
                if depth > 0 or prev in (None, "DEF", "BAR", "_NL"):
                    continue
            elif tok.type == "LPAR":
                depth += 1
            elif tok.type == "RPAR":
                depth = max(0, depth - 1)
            prev = tok.type
            yield tok


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GBNF_LARK, parser="lalr", postlex=_Newlines(), propagate_positions=True)


@dataclass
class Lit:
    chars: tuple[int, ...]


@dataclass
class Cls:
    ranges: tuple[tuple[int, int], ...]
    negated: bool


@dataclass
class AnyCh:
    pass


@dataclass
class RuleRef:
    name: str
    line: int


@dataclass
class TokenRef:
    text: str


@dataclass
class Group:
    alts: list[list[Item]]


Atom = Union[Lit, Cls, AnyCh, RuleRef, TokenRef, Group]


@dataclass
class Item:
    atom: Atom
    reps: list[tuple[int, int | None]] = field(default_factory=list)


@dataclass
class Rule:
    name: str
    alts: list[list[Item]]
    line: int


@dataclass
class Parsed:
    rules: list[Rule]
    errors: list[str]


_SIMPLE_ESC = {"t": 9, "r": 13, "n": 10, "\\": 92, '"': 34, "[": 91, "]": 93, "-": 45}
_HEX_LEN = {"x": 2, "u": 4, "U": 8}


def decode_chars(body: str, line: int, errors: list[str]) -> list[int]:
    """Code points of a literal/class body, decoding GBNF escapes (bad ones are reported)."""
    out: list[int] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ord(ch))
            i += 1
            continue
        esc = body[i + 1] if i + 1 < len(body) else ""
        if esc in _SIMPLE_ESC:
            out.append(_SIMPLE_ESC[esc])
            i += 2
        elif esc in _HEX_LEN:
            digits = body[i + 2 : i + 2 + _HEX_LEN[esc]]
            if len(digits) != _HEX_LEN[esc] or any(c not in "0123456789abcdefABCDEF" for c in digits):
                errors.append(f"line {line}: \\{esc} needs {_HEX_LEN[esc]} hex digits")
            out.append(
                int(digits, 16) if digits and all(c in "0123456789abcdefABCDEF" for c in digits) else 0
            )
            i += 2 + _HEX_LEN[esc]
        else:
            errors.append(
                f'line {line}: unknown escape \\{esc} (valid: \\x \\u \\U \\t \\r \\n \\\\ \\" \\[ \\] \\-)'
            )
            i += 2
    return out


def _class(text: str, line: int, errors: list[str]) -> Cls:
    body = text[1:-1]
    negated = body.startswith("^")
    cps = decode_chars(body[1:] if negated else body, line, errors)
    # re-scan to find ranges: a '-' that is literal (not escaped) between two chars
    raw = body[1:] if negated else body
    ranges, k, items = [], 0, _class_items(raw)
    while k < len(items):
        if k + 2 < len(items) and items[k + 1] == "-":
            lo, hi = _cp(items[k], line, errors), _cp(items[k + 2], line, errors)
            if lo > hi:
                errors.append(f"line {line}: empty range in class {text}")
            ranges.append((lo, hi))
            k += 3
        else:
            cp = _cp(items[k], line, errors)
            ranges.append((cp, cp))
            k += 1
    if not cps:
        errors.append(f"line {line}: empty character class {text}")
    return Cls(tuple(ranges), negated)


def _class_items(raw: str) -> list[str]:
    """Split a class body into single (possibly escaped) characters; a bare ``-`` is its own item."""
    items, i = [], 0
    while i < len(raw):
        if raw[i] == "\\":
            n = 2 + _HEX_LEN.get(raw[i + 1] if i + 1 < len(raw) else "", 0)
            items.append(raw[i : i + n])
            i += n
        else:
            items.append(raw[i])
            i += 1
    # a '-' is a range operator only between two characters and not last (llama.cpp rule)
    return [it if it != "-" or 0 < j < len(items) - 1 else "\\-" for j, it in enumerate(items)]


def _cp(item: str, line: int, errors: list[str]) -> int:
    cps = decode_chars(item, line, [])
    return cps[0] if cps else 0


def _reps(tok: Token) -> tuple[int, int | None]:
    if tok.type != "BRACE":
        return {"STAR": (0, None), "PLUS": (1, None), "QMARK": (0, 1)}[tok.type]
    inner = tok.value[1:-1].replace(" ", "").replace("\t", "")
    if "," not in inner:
        return int(inner), int(inner)
    lo, hi = inner.split(",")
    return int(lo), (int(hi) if hi else None)


class _Builder:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def alts(self, tree: Tree) -> list[list[Item]]:
        return [self.seq(t) for t in tree.children if isinstance(t, Tree)]

    def seq(self, tree: Tree) -> list[Item]:
        return [self.item(t) for t in tree.children]

    def item(self, tree: Tree) -> Item:
        atom_tree, *posts = tree.children
        return Item(self.atom(atom_tree), [_reps(p.children[0]) for p in posts])  # type: ignore[arg-type]

    def atom(self, tree: Tree) -> Atom:
        first: Any = tree.children[0]
        line = first.line or 0
        if first.type == "LPAR":
            return Group(self.alts(tree.children[1]))
        if first.type == "STRING":
            return Lit(tuple(decode_chars(first.value[1:-1], line, self.errors)))
        if first.type == "CLASS":
            return _class(first.value, line, self.errors)
        if first.type == "NAME":
            return RuleRef(first.value, line)
        if first.type == "DOT":
            return AnyCh()
        return TokenRef(first.value)


def parse_gbnf(text: str) -> Parsed:
    """Parse GBNF text; syntax errors come back in ``errors`` (no exception)."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        ctx = exc.get_context(text, 30).rstrip()
        return Parsed([], [f"syntax error at line {exc.line}, column {exc.column}:\n{ctx}"])
    except LarkError as exc:  # pragma: no cover - defensive
        return Parsed([], [f"syntax error: {exc}"])
    b = _Builder()
    rules = []
    for rt in tree.children:
        name_tok, _def, alts_tree = rt.children  # type: ignore[union-attr]
        rules.append(Rule(name_tok.value, b.alts(alts_tree), name_tok.line or 0))  # type: ignore[union-attr,arg-type]
    return Parsed(rules, b.errors)
