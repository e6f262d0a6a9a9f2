"""Deterministic valid / invalid instances of a JSON Schema, for grammar acceptance tests.

``valid_texts(schema)`` are JSON texts valid under the schema (checked with ``jsonschema`` and a
format checker) *and* inside pegtool's documented grammar language: object keys in
:func:`pegtool.grammar.schema_struct.property_order`, no undeclared keys unless
``additionalProperties`` allows them, canonical string encodings, ASCII text.
``invalid_texts(schema)`` are near misses (one mutation of a valid instance: a missing required
key, a wrong enum value, a bad pattern/format, an out-of-range integer, an extra key where
``additionalProperties`` is false, a wrong type…), each checked to be invalid by ``jsonschema``.
Keywords pegtool only warns about (``uniqueItems``…) are respected by the generator (distinct
items) and never used to make an instance invalid.

Texts come in three styles: compact, spaced (``", "``/``": "``) and ``indent=2``.
"""

from __future__ import annotations

import copy
import json
import random
import string
from collections.abc import Iterator
from typing import Any

import jsonschema

from pegtool.grammar.automata import DFA
from pegtool.grammar.formats import format_regex
from pegtool.grammar.regex import regex_dfa
from pegtool.grammar.schema_struct import property_order

STYLES = ("compact", "spaced", "indent")
_FORMAT_SAMPLES = {
    "date": ["2024-01-31", "1999-12-01", "2030-06-15"],
    "time": ["10:00:00Z", "23:59:59+02:00", "00:00:00.123Z"],
    "date-time": ["2024-01-02T10:00:00Z", "2023-11-30T23:59:59+01:00", "2020-02-29T12:30:00.5Z"],
    "uuid": ["123e4567-e89b-12d3-a456-426614174000", "00000000-0000-4000-8000-000000000000"],
    "email": ["ada@example.com", "bob.smith@mail.example.org", "x@y.io"],
    "ipv4": ["127.0.0.1", "192.168.10.255"],
    "hostname": ["example.com", "a-b.example"],
}
_BAD_FORMAT = {
    "date": ["2024-13-01", "2024-1-01", "24-01-01"],
    "time": ["25:00:00Z", "10:00", "10:00:00"],
    "date-time": ["2024-01-02 10:00", "2024-13-02T10:00:00Z", "yesterday"],
    "uuid": ["123e4567e89b12d3a456426614174000", "not-a-uuid"],
    "email": ["ada.example.com", "nobody"],
    "ipv4": ["256.1.1.1", "1.2.3"],
    "hostname": ["-bad-.com"],
}


def serialise(value: Any, style: str) -> str:
    if style == "compact":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if style == "spaced":
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, indent=2)


def is_valid(schema: Any, value: Any) -> bool:
    cls = jsonschema.validators.validator_for(schema if isinstance(schema, dict) else {})
    return cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid(value)


class _Gen:
    def __init__(self, root: Any, seed: int) -> None:
        self.root = root
        self.rng = random.Random(seed)

    def resolve(self, s: Any) -> Any:
        while isinstance(s, dict) and "$ref" in s:
            node = self.root
            for tok in s["$ref"].lstrip("#").split("/")[1:]:
                node = node[tok.replace("~1", "/").replace("~0", "~")]
            s = {**node, **{k: v for k, v in s.items() if k != "$ref"}}
        return s

    def value(self, s: Any, depth: int = 0) -> Any:
        s = self.resolve(s)
        if s is True or s == {} or not isinstance(s, dict):
            return self.rng.choice([1, "x", True, None, [1, 2], {"k": "v"}])
        for key in ("anyOf", "oneOf"):
            if key in s:
                rest = {k: v for k, v in s.items() if k != key}
                return self.value({**rest, **self.resolve(self.rng.choice(s[key]))}, depth)
        if "const" in s:
            return s["const"]
        if "enum" in s:
            return self.rng.choice(s["enum"])
        t = s.get("type", "object" if "properties" in s else "string")
        t = self.rng.choice(t) if isinstance(t, list) else t
        return getattr(self, "gen_" + t)(s, depth)

    def gen_null(self, s: dict[str, Any], depth: int) -> Any:
        return None

    def gen_boolean(self, s: dict[str, Any], depth: int) -> Any:
        return self.rng.random() < 0.5

    def gen_integer(self, s: dict[str, Any], depth: int) -> Any:
        lo = s.get("minimum", s.get("exclusiveMinimum", -1000) + 1 if "exclusiveMinimum" in s else -1000)
        hi = s.get("maximum", s.get("exclusiveMaximum", 1000) - 1 if "exclusiveMaximum" in s else 1000)
        return self.rng.randint(int(lo), int(hi))

    def gen_number(self, s: dict[str, Any], depth: int) -> Any:
        return self.rng.choice([0, 1.5, -2.25, 3e5, 12, 0.001])

    def gen_string(self, s: dict[str, Any], depth: int) -> Any:
        if s.get("format") in _FORMAT_SAMPLES:
            return self.rng.choice(_FORMAT_SAMPLES[s["format"]])
        if "pattern" in s:
            return random_word(regex_dfa(s["pattern"], True), self.rng)
        lo, hi = s.get("minLength", 0), s.get("maxLength", 12)
        n = self.rng.randint(lo, min(hi, lo + 12))
        alphabet = string.ascii_letters + string.digits + ' .,-_/é"\\\n'
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def gen_array(self, s: dict[str, Any], depth: int) -> Any:
        lo, hi = s.get("minItems", 0), s.get("maxItems", 4)
        n = self.rng.randint(lo, min(hi, lo + 3 if depth < 2 else lo))
        prefix = s.get("prefixItems", [])
        items = [
            self.value(prefix[i] if i < len(prefix) else s.get("items", True), depth + 1) for i in range(n)
        ]
        if s.get("uniqueItems"):
            items = [v for i, v in enumerate(items) if v not in items[:i]]
        return items

    def gen_object(self, s: dict[str, Any], depth: int) -> Any:
        props, req = s.get("properties", {}), s.get("required", [])
        out = {}
        for key in property_order(props, req):
            if key in req or self.rng.random() < 0.6:
                out[key] = self.value(props[key], depth + 1)
        return out


