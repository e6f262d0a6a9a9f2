"""Dialects — JSON argument values, the default notation (``value_style`` "json").

A tagged argument's non-string value is JSON text (``<parameter=n>5</parameter>``,
``<arg_value>{"a": 1}</arg_value>``), captured as ``ARG_VALUE``. Generation holds it to the
property's schema; reading takes any JSON value, and a Python literal where JSON was due
(``{'a': True}``) is converted rather than lost (and reported as a repair).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pegtool.analysis import probe as P
from pegtool.analysis.record import TaggedArgs
from pegtool.dialects.base import RENDER, Evidence, Notation, ValueRenders
from pegtool.dialects.python_literal import json_value_at, literal_json, literal_prefix
from pegtool.grammar.builder import GrammarBuilder, choice, json_schema, json_value
from pegtool.grammar.ir import Node, Tag

if TYPE_CHECKING:
    from pegtool.parser.engine import CaptureNode

class JsonArgs(Notation):
    name = "json"
    tag = Tag.ARG_VALUE
    default = True

    def detect(self, r: ValueRenders) -> tuple[TaggedArgs, Evidence] | None:
        if json_value_at(r.text, r.brace) != P.DATA_VALUE:
            return None
        return replace(r.tagged, arg_mid_json=r.json_mid, value_style=self.name), \
            Evidence(RENDER, "non-string argument values are JSON")

    def value(self, b: GrammarBuilder, ta: TaggedArgs, schema: Any, *, strict: bool) -> Node:
        if strict:
            return json_schema(schema)
        from pegtool.grammar import variants

        # a Python literal where JSON was due is read too, reported as a repair
        return choice(json_value(), variants.python_literal(b))

    def to_json(self, text: str, node: CaptureNode) -> str:
        fixed = _repaired(text, node)
        return fixed if fixed is not None else literal_json(node.text(text).strip())

    def partial_json(self, text: str, node: CaptureNode) -> str:
        fixed = _repaired(text, node)  # a repaired value is held back until complete
        return fixed if fixed is not None else literal_prefix(node.text(text))


def _repaired(text: str, node: CaptureNode) -> str | None:
    """The JSON of a value read through a repair (relaxed JSON or a Python literal where JSON or
    a template notation was due), "" while incomplete; None when no repair is involved."""
    from pegtool.parser.repairs import value_text

    return value_text(text, node)


NOTATION = JsonArgs()

__all__ = ["NOTATION", "JsonArgs"]
