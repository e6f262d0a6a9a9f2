"""Stage: grammar — JSON Schema normalisation before lowering: keyword tables, ``$ref``
resolution, ``allOf`` merging, type inference, and a light instance check for enum/const values.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import unquote

from pegtool.errors import SchemaError
from pegtool.grammar.formats import format_regex

ANNOTATIONS = frozenset(
    "title description default examples example $schema $id $comment deprecated readOnly writeOnly "
    "$defs definitions $anchor contentMediaType contentEncoding strict discriminator externalDocs xml".split()
)
UNSUPPORTED = frozenset(
    "uniqueItems not if then else patternProperties dependencies dependentRequired dependentSchemas "
    "multipleOf minProperties maxProperties propertyNames contains minContains maxContains "
    "unevaluatedProperties unevaluatedItems $dynamicRef $recursiveRef $dynamicAnchor".split()
)
FAMILIES: dict[str, frozenset[str]] = {
    "string": frozenset({"minLength", "maxLength", "pattern", "format"}),
    "number": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}),
    "object": frozenset({"properties", "required", "additionalProperties"}),
    "array": frozenset({"items", "prefixItems", "minItems", "maxItems", "additionalItems"}),
}
STRUCTURAL = frozenset({"type", "enum", "const", "$ref", "allOf", "anyOf", "oneOf", "nullable"})
KNOWN = ANNOTATIONS | UNSUPPORTED | STRUCTURAL | frozenset().union(*FAMILIES.values())
ALL_TYPES = ("null", "boolean", "object", "array", "number", "integer", "string")


def escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def resolve_pointer(root: Any, ref: str, where: str) -> tuple[Any, str]:
    """The sub-schema that a local ``$ref`` (``#``, ``#/$defs/x``…) names, and its pointer."""
    if not ref.startswith("#"):
        raise SchemaError(f"only local $ref values are supported, got {ref!r}", where)
    node = root
    tokens = [t for t in unquote(ref[1:]).split("/")[1:]] if ref not in ("#", "#/") else []
    for token in tokens:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise SchemaError(f"unresolvable $ref {ref!r}", where)
    return node, "#" + "".join("/" + escape_pointer(t) for t in tokens)


def declared_types(schema: dict[str, Any]) -> list[str] | None:
    """The explicit ``type`` list (``integer`` implied by ``number`` is kept separate), or None."""
    t = schema.get("type")
    if t is None:
        return None
    types = [t] if isinstance(t, str) else list(t)
    for name in types:
        if name not in ALL_TYPES:
            raise SchemaError(f"unknown type {name!r}")
    return types


def inferred_types(schema: dict[str, Any]) -> list[str] | None:
    """Types implied by type-specific keywords when ``type`` is absent (like llama.cpp does)."""
    fams = [f for f, kws in FAMILIES.items() if kws & schema.keys()]
    return fams or None


# --- allOf merging ---------------------------------------------------------------------------


def merge(a: dict[str, Any], b: dict[str, Any], where: str, warn: Any) -> dict[str, Any]:
    """The conjunction of two schemas (as far as one schema can express it)."""
    out = dict(a)
    for key, bv in b.items():
        if key not in out:
            out[key] = bv
            continue
        out[key] = _merge_key(key, out[key], bv, where, warn)
    return out


def _merge_key(key: str, av: Any, bv: Any, where: str, warn: Any) -> Any:
    if av == bv:
        return av
    if key == "properties":
        props = dict(av)
        for name, sub in bv.items():
            props[name] = {"allOf": [props[name], sub]} if name in props else sub
        return props
    if key == "required":
        return list(dict.fromkeys(list(av) + list(bv)))
    if key == "type":
        ta = [av] if isinstance(av, str) else av
        tb = [bv] if isinstance(bv, str) else bv
        both = [t for t in ta if t in tb or (t == "integer" and "number" in tb)]
        both += [t for t in tb if t == "integer" and "number" in ta and t not in both]
        if not both:
            raise SchemaError(f"allOf combines incompatible types {ta} and {tb}", where)
        return both
    if key in ("minimum", "minLength", "minItems", "exclusiveMinimum"):
        return max(av, bv)
    if key in ("maximum", "maxLength", "maxItems", "exclusiveMaximum"):
        return min(av, bv)
    if key == "enum":
        return [v for v in av if v in bv]
    if key == "pattern":
        return (av if isinstance(av, list) else [av]) + (bv if isinstance(bv, list) else [bv])
    if (
        key in ("items", "additionalProperties")
        and isinstance(av, (dict, bool))
        and isinstance(bv, (dict, bool))
    ):
        if av is False or bv is False:
            return False
        return {"allOf": [av, bv]}
    if key == "const":
        raise SchemaError(f"allOf combines different const values {av!r} and {bv!r}", where)
    if key in ANNOTATIONS:
        return av
    warn(where, key, f"allOf: conflicting values for {key!r}; the first one is used")
    return av


# --- instance checks for enum/const ------------------------------------------------------------


def json_type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise SchemaError(f"not a JSON value: {value!r}")


def type_allows(types: list[str] | None, value: Any) -> bool:
    if types is None:
        return True
    kind = json_type_of(value)
    return kind in types or (kind == "integer" and "number" in types)


def scalar_ok(schema: dict[str, Any], value: Any) -> bool:
    """A light check of ``value`` against the scalar keywords of ``schema`` (type, ranges, lengths,
    pattern, format), used to drop enum members that cannot validate."""
    if not type_allows(declared_types(schema), value):
        return False
    if isinstance(value, str):
        return _string_ok(schema, value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_ok(schema, value)
    return True


def _string_ok(schema: dict[str, Any], value: str) -> bool:
    from pegtool.grammar.regex import regex_dfa

    if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", math.inf):
        return False
    pats = schema.get("pattern", [])
    for pat in pats if isinstance(pats, list) else [pats]:
        if not regex_dfa(pat, True).accepts(value):
            return False
    fmt = format_regex(schema.get("format", "")) if isinstance(schema.get("format"), str) else None
    return fmt is None or regex_dfa(fmt).accepts(value)


def _number_ok(schema: dict[str, Any], value: float) -> bool:
    lo, lo_x, hi, hi_x = number_bounds(schema)
    if lo is not None and (value < lo or (lo_x and value == lo)):
        return False
    return hi is None or not (value > hi or (hi_x and value == hi))


def number_bounds(schema: dict[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """``(lower, lower_exclusive, upper, upper_exclusive)`` across draft 4 and draft 6+ spellings."""
    lo, hi = schema.get("minimum"), schema.get("maximum")
    lo_x = hi_x = False
    emin, emax = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if emin is True:
        lo_x = True
    elif isinstance(emin, (int, float)) and not isinstance(emin, bool) and (lo is None or emin >= lo):
        lo, lo_x = emin, True
    if emax is True:
        hi_x = True
    elif isinstance(emax, (int, float)) and not isinstance(emax, bool) and (hi is None or emax <= hi):
        hi, hi_x = emax, True
    return lo, lo_x, hi, hi_x


def integer_bounds(schema: dict[str, Any]) -> tuple[int | None, int | None]:
    """Inclusive integer bounds implied by the numeric keywords."""
    lo, lo_x, hi, hi_x = number_bounds(schema)
    ilo = None if lo is None else (math.floor(lo) + 1 if lo_x else math.ceil(lo))
    ihi = None if hi is None else (math.ceil(hi) - 1 if hi_x else math.floor(hi))
    return ilo, ihi
