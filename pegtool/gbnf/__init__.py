"""Stage: gbnf back-end — GBNF grammars and lazy triggers for llama.cpp from the pegtool IR.

Public API: :func:`to_gbnf`, :func:`triggers_for`, :func:`trigger_regex`, :class:`GrammarTrigger`
(and the ``TOKEN``/``WORD``/``PATTERN``/``PATTERN_FULL`` type codes), :func:`check_gbnf`,
:func:`json_schema_to_gbnf`, :class:`GbnfError`, :class:`GbnfText`, and the offline
:class:`~pegtool.gbnf.recognizer.Recognizer`.
"""

from __future__ import annotations

from typing import Any

from pegtool.gbnf.emit import GbnfError, GbnfText, to_gbnf
from pegtool.gbnf.recognizer import Recognizer, gbnf_accepts
from pegtool.gbnf.triggers import (
    PATTERN,
    PATTERN_FULL,
    TOKEN,
    WORD,
    GrammarTrigger,
    trigger_regex,
    triggers_for,
)
from pegtool.gbnf.validate import check_gbnf


def json_schema_to_gbnf(schema: Any) -> str:
    """GBNF whose root is the value grammar of a JSON Schema (dict/bool, or its JSON text)."""
    import json

    from pegtool.grammar.builder import GrammarBuilder

    try:
        from pegtool.grammar import schema as schema_mod
    except ImportError as exc:  # pragma: no cover - depends on the schema module
        raise GbnfError("pegtool.grammar.schema is unavailable") from exc
    if isinstance(schema, str):
        schema = json.loads(schema)
    b = GrammarBuilder()
    ref, found = schema_mod.schema_to_ir(schema, b, "schema")
    b.define("root", ref)
    text = to_gbnf(b.build("root"))
    warns = tuple(f"schema {w.pointer}: {w.message}" for w in found)
    return GbnfText(str(text), warns + text.warnings) if warns else text


__all__ = [
    "PATTERN",
    "PATTERN_FULL",
    "TOKEN",
    "WORD",
    "GbnfError",
    "GbnfText",
    "GrammarTrigger",
    "Recognizer",
    "check_gbnf",
    "gbnf_accepts",
    "json_schema_to_gbnf",
    "to_gbnf",
    "trigger_regex",
    "triggers_for",
]
