"""Stage: grammar — JSON Schema to IR, shared by both back-ends (PEG parser and GBNF emitter).

``schema_to_ir`` compiles one schema into rules of a :class:`GrammarBuilder`; ``lower`` replaces
every ``Json`` / ``JsonSchema`` / ``SchemaText`` node of a grammar by references to such rules.

Every construct reads the same as PEG (ordered choice, possessive repetition) and as CFG:

* JSON core rules: see :mod:`pegtool.grammar.json_rules` (bounded ``ws``, maximal-munch numbers).
* objects: keys in declared order (like llama.cpp); required keys mandatory, optional keys
  optional, extra keys (``additionalProperties``) after the declared ones. With optional keys the
  members are a chain ``first_i = kv_i rest_{i+1} / first_{i+1}`` and
  ``rest_i = ("," kv_i)? rest_{i+1}``, linear in size, no leading comma. Alternatives start with
  distinct key literals, so ordered choice never commits wrongly. Extra keys exclude the declared
  names (a DFA complement), so they cannot shadow a declared key.
* ``additionalProperties`` absent: no extra keys when ``properties`` is given, any keys when it is
  not (llama.cpp's behaviour, fit for tool arguments).
* alternatives (``anyOf``/``oneOf``/type lists/enum): strings, objects, arrays, literals are
  self-delimiting, so their order does not matter; *numeric* alternatives are merged into one
  deterministic automaton (e.g. ``1`` vs ``10``, integer vs number) instead of an ordered choice.
* ``pattern``/``format``/integer ranges/raw-text constraints: minimal DFAs emitted as
  deterministic right-linear rules (:mod:`pegtool.grammar.automata`). Pattern/format/enum strings
  accept the canonical JSON encoding only (``\\u`` escapes of printable characters are not).
* ``SchemaText``: see :func:`schema_text_ir`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from pegtool.errors import PegtoolWarning, SchemaError
from pegtool.grammar import json_rules as jr
from pegtool.grammar.automata import (
    DFA,
    avoid_delimiters,
    intersect,
    json_encoder,
    length_range,
    literals,
    raw_encoder,
    to_ir,
)
from pegtool.grammar.builder import GrammarBuilder, choice, seq, until
from pegtool.grammar.formats import format_regex, integer_range_regex
from pegtool.grammar.ir import Grammar, Json, JsonSchema, Node, Ref, SchemaText, Seq, map_children, walk
from pegtool.grammar.origins import Origins, describe
from pegtool.grammar.regex import regex_dfa
from pegtool.grammar.schema_check import check_schema
from pegtool.grammar.schema_norm import (
    ANNOTATIONS,
    KNOWN,
    UNSUPPORTED,
    declared_types,
    escape_pointer,
    inferred_types,
    integer_bounds,
    json_type_of,
    merge,
    number_bounds,
    resolve_pointer,
    scalar_ok,
)

MAX_REPEAT = 2000  # llama.cpp: m > 2000 is an error, n > 2000 silently means unbounded
#: Schema-typed numbers: each part at most ``json_rules.MAX_DIGITS`` digits (as llama.cpp)
INTEGER_RE = rf"-?(0|[1-9][0-9]{{0,{jr.MAX_DIGITS - 1}}})"
NUMBER_RE = rf"{INTEGER_RE}(\.[0-9]{{1,{jr.MAX_DIGITS}}})?([eE][-+]?[0-9]{{1,{jr.MAX_DIGITS}}})?"


class UnsupportedSchemaWarning(PegtoolWarning):
    """A schema keyword was not (fully) enforced by the grammar. The message says where (``tool
    'f', parameter 'p': ...`` for a request's tools, ``schema #/pointer: ...`` otherwise);
    ``pointer`` is relative to the schema the keyword is in, ``keyword`` names it."""

    def __init__(self, message: str, pointer: str = "", keyword: str = "") -> None:
        super().__init__(message)
        self.pointer = pointer
        self.keyword = keyword


@dataclass(frozen=True)
class SchemaWarning:
    pointer: str
    keyword: str
    message: str
    schema: str = ""  # the compact text of the schema ``pointer`` is relative to (set by ``lower``)

    def lines(self, origins: Origins | None = None) -> list[str]:
        """What to tell the user: one line per place (tool / parameter) the schema was made for."""
        return describe(self.pointer, self.keyword, self.message, self.schema, origins)


def issue_warnings(found: Iterable[SchemaWarning], origins: Origins | None = None, stacklevel: int = 2) -> None:
    """``warnings.warn`` one :class:`UnsupportedSchemaWarning` per line of each warning (repeats
    dropped), attributed to the caller's caller."""
    seen: set[str] = set()
    for w in found:
        for line in w.lines(origins):
            if line not in seen:
                seen.add(line)
                warnings.warn(UnsupportedSchemaWarning(line, w.pointer, w.keyword), stacklevel=stacklevel + 1)


#: Largest maxLength enforced exactly on a raw (unquoted, delimiter-terminated) text argument.
RAW_MAX_LENGTH = 32


def _rule_name(text: str) -> str:
    out = "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in text)
    out = "-".join(p for p in out.split("-") if p)
    return out[:60] or "x"


class _Compiler:
    """One compilation: the root schema (for ``$ref``), the builder, and collected warnings."""

    def __init__(self, root: Any, builder: GrammarBuilder) -> None:
        self.root = root
        self.b = builder
        self.warnings: list[SchemaWarning] = []
        self.refs: dict[str, str] = {}

    def warn(self, pointer: str, keyword: str, message: str) -> None:
        w = SchemaWarning(pointer or "#", keyword, message)
        if w not in self.warnings:
            self.warnings.append(w)

    def intern(self, name: str, node: Node) -> Node:
        if isinstance(node, Ref):
            return node
        return self.b.intern(_rule_name(name), node)

    # --- dispatch ------------------------------------------------------------------------------

    def visit(self, schema: Any, ptr: str, name: str) -> Node:
        if schema is True or schema == {}:
            return jr.json_value(self.b)
        if schema is False:
            raise SchemaError("schema `false` accepts no value", ptr)
        if not isinstance(schema, dict):
            raise SchemaError(f"a schema must be an object or a boolean, got {type(schema).__name__}", ptr)
        self.check_keywords(schema, ptr)
        return self.intern(name, self.visit_dict(schema, ptr, name))

    def check_keywords(self, schema: dict[str, Any], ptr: str) -> None:
        for key in schema:
            if key in UNSUPPORTED:
                self.warn(f"{ptr}/{escape_pointer(key)}", key, f"keyword {key!r} is not enforced (a grammar cannot express it)")
            elif key not in KNOWN and not key.startswith("x-"):
                self.warn(f"{ptr}/{escape_pointer(key)}", key, f"unknown keyword {key!r} ignored")

    def visit_dict(self, s: dict[str, Any], ptr: str, name: str) -> Node:
        if "$ref" in s:
            return self.visit_ref(s, ptr, name)
        if "allOf" in s:
            return self.visit(self.merge_all(s, ptr), ptr, name)
        if "anyOf" in s or "oneOf" in s or s.get("nullable") is True or isinstance(s.get("type"), list):
            return self.visit_alternatives(s, ptr, name)
        if "const" in s or "enum" in s:
            return self.visit_enum(s, ptr, name)
        types = declared_types(s) or inferred_types(s)
        if types is None:
            return jr.json_value(self.b)
        if len(types) > 1:
            return self.visit_alternatives(s, ptr, name)
        return self.visit_type(types[0], s, ptr, name)

    def visit_type(self, kind: str, s: dict[str, Any], ptr: str, name: str) -> Node:
        if kind == "string":
            return self.visit_string(s, ptr, name)
        if kind in ("integer", "number"):
            return self.visit_number(kind, s, ptr, name)
        if kind == "boolean":
            return jr.json_boolean(self.b)
        if kind == "null":
            return jr.json_null(self.b)
        if kind == "object":
            from pegtool.grammar.schema_struct import visit_object

            return visit_object(self, s, ptr, name)
        from pegtool.grammar.schema_struct import visit_array

        return visit_array(self, s, ptr, name)

    # --- $ref and allOf ---------------------------------------------------------------------------

    def visit_ref(self, s: dict[str, Any], ptr: str, name: str) -> Node:
        target, tptr = resolve_pointer(self.root, s["$ref"], ptr)
        siblings = {k: v for k, v in s.items() if k != "$ref" and k not in ANNOTATIONS}
        if siblings:
            if not isinstance(target, dict):
                return self.visit(siblings if target is True else False, ptr, name)
            return self.visit(merge(target, siblings, ptr, self.warn), ptr, name)
        if tptr in self.refs:
            return Ref(self.refs[tptr])
        rule = _rule_name("ref-" + tptr.lstrip("#/")) if tptr != "#" else "ref-root"
        unique, n = rule, 1
        while self.b.has(unique):
            n += 1
            unique = f"{rule}-{n}"
        self.refs[tptr] = unique
        self.b.define(unique, Seq(()))  # placeholder so the name is taken during recursion
        node = self.visit(target, tptr, unique + "-body")
        self.b.define(unique, node)
        return Ref(unique)

    def resolve(self, s: Any, ptr: str, depth: int = 0) -> Any:
        """``s`` with a top-level ``$ref`` replaced by its target (siblings merged in)."""
        while isinstance(s, dict) and "$ref" in s and depth < 32:
            target, _ = resolve_pointer(self.root, s["$ref"], ptr)
            rest = {k: v for k, v in s.items() if k != "$ref"}
            s = (
                merge(target, rest, ptr, self.warn)
                if isinstance(target, dict)
                else (target if not rest else rest)
            )
            depth += 1
        return s

    def merge_all(self, s: dict[str, Any], ptr: str, depth: int = 0) -> Any:
        if depth > 32:
            raise SchemaError("allOf nests (through $ref) more than 32 levels: a cycle?", ptr)
        out: dict[str, Any] = {k: v for k, v in s.items() if k != "allOf"}
        for i, sub in enumerate(s["allOf"]):
            sub = self.resolve(sub, f"{ptr}/allOf/{i}")
            if sub is False:
                raise SchemaError("allOf contains `false`", f"{ptr}/allOf/{i}")
            if isinstance(sub, dict):
                if "allOf" in sub:
                    sub = self.merge_all(sub, f"{ptr}/allOf/{i}", depth + 1)
                out = merge(out, sub, f"{ptr}/allOf/{i}", self.warn)
        return out

    # --- alternatives -------------------------------------------------------------------------------

    def alternatives(self, s: dict[str, Any], ptr: str) -> list[tuple[Any, str]]:
        """Flatten anyOf/oneOf/type lists/nullable into single alternatives (with siblings merged)."""
        rest = {k: v for k, v in s.items() if k not in ("anyOf", "oneOf", "nullable")}
        if s.get("nullable") is True:
            return self.alternatives(rest, ptr) + [({"type": "null"}, ptr)]
        for key in ("anyOf", "oneOf"):
            if key in s:
                out = []
                for i, alt in enumerate(s[key]):
                    alt = self.resolve(alt, f"{ptr}/{key}/{i}")
                    if alt is True or alt == {}:
                        alt = {}
                    if isinstance(alt, dict):
                        out += self.alternatives(merge(rest, alt, ptr, self.warn), f"{ptr}/{key}/{i}")
                return out
        types = declared_types(s) or inferred_types(s)
        if types and len(types) > 1 and "enum" not in s and "const" not in s:
            return [({**s, "type": t}, ptr) for t in types]
        return [(s, ptr)]

    def visit_alternatives(self, s: dict[str, Any], ptr: str, name: str) -> Node:
        alts = self.alternatives(s, ptr)
        if not alts:
            raise SchemaError("anyOf/oneOf has no satisfiable alternative", ptr)
        if any(_is_any(a) for a, _ in alts):
            return jr.json_value(self.b)
        nodes: list[Node] = []
        numeric: list[str] = []
        slot = -1
        for i, (alt, aptr) in enumerate(alts):
            rx = self.numeric_regex(alt, aptr)
            if rx is not None:
                numeric.append(rx)
                if slot < 0:
                    slot = len(nodes)
                continue
            try:
                nodes.append(self.visit(alt, aptr, f"{name}-{i}"))
            except SchemaError:
                if len(alts) == 1:
                    raise
        if numeric:
            dfa = regex_dfa("|".join(f"({r})" for r in numeric))
            nodes.insert(slot, self.intern(f"{name}-num", to_ir(dfa, raw_encoder, self.b, f"{name}-num")))
        if not nodes:
            raise SchemaError("no alternative of anyOf/oneOf is satisfiable", ptr)
        return choice(*nodes)

    def numeric_regex(self, s: Any, ptr: str) -> str | None:
        """A regex for a purely numeric alternative (integer/number/numeric enum), else None."""
        if not isinstance(s, dict) or "allOf" in s or "$ref" in s:
            return None
        if "enum" in s or "const" in s:
            vals = self.enum_values(s, ptr)
            if vals and all(json_type_of(v) in ("integer", "number") for v in vals):
                return "|".join(_regex_literal(jr.number_text(v)) for v in vals)
            return None
        types = declared_types(s) or inferred_types(s)
        if types not in (["integer"], ["number"]):
            return None
        return self.number_regex(types[0], s, ptr)

    # --- scalars -------------------------------------------------------------------------------------

    def enum_values(self, s: dict[str, Any], ptr: str) -> list[Any]:
        values = [s["const"]] if "const" in s else list(s["enum"])
        if "const" in s and "enum" in s:
            values = [v for v in values if v in s["enum"]]
        rest = {k: v for k, v in s.items() if k not in ("enum", "const")}
        kept = [v for v in values if scalar_ok(rest, v)]
        if not kept:
            key = "const" if "const" in s else "enum"
            raise SchemaError(f"no {key} value satisfies the rest of the schema", f"{ptr}/{key}")
        return kept

    def visit_enum(self, s: dict[str, Any], ptr: str, name: str) -> Node:
        values = self.enum_values(s, ptr)
        nums = [jr.number_text(v) for v in values if json_type_of(v) in ("integer", "number")]
        nodes = [jr.const_value(self.b, v) for v in values if json_type_of(v) not in ("integer", "number")]
        if nums:
            nodes.append(to_ir(literals(nums), raw_encoder, self.b, f"{name}-num"))
        return choice(*nodes)

    def bounded(self, ptr: str, key: str, value: int) -> int | None:
        if value > MAX_REPEAT:
            self.warn(
                ptr, key, f"{key}={value} exceeds llama.cpp's repetition limit {MAX_REPEAT}; not enforced"
            )
            return None
        return value

    def string_lengths(self, s: dict[str, Any], ptr: str) -> tuple[int, int | None]:
        lo = self.bounded(f"{ptr}/minLength", "minLength", int(s.get("minLength", 0))) or 0
        hi = s.get("maxLength")
        hi = None if hi is None else self.bounded(f"{ptr}/maxLength", "maxLength", int(hi))
        if hi is not None and lo > hi:
            raise SchemaError(f"minLength {lo} > maxLength {hi}", ptr)
        return lo, hi

    def string_dfa(self, s: dict[str, Any], ptr: str) -> DFA | None:
        """The DFA of a string's pattern/format constraints, or None when there are none."""
        dfas = []
        pats = s.get("pattern", [])
        for pat in pats if isinstance(pats, list) else [pats]:
            dfas.append(regex_dfa(pat, True))
        fmt = s.get("format")
        if isinstance(fmt, str):
            rx = format_regex(fmt)
            if rx is None:
                self.warn(f"{ptr}/format", "format", f"format {fmt!r} is not enforced")
            else:
                dfas.append(regex_dfa(rx))
        if not dfas:
            return None
        out = dfas[0]
        for d in dfas[1:]:
            out = intersect(out, d)
        return out

    def with_lengths(self, dfa: DFA, lo: int, hi: int | None, ptr: str) -> DFA:
        if lo == 0 and hi is None:
            return dfa
        try:
            return intersect(dfa, length_range(lo, hi))
        except SchemaError:
            self.warn(
                ptr, "maxLength", "length limits combined with pattern/format are too large; not enforced"
            )
            return dfa

    def visit_string(self, s: dict[str, Any], ptr: str, name: str) -> Node:
        lo, hi = self.string_lengths(s, ptr)
        try:
            dfa = self.string_dfa(s, ptr)
        except SchemaError as exc:
            raise SchemaError(str(exc).split(": ", 1)[-1], f"{ptr}/pattern") from None
        if dfa is None:
            if lo == 0 and hi is None:
                return jr.json_string(self.b)
            return jr.string_with_length(self.b, lo, hi)
        dfa = self.with_lengths(dfa, lo, hi, ptr)
        if not dfa.accepting or not _nonempty(dfa):
            raise SchemaError("pattern/format/length constraints admit no string", ptr)
        return seq('"', to_ir(dfa, json_encoder, self.b, f"{name}-chars"), '"')

    def number_regex(self, kind: str, s: dict[str, Any], ptr: str) -> str:
        if kind == "integer":
            lo, hi = integer_bounds(s)
            lo, hi = self.digit_bounds(lo, hi, ptr)
            if lo is None and hi is None:
                return INTEGER_RE
            if lo is not None and hi is not None and lo > hi:
                raise SchemaError(f"integer range is empty (minimum {lo} > maximum {hi})", ptr)
            return integer_range_regex(lo, hi)
        lo_f, _, hi_f, _ = number_bounds(s)
        if lo_f is not None and hi_f is not None and lo_f > hi_f:
            raise SchemaError(f"number range is empty (minimum {lo_f} > maximum {hi_f})", ptr)
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if key in s:
                self.warn(f"{ptr}/{key}", key, f"{key} on a non-integer number is not enforced")
        return NUMBER_RE

    def digit_bounds(self, lo: int | None, hi: int | None, ptr: str) -> tuple[int | None, int | None]:
        """Integer bounds as the grammar can use them: a generated integer has at most
        ``MAX_DIGITS`` digits, so a bound beyond that is no bound (and one that leaves no such
        integer is an error) — without building automata for 300-digit numbers."""
        edge = 10 ** jr.MAX_DIGITS
        if (lo is not None and lo >= edge) or (hi is not None and hi <= -edge):
            raise SchemaError(f"integer bounds leave no integer of at most {jr.MAX_DIGITS} digits", ptr)
        return (None if lo is not None and lo <= -edge else lo), (None if hi is not None and hi >= edge else hi)

    def visit_number(self, kind: str, s: dict[str, Any], ptr: str, name: str) -> Node:
        rx = self.number_regex(kind, s, ptr)
        if rx == INTEGER_RE:
            return jr.bounded_integer(self.b)
        if rx == NUMBER_RE:
            return jr.bounded_number(self.b)
        return to_ir(regex_dfa(rx), raw_encoder, self.b, f"{name}-range")

    # --- raw text ----------------------------------------------------------------------------------

    def raw_text(self, s: Any, delimiters: tuple[str, ...], name: str) -> Node:
        s = self.resolve(s, "#")
        if not _is_raw_string(s):
            return self.visit(s, "#", name)
        self.check_keywords(s, "#")
        if "enum" in s or "const" in s:
            dfa: DFA | None = literals(self.enum_values(s, "#"))
        else:
            lo, hi = self.string_lengths(s, "#")
            dfa = self.string_dfa(s, "#")
            if dfa is None and hi is not None and hi > RAW_MAX_LENGTH:
                # length x delimiter-avoidance states would make a grammar of hundreds of rules
                self.warn("#/maxLength", "maxLength", f"maxLength {hi} is not enforced (the value is raw "
                          f"text, where only a maxLength up to {RAW_MAX_LENGTH} is)")
                hi = None
            if dfa is None and (lo, hi) != (0, None):
                dfa = length_range(lo, hi)
            elif dfa is not None:
                dfa = self.with_lengths(dfa, lo, hi, "#")
        if dfa is None:
            return until(*delimiters)
        if delimiters:
            dfa = intersect(dfa, avoid_delimiters(delimiters))
        if not dfa.accepting:
            raise SchemaError("no raw string satisfies the schema without containing a delimiter", "#")
        return self.intern(name, to_ir(dfa, raw_encoder, self.b, name))


def _nonempty(dfa: DFA) -> bool:
    return bool(dfa.accepting)


def _is_any(s: Any) -> bool:
    return s is True or (isinstance(s, dict) and not (s.keys() - ANNOTATIONS))


def _is_raw_string(s: Any) -> bool:
    """A schema whose values are all strings (so the raw-text form applies)."""
    if not isinstance(s, dict) or "anyOf" in s or "oneOf" in s or "allOf" in s:
        return False
    if "enum" in s or "const" in s:
        vals = [s["const"]] if "const" in s else s["enum"]
        return bool(vals) and all(isinstance(v, str) for v in vals)
    types = declared_types(s) or inferred_types(s)
    return types == ["string"]


def _regex_literal(text: str) -> str:
    return "".join("\\" + c if not c.isalnum() else c for c in text)


# --- public API --------------------------------------------------------------------------------


def schema_to_ir(
    schema: Any, builder: GrammarBuilder, name: str = "schema"
) -> tuple[Ref, list[SchemaWarning]]:
    """Compile ``schema`` into rules of ``builder``; a reference to the value rule and the warnings.

    Raises :class:`SchemaError` (with a JSON pointer) for unsatisfiable or malformed schemas."""
    check_schema(schema)
    comp = _Compiler(schema, builder)
    node = _guarded(comp.visit, schema, "#", name)
    if not isinstance(node, Ref):
        node = builder.intern(_rule_name(name), node)
    return node, comp.warnings  # type: ignore[return-value]


def schema_text_ir(
    schema: Any, delimiters: tuple[str, ...], builder: GrammarBuilder, name: str = "schema-text"
) -> tuple[Node, list[SchemaWarning]]:
    """Raw unquoted text for a tagged argument, stopping before any of ``delimiters``.

    * plain string schema: ``Until(delimiters)`` (both back-ends implement it exactly);
    * string with enum/const/pattern/format/min-maxLength: the constraint's DFA intersected with
      "contains no delimiter and does not end with a proper prefix of one" (see
      :func:`pegtool.grammar.automata.avoid_delimiters`): PEG and CFG agree, at the price that
      such a value may not end with, e.g., ``<`` when a delimiter starts with ``<``;
    * any other schema: the JSON value grammar (the argument is JSON text).
    """
    check_schema(schema)
    comp = _Compiler(schema, builder)
    return _guarded(comp.raw_text, schema, delimiters, name), comp.warnings


def _guarded(visit: Any, *args: Any) -> Any:
    """Run a compiler entry point; a schema whose ``$ref`` / ``allOf`` chains recurse past what
    Python allows is a :class:`SchemaError`, not a :class:`RecursionError`."""
    try:
        return visit(*args)
    except RecursionError:
        raise SchemaError("schema references nest too deeply to compile (a $ref/allOf cycle?)") from None


@lru_cache(maxsize=256)
def _lower_cached(grammar: Grammar) -> tuple[Grammar, tuple[SchemaWarning, ...]]:
    b = GrammarBuilder()
    for rule, node in grammar.rules:
        b.define(rule, node)
    replaced: dict[Node, Node] = {}
    found: list[SchemaWarning] = []
    for _, node in grammar.rules:
        for sub in walk(node):
            if isinstance(sub, (Json, JsonSchema, SchemaText)) and sub not in replaced:
                replaced[sub] = _lower_node(sub, b, found)
    if not replaced:
        return grammar, ()
    out = GrammarBuilder()
    for rule, node in b.rules.items():
        out.define(rule, _substitute(node, replaced) if rule in grammar else node)
    return out.build(grammar.root), tuple(dict.fromkeys(found))


def _lower_node(node: Node, b: GrammarBuilder, found: list[SchemaWarning]) -> Node:
    if isinstance(node, Json):
        return jr.json_value(b)
    if isinstance(node, JsonSchema):
        ref, warns = schema_to_ir(json.loads(node.schema), b, "schema")
        found.extend(replace(w, schema=node.schema) for w in warns)
        return ref
    assert isinstance(node, SchemaText)
    text, warns = schema_text_ir(json.loads(node.schema), node.delimiters, b, "schema-text")
    found.extend(replace(w, schema=node.schema) for w in warns)
    return text


def _substitute(node: Node, table: dict[Node, Node]) -> Node:
    if node in table:
        return table[node]
    return map_children(node, lambda child: _substitute(child, table))


def lower(grammar: Grammar) -> tuple[Grammar, list[SchemaWarning]]:
    """An equivalent grammar with every ``Json``/``JsonSchema``/``SchemaText`` node replaced by a
    reference to core-node rules (shared rules are defined once). Cached per grammar. The
    warnings are returned, not issued: the caller knows where the schemas came from (see
    :func:`issue_warnings`; :func:`pegtool.to_gbnf` issues them)."""
    lowered, found = _lower_cached(grammar)
    return lowered, list(found)


__all__ = [
    "SchemaWarning",
    "UnsupportedSchemaWarning",
    "issue_warnings",
    "lower",
    "schema_text_ir",
    "schema_to_ir",
]
