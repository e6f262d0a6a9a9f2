"""Stage: parser — bring a grammar down to core nodes before compiling it.

``Json`` / ``JsonSchema`` / ``SchemaText`` are lowered by ``pegtool.grammar.schema.lower`` (the
schema engineer's module, imported lazily). If that module is not importable, a small local
fallback lowers ``Json`` with the shared JSON core rules (``pegtool.grammar.json_rules``) and
relaxes ``JsonSchema`` to any JSON value and ``SchemaText`` to ``Until``, with a warning each.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pegtool.grammar.builder import GrammarBuilder
from pegtool.grammar.ir import (
    Grammar,
    Json,
    JsonSchema,
    Node,
    SchemaText,
    Until,
    map_children,
    one_side,
    walk,
)

Lowering = Callable[[Grammar], Any]
_JSON_NODES = (Json, JsonSchema, SchemaText)


def needs_lowering(grammar: Grammar) -> bool:
    return any(isinstance(sub, _JSON_NODES) for _, node in grammar.rules for sub in walk(node))


def lower_grammar(grammar: Grammar, lower: Lowering | None = None) -> tuple[Grammar, list[str]]:
    """Core-node grammar (the reading side of every ``Lenient``) plus warnings. ``lower`` may
    return a Grammar or (Grammar, warnings)."""
    grammar = one_side(grammar, "read")
    if not needs_lowering(grammar):
        return grammar, []
    fn = lower or _schema_lower() or fallback_lower
    out = fn(grammar)
    if isinstance(out, Grammar):
        return out, []
    lowered, warnings = out
    return lowered, [str(w) for w in warnings]


def _schema_lower() -> Lowering | None:
    try:
        module = importlib.import_module("pegtool.grammar.schema")
    except ImportError:
        return None
    fn = getattr(module, "lower", None)
    return fn if callable(fn) else None


def fallback_lower(grammar: Grammar) -> tuple[Grammar, list[str]]:
    """Local lowering: Json -> json-value rules; schemas relaxed (with warnings)."""
    from pegtool.grammar import json_rules

    b = GrammarBuilder()
    for name, node in grammar.rules:
        b.define(name, node)
    value = json_rules.json_value(b)
    warnings: list[str] = []

    def fix(node: Node) -> Node:
        if isinstance(node, Json):
            return value
        if isinstance(node, JsonSchema):
            warnings.append("schema lowering unavailable: JsonSchema accepts any JSON value")
            return value
        if isinstance(node, SchemaText):
            warnings.append("schema lowering unavailable: SchemaText accepts any text")
            return Until(node.delimiters)
        return node

    for name, node in grammar.rules:
        b.define(name, transform(node, fix))
    return b.build(grammar.root), warnings


def transform(node: Node, fn: Callable[[Node], Node]) -> Node:
    """Rebuild ``node`` bottom-up, applying ``fn`` to every node."""
    return fn(map_children(node, lambda child: transform(child, fn)))


__all__ = ["fallback_lower", "lower_grammar", "needs_lowering", "transform"]
