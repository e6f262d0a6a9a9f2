"""Stage: analysis — example arguments for a tool, made from its JSON Schema.

``pegtool doctor --tools my_tools.json`` round-trips calls to *your* tools; their arguments come
from here: every declared property gets a small value valid under its schema (``const`` / ``enum``
/ ``default`` first, then the type: strings honour ``pattern`` (the shortest match of its
automaton), ``format`` and the length bounds, numbers their bounds, arrays ``minItems``). A schema
no value can be made for gives ``None`` (the caller skips that tool's scenario).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from pegtool.errors import PegtoolError

TEXT = "example text"
FORMATS = {
    "date": "2024-05-17", "time": "07:30:00", "date-time": "2024-05-17T07:30:00Z",
    "uuid": "123e4567-e89b-12d3-a456-426614174000", "email": "ada@example.com",
    "ipv4": "192.168.1.7", "hostname": "example.com", "uri": "https://example.com/",
}
_PREFERRED = "abcdefghijklmnopqrstuvwxyz0123456789 "
_DEPTH = 6


class NoExample(Exception):
    """No value could be made for a schema."""


def example_arguments(parameters: Any) -> dict[str, Any] | None:
    """Arguments for a tool whose ``parameters`` schema is given: every property filled."""
    try:
        value = _value(parameters if isinstance(parameters, dict) else {"type": "object"}, parameters, 0,
                       all_properties=True)
    except (NoExample, PegtoolError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _resolve(schema: Any, root: Any) -> Any:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#"):
        return schema
    node = root
    for token in [t for t in ref[1:].split("/") if t]:
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            raise NoExample(f"unresolved $ref {ref}")
        node = node[token]
    return node


def _value(schema: Any, root: Any, depth: int, all_properties: bool = False) -> Any:
    if depth > _DEPTH:
        raise NoExample("too deep")
    if schema is True or schema == {} or schema is None:
        return TEXT
    if not isinstance(schema, dict):
        raise NoExample("not a schema")
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        alts = schema.get(key)
        if isinstance(alts, list) and alts:
            non_null = [a for a in alts if not (isinstance(a, dict) and a.get("type") == "null")]
            return _value({**{k: v for k, v in schema.items() if k != key}, **(non_null or alts)[0]},
                          root, depth + 1, all_properties)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged.update(_resolve(part, root) if isinstance(part, dict) else {})
        return _value(merged, root, depth + 1, all_properties)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    return _typed(str(kind), schema, root, depth, all_properties)


def _typed(kind: str, s: dict[str, Any], root: Any, depth: int, all_properties: bool) -> Any:
    if kind == "null":
        return None
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return _number(kind, s)
    if kind == "array":
        items = s.get("items", True)
        n = max(1, int(s.get("minItems", 0) or 0))
        if isinstance(s.get("maxItems"), int):
            n = min(n, s["maxItems"])
        prefix: list[Any] = s["prefixItems"] if isinstance(s.get("prefixItems"), list) else []
        head = [_value(p, root, depth + 1) for p in prefix]
        return head + [_value(items, root, depth + 1) for _ in range(max(0, n - len(head)))]
    if kind == "object":
        props: dict[str, Any] = s["properties"] if isinstance(s.get("properties"), dict) else {}
        required = [k for k in s.get("required", []) if isinstance(k, str)]
        keys = list(props) if all_properties or depth == 0 else [k for k in props if k in required] or list(props)
        out = {k: _value(props[k], root, depth + 1) for k in keys}
        for k in required:
            out.setdefault(k, TEXT)
        return out
    if kind == "string":
        return _string(s)
    raise NoExample(f"unknown type {kind!r}")


def _number(kind: str, s: dict[str, Any]) -> int | float:
    lo = s.get("minimum", s.get("exclusiveMinimum"))
    hi = s.get("maximum", s.get("exclusiveMaximum"))
    value: float = 3 if kind == "integer" else 2.5
    if isinstance(lo, (int, float)) and not isinstance(lo, bool):
        value = max(value, lo + (1 if "exclusiveMinimum" in s and "minimum" not in s else 0))
    if isinstance(hi, (int, float)) and not isinstance(hi, bool):
        value = min(value, hi - (1 if "exclusiveMaximum" in s and "maximum" not in s else 0))
    return int(value) if kind == "integer" else value


def _string(s: dict[str, Any]) -> str:
    lo = int(s.get("minLength", 0) or 0)
    hi = s.get("maxLength")
    if isinstance(s.get("pattern"), str):
        text = shortest_match(s["pattern"])
    elif isinstance(s.get("format"), str) and s["format"] in FORMATS:
        text = FORMATS[s["format"]]
    else:
        text = TEXT
    if len(text) < lo:
        text += "x" * (lo - len(text))
    if isinstance(hi, int) and len(text) > hi:
        text = text[:hi]
    return text


def shortest_match(pattern: str) -> str:
    """A shortest string the pattern (search semantics) matches, with readable characters.

    >>> shortest_match("^[A-Z]{3}-[0-9]+$")
    'AAA-0'
    """
    from pegtool.grammar.regex import regex_dfa

    dfa = regex_dfa(pattern, search=True)
    seen, queue = {0: ""}, deque([0])
    while queue:
        q = queue.popleft()
        if q in dfa.accepting:
            return seen[q]
        for lo, hi, tgt in dfa.trans[q]:
            if tgt not in seen:
                seen[tgt] = seen[q] + _pick(lo, hi)
                queue.append(tgt)
    raise NoExample(f"pattern {pattern!r} matches nothing")


def _pick(lo: int, hi: int) -> str:
    for ch in _PREFERRED:
        if lo <= ord(ch) <= hi:
            return ch
    return chr(lo)


__all__ = ["example_arguments", "shortest_match"]
