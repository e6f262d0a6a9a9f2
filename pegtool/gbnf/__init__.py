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


def json_schema_to_gbnf(schema: Any, *, warn: bool = True) -> GbnfText:
    """GBNF whose root is the value grammar of a JSON Schema (dict/bool, or its JSON text).

    Keywords the grammar cannot enforce are listed in ``.warnings`` (``schema #/pointer: ...``)
    and, with ``warn``, issued as :class:`pegtool.UnsupportedSchemaWarning`."""
    import json

    from pegtool.errors import SchemaError
    from pegtool.grammar.builder import GrammarBuilder
    from pegtool.grammar.schema import issue_warnings, schema_to_ir

    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise SchemaError(f"not valid JSON: {exc}") from exc
    b = GrammarBuilder()
    ref, found = schema_to_ir(schema, b, "schema")
    b.define("root", ref)
    text = to_gbnf(b.build("root"), warn=False)
    if warn:
        issue_warnings(found, stacklevel=2)
    warns = tuple(dict.fromkeys(line for w in found for line in w.lines()))
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
