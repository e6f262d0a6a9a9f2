"""Dialects — pythonic calls: ``[get_weather(city='Paris', days=3), get_time()]``.

A family of models writes tool calls as Python function calls with keyword arguments whose
values are Python literals (``True``, ``None``, ``{'a': 1}``). The section around them varies:

=====================================  ======================================================
LFM2 / LFM2.5                          ``<|tool_call_start|>[f(a=1), g(b='x')]<|tool_call_end|>``
Llama 3.2 / 3.3 / 4, Gemma 3, ToolACE  ``[f(a=1), g(b='x')]`` (the whole reply), or a marker
                                       such as ``<tool>[…]</tool>`` named by the instructions
OLMo 3                                 ``<function_calls>f(a=1)\\ng(b="x")</function_calls>``
=====================================  ======================================================

Recognised only when the renders show no call (a template that renders its calls is read from
the renders), on evidence the template itself gives (:meth:`PythonicCalls.detect`):

* the call marker ``<|tool_call_start|>`` or ``<function_calls>`` declared as a special token or
  named in the tool instructions;
* the tool list wrapped in ``<|tool_list_start|>`` (the call marker's sibling), or introduced by
  ``List of tools: [`` (LFM2.5's phrasing; the weakest evidence, listed by ``pegtool doctor``);
* tool instructions that describe the format: ``[func_name1(params_name1=params_value1, …)]``,
  with the marker around the list if they name one (``<tool>[…]</tool>``).

Generation is held to the strict form (the marker, the list, the tools' declared arguments in
schema order, each value a Python literal under its schema, ``", "`` between calls). Reading
also takes white space anywhere, arguments in any order, JSON literals (``true``, ``null``), raw
new lines and unescaped inner quotes in strings, leading zeros, sets and tuples; values are
captured as ``ARG_PY`` and converted by :class:`PythonArgs`. A call to a tool that was not
offered, and prose, stay content.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pegtool.analysis.record import Analysis, TaggedArgs, ToolFormat, Tools
from pegtool.dialects.base import (
    TOOL_LIST,
    CallsOptions,
    Evidence,
    NamedDialect,
    Notation,
    TemplateFacts,
    ValueRenders,
)
from pegtool.dialects.python_literal import python_for_schema
from pegtool.grammar.builder import (
    GrammarBuilder,
    any_char,
    atomic,
    capture,
    chars,
    choice,
    lenient,
    lit,
    not_,
    opt,
    peek,
    plus,
    ref,
    space,
    star,
)
from pegtool.grammar.ir import Node, Tag
from pegtool.grammar.schema_struct import ordered_members, property_order
from pegtool.grammar.variants import PYTHON_END, PYTHON_START, repair

if TYPE_CHECKING:
    from pegtool.parser.engine import CaptureNode


@dataclass(frozen=True)
class Section:
    """Where the calls sit: ``start`` and ``end`` around them (the list brackets included when
    the calls form a Python list), ``separator`` between two calls."""

    start: str
    end: str
    separator: str = ", "


LFM2 = Section("<|tool_call_start|>[", "]<|tool_call_end|>")
BARE_LIST = Section("[", "]")
OLMO = Section("<function_calls>", "</function_calls>", "\n")

#: The usual description of the format in tool instructions (Llama 3.2 / 3.3, Gemma 3, ToolACE,
#: BFCL): ``[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)]``,
#: with an optional marker in front of the list.
_DESCRIBED = re.compile(r"(<[A-Za-z_|][^<>\s]*>)?\[\s*func_name\w*\(\s*params?(?:_name)?\d*\s*=\s*(?:params?_)?value")
_LIST_PHRASE = re.compile(r"List of tools: ?\[")


class PythonicCalls(NamedDialect):
    name = "pythonic"

    # analysis ----------------------------------------------------------------------------------
    def detect(self, facts: TemplateFacts) -> Evidence | None:
        if facts.analysis.tools.format is not ToolFormat.NONE:
            return _history_list(facts)
        for marker in ("<|tool_call_start|>", "<function_calls>"):
            where = facts.declares(marker)
            if where:
                return Evidence(where, f"the template declares {marker}")
        instructions = facts.tool_instructions
        if "<|tool_list_start|>" in instructions:
            return Evidence(TOOL_LIST, "the tool list is wrapped in <|tool_list_start|> (the call marker's sibling)")
        m = _DESCRIBED.search(instructions)
        if m is not None:
            return Evidence(TOOL_LIST, f"the tool instructions describe the format: {m.group()}…")
        if _LIST_PHRASE.search(instructions):
            return Evidence(TOOL_LIST, "the tool list is introduced by 'List of tools: ['")
        return None

    def apply(self, a: Analysis, evidence: Evidence) -> Analysis:
        return replace(a, tools=_tools(_section(evidence)))

    # grammar -----------------------------------------------------------------------------------
    def calls_region(self, b: GrammarBuilder, a: Analysis, fns: Sequence[dict[str, Any]],
                     opts: CallsOptions) -> tuple[str, Node] | None:
        t = a.tools
        sec = Section(t.section_start, t.section_end, t.call_separator or ", ")
        bare = sec.start == "["
        calls = choice(*[_call(b, f) for f in sorted(fns, key=lambda f: -len(f.get("name", "")))])
        one = b.intern("pythonic-call", atomic(calls))
        strict_many = one + star(lit(sec.separator) + one) if opts.parallel else one
        loose_sep = space() + opt(lit(",") + space())
        loose_many = one + star(loose_sep + one) + space() + opt(lit(",") + space())
        loose_start, loose_end = _loose_marker(sec.start), _loose_marker(sec.end)
        if bare:  # Llama 4 may wrap the list in its python tokens
            loose_start = opt(repair(f"the list was wrapped in {PYTHON_START}", lit(PYTHON_START)) + space()) \
                + loose_start
            loose_end = loose_end + opt(space() + lit(PYTHON_END))
        body = lenient(lit(sec.start) + strict_many + lit(sec.end),
                       loose_start + space() + loose_many + loose_end)
        # a bare list has no marker: the calls are the whole reply (no trigger, the chat grammar
        # reads them only at the start of the output)
        trig = "" if bare else sec.start.rstrip("[")
        return trig, body + space()


def _history_list(facts: TemplateFacts) -> Evidence | None:
    """A template that renders its calls is read from the renders, except a bare list of calls
    ``[f(k="v")]`` next to tool instructions that describe the pythonic format (Llama 4's
    pythonic template renders every value as ``k="%s"`` text, while the model, as told, writes
    Python literals): the instructions say what the model emits, the renders only the history."""
    t = facts.analysis.tools
    if (t.format is not ToolFormat.TAG_WITH_TAGGED or t.section_start.strip() != "["
            or t.section_end.strip() != "]" or t.name_suffix != "("):
        return None
    m = _DESCRIBED.search(facts.tool_instructions)
    if m is None or m.group(1):
        return None
    return Evidence(TOOL_LIST, f"the tool instructions describe the format: {m.group()}… "
                               "(the renders show the calls as a list of that shape)")


def _section(evidence: Evidence) -> Section:
    d = evidence.detail
    if "<function_calls>" in d:
        return OLMO
    m = _DESCRIBED.search(d)
    if m is not None:
        marker = m.group(1) or ""
        if not marker:
            return BARE_LIST
        close = marker[:1] + "/" + marker[1:] if not marker.startswith("<|") else marker
        return Section(marker + "[", "]" + close)
    return LFM2


def _tools(sec: Section) -> Tools:
    """The record; a bare list records no separator (the chat grammar would take one for the
    marker of calls after content)."""
    return Tools(format=ToolFormat.NAMED, section_start=sec.start, section_end=sec.end,
                 call_separator="" if sec.start == "[" else sec.separator, parallel=True)


def _loose_marker(marker: str) -> Node:
    """A section marker read with white space allowed next to its list bracket."""
    if marker.endswith("[") and len(marker) > 1:
        return lit(marker[:-1]) + space() + lit("[")
    if marker.startswith("]") and len(marker) > 1:
        return lit("]") + space() + lit(marker[1:])
    return lit(marker)


# --- one call ------------------------------------------------------------------------------------

_IDENT_START = [("a", "z"), ("A", "Z"), ("_", "_")]
_IDENT = [("a", "z"), ("A", "Z"), ("0", "9"), ("_", "_")]


def _call(b: GrammarBuilder, fn: dict[str, Any]) -> Node:
    name, params = fn.get("name", ""), fn.get("parameters") or {}
    props: dict[str, Any] = params.get("properties") or {} if isinstance(params, dict) else {}
    required = [k for k in params.get("required", []) if k in props] if isinstance(params, dict) else []
    members = [(_arg(lit(k), capture(Tag.ARG_PY, python_for_schema(b, v))), k in required)
               for k, v in ((k, props[k]) for k in property_order(props, required))
               if _IDENT_RE.fullmatch(k)]
    strict_args = ordered_members(members, lit(", ")) if members else lit("")
    if members and not any(req for _, req in members):
        strict_args = opt(strict_args)
    # reading: the declared arguments in the generated order (white space and a trailing comma
    # allowed), else any keyword arguments, reported as a repair
    gap_sep = space() + lit(",") + space()
    declared = [(_arg(lit(k), capture(Tag.ARG_PY, loose_value(b)), True), req) for (_, req), k in
                zip(members, [k for k in property_order(props, required) if _IDENT_RE.fullmatch(k)], strict=True)]
    in_order = ordered_members(declared, gap_sep) if declared else lit("")
    if declared and not any(req for _, req in declared):
        in_order = opt(in_order)
    any_arg = _arg(chars(_IDENT_START) + star(chars(_IDENT)), capture(Tag.ARG_PY, loose_value(b)), True)
    any_args = opt(any_arg + star(gap_sep + any_arg))
    trailing = space() + opt(lit(",") + space())
    loose_args = choice(in_order + trailing + peek(lit(")")), repair(ARGS_NOTE) + any_args + trailing)
    args = lenient(strict_args, space() + loose_args)
    return capture(Tag.TOOL_CALL, capture(Tag.TOOL_NAME, lit(name)) + lit("(") + args + lit(")"))


_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ARGS_NOTE = "arguments not in the generated form (another order, a required one missing, or an undeclared name)"


def _arg(name: Node, value: Node, loose: bool = False) -> Node:
    eq = space() + lit("=") + space() if loose else lit("=")
    return capture(Tag.ARG, capture(Tag.ARG_NAME, name) + eq + value)


# --- reading values --------------------------------------------------------------------------------

#: where a string ends when its quote is not escaped: the quote followed by what may follow a value
_AFTER_VALUE = ",)]}:"


def loose_value(b: GrammarBuilder) -> Node:
    """Any value as reading accepts it (rules ``pyc-*`` of ``b``): Python and JSON literals, sets
    and tuples, strings in either quote with raw new lines; a quote of the string's own kind ends
    it only where a value may end (so ``'sed -n '1,5p' f'`` is one string)."""
    if b.has("pyc-value"):
        return ref("pyc-value")
    value = ref("pyc-value")
    gap = space()
    items = opt(value + star(gap + lit(",") + gap + value) + gap + opt(lit(",") + gap))
    pair = value + gap + lit(":") + gap + value
    pairs = opt(pair + star(gap + lit(",") + gap + pair) + gap + opt(lit(",") + gap))
    digits = plus(chars([("0", "9")]))
    tail = opt(lit(".") + star(chars([("0", "9")]))) + opt(chars("eE") + opt(chars("+-")) + digits)
    number = opt(chars("+-")) + choice(
        repair("a number written with leading zeros", lit("0") + digits + tail),
        digits + tail, lit(".") + digits + opt(chars("eE") + opt(chars("+-")) + digits))
    words = choice(lit("True"), lit("False"), lit("None"),
                   repair("a JSON literal (true / false / null) where Python's was due",
                          choice(lit("true"), lit("false"), lit("null"))))
    b.define("pyc-value", choice(
        lit("[") + gap + items + lit("]"),
        lit("(") + gap + items + lit(")"),
        lit("{") + gap + choice(lit("}"), pairs + lit("}"),
                                repair("a set where a list was due", items + lit("}"))),
        _string("'"), _string('"'), number, words))
    return value


def _string(q: str) -> Node:
    """A string as generation writes it (escapes only), else one holding raw new lines or
    unescaped quotes of its own kind, reported as a repair."""
    ends = peek(space() + choice(chars(_AFTER_VALUE), _eof()))
    plain = lit(q) + star(choice(chars(q + "\\\n\r", negated=True), lit("\\") + any_char())) + lit(q) + ends
    closing = lit(q) + ends
    body = star(choice(lit("\\") + any_char(), not_(closing) + any_char()))
    return choice(plain, repair("a string with raw new lines or unescaped inner quotes", lit(q) + body + lit(q)))


def _eof() -> Node:
    return not_(any_char())


def _inf_safe(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_inf_safe(v) for v in value)
    if isinstance(value, dict):
        return all(_inf_safe(v) for v in value.values())
    return True


class _Reader:
    """Reads the values :func:`loose_value` accepts (the same string-end rule)."""

    def __init__(self, text: str) -> None:
        self.t = text

    def ws(self, i: int) -> int:
        while i < len(self.t) and self.t[i] in " \t\r\n":
            i += 1
        return i

    def value(self, i: int) -> tuple[Any, int]:
        t = self.t
        i = self.ws(i)
        c = t[i:i + 1]
        if c in ("'", '"'):
            return self.string(i)
        if c in "[(":
            return self.items(i + 1, "]" if c == "[" else ")")
        if c == "{":
            return self.braces(i + 1)
        for word, val in (("True", True), ("False", False), ("None", None), ("true", True),
                          ("false", False), ("null", None)):
            if t.startswith(word, i):
                return val, i + len(word)
        m = _NUMBER.match(t, i)
        if m is None or not m.group():
            raise ValueError(f"no value at {i}")
        text = m.group()
        num: Any = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
        return num, m.end()

    def string(self, i: int) -> tuple[str, int]:
        t, q = self.t, self.t[i]
        out: list[str] = []
        j = i + 1
        while j < len(t):
            c = t[j]
            if c == "\\" and j + 1 < len(t):
                m = _HEX.match(t, j)
                if m is not None:
                    out.append(chr(int(m.group(1) or m.group(2), 16)))
                    j = m.end()
                    continue
                out.append(_ESCAPES.get(t[j + 1], "\\" + t[j + 1]))
                j += 2
                continue
            if c == q:
                k = self.ws(j + 1)
                if k >= len(t) or t[k] in _AFTER_VALUE:
                    return "".join(out), j + 1
            out.append(c)
            j += 1
        raise ValueError("unterminated string")

    def items(self, i: int, close: str) -> tuple[list[Any], int]:
        out: list[Any] = []
        i = self.ws(i)
        while not self.t.startswith(close, i):
            v, i = self.value(i)
            out.append(v)
            i = self.ws(i)
            if self.t.startswith(",", i):
                i = self.ws(i + 1)
            elif not self.t.startswith(close, i):
                raise ValueError(f"expected ',' at {i}")
        return out, i + 1

    def braces(self, i: int) -> tuple[Any, int]:
        """A dict, or a set (read as a list)."""
        i = self.ws(i)
        if self.t.startswith("}", i):
            return {}, i + 1
        _, j = self.value(i)
        j = self.ws(j)
        if not self.t.startswith(":", j):
            rest, end = self.items(i, "}")
            return rest, end
        out: dict[str, Any] = {}
        while True:
            key, i = self.value(i)
            i = self.ws(i)
            if not self.t.startswith(":", i):
                raise ValueError(f"expected ':' at {i}")
            val, i = self.value(i + 1)
            out.setdefault(key if isinstance(key, str) else json.dumps(key), val)
            i = self.ws(i)
            if self.t.startswith(",", i):
                i = self.ws(i + 1)
            if self.t.startswith("}", i):
                return out, i + 1


_HEX = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4}))")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0", "b": "\b", "f": "\f",
            "\n": ""}


def python_value_json(text: str) -> str:
    """The JSON text of one argument value as reading accepts it; the text as a JSON string when
    it does not read (never raises).

    >>> python_value_json("{'a': None, 'b': (1, True)}"), python_value_json("07"), python_value_json("'it\\\\'s'")
    ('{"a": null, "b": [1, true]}', '7', '"it\\'s"')
    """
    try:
        value, end = _Reader(text).value(0)
        if text[end:].strip() or not _inf_safe(value):
            raise ValueError("text after the value")
        return json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError, IndexError):
        return json.dumps(text, ensure_ascii=False)


class PythonArgs(Notation):
    """The values of pythonic calls, captured as ``ARG_PY`` (only the pythonic dialect writes them;
    no template's tagged arguments are recognised as this notation)."""

    name = "pythonic_args"
    tag = Tag.ARG_PY

    def detect(self, r: ValueRenders) -> tuple[TaggedArgs, Evidence] | None:
        del r
        return None

    def value(self, b: GrammarBuilder, ta: TaggedArgs, schema: Any, *, strict: bool) -> Node:
        return python_for_schema(b, schema) if strict else loose_value(b)

    def to_json(self, text: str, node: CaptureNode) -> str:
        return python_value_json(node.text(text).strip())


DIALECT = PythonicCalls()
NOTATION = PythonArgs()

__all__ = ["BARE_LIST", "DIALECT", "LFM2", "NOTATION", "OLMO", "PythonArgs", "PythonicCalls", "Section",
           "loose_value", "python_value_json"]
