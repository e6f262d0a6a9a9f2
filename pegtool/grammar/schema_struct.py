"""Stage: grammar — JSON Schema objects and arrays to IR (used by :mod:`pegtool.grammar.schema`).

Objects: declared keys in a fixed order (:func:`property_order`: required keys first, like
llama.cpp), then extra keys. With ``kv_i`` the member rule of
key ``i`` and ``sep = ws "," ws``::

    rest_i  = sep kv_i rest_{i+1}            (key i required)
            | (sep kv_i)? rest_{i+1}         (key i optional)
    first_i = kv_i rest_{i+1}                (key i required)
            | kv_i rest_{i+1} / first_{i+1}  (key i optional; ordered choice is safe: the
                                              alternatives start with different key literals)

``rest_i`` rules are interned, so the grammar is linear in the number of keys (no exponential
blow-up, no leading comma). Extra keys form a final repeated entry ``(sep kv_*)*``.

Arrays: ``prefixItems`` positions then ``items``; ``minItems``/``maxItems`` become nested
optionals over the prefix and a bounded repetition for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pegtool.errors import SchemaError
from pegtool.grammar import json_rules as jr
from pegtool.grammar.automata import MAX_CP, complement, json_encoder, literals, to_ir
from pegtool.grammar.builder import EPS, choice, opt, repeat, seq
from pegtool.grammar.ir import Node
from pegtool.grammar.schema_norm import escape_pointer

if TYPE_CHECKING:
    from pegtool.grammar.schema import _Compiler


def _sep(c: _Compiler) -> Node:
    return seq(jr.ws(c.b), ",", jr.ws(c.b))


def _member(c: _Compiler, key_node: Node, value: Node) -> Node:
    return seq(key_node, jr.ws(c.b), ":", jr.ws(c.b), value)


def visit_object(c: _Compiler, s: dict[str, Any], ptr: str, name: str) -> Node:
    props: dict[str, Any] = dict(s.get("properties", {}))
    required = list(s.get("required", []))
    addl = s.get("additionalProperties", None if props else True)
    if addl is None:
        addl = False
    for key in required:
        if key not in props:
            if addl is False:
                raise SchemaError(
                    f"required property {key!r} is not allowed (additionalProperties: false)", ptr
                )
            props[key] = addl
    entries: list[tuple[Node, bool]] = []
    for key in property_order(props, required):
        sub = props[key]
        kptr = f"{ptr}/properties/{escape_pointer(key)}"
        if sub is False:
            if key in required:
                raise SchemaError(f"required property {key!r} has schema `false`", kptr)
            continue
        value = c.visit(sub, kptr, f"{name}-{key}")
        kv = c.intern(f"{name}-{key}-kv", _member(c, jr.string_literal(key), value))
        entries.append((kv, key in required))
    extra = _extra_member(c, addl, list(props), ptr, name)
    if not entries and extra is None:
        return seq("{", jr.ws(c.b), "}")
    body = ordered_members(entries, _sep(c), extra, lambda i, rest: c.intern(f"{name}-rest-{i}", rest))
    may_be_empty = not any(req for _, req in entries)
    return jr.bracketed(c.b, "{", body, "}", may_be_empty)


def property_order(props: dict[str, Any], required: list[str]) -> list[str]:
    """The order keys must appear in: required keys in ``required`` order, then the optional ones in
    ``properties`` order. Like llama.cpp (required first); taking the required order from the
    ``required`` list keeps it stable even when a schema went through sorted-key canonical JSON."""
    req = [k for k in dict.fromkeys(required) if k in props]
    return req + [k for k in props if k not in req]


def _extra_member(c: _Compiler, addl: Any, declared: list[str], ptr: str, name: str) -> Node | None:
    if addl is False:
        return None
    value = c.visit(addl, f"{ptr}/additionalProperties", f"{name}-additional")
    if declared:
        key_dfa = complement(literals(declared), ((0, MAX_CP),))
        key = seq('"', to_ir(key_dfa, json_encoder, c.b, f"{name}-additional-key"), '"')
    else:
        key = jr.json_string(c.b)
    return c.intern(f"{name}-additional-kv", _member(c, key, value))


def ordered_members(entries: list[tuple[Node, bool]], sep: Node, extra: Node | None = None,
                    intern: Callable[[int, Node], Node] | None = None) -> Node:
    """``first_0`` of the module docstring: the members ``(node, required)`` in their order, each at
    most once, ``sep`` between two, then ``extra`` members repeated; never the empty string (wrap
    it in an optional when no member is required). ``intern(i, rest_i)`` may turn the shared
    ``rest`` tails into rules. Also used for tagged tool arguments (:mod:`pegtool.grammar.chat`)."""
    rest = repeat(seq(sep, extra), 0, None) if extra is not None else EPS  # rest_{i+1}
    # first_{i+1}, its alternatives last to first (one choice() at the end: building it step by
    # step re-flattens and re-compares every alternative, cubic in the number of members)
    firsts: list[Node] = [seq(extra, rest)] if extra is not None else []
    for i in range(len(entries) - 1, -1, -1):
        node, req = entries[i]
        here = seq(node, rest)
        if req:
            firsts.clear()
        firsts.append(here)
        if i:
            step = seq(sep, node)
            rest = seq(step if req else opt(step), rest)
            if intern is not None and rest != EPS:
                rest = intern(i, rest)
    assert firsts, "no members"
    return choice(*reversed(firsts))


# --- arrays -----------------------------------------------------------------------------------


def visit_array(c: _Compiler, s: dict[str, Any], ptr: str, name: str) -> Node:
    items, prefix = _array_items(s)
    lo = int(s.get("minItems", 0))
    hi = s.get("maxItems")
    if hi is not None and lo > hi:
        raise SchemaError(f"minItems {lo} > maxItems {hi}", ptr)
    if lo > len(prefix) and items is False:
        raise SchemaError(f"minItems {lo} but at most {len(prefix)} items are allowed", ptr)
    lo = c.bounded(f"{ptr}/minItems", "minItems", lo) or 0
    hi = None if hi is None else c.bounded(f"{ptr}/maxItems", "maxItems", int(hi))
    pnodes = [c.visit(p, f"{ptr}/prefixItems/{i}", f"{name}-{i}") for i, p in enumerate(prefix)]
    item = None if items is False else c.visit(items, f"{ptr}/items", f"{name}-item")
    if hi == 0 or (not pnodes and item is None):
        if lo > 0:
            raise SchemaError("minItems > 0 but no item is allowed", ptr)
        return seq("[", jr.ws(c.b), "]")
    first = pnodes[0] if pnodes else item
    assert first is not None
    body = seq(first, _array_tail(c, pnodes, item, 1, lo, hi))
    return jr.bracketed(c.b, "[", body, "]", lo == 0)


def _array_items(s: dict[str, Any]) -> tuple[Any, list[Any]]:
    if "prefixItems" in s:
        return s.get("items", True), list(s["prefixItems"])
    items = s.get("items", True)
    if isinstance(items, list):  # draft 2019 tuple form
        return s.get("additionalItems", True), items
    return items, []


def _array_tail(c: _Compiler, pnodes: list[Node], item: Node | None, i: int, lo: int, hi: int | None) -> Node:
    """Items ``i..`` of the array, each preceded by a comma."""
    if hi is not None and i >= hi:
        return EPS
    if i < len(pnodes):
        step = seq(_sep(c), pnodes[i], _array_tail(c, pnodes, item, i + 1, lo, hi))
        return step if i < lo else opt(step)
    if item is None:
        return EPS
    return repeat(seq(_sep(c), item), max(lo - i, 0), None if hi is None else hi - i)