def random_word(dfa: DFA, rng: random.Random, soft_max: int = 12) -> str:
    """A random string accepted by a (trimmed) DFA, preferring printable ASCII."""
    state, out = 0, []
    while True:
        if state in dfa.accepting and (not dfa.trans[state] or len(out) >= soft_max or rng.random() < 0.3):
            return "".join(out)
        lo, hi, nxt = rng.choice(dfa.trans[state])
        if len(out) >= soft_max:
            lo, hi, nxt = min(dfa.trans[state], key=lambda e: _distance(dfa, e[2]))
        ascii_lo, ascii_hi = max(lo, 0x21), min(hi, 0x7E)
        cp = rng.randint(ascii_lo, ascii_hi) if ascii_lo <= ascii_hi else lo
        if chr(cp) in '"\\' and lo != hi:
            cp = lo if chr(lo) not in '"\\' else hi
        out.append(chr(cp))
        state = nxt


def _distance(dfa: DFA, start: int) -> int:
    seen, frontier, d = {start}, [start], 0
    while frontier:
        if any(q in dfa.accepting for q in frontier):
            return d
        frontier = [t for q in frontier for _, _, t in dfa.trans[q] if t not in seen and not seen.add(t)]  # type: ignore[func-returns-value]
        d += 1
    return 10**9


def valid_instances(schema: Any, n: int = 20, seed: int = 0) -> list[Any]:
    gen = _Gen(schema, seed)
    out: list[Any] = []
    for _ in range(n * 40):
        v = gen.value(schema)
        if v not in out and is_valid(schema, v):
            out.append(v)
        if len(out) >= n:
            break
    return out


# --- invalid: one mutation of a valid instance ---------------------------------------------------


def _mutations(gen: _Gen, s: Any, v: Any) -> Iterator[Any]:
    s = gen.resolve(s)
    if not isinstance(s, dict):
        return
    yield from _type_mutations(v)
    if "enum" in s or "const" in s:
        yield (v + "x") if isinstance(v, str) else "not-in-enum"
    if isinstance(v, str):
        yield from _string_mutations(s, v)
    if isinstance(v, int) and not isinstance(v, bool):
        for key, delta in (("maximum", 1), ("minimum", -1), ("exclusiveMaximum", 0), ("exclusiveMinimum", 0)):
            if key in s:
                yield s[key] + delta
        yield v + 0.5
    if isinstance(v, dict):
        yield from _object_mutations(gen, s, v)
    if isinstance(v, list):
        yield from _array_mutations(gen, s, v)


_WRONG_TYPES: tuple[Any, ...] = (42, "7", None, True, [], {}, 1.5, "", -3, False, ["x"], {"k": "v"}, 2.5e3)


def _type_mutations(v: Any) -> Iterator[Any]:
    """Values of other JSON types (jsonschema decides which of them are actually invalid)."""
    for bad in _WRONG_TYPES:
        if type(bad) is not type(v) or bad != v:
            yield bad


