"""Stage: grammar — a JSON Schema's shape checked before compilation, without recursion.

A schema arrives from a client: it may be malformed (``"properties": "x"``, ``"minimum": "0"``,
``"type": []``) or hostile (nesting thousands of levels deep, a 100,000-value ``enum``). Each
keyword the compiler reads is checked for its JSON type here, and the schema's size and depth
are bounded, so the compiler sees only well-formed input and every problem is a
:class:`~pegtool.errors.SchemaError` naming the JSON pointer. The walk uses an explicit stack.
"""

from __future__ import annotations

import math
from typing import Any

from pegtool.errors import SchemaError
from pegtool.grammar.schema_norm import escape_pointer

MAX_DEPTH = 64  # nesting of JSON values inside one schema (a 10-level object schema is ~20)
MAX_NODES = 200_000  # JSON values (objects, arrays, scalars) in one schema
MAX_ENUM = 10_000  # values of one enum
MAX_PROPERTIES = 1_000  # declared properties of one object (llama.cpp refuses a group of ~2,000 rules)

_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
               "propertyNames", "additionalItems", "unevaluatedProperties", "unevaluatedItems")
_COUNTS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
_NUMBERS = ("minimum", "maximum", "multipleOf")


def _is_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or (
        isinstance(value, float) and math.isfinite(value))


def _fail(message: str, ptr: str) -> SchemaError:
    return SchemaError(message, ptr)


def check_schema(schema: Any) -> None:
    """Raise :class:`SchemaError` unless ``schema`` is a well-formed schema of bounded size."""
    _check_json(schema)
    stack: list[tuple[Any, str]] = [(schema, "#")]
    while stack:
        node, ptr = stack.pop()
        if isinstance(node, bool):
            continue
        if not isinstance(node, dict):
            raise _fail(f"a schema must be an object or a boolean, got {type(node).__name__}", ptr)
        _check_keywords(node, ptr)
        for key in _SCHEMA_MAPS:
            value = node.get(key)
            if value is None:
                continue
            if not isinstance(value, dict):
                raise _fail(f"{key} must be an object of schemas, got {type(value).__name__}", f"{ptr}/{key}")
            base = f"{ptr}/{key}/"
            stack.extend((sub, base + escape_pointer(str(name))) for name, sub in value.items())
        for key in _SCHEMA_LISTS:
            value = node.get(key)
            if value is None:
                continue
            if not isinstance(value, list) or (key != "prefixItems" and not value):
                raise _fail(f"{key} must be a non-empty list of schemas", f"{ptr}/{key}")
            stack.extend((sub, f"{ptr}/{key}/{i}") for i, sub in enumerate(value))
        for key in _SCHEMA_ONE:
            value = node.get(key)
            if value is None:
                continue
            if isinstance(value, list) and key == "items":  # draft 4 tuple form
                stack.extend((sub, f"{ptr}/items/{i}") for i, sub in enumerate(value))
            elif isinstance(value, (dict, bool)):
                stack.append((value, f"{ptr}/{key}"))
            else:
                raise _fail(f"{key} must be a schema, got {type(value).__name__}", f"{ptr}/{key}")


def _check_keywords(s: dict[str, Any], ptr: str) -> None:
    t = s.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if not types or not all(isinstance(x, str) for x in types):
            raise _fail("type must be a type name or a non-empty list of type names", f"{ptr}/type")
    for key in _COUNTS:
        if key in s and (not isinstance(s[key], int) or isinstance(s[key], bool) or s[key] < 0):
            raise _fail(f"{key} must be a non-negative integer, got {s[key]!r}", f"{ptr}/{key}")
    for key in _NUMBERS:
        if key in s and not _is_number(s[key]):
            raise _fail(f"{key} must be a number, got {s[key]!r}", f"{ptr}/{key}")
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if key in s and not (_is_number(s[key]) or isinstance(s[key], bool)):
            raise _fail(f"{key} must be a number (or a boolean in draft 4), got {s[key]!r}", f"{ptr}/{key}")
    if "enum" in s:
        if not isinstance(s["enum"], list):
            raise _fail("enum must be a list", f"{ptr}/enum")
        if len(s["enum"]) > MAX_ENUM:
            raise _fail(f"enum of {len(s['enum']):,} values exceeds the limit of {MAX_ENUM:,} "
                        "(pegtool.grammar.schema_check.MAX_ENUM)", f"{ptr}/enum")
    props = s.get("properties")
    if isinstance(props, dict) and len(props) > MAX_PROPERTIES:
        raise _fail(f"{len(props):,} properties exceed the limit of {MAX_PROPERTIES:,} "
                    "(pegtool.grammar.schema_check.MAX_PROPERTIES)", f"{ptr}/properties")
    req = s.get("required")
    if req is not None and not isinstance(req, bool) and (
            not isinstance(req, list) or not all(isinstance(r, str) for r in req)):
        raise _fail("required must be a list of property names", f"{ptr}/required")
    for key in ("pattern", "format", "$ref"):
        if key in s and not isinstance(s[key], str):
            raise _fail(f"{key} must be a string, got {type(s[key]).__name__}", f"{ptr}/{key}")


def _check_json(value: Any) -> None:
    """Bound the depth and the number of values of a JSON document (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _fail(f"schema has more than {MAX_NODES:,} values (pegtool.grammar.schema_check.MAX_NODES)", "#")
        if depth > MAX_DEPTH:
            raise _fail(f"schema nested deeper than {MAX_DEPTH} levels (pegtool.grammar.schema_check.MAX_DEPTH)",
                        "#")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend((v, depth + 1) for v in node)
