"""Stage: engines — the chat grammar for other constrained-decoding engines than llama.cpp.

One IR, one PEG → CFG lowering (:func:`pegtool.gbnf.to_gbnf`), printed per engine:

* ``"llama.cpp"`` — GBNF (:mod:`pegtool.gbnf`), lazy with triggers for ``tool_choice="auto"``;
* ``"llguidance"`` — Lark in llguidance's dialect (:mod:`pegtool.engines.llguidance`);
* ``"xgrammar"`` — xgrammar EBNF, plus a structural tag for ``tool_choice="auto"``
  (:mod:`pegtool.engines.xgrammar`).

Public API: :data:`ENGINES`, :func:`engine_grammar`, :class:`EngineText`, :class:`EngineError`,
:func:`gbnf_to_lark`, :func:`gbnf_to_ebnf`, :func:`structural_tag`.
"""

from __future__ import annotations

from pegtool.engines.cfg import EngineError, EngineText
from pegtool.engines.llguidance import gbnf_to_lark
from pegtool.engines.xgrammar import gbnf_to_ebnf, structural_tag

ENGINES = ("llama.cpp", "llguidance", "xgrammar")


def engine_grammar(gbnf: str, engine: str) -> EngineText:
    """The GBNF text ``gbnf`` (from :func:`pegtool.gbnf.to_gbnf`) in ``engine``'s grammar language;
    its ``warnings`` (over-approximations, unenforced schema keywords) carry over."""
    warnings = tuple(getattr(gbnf, "warnings", ()))
    if engine == "llama.cpp":
        return EngineText(str(gbnf), warnings, engine)
    if engine == "llguidance":
        return EngineText(gbnf_to_lark(gbnf), warnings, engine)
    if engine == "xgrammar":
        return EngineText(gbnf_to_ebnf(gbnf), warnings, engine)
    raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


__all__ = [
    "ENGINES",
    "EngineError",
    "EngineText",
    "engine_grammar",
    "gbnf_to_ebnf",
    "gbnf_to_lark",
    "structural_tag",
]
