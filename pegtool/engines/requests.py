"""Stage: engines — request fields for vLLM's and SGLang's OpenAI completions endpoints.

pegtool renders the prompt itself (as for llama-server's ``/completion``), so the bodies target
``POST /v1/completions`` with that prompt, the grammar in the fields each server reads, and
``skip_special_tokens: false`` so markers that are special tokens reach pegtool's parser:

* vLLM (v0.12+): ``structured_outputs: {"grammar": ...}`` (EBNF for its xgrammar backend, Lark for
  its guidance backend) or ``structured_outputs: {"structural_tag": "<json>"}``; older builds read
  ``guided_grammar`` (``legacy=True``).
* SGLang: ``ebnf`` (its xgrammar and llguidance backends both read this field).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pegtool.engines import ENGINES, EngineError, EngineText, engine_grammar, structural_tag

if TYPE_CHECKING:
    from pegtool.format import Prepared


def grammar_for(prep: Prepared, engine: str, lazy: bool | None = None) -> EngineText | None:
    """The request's grammar in ``engine``'s language, or None when the output is unconstrained.

    ``lazy=None``: llama.cpp gets its lazy form when the request has triggers (as
    :attr:`Prepared.grammar`); the other engines get the whole-output grammar, which leaves content
    free up to the dialect's markers. ``lazy=True``: the grammar of the text from a trigger on."""
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if prep.grammar is None:
        return None
    if lazy is None:
        lazy = prep.grammar_lazy and engine == "llama.cpp"
    if lazy and not prep.grammar_lazy:
        raise EngineError("this request has no lazy form (no triggers, or tool_choice is not 'auto')")
    return engine_grammar(_gbnf(prep, lazy), engine)


def _gbnf(prep: Prepared, lazy: bool) -> str:
    if prep.constrain_content or lazy == prep.grammar_lazy:
        return prep.grammar or ""
    if prep._built is not None:  # noqa: SLF001 - the shared build caches both forms
        return prep._built.gbnf(lazy)  # noqa: SLF001
    from pegtool.gbnf.emit import to_gbnf

    return to_gbnf(prep.grammar_ir, lazy=lazy, warn=False, origins=prep.schema_origins)


def xgrammar_structural_tag(prep: Prepared) -> dict[str, Any] | None:
    """xgrammar's structural tag for a ``tool_choice="auto"`` request whose triggers are words
    (free text until a trigger word, then the grammar); None otherwise."""
    if not prep.grammar_lazy:
        return None
    words = [t["value"] for t in prep.grammar_triggers if t["type"] == 1]
    if len(words) != len(prep.grammar_triggers):
        return None  # a regex trigger has no structural-tag form
    return structural_tag(_gbnf(prep, True), words)


def engine_fields(prep: Prepared, engine: str) -> dict[str, Any]:
    """``{engine, grammar, structural_tag (xgrammar), warnings}`` for ``pegtool grammar --json``."""
    text = grammar_for(prep, engine)
    body: dict[str, Any] = {"engine": engine, "grammar": None if text is None else str(text)}
    if engine == "xgrammar":
        body["structural_tag"] = xgrammar_structural_tag(prep)
    body["warnings"] = list(text.warnings) if text is not None else []
    return body


def _prompt(prep: Prepared) -> str:
    bos = prep.bos_token
    return prep.prompt[len(bos):] if bos and prep.prompt.startswith(bos) else prep.prompt


def vllm_body(prep: Prepared, engine: str = "xgrammar", *, legacy: bool = False) -> dict[str, Any]:
    """The fields of a vLLM ``/v1/completions`` body (add ``model`` and sampling options)."""
    body: dict[str, Any] = {"prompt": _prompt(prep), "skip_special_tokens": False}
    if engine not in ("xgrammar", "llguidance"):
        raise EngineError(f"vLLM's structured outputs use xgrammar or llguidance, not {engine!r}")
    tag = xgrammar_structural_tag(prep) if engine == "xgrammar" else None
    grammar = grammar_for(prep, engine)
    if tag is not None:
        fields: dict[str, Any] = {"structural_tag": json.dumps(tag, ensure_ascii=False)}
    elif grammar is not None:
        fields = {"grammar": str(grammar)}
    else:
        return body
    if legacy:
        body.update({f"guided_{k}" if k == "grammar" else k: v for k, v in fields.items()})
    else:
        body["structured_outputs"] = fields
    return body


def sglang_body(prep: Prepared, engine: str = "xgrammar") -> dict[str, Any]:
    """The fields of an SGLang ``/v1/completions`` body (add ``model`` and sampling options)."""
    if engine not in ("xgrammar", "llguidance"):
        raise EngineError(f"SGLang's grammar backends are xgrammar and llguidance, not {engine!r}")
    body: dict[str, Any] = {"prompt": _prompt(prep), "skip_special_tokens": False}
    grammar = grammar_for(prep, engine)
    if grammar is not None:
        body["ebnf"] = str(grammar)
    return body


class EngineRequests:
    """The engine methods of :class:`pegtool.format.Prepared` (a mixin over its fields)."""

    def grammar_for(self, engine: str = "llama.cpp", *, lazy: bool | None = None) -> EngineText | None:
        """The grammar in ``engine``'s language ("llama.cpp", "llguidance", "xgrammar"); see
        :func:`grammar_for`."""
        return grammar_for(self, engine, lazy)  # type: ignore[arg-type]

    def to_vllm(self, engine: str = "xgrammar", *, legacy: bool = False) -> dict[str, Any]:
        """The fields of a vLLM ``/v1/completions`` body (prompt, ``structured_outputs``)."""
        return vllm_body(self, engine, legacy=legacy)  # type: ignore[arg-type]

    def to_sglang(self, engine: str = "xgrammar") -> dict[str, Any]:
        """The fields of an SGLang ``/v1/completions`` body (prompt, ``ebnf``)."""
        return sglang_body(self, engine)  # type: ignore[arg-type]
