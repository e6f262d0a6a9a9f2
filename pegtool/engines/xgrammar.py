"""Stage: engines — the chat grammar for xgrammar: its EBNF, and a structural tag for
``tool_choice="auto"``.

xgrammar's EBNF is GBNF's syntax (``root ::= ...``, ``"..."``, ``[...]``, ``* + ? {m,n}``, the
same ``\\x \\u \\U`` escapes) without ``.``: any character is written ``[\\x00-\\U0010FFFF]``.
xgrammar matches character by character with a pushdown automaton, like llama.cpp, so the same
CFG gives the same language.

Lazy triggers: xgrammar has no trigger list beside a grammar; its structural tags do that job.
:func:`structural_tag` writes a ``triggered_tags`` format: free text (without any trigger) until a
trigger word, then a tag whose ``begin`` is the word and whose content is the lazy grammar with
that word taken off its front (a left quotient computed on the CFG), ``stop_after_first`` — like
llama.cpp's lazy grammar, the constrained part runs to the end of the output. A trigger that is a
regex (the call must open the output, ``PATTERN_FULL``) has no structural-tag form: then
:func:`structural_tag` returns None and the caller uses the whole-output EBNF, which leaves
content free up to the dialect's markers.
"""

from __future__ import annotations

import json
from typing import Any

from pegtool.engines.cfg import (
    MAX_CODE_POINT,
    EngineError,
    EngineText,
    Syntax,
    print_cfg,
    print_rules,
    read_gbnf,
)
from pegtool.gbnf import escape
from pegtool.gbnf.syntax import AnyCh, Cls, Group, Item, Lit, Rule, RuleRef
from pegtool.grammar.ir import Grammar
from pegtool.grammar.origins import Origins

ENGINE = "xgrammar"
_MAX_EXPANSIONS = 2000


class EbnfSyntax(Syntax):
    """xgrammar's EBNF: GBNF with ``.`` spelled as a class."""

    def literal(self, chars: tuple[int, ...]) -> str:
        return escape.literal("".join(map(chr, chars)))

    def char_class(self, ranges: tuple[tuple[int, int], ...], negated: bool) -> str:
        if not ranges:
            ranges, negated = ((0, MAX_CODE_POINT),), not negated
        return escape.char_class(ranges, negated)


def gbnf_to_ebnf(gbnf: str) -> str:
    """The GBNF CFG printed as xgrammar EBNF.

    >>> print(gbnf_to_ebnf('root ::= "a" . [^<]*\\n'), end="")
    root ::= "a" [\\x00-\\U0010FFFF] [^<]*
    """
    return print_cfg(gbnf, EbnfSyntax())


def to_ebnf(grammar: Grammar, *, lazy: bool = False, origins: Origins | None = None) -> EngineText:
    """The xgrammar EBNF of an IR grammar; ``warnings`` are the GBNF back-end's."""
    from pegtool.gbnf.emit import to_gbnf

    gbnf = to_gbnf(grammar, lazy=lazy, warn=False, origins=origins)
    return EngineText(gbnf_to_ebnf(gbnf), gbnf.warnings, ENGINE)


def structural_tag(lazy_gbnf: str, words: list[str]) -> dict[str, Any] | None:
    """An xgrammar structural tag (``{"type": "structural_tag", "format": {...}}``) for a lazy
    grammar whose triggers are the literal ``words``; None when there are none or the grammar
    cannot start with one of them."""
    if not words:
        return None
    rules = read_gbnf(lazy_gbnf)
    tags = []
    for word in words:
        after = after_prefix(rules, word)
        if after is None:
            return None
        tags.append({"type": "tag", "begin": word,
                     "content": {"type": "grammar", "grammar": print_rules(after, EbnfSyntax())},
                     "end": ""})  # fmt: skip
    fmt = {"type": "triggered_tags", "triggers": words, "tags": tags, "at_least_one": False,
           "stop_after_first": True}  # fmt: skip
    return {"type": "structural_tag", "format": fmt}


