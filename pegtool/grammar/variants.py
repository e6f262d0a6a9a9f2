"""Stage: grammar — what models write that their template never shows (the reading side only).

A template renders a call as it appears in the *history*; the model writing it produces close
relatives of that form every day: the call without its outer wrapper, the section opener left out,
Mistral's ``[CALL_ID]`` missing, a JSON call pretty-printed or with ``"arguments"`` where the
template says ``"parameters"``, arguments as a JSON-encoded string or a Python dict, a raw value
that contains the text of its own closing tag. Each variant here is derived from the markers the
analysis found (never from a template name) and only enters the *read* side of a ``Lenient``
node: the GBNF still holds generation to the rendered form. Wherever a parse goes through a
variant, a ``REPAIR`` capture records it, and the mapper reports its note in ``msg.diagnostics``.
A call is never invented: every variant still needs an offered tool's name.

Variants, by the evidence that triggers them:

* **wrapper dropped** — ``call_start`` is a marker ``W`` followed by more text and ``call_end``
  ends with ``W``'s closing marker (``<tool_call>\\n<function=`` … ``</function>\\n</tool_call>``,
  ``<|tool_call>call:`` … ``}<tool_call|>``): a call may start after ``W`` (its closer then optional);
* **section opener / closer missing** — a section marker pair (``<｜tool▁calls▁begin｜>`` …): calls
  may start at the per-call marker, the closer may be absent;
* **id missing** — a per-call marker holding an id slot (``[CALL_ID]{{id}}[ARGS]``): the id
  marker and id may be absent, and before JSON arguments the ``[ARGS]`` marker too;
* **JSON list / name-first** — a JSON-argument dialect with a per-call marker may write the JSON
  list of call objects after it (older Mistral); a JSON-list dialect with a section marker may
  write ``marker name{json}`` calls (newer Mistral);
* **loose call objects** — JSON calls in any key order and layout, ``arguments`` / ``parameters``,
  extra keys (``"type": "function"``), a nested ``function`` object, single-quoted keys, a list of
  calls; a ``<|python_tag|>`` before a JSON call that has no start marker (Llama 3.x) is dropped, and so
  are ``<|python_start|>`` … ``<|python_end|>`` around it (Llama 4);
* **arguments** — a JSON-encoded string holding the object, or a Python literal dict;
* **bare JSON lists** — a list of calls with no marker (xLAM) inside a ```` ```json ```` fence,
  after ``[TOOL_CALLS]`` or inside ``<tool_call>`` … ``</tool_call>``;
* **raw values** — a value's end marker only ends it when the next argument or the call end
  follows (``print("</arg_value>")`` stays inside the value); a value between Python quotes that
  holds an escape (``'it\\'s'``) reads as Python reads it (OLMo 3);
* **open schemas** — a tool whose schema allows other properties reads any argument name;
* **marker-quoted values** — a JSON-quoted string, a bare word or JSON where the template's own
  notation was due (Gemma 4).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pegtool.analysis.record import ID_SLOT, JsonCall, ToolFormat, Tools
from pegtool.dialects.python_literal import python_string, python_value
from pegtool.grammar.builder import (
    GrammarBuilder,
    atomic,
    capture,
    chars,
    choice,
    json_value,
    lit,
    not_,
    opt,
    peek,
    plus,
    ref,
    space,
    star,
    until,
)
from pegtool.grammar.ir import Node, Tag

#: A special-looking marker: ``<tag>``, ``</tag>``, ``<|tag|>``, ``<|tag>``, ``<tag|>``,
#: ``<｜tag｜>``, ``[TAG]``.
_MARKER = re.compile(r"<\|?/?[^<>\s|｜]+\|?>|<｜[^｜]+｜>|\[[A-Z_]+\]")
#: Llama 3.x's tool-call token, written before a JSON call in a dialect that renders none.
PYTHON_TAG = "<|python_tag|>"
#: Llama 4's python tokens, which its models may write around a call
PYTHON_START, PYTHON_END = "<|python_start|>", "<|python_end|>"
#: Layouts of the first key of a JSON call that has no start marker (pretty-printed, in a list).
_JSON_OPENINGS = ("{ ", "{\n", "{\n  ", "{\n    ", "{\n\t", "[{", "[ {", "[\n  {\n    ", "[\n{\n  ", "[\n  {")
_NAME_CHARS = [("a", "z"), ("A", "Z"), ("0", "9"), ("_", "_"), ("-", "."), ("$", "$"), ("\u00c0", "\uffff")]


#: Content wrappers that the models of one family write in place of each other: Cohere's Command
#: R7B renders ``<|START_RESPONSE|>``, Command A / Cohere 2 ``<|START_TEXT|>``, and both
#: families' outputs carry either (vLLM's Command 3 and Command 4 parser tests give each parser
#: ``<|START_RESPONSE|>…<|END_RESPONSE|>`` replies and list both wrappers as its markers).
SIBLING_WRAPPERS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("<|START_RESPONSE|>", "<|END_RESPONSE|>"), ("<|START_TEXT|>", "<|END_TEXT|>")),
)


def sibling_wrappers(start: str, end: str) -> list[tuple[str, str]]:
    """The other content wrappers of the family whose wrapper is ``start`` … ``end`` (reading only)."""
    own = (start.strip(), end.strip())
    for family in SIBLING_WRAPPERS:
        if own in family:
            return [pair for pair in family if pair != own]
    return []


def repair(note: str, item: Node | str = "") -> Node:
    """``item`` (nothing by default) recorded as a repair with ``note``."""
    return capture(Tag.REPAIR, item, note)


@dataclass(frozen=True)
class Shape:
    """Another form of one call: its markers, what the repair note says, and a closing marker
    that may follow each call of this form."""

    tools: Tools
    note: str
    closer: str = ""


def _lead_marker(text: str) -> tuple[str, str]:
    """(leading marker, the rest) of ``text`` (white space around the marker dropped)."""
    s = text.strip()
    m = _MARKER.match(s)
    return (m.group(0), s[m.end():].lstrip()) if m else ("", s)


def _word(marker: str) -> str:
    return marker.strip("<>|/[]｜").replace("_end", "").replace("_begin", "").replace("end", "").replace("begin", "")


def _wrapper_dropped(t: Tools) -> Shape | None:
    if t.section_start.strip():
        return None
    head, rest = _lead_marker(t.call_start)
    end = t.call_end.rstrip()
    closer = next((m.group(0) for m in _MARKER.finditer(end) if end.endswith(m.group(0))), "")
    if not head or not rest or not closer or _word(closer) != _word(head) or closer == head:
        return None
    return Shape(replace(t, call_start=rest, call_end=end[: len(end) - len(closer)].rstrip()),
                 f"the call was written without its {head} marker", closer)


_ID_SEGMENT = re.compile(r"(\[[A-Z_]+\]|<[^<>]+>)?\s*" + re.escape(ID_SLOT))


def _id_dropped(t: Tools) -> list[Shape]:
    if ID_SLOT not in t.name_suffix or t.format is ToolFormat.JSON_NATIVE:
        return []
    m = _ID_SEGMENT.search(t.name_suffix)
    assert m is not None
    rest = (t.name_suffix[: m.start()] + t.name_suffix[m.end():]).strip()
    what = m.group(1) or "call id"
    out = [Shape(replace(t, name_suffix=rest), f"the call was written without its {what} id")]
    if t.format is ToolFormat.TAG_WITH_JSON and _MARKER.fullmatch(rest):
        out.append(Shape(replace(t, name_suffix=""), f"the call was written without its {what} id and {rest} markers"))
    return out


def _name_first(t: Tools) -> Shape | None:
    """A JSON-list dialect with a section marker (``[TOOL_CALLS][{…}]``) written the newer way:
    ``[TOOL_CALLS]name{json}`` (every call starting with the marker)."""
    jc = t.json_call
    if t.format is not ToolFormat.JSON_NATIVE or jc is None or not jc.array_wrapped:
        return None
    if not _MARKER.fullmatch(t.section_start.strip()):
        return None
    # the section marker itself is read by the region (before the first call, between calls)
    shape = Tools(format=ToolFormat.TAG_WITH_JSON, parallel=True)
    return Shape(shape, f"the call was written as {t.section_start.strip()}name{{arguments}}")


def call_shapes(t: Tools) -> list[Shape]:
    """The other forms of one call of dialect ``t`` (per-tool bodies are built by the caller)."""
    shapes = [s for s in (_wrapper_dropped(t), _name_first(t)) if s is not None]
    return shapes + _id_dropped(t)


def _json_args(t: Tools) -> bool:
    return t.format is ToolFormat.TAG_WITH_JSON or t.format is ToolFormat.JSON_NATIVE


# --- call objects and arguments ------------------------------------------------------------------

def loose_arguments(b: GrammarBuilder) -> Node:
    """Arguments as read: any JSON value; a JSON string (the object encoded) or a Python literal
    each marked as a repair."""
    encoded = repair("the arguments were a JSON-encoded string", peek(lit('"')) + json_value())
    literal = repair("the arguments were a Python literal, not JSON", python_value(b))
    return choice(encoded, json_value(), literal)


def python_literal(b: GrammarBuilder) -> Node:
    """A Python literal where JSON was due, marked as a repair."""
    return repair("a value was a Python literal, not JSON", python_value(b))


def _keyed(names: Sequence[str]) -> Node:
    return choice(*[lit(q + k + q) for k in names for q in ('"', "'")])


def loose_call_object(b: GrammarBuilder, names: Sequence[str], jc: JsonCall | None) -> Node:
    """One JSON call object in any layout (see the module docstring); needs an offered name."""
    if b.has("loose-call"):
        return ref("loose-call")
    name_keys = list(dict.fromkeys([*(x for x in [jc.name_field if jc else ""] if x), "name"]))
    args_keys = list(dict.fromkeys([*(x for x in [jc.args_field if jc else ""] if x), "arguments", "parameters"]))
    id_keys = list(dict.fromkeys([*(x for x in [jc.id_field if jc else ""] if x), "id"]))
    colon = space() + lit(":") + space()
    tool = choice(*[lit(n) for n in sorted(names, key=lambda n: -len(n))])
    name_value = choice(lit('"') + capture(Tag.TOOL_NAME, tool) + lit('"'),
                        lit("'") + capture(Tag.TOOL_NAME, tool) + lit("'"))
    name_m = _keyed(name_keys) + colon + name_value
    args_m = _keyed(args_keys) + colon + capture(Tag.TOOL_ARGS, loose_arguments(b))
    id_m = _keyed(id_keys) + colon + choice(lit('"') + capture(Tag.TOOL_ID, until('"')) + lit('"'),
                                            lit("'") + capture(Tag.TOOL_ID, until("'")) + lit("'"))
    known = _keyed([*name_keys, *args_keys, *id_keys, "function"])
    # another member is read past only when its value is a scalar: an object or array there
    # (``"rguments": {…}``, a misspelt key) would be arguments dropped unseen — the call is not
    # recognised and its text stays content instead
    other = (not_(known) + choice(json_value(), python_string()) + colon + not_(choice(lit("{"), lit("[")))
             + choice(json_value(), python_value(b)))
    member = choice(args_m, id_m, other)
    comma = space() + lit(",") + space()

    def obj(head: Node) -> Node:
        return lit("{") + space() + star(member + comma) + head + star(comma + member) + space() + lit("}")

    nested = _keyed(["function"]) + colon + obj(name_m)
    return b.define("loose-call", obj(choice(name_m, nested)))


def loose_json_call(b: GrammarBuilder, names: Sequence[str], jc: JsonCall | None) -> Node:
    """:func:`loose_call_object`, marked as a repair (tried only after the rendered form)."""
    note = "the call object was read in a layout or with keys the template does not render"
    return repair(note) + loose_call_object(b, names, jc)


# --- the calls region ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Region:
    """The read side of the calls region and the extra places content stops at."""

    body: Node
    stops: tuple[str, ...]


def read_region(b: GrammarBuilder, t: Tools, names: Sequence[str], strict_one: Node,
                calls_of: Callable[[Tools], Node]) -> Region | None:
    """Variant calls of dialect ``t``: ``strict_one`` is one call as rendered (read loosely),
    ``calls_of(tools)`` the start marker plus per-tool bodies of a call of another shape."""
    units: list[Node] = [strict_one]
    stops: list[str] = []
    for shape in call_shapes(t):
        one = atomic(capture(Tag.TOOL_CALL, repair(shape.note) + calls_of(shape.tools)))
        units.append(one + opt(space() + lit(shape.closer)) if shape.closer else one)
        if shape.tools.call_start.strip() not in ("", t.call_start.strip(), t.section_start.strip()):
            stops += _name_stops(shape.tools, names)
    jc = t.json_call
    listed = _json_args(t) and not (jc is not None and jc.array_wrapped)
    if listed:
        call = atomic(capture(Tag.TOOL_CALL, loose_call_object(b, names, jc)))
        items = call + star(space() + lit(",") + space() + call)
        head = t.call_start.strip() if t.format is ToolFormat.TAG_WITH_JSON else ""
        note = "the calls were written as a JSON list"
        units.append(repair(note, lit(head) + space() + lit("[")) + space() + items + space() + lit("]")
                     + (space() + lit(t.call_end.strip()) if t.call_end.strip() and not head else lit("")))
    section, close = t.section_start.strip(), t.section_end.strip()
    opener: Node = lit("")
    if section:
        opener = choice(lit(section), repair(f"the calls were written without the {section} marker")) + space()
        first = _lead_marker(t.call_start)[0]
        if first:
            stops.append(first)
    bare = not (section or t.call_start.strip())
    if bare and t.format is ToolFormat.JSON_NATIVE and jc is not None:
        opener = opt(choice(repair(f"a {PYTHON_TAG} before the call was dropped", lit(PYTHON_TAG)),
                            repair(f"the call was wrapped in {PYTHON_START} … {PYTHON_END}", lit(PYTHON_START)))
                     + space())
        stops += [PYTHON_TAG, PYTHON_START]
        key = jc.outer_keys[0] if jc.function_field else (jc.keys[0] if jc.keys else "name")
        heads = ['"' + (jc.name_field or key) + '"', '"type": "function"', '"type":"function"']
        stops += ["{" + h for h in heads[1:]] + [o + h for o in _JSON_OPENINGS for h in heads]
    closer: Node = lit("")
    if close:
        closer = space() + choice(lit(close), repair(f"the calls were written without the {close} marker"))
    elif bare and t.format is ToolFormat.JSON_NATIVE and jc is not None:
        closer = opt(space() + lit(PYTHON_END))  # the opener's repair reports the pair
    sep_marker = t.call_separator.strip()
    seps = [x for x in (sep_marker, ",", ";", section) if x]
    sep = space() + opt(choice(*[lit(x) for x in seps])) + space()
    unit = choice(*units)
    if len(units) == 1 and not section and not bare:
        return None
    return Region(opener + unit + star(sep + unit) + closer + space(), tuple(dict.fromkeys(stops)))


#: The Markdown fence some models put around a bare JSON list of calls (vLLM's xLAM parser tests)
FENCE_OPEN, FENCE_CLOSE = "```json", "```"
#: Other families' call markers vLLM's xLAM parser also takes around such a list: (opener, closer)
LIST_MARKERS = (("[TOOL_CALLS]", ""), ("<tool_call>", "</tool_call>"))


def fenced_list(t: Tools, strict_list: Node) -> tuple[Node, tuple[str, ...]] | None:
    """For a dialect whose calls are a bare JSON list (no marker): the list inside a
    ````` ```json ````` fence, after ``[TOOL_CALLS]`` or inside ``<tool_call>`` … ``</tool_call>``,
    each read as a repair, and where content stops for them; else None."""
    jc = t.json_call
    if t.format is not ToolFormat.JSON_NATIVE or jc is None or not jc.array_wrapped or t.section_start.strip():
        return None
    key = '"' + (jc.name_field or (jc.keys[0] if jc.keys else "name")) + '"'
    lists = [o + key for o in _JSON_OPENINGS if o.startswith("[")]
    stops = [f"{FENCE_OPEN}\n{x}" for x in lists]
    forms = [repair(f"the call list was fenced as {FENCE_OPEN} … {FENCE_CLOSE}", lit(FENCE_OPEN))
             + space() + strict_list + space() + lit(FENCE_CLOSE)]
    for opener, closer in LIST_MARKERS:
        stops += [opener + gap + x for gap in ("", "\n", " ") for x in lists]
        form = repair(f"the call list was written after {opener}", lit(opener)) + space() + strict_list
        forms.append(form + space() + lit(closer) if closer else form)
    return space() + choice(*forms) + space(), tuple(stops)


def _name_stops(t: Tools, names: Sequence[str]) -> list[str]:
    """Where content stops for calls of shape ``t``: its start marker plus each tool's name (and
    the first character after the name), so prose holding the bare marker text stays prose."""
    start = t.call_start.strip()
    follow = t.name_suffix.strip()[:1]
    return [start + n + follow for n in names]


# --- tagged arguments ----------------------------------------------------------------------------

def open_schema(params: Any) -> bool:
    """Whether a tool's parameter schema admits properties it does not list."""
    return isinstance(params, dict) and params.get("additionalProperties", True) is not False


def argument_name() -> Node:
    """Any argument name (for tools whose schema is open)."""
    return plus(chars(_NAME_CHARS))


def value_follows(delims: Sequence[str], follows: Sequence[str]) -> list[str]:
    """Value end markers followed by what may come next (another argument, the call end)."""
    gaps = ("", "\n", " ", "\r\n", "\n\n")
    return [d + g + f for d in delims for g in gaps for f in follows if f]


def raw_value(delims: Sequence[str], follows: Sequence[str]) -> Node:
    """A raw string value as read: up to an end marker that the next argument or the call end
    follows, so the marker's text may occur inside; else up to the first end marker."""
    long = [d for d in delims if len(d.strip()) >= 3]
    ahead = value_follows(long, follows)
    if not ahead:
        return until(*delims)
    return choice(until(*ahead, *[d for d in delims if d not in long]) + peek(choice(*[lit(x) for x in ahead])),
                  until(*delims))


def escaped_python_string(quote: str, follows: Sequence[str]) -> Node:
    """A string argument the template renders raw between Python quotes (``a='x'``), written as a
    Python literal holding an escape (``'it\\'s'``, ``'a\\nb'``): read as the string it spells
    (``ARG_PY``, decoded as Python reads it), when what may follow a value follows its closing
    quote. A string without a backslash reads the same raw, and stays raw."""
    plain = chars(quote + "\\\n\r", negated=True)
    escape = lit("\\") + chars("\n", negated=True)
    body = star(plain) + escape + star(choice(plain, escape))
    after = [f for f in follows if f]
    ahead = peek(choice(*[lit(f) for f in after])) if after and len(after) == len(follows) else lit("")
    return capture(Tag.ARG_PY, lit(quote) + body + lit(quote)) + ahead


def marked_string_variants(quote: str, stops: str) -> list[Node]:
    """A string argument where the template quotes with a marker (``<|"|>``): a JSON-quoted
    string, or a bare word up to ``stops``."""
    if not quote or len(quote) < 2:
        return []
    note = f"a string argument was JSON-quoted instead of {quote}"
    json_quoted = capture(Tag.ARG_VALUE, repair(note, peek(lit('"')) + json_value()))
    bare = capture(Tag.ARG_STRING, plus(chars(stops + "\n\"", negated=True)))
    return [json_quoted, repair(f"a string argument was written without {quote} quotes") + bare]


def json_value_variant(b: GrammarBuilder, quote: str) -> Node:
    """A non-string argument written as JSON, or with bare keys and JSON-quoted strings, where
    the template's own notation was due (read as JSON by the mapper)."""
    return capture(Tag.ARG_VALUE, repair(f"a value was written in JSON, not in the {quote} notation",
                                         relaxed_value(b, quote)))


def relaxed_value(b: GrammarBuilder, quote: str) -> Node:
    """JSON with bare object keys, ``quote``-marked strings as well as JSON ones, and Python's
    ``True`` / ``False`` / ``None`` (rules ``rx-*`` of ``b``; decoded by
    :func:`pegtool.parser.repairs.relaxed_json`)."""
    if b.has("rx-value"):
        return ref("rx-value")
    value = ref("rx-value")
    strings = [peek(lit('"')) + json_value()] + ([lit(quote) + until(quote) + lit(quote)] if quote else [])
    key = choice(*strings, plus(chars(_NAME_CHARS)))
    pair = key + space() + lit(":") + space() + value
    comma = space() + lit(",") + space()
    digits = plus(chars([("0", "9")]))
    number = opt(lit("-")) + digits + opt(lit(".") + digits) + opt(chars("eE") + opt(chars("+-")) + digits)
    words = choice(*[lit(w) for w in ("true", "false", "null", "True", "False", "None")])
    b.define("rx-object", lit("{") + space() + opt(pair + star(comma + pair) + space()) + lit("}"))
    b.define("rx-array", lit("[") + space() + opt(value + star(comma + value) + space()) + lit("]"))
    b.define("rx-value", choice(ref("rx-object"), ref("rx-array"), *strings, number, words))
    return value
