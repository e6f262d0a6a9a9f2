"""Dialects — JSON argument values, the default notation (``value_style`` "json").

A tagged argument's non-string value is JSON text (``<parameter=n>5</parameter>``,
``<arg_value>{"a": 1}</arg_value>``), captured as ``ARG_VALUE``. Generation holds it to the
property's schema; reading takes any JSON value, and a Python literal where JSON was due
(``{'a': True}``) is converted rather than lost.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pegtool.analysis import probe as P
from pegtool.analysis.record import TaggedArgs
from pegtool.dialects.base import RENDER, Evidence, Notation, ValueRenders
from pegtool.dialects.python_literal import json_value_at, literal_json, literal_prefix
from pegtool.grammar.builder import GrammarBuilder, json_schema, json_value
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
        return json_schema(schema) if strict else json_value()

    def to_json(self, text: str, node: CaptureNode) -> str:
        return literal_json(node.text(text).strip())

    def partial_json(self, text: str, node: CaptureNode) -> str:
        return literal_prefix(node.text(text))


NOTATION = JsonArgs()

__all__ = ["NOTATION", "JsonArgs"]
