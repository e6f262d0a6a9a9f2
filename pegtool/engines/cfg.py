"""Stage: engines — print the GBNF back-end's context-free grammar in another engine's syntax.

The PEG → CFG lowering (predicates, anchors, ``Until`` automata, repeat bounds, schema lowering,
rule sharing) is done once, by :func:`pegtool.gbnf.to_gbnf`, as a visitor over the IR. What it
produces is a plain CFG: rules of alternatives of sequences of literals, character classes, ``.``,
rule references and groups, each with repeat suffixes. That CFG is parsed back into a small AST
(:func:`pegtool.gbnf.syntax.parse_gbnf`) and printed here with an engine's :class:`Syntax`, so
every engine receives the same language, derived from the same IR by the same lowering.
"""

from __future__ import annotations

from dataclasses import dataclass

from pegtool.errors import GrammarError
from pegtool.gbnf.syntax import AnyCh, Atom, Cls, Group, Item, Lit, Rule, RuleRef, TokenRef, parse_gbnf

MAX_CODE_POINT = 0x10FFFF


class EngineError(GrammarError):
    """A grammar cannot be written in an engine's language."""


class EngineText(str):
    """Grammar text for one engine; ``warnings`` lists where it over-approximates the IR."""

    warnings: tuple[str, ...] = ()
    engine: str = ""

    def __new__(cls, text: str, warnings: tuple[str, ...] = (), engine: str = "") -> EngineText:
        obj = super().__new__(cls, text)
        obj.warnings, obj.engine = warnings, engine
        return obj


class Syntax:
    """How one engine writes the pieces of a CFG (subclasses override)."""

    header = ""
    root = "root"
    #: literals are written as several lexemes: a repeated literal needs parentheses
    splits_literals = False

    def name(self, gbnf_name: str, taken: set[str]) -> str:
        return gbnf_name

    def rule(self, name: str, body: str) -> str:
        return f"{name} ::= {body}"

    def literal(self, chars: tuple[int, ...]) -> str:
        raise NotImplementedError

    def char_class(self, ranges: tuple[tuple[int, int], ...], negated: bool) -> str:
        raise NotImplementedError

    def any_char(self) -> str:
        return self.char_class(((0, MAX_CODE_POINT),), False)

    def empty(self) -> str:
        return '""'

    def repeat(self, atom: str, lo: int, hi: int | None) -> str:
        fixed = {(0, 1): "?", (0, None): "*", (1, None): "+"}
        if (lo, hi) in fixed:
            return atom + fixed[(lo, hi)]
        if hi == lo:
            return f"{atom}{{{lo}}}"
        return f"{atom}{{{lo},}}" if hi is None else f"{atom}{{{lo},{hi}}}"


@dataclass
class _Printer:
    syntax: Syntax
    names: dict[str, str]

    def alts(self, alts: list[list[Item]]) -> str:
        return " | ".join(self.seq(s) for s in alts)

    def seq(self, items: list[Item]) -> str:
        parts = [self.item(i) for i in items]
        parts = [p for p in parts if p]
        return " ".join(parts) if parts else self.syntax.empty()

    def item(self, item: Item) -> str:
        text = self.atom(item.atom)
        if item.reps and self.syntax.splits_literals and isinstance(item.atom, Lit) and len(item.atom.chars) > 1:
            text = f"({text})"
        for k, (lo, hi) in enumerate(item.reps):
            if k:
                text = f"({text})"
            text = self.syntax.repeat(text, lo, hi)
        return text

    def atom(self, atom: Atom) -> str:
        s = self.syntax
        if isinstance(atom, Lit):
            return s.literal(atom.chars) if atom.chars else s.empty()
        if isinstance(atom, Cls):
            return s.char_class(atom.ranges, atom.negated)
        if isinstance(atom, AnyCh):
            return s.any_char()
        if isinstance(atom, RuleRef):
            return self.names[atom.name]
        if isinstance(atom, Group):
            return f"({self.alts(atom.alts)})"
        if isinstance(atom, TokenRef):
            raise EngineError(f"token reference {atom.text} has no portable form")
        raise EngineError(f"unknown GBNF atom {atom!r}")  # pragma: no cover - exhaustive


def print_cfg(gbnf: str, syntax: Syntax) -> str:
    """``gbnf`` (as written by :func:`pegtool.gbnf.to_gbnf`) in ``syntax``; the GBNF start rule
    ``root`` becomes ``syntax.root``."""
    return print_rules(read_gbnf(gbnf), syntax)


def read_gbnf(gbnf: str) -> list[Rule]:
    """The rules of a GBNF text (the start rule is ``root``)."""
    parsed = parse_gbnf(gbnf)
    if parsed.errors:
        raise EngineError("cannot read the GBNF: " + "; ".join(parsed.errors[:3]))
    return parsed.rules


def print_rules(rules: list[Rule], syntax: Syntax) -> str:
    """GBNF rules (as read by :func:`read_gbnf`) printed in ``syntax``."""
    taken: set[str] = {syntax.root}
    names: dict[str, str] = {}
    for rule in rules:
        if rule.name == "root":
            names[rule.name] = syntax.root
        elif rule.name not in names:
            names[rule.name] = syntax.name(rule.name, taken)
            taken.add(names[rule.name])
    printer = _Printer(syntax, names)
    lines = [syntax.rule(names[r.name], printer.alts(r.alts)) for r in rules]
    return syntax.header + "".join(line + "\n" for line in lines)


def scalar_ranges(ranges: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """``ranges`` without the surrogate block (engines over UTF-8 have no such code points).

    >>> scalar_ranges(((0, 0x10FFFF),))
    [(0, 55295), (57344, 1114111)]
    """
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        for a, b in ((lo, min(hi, 0xD7FF)), (max(lo, 0xE000), hi)):
            if a <= b:
                out.append((a, b))
    return out
