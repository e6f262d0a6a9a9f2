"""Stage: grammar — a printer that shows an IR grammar to humans in PEG notation.

One rule per line, ``name <- expression``, with the operators of the IR module docstring:
``/`` ordered choice, ``e{m,n}`` repetition (``?``, ``*``, ``+`` for the common bounds), ``&e``,
``!e``, ``.``, ``[a-z]``, ``until("d1", "d2")``, ``json``, ``json<schema>``, ``text<schema>``,
``tag:(e)`` for a capture, ``atomic(e)``, ``trigger(e)`` and ``lenient(e, r)``.

>>> from pegtool.grammar.builder import lit, chars, star, capture, until, GrammarBuilder
>>> from pegtool.grammar.ir import Tag
>>> b = GrammarBuilder()
>>> _ = b.define("root", capture(Tag.CONTENT, until("<tool_call>")) + star(chars("ab") | "x"))
>>> print(to_text(b.build()))
root <- content:(until("<tool_call>")) ([a-b] / "x")*
"""

from __future__ import annotations

import json

from pegtool.grammar.ir import (
    AnyChar,
    Atomic,
    Capture,
    CharClass,
    Choice,
    End,
    Epsilon,
    Grammar,
    Json,
    JsonSchema,
    Lenient,
    Literal,
    Node,
    Not,
    Peek,
    Ref,
    Repeat,
    SchemaText,
    Seq,
    Start,
    Trigger,
    Until,
)

_ATOMS = (Epsilon, Start, End, Literal, AnyChar, CharClass, Until, Json, JsonSchema, SchemaText, Ref)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _class_char(cp: int) -> str:
    ch = chr(cp)
    if ch in "]\\^-":
        return "\\" + ch
    if cp < 0x20 or cp == 0x7F:
        return f"\\x{cp:02X}"
    return ch


def _char_class(node: CharClass) -> str:
    parts = [_class_char(lo) if lo == hi else f"{_class_char(lo)}-{_class_char(hi)}" for lo, hi in node.ranges]
    return "[" + ("^" if node.negated else "") + "".join(parts) + "]"


def _bounds(node: Repeat) -> str:
    known = {(0, 1): "?", (0, None): "*", (1, None): "+"}
    if (node.min, node.max) in known:
        return known[(node.min, node.max)]
    if node.max == node.min:
        return f"{{{node.min}}}"
    return f"{{{node.min},{'' if node.max is None else node.max}}}"


def _atom(node: Node) -> str:
    simple: dict[type, str] = {Epsilon: "ε", Start: "^", End: "!.", AnyChar: ".", Json: "json"}
    if type(node) in simple:
        return simple[type(node)]
    if isinstance(node, Literal):
        return _quote(node.text)
    if isinstance(node, CharClass):
        return _char_class(node)
    if isinstance(node, Until):
        return "until(" + ", ".join(_quote(d) for d in node.delimiters) + ")"
    if isinstance(node, JsonSchema):
        return f"json<{node.schema}>"
    if isinstance(node, SchemaText):
        return f"text<{node.schema}>(" + ", ".join(_quote(d) for d in node.delimiters) + ")"
    assert isinstance(node, Ref)
    return node.name


def _wrapped(node: Node) -> str:
    text = to_expr(node)
    return text if isinstance(node, _ATOMS) or isinstance(node, (Capture, Atomic, Trigger, Lenient)) else f"({text})"


def to_expr(node: Node) -> str:
    """One expression in PEG notation."""
    if isinstance(node, _ATOMS):
        return _atom(node)
    if isinstance(node, Seq):
        return " ".join(_wrapped(i) if isinstance(i, Choice) else to_expr(i) for i in node.items)
    if isinstance(node, Choice):
        return " / ".join(to_expr(a) for a in node.alts)
    if isinstance(node, Repeat):
        return _wrapped(node.item) + _bounds(node)
    if isinstance(node, Peek):
        return "&" + _wrapped(node.item)
    if isinstance(node, Not):
        return "!" + _wrapped(node.item)
    if isinstance(node, Capture):
        note = f"[{node.note}]" if node.note else ""
        return f"{node.tag.value}{note}:({to_expr(node.item)})"
    if isinstance(node, Atomic):
        return f"atomic({to_expr(node.item)})"
    if isinstance(node, Trigger):
        return f"trigger({to_expr(node.item)})"
    if isinstance(node, Lenient):
        return f"lenient({to_expr(node.item)}, {to_expr(node.loose)})"
    raise TypeError(f"not an IR node: {node!r}")


def to_text(grammar: Grammar) -> str:
    """The whole grammar, one ``name <- expression`` line per rule, root first."""
    return "\n".join(f"{name} <- {to_expr(body)}" for name, body in grammar.rules)