def _string_mutations(s: dict[str, Any], v: str) -> Iterator[Any]:
    if "pattern" in s:
        yield "!" + v
        yield v[:-1]
    if s.get("format") in _BAD_FORMAT:
        yield from _BAD_FORMAT[s["format"]]
    if "maxLength" in s:
        yield "x" * (s["maxLength"] + 1)
    if s.get("minLength", 0) > 0:
        yield ""


def _object_mutations(gen: _Gen, s: dict[str, Any], v: dict[str, Any]) -> Iterator[Any]:
    for key in s.get("required", []):
        yield {k: x for k, x in v.items() if k != key}
    if s.get("additionalProperties") is False:
        yield {**v, "extra": 1}
    props = s.get("properties", {})
    for key, x in v.items():
        if key in props:
            for bad in _mutations(gen, props[key], x):
                out = copy.copy(v)
                out[key] = bad
                yield out


def _array_mutations(gen: _Gen, s: dict[str, Any], v: list[Any]) -> Iterator[Any]:
    if "maxItems" in s and v:
        yield v + [v[0]] * (s["maxItems"] + 1 - len(v))
    for i, x in enumerate(v[:2]):
        for bad in _mutations(gen, s.get("items", True), x):
            yield v[:i] + [bad] + v[i + 1 :]


def invalid_instances(schema: Any, n: int = 20, seed: int = 0) -> list[Any]:
    gen = _Gen(schema, seed)
    pool: list[Any] = []
    for base in valid_instances(schema, n, seed):
        for bad in _mutations(gen, schema, base):
            if bad not in pool and not is_valid(schema, bad):
                pool.append(bad)
    random.Random(seed).shuffle(pool)
    return pool[:n]


def _styled(values: list[Any]) -> list[str]:
    return [serialise(v, STYLES[i % len(STYLES)]) for i, v in enumerate(values)]


_EXTRA_STYLES: tuple[dict[str, Any], ...] = (
    {"indent": 4},
    {"indent": "\t"},
    {"separators": (" , ", " : ")},
    {"indent": 1, "separators": (",", ": ")},
)


def valid_texts(schema: Any, n: int = 20, seed: int = 0) -> list[str]:
    """``n`` valid JSON texts (three serialisation styles, round-robin). When the schema has fewer
    than ``n`` distinct valid instances (``{"type": "object", "properties": {}}`` has one), texts
    are padded with other white-space layouts of the same instances (may stay below ``n``)."""
    values = valid_instances(schema, n, seed)
    texts = _styled(values)
    for opts in _EXTRA_STYLES:
        for v in values:
            text = json.dumps(v, ensure_ascii=False, **opts)
            if len(texts) < n and text not in texts:
                texts.append(text)
    pads = [" ", "\n", "  ", "\n  ", "\t"] + [" " * k for k in range(3, 12)] + ["\n" + "\t" * k for k in range(1, 10)]
    for v in values:
        for pad in pads:
            text = _pad_inside(serialise(v, "compact"), pad)
            if len(texts) < n and text not in texts:
                texts.append(text)
    return texts


def _pad_inside(text: str, pad: str) -> str:
    """Add white space just inside the outermost brackets (``{ }``) of a compact text."""
    if text[:1] in "[{" and len(text) >= 2:
        return text[0] + pad + text[1:-1] + pad + text[-1]
    return text


def invalid_texts(schema: Any, n: int = 20, seed: int = 0) -> list[str]:
    """``n`` invalid but textually close JSON texts (three styles, round-robin). Schemas with few
    invalid instances (``{"type": "object", "properties": {}}``) are padded with near-miss texts
    that are not JSON at all (a stray comma, a missing bracket, single quotes, ...)."""
    texts = _styled(invalid_instances(schema, n, seed))
    for base in _styled(valid_instances(schema, 3, seed)):
        for broken in _near_misses(base):
            if len(texts) < n and broken not in texts and not _parses(broken):
                texts.append(broken)
    return texts


def _near_misses(text: str) -> list[str]:
    """Syntactically broken variants of a JSON text."""
    return [
        text[:-1], text[1:], text + text[-1:], text[:1] + text, text + " x", text.replace('"', "'"),
        text[:1] + "," + text[1:], text[:-1] + "," + text[-1:], text[:1] + ":" + text[1:],
        text[:1] + '"a"' + text[1:], text[:1] + '"a":' + text[1:], "[" + text, text + "]",
        "nul", text.replace("{", "{{", 1), text[:1] + "\n," + text[1:],
    ]


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


__all__ = [
    "STYLES",
    "invalid_instances",
    "invalid_texts",
    "is_valid",
    "serialise",
    "valid_instances",
    "valid_texts",
]
_ = format_regex
