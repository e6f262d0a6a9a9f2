"""Stage: grammar — one way to narrow a value notation by a JSON Schema.

The Python-literal, marker-quoted and nested-element notations (:mod:`~pegtool.dialects.python_literal`,
:mod:`~pegtool.dialects.marker_quoted`, :mod:`~pegtool.dialects.xml_elements`) hold a generated value to
its schema the same way: ``const`` / ``enum`` become literals, each declared type its own
alternative, and anything they cannot express (no usable ``type``, an unknown type, the depth
used up) the notation's generic value. Each notation supplies those three pieces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pegtool.grammar.builder import choice
from pegtool.grammar.ir import Node


def narrowed(
    schema: Any,
    depth: int,
    *,
    generic: Callable[[], Node],
    literals: Callable[[list[Any]], Node],
    typed: Callable[[str, dict[str, Any], int], Node | None],
    order: Callable[[str], int] | None = None,
) -> Node:
    """``schema``'s value in one notation: ``literals(values)`` for a const or an enum, else the
    choice of ``typed(kind, schema, depth)`` over its types (``integer`` dropped where ``number``
    is also allowed; sorted by ``order`` if given), else ``generic()`` when a type is not known."""
    if not isinstance(schema, dict) or depth <= 0:
        return generic()
    if "const" in schema:
        return literals([schema["const"]])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return literals(schema["enum"])
    types = schema.get("type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        return generic()
    if "integer" in types and "number" in types:
        types = [t for t in types if t != "integer"]
    kinds = list(dict.fromkeys(types))
    if order is not None:
        kinds.sort(key=order)
    alts = [typed(kind, schema, depth) for kind in kinds]
    known = [a for a in alts if a is not None]
    return choice(*known) if len(known) == len(alts) else generic()


__all__ = ["narrowed"]
