"""Stage: engines — the chat grammar as a Lark grammar in llguidance's dialect.

llguidance (vLLM's and SGLang's ``llguidance`` backend, llama.cpp's ``%llguidance``) reads Lark:
``rule: a b | c``, ``"strings"`` and ``/regex/`` lexemes, ``x{m,n}`` repeats. Its lexer is greedy
and does not backtrack: ``start: "ab" | /[a-z]/ "bc"`` rejects ``abc`` (the lexer commits to
``"ab"``). pegtool's CFG relies on character-level alternatives (the ``Until`` automata leave a
marker's first character to both the text and the marker), so every lexeme written here is
exactly one character — one string character, or one ``/[class]/`` — and the Earley parser above
the lexer sees the same language as llama.cpp's character-level GBNF engine.

Lazy triggers: llguidance has no sampler-level trigger list; its own lazy facility is the
``[lazy]`` lexeme (what ``llguidance.StructTag`` builds: free text lexed lazily up to a trigger
string). pegtool's full chat grammar (``lazy=False``) already leaves content free up to the
dialect's markers, so :func:`to_lark` emits that whole-output grammar by default; ``lazy=True``
gives the grammar of the text from the trigger on, for a caller that applies it after the
trigger fired, as llama.cpp does.
"""

from __future__ import annotations

import json
import re

from pegtool.engines.cfg import MAX_CODE_POINT, EngineText, Syntax, print_cfg, scalar_ranges
from pegtool.grammar.ir import Grammar
from pegtool.grammar.origins import Origins

ENGINE = "llguidance"
HEADER = "%llguidance {}\n\n"
_NAME_BAD = re.compile(r"[^a-z0-9_]+")


def _hex(cp: int) -> str:
    return f"\\x{{{cp:X}}}"


class LarkSyntax(Syntax):
    """llguidance's Lark: lowercase rule names, ``start``, one-character lexemes."""

    header = HEADER
    root = "start"
    splits_literals = True

    def name(self, gbnf_name: str, taken: set[str]) -> str:
        base = _NAME_BAD.sub("_", gbnf_name.lower()).strip("_") or "r"
        if base[0].isdigit():
            base = "r_" + base
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        return name

    def rule(self, name: str, body: str) -> str:
        return f"{name}: {body}"

    def literal(self, chars: tuple[int, ...]) -> str:
        return " ".join(_char_lexeme(cp) for cp in chars)

    def char_class(self, ranges: tuple[tuple[int, int], ...], negated: bool) -> str:
        parts = "".join(_hex(lo) if lo == hi else f"{_hex(lo)}-{_hex(hi)}" for lo, hi in scalar_ranges(ranges))
        if not parts:  # [] matches nothing, [^] everything
            parts, negated = f"{_hex(0)}-{_hex(MAX_CODE_POINT)}", not negated
        return f"/[{'^' if negated else ''}{parts}]/"

    def empty(self) -> str:
        return '""'


def _char_lexeme(cp: int) -> str:
    if 0xD800 <= cp <= 0xDFFF:
        return "/[^\\x{0}-\\x{10FFFF}]/"  # no UTF-8 text holds a surrogate
    return json.dumps(chr(cp), ensure_ascii=False)


def gbnf_to_lark(gbnf: str) -> str:
    """The GBNF CFG printed as llguidance Lark (same language, one-character lexemes).

    >>> print(gbnf_to_lark('root ::= "ab" [^<]* tail\\ntail ::= "!"? "<e>"?\\n'), end="")
    %llguidance {}
    <BLANKLINE>
    start: "a" "b" /[^\\x{3C}]/* tail
    tail: "!"? ("<" "e" ">")?
    """
    return print_cfg(gbnf, LarkSyntax())


def to_lark(grammar: Grammar, *, lazy: bool = False, origins: Origins | None = None) -> EngineText:
    """The Lark text of an IR grammar for llguidance; ``warnings`` are the GBNF back-end's
    (schema keywords not enforced, predicates over-approximated) — the language is the same."""
    from pegtool.gbnf.emit import to_gbnf

    gbnf = to_gbnf(grammar, lazy=lazy, warn=False, origins=origins)
    return EngineText(gbnf_to_lark(gbnf), gbnf.warnings, ENGINE)


def check_lark(text: str) -> str:
    """llguidance's verdict on a Lark grammar: "" when valid, else its error (needs the
    ``llguidance`` package)."""
    import llguidance

    try:
        spec = llguidance.LLMatcher.grammar_from_lark(text)
    except Exception as exc:  # llguidance raises ValueError on syntax errors
        return str(exc)
    return llguidance.LLMatcher.validate_grammar(spec)