def after_prefix(rules: list[Rule], word: str) -> list[Rule] | None:
    """The rules of ``{t : word + t ∈ L(root)}`` (a new ``root``, the other rules kept), or None
    when no string of the language starts with ``word`` or the quotient needs too many steps."""
    index = {r.name: r for r in rules}
    quotient = _Quotient(index)
    try:
        alts = quotient.seq([Item(RuleRef("root", 0))], tuple(map(ord, word)))
    except EngineError:
        return None
    if not alts:
        return None
    taken = {r.name for r in rules}
    root = _fresh("after-trigger", taken)
    kept = [Rule(r.name if r.name != "root" else _fresh("lazy-root", taken | {root}), r.alts, r.line)
            for r in rules]  # fmt: skip
    renamed = {"root": kept[[r.name for r in rules].index("root")].name}
    out = [Rule("root", alts, 0), *kept]
    return [Rule(r.name, [[_rename(i, renamed) for i in s] for s in r.alts], r.line) for r in out]


def _fresh(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def _rename(item: Item, names: dict[str, str]) -> Item:
    atom = item.atom
    if isinstance(atom, RuleRef) and atom.name in names:
        return Item(RuleRef(names[atom.name], atom.line), item.reps)
    if isinstance(atom, Group):
        return Item(Group([[_rename(i, names) for i in s] for s in atom.alts]), item.reps)
    return item


class _Quotient:
    """Left quotient of a sequence of items by a code-point string, as alternatives of sequences."""

    def __init__(self, rules: dict[str, Rule]) -> None:
        self.rules = rules
        self.steps = 0

    def seq(self, items: list[Item], word: tuple[int, ...]) -> list[list[Item]]:
        self.steps += 1
        if self.steps > _MAX_EXPANSIONS:
            raise EngineError("the trigger quotient needs too many steps")
        if not word:
            return [items]
        if not items:
            return []
        head, rest = items[0], items[1:]
        if head.reps:
            return self._repeated(head, rest, word)
        return self._atom(head, rest, word)

    def _repeated(self, head: Item, rest: list[Item], word: tuple[int, ...]) -> list[list[Item]]:
        (lo, hi), more = head.reps[-1], head.reps[:-1]
        inner = Item(head.atom, more)
        if hi == 0:
            return self.seq(rest, word)
        later = Item(Group([[inner]]), [(max(lo - 1, 0), None if hi is None else hi - 1)])
        once = self.seq([inner, later, *rest], word)
        return once if lo > 0 else once + self.seq(rest, word)

    def _atom(self, head: Item, rest: list[Item], word: tuple[int, ...]) -> list[list[Item]]:
        atom = head.atom
        if isinstance(atom, Lit):
            n = min(len(atom.chars), len(word))
            if atom.chars[:n] != word[:n]:
                return []
            if n < len(atom.chars):
                return [[Item(Lit(atom.chars[n:])), *rest]]
            return self.seq(rest, word[n:])
        if isinstance(atom, (Cls, AnyCh)):
            return self.seq(rest, word[1:]) if _in_class(atom, word[0]) else []
        alts = self.rules[atom.name].alts if isinstance(atom, RuleRef) else atom.alts  # type: ignore[union-attr]
        out: list[list[Item]] = []
        for alt in alts:
            out.extend(self.seq([*alt, *rest], word))
        return out


def _in_class(atom: Cls | AnyCh, cp: int) -> bool:
    if isinstance(atom, AnyCh):
        return True
    inside = any(lo <= cp <= hi for lo, hi in atom.ranges)
    return inside != atom.negated


def structural_tag_json(tag: dict[str, Any]) -> str:
    """The tag as the JSON string vLLM's ``structural_tag`` field and SGLang's take."""
    return json.dumps(tag, ensure_ascii=False)
