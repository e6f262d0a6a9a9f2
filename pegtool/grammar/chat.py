"""Stage: grammar — the chat grammar: ONE IR per request, built from an analysis record.

``build_chat_grammar(analysis, tools, ...)`` describes the whole model output after the prompt::

    root  = reasoning? content (trigger(calls content-after))? eot? space END

Capture conventions (read by :mod:`pegtool.parser.mapper`): ``REASONING`` and ``CONTENT`` spans
(markers outside), one ``TOOL_CALL`` per call holding ``TOOL_NAME``, optional ``TOOL_ID`` and
either ``TOOL_ARGS`` (a JSON object) or ``ARG`` pairs (``ARG_NAME`` + ``ARG_VALUE``/``ARG_STRING``).
Everything from the first tool-call marker to the end sits under one ``Trigger`` (the lazy GBNF
starts there). Each call is ``Atomic`` so a half-parsed call never escapes while streaming.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pegtool import dialects
from pegtool.analysis.record import (
    ARG_SLOT,
    ID_SLOT,
    INDEX_SLOT,
    NAME_SLOT,
    TYPE_SLOT,
    Analysis,
    ContentMode,
    ReasoningMode,
    ToolFormat,
    Tools,
)
from pegtool.dialects.base import CallsOptions
from pegtool.errors import GrammarError
from pegtool.grammar import origins, variants
from pegtool.grammar.builder import (
    GrammarBuilder,
    any_char,
    atomic,
    capture,
    chars,
    choice,
    end,
    json_schema,
    json_value,
    lenient,
    lit,
    not_,
    opt,
    plus,
    repeat,
    schema_text,
    seq,
    space,
    star,
    trigger,
    until,
)
from pegtool.grammar.ir import Grammar, Node, Tag
from pegtool.grammar.schema_struct import ordered_members, property_order

_WS = re.compile(r"\s+")
_SLOTS = re.compile(r"(\{\{id\}\}|\{\{index\}\}|\{\{type\}\})")
#: an id slot right after a marker of its own, such as Mistral's ``[CALL_ID]{{id}}``
_MARKED_ID = re.compile(r"(\[[A-Z_]+\])\{\{id\}\}")


@dataclass(frozen=True)
class _Opts:
    tool_choice: Any
    parallel: bool
    extract_reasoning: bool
    generation_prompt: str
    response_format: Any
    tool_calls_in_reasoning: bool
    in_reasoning: bool = False  # the prompt ends inside a reasoning block (an assistant prefill)


def build_chat_grammar(analysis: Analysis, tools: Sequence[dict[str, Any]] | None = None, *,
                       tool_choice: Any = "auto", parallel_tool_calls: bool = True,
                       reasoning_format: str = "auto", enable_thinking: bool | None = None,
                       response_format: Any = None, generation_prompt: str = "",
                       tool_calls_in_reasoning: bool = True, in_reasoning: bool = False) -> Grammar:
    """The chat grammar for one request. ``generation_prompt`` is the tail of the prompt the
    template added for the assistant turn (it decides whether reasoning starts open);
    ``in_reasoning``: the prompt ends inside a reasoning block whatever its text shows (an
    assistant prefill continuing reasoning of a dialect without a start marker)."""
    del enable_thinking  # its effect is already in ``generation_prompt``
    opts = _Opts(tool_choice, parallel_tool_calls, reasoning_format != "none", generation_prompt,
                 response_format, tool_calls_in_reasoning, in_reasoning)
    b = GrammarBuilder()
    offered = _offered(tools or [], tool_choice)
    whole = dialects.output_root(b, analysis, offered, dialects.OutputOptions(
        tool_choice if offered else "none", parallel_tool_calls, opts.extract_reasoning, generation_prompt,
        in_reasoning))
    if whole is not None and response_format is None:
        b.define("root", whole)
        return b.build("root")
    calls = _calls_region(b, analysis, offered, opts) if offered else None
    b.define("root", _root(analysis, calls, opts))
    return b.build("root")


def _offered(tools: Sequence[dict[str, Any]], tool_choice: Any) -> list[dict[str, Any]]:
    fns = [t.get("function", t) for t in tools]
    if tool_choice == "none":
        return []
    if isinstance(tool_choice, dict):
        name = tool_choice.get("function", {}).get("name")
        fns = [f for f in fns if f.get("name") == name]
        if not fns:
            raise GrammarError(f"tool_choice names a tool that was not offered: {name!r}")
    return fns


# --- markers -----------------------------------------------------------------------------------

def mk(marker: str, name: str = "", arg: str = "", ids: str = "plain") -> Node:
    """A marker as a node: white-space runs become optional white space, slots become captures
    (``{{id}}``, see :func:`call_id`), digits (``{{index}}``), a type word (``{{type}}``) or the
    tool / argument name."""
    marked = _MARKED_ID.search(marker)
    if marked is not None:
        # an id introduced by its own marker (``[CALL_ID]{{id}}``) is optional: models write the
        # call without it as often as with it, and pegtool supplies an id when it is absent
        after = marker[marked.end():]
        stop = _next_literal(_SLOTS.split(after))
        ident = call_id(ids, until(stop) if stop else plus(chars("\t\n\r \"<[", True)))
        return seq(mk(marker[:marked.start()], name, arg, ids), opt(seq(*_ws_literal(marked.group(1)), ident)),
                   mk(after, name, arg, ids))
    parts: list[Node] = []
    pieces = _SLOTS.split(marker.replace(NAME_SLOT, name).replace(ARG_SLOT, arg))
    for i, piece in enumerate(pieces):
        if piece == ID_SLOT:
            stop = _next_literal(pieces[i + 1:])
            parts.append(call_id(ids, until(stop) if stop else plus(chars("\t\n\r \"<[", True))))
        elif piece == INDEX_SLOT:
            parts.append(plus(chars([("0", "9")])))
        elif piece == TYPE_SLOT:
            parts.append(plus(chars([("a", "z"), ("A", "Z"), ("_", "_")])))
        else:
            parts.extend(_ws_literal(piece))
    return seq(*parts)


def call_id(ids: str, free: Node) -> Node:
    """A call id. Templates that insist on 9 alphanumeric characters (``id_style`` "alnum9",
    Mistral) get exactly that when generating; any id text is still read back."""
    if ids == "alnum9":
        return capture(Tag.TOOL_ID, lenient(repeat(chars([("a", "z"), ("A", "Z"), ("0", "9")]), 9, 9), free))
    return capture(Tag.TOOL_ID, free)


def _next_literal(pieces: Sequence[str]) -> str:
    for p in pieces:
        if p not in (ID_SLOT, INDEX_SLOT, TYPE_SLOT) and p.strip():
            return p.strip().split()[0]
    return ""


def _ws_literal(text: str) -> list[Node]:
    out: list[Node] = []
    pos = 0
    for m in _WS.finditer(text):
        out.append(lit(text[pos:m.start()]))
        out.append(space())
        pos = m.end()
    out.append(lit(text[pos:]))
    return out


def first_literal(marker: str) -> str:
    """The literal text a marker starts with (up to white space or a slot)."""
    head = _SLOTS.split(marker.strip())[0]
    return head.split()[0] if head.split() else ""


# --- root ------------------------------------------------------------------------------------------

def _root(a: Analysis, calls: tuple[str, Node, tuple[str, ...]] | None, o: _Opts) -> Node:
    trig = calls[0] if calls else ""
    short = _eot_without_stop_token(a.end_of_turn)
    eot = choice(*[mk(e) for e in a.end_of_turn]) if a.end_of_turn else lit("")
    if short:
        dropped = variants.repair("end of turn without its stop token")
        eot = lenient(eot, choice(eot, *[dropped + mk(e) for e in short]))
    stops = [first_literal(e) for e in (*a.end_of_turn, *short) if first_literal(e)]
    read_stops = calls[2] if calls else ()
    head = _reasoning(a, o, trig, read_stops)
    body = _content(a, o, [trig, *stops] if trig else stops, read_stops)
    tail = opt(eot) + space() + end()
    if calls is None:
        return head + body + tail
    after = capture(Tag.CONTENT, until(*stops)) if stops else capture(Tag.CONTENT, until())
    if trig:
        # text after the calls that starts like a call is a call (complete, cut off or broken),
        # never content: decided by the marker, so a stream shows calls 2..n while they arrive
        after = lenient(after, not_(lit(trig)) + after)
    region = trigger(calls[1] + after + tail)
    if o.tool_choice == "required" or isinstance(o.tool_choice, dict):
        return head + space() + _empty_content(a) + region
    if not trig:
        return head + _name_first(a, o, calls[1], after + tail, stops, tail)
    return head + body + (region | tail)


def _eot_without_stop_token(eots: Sequence[str]) -> tuple[str, ...]:
    """End-of-turn markers of several tokens without their last one (``<|close|>message<|sep|>``
    of Kimi K3's ``…<|end_of_msg|>``): the last is the model's stop token, which servers drop."""
    from pegtool.analysis.diff import markers_in

    out = []
    for e in eots:
        marks = markers_in(e)
        if len(marks) > 1 and e.rstrip().endswith(marks[-1]):
            head = e.rstrip()[:-len(marks[-1])].rstrip()
            if head and head not in eots:
                out.append(head)
    return tuple(out)


def _empty_content(a: Analysis) -> Node:
    """An empty content block some templates write before forced calls (``<|close|>response``)."""
    c = a.content
    if c.mode is ContentMode.PLAIN or not c.end:
        return lit("")
    return opt(mk(c.start) + space() + mk(c.end) + space())


def _name_first(a: Analysis, o: _Opts, calls: Node, rest: Node, stops: list[str], tail: Node) -> Node:
    """Calls that start with the bare tool name (no marker): only at the start of the output, or
    after the call separator that follows content (Functionary's ``>>>``)."""
    sep = first_literal(a.tools.call_separator)
    lead = trigger(calls + rest)
    if not sep:
        return lead | (_content(a, o, stops) + tail)
    later = trigger(mk(a.tools.call_separator.strip()) + space() + calls + rest)
    return lead | (_content(a, o, [sep, *stops]) + (later | tail))


def _reasoning(a: Analysis, o: _Opts, trig: str, read_stops: Sequence[str] = ()) -> Node:
    r = a.reasoning
    if not o.extract_reasoning or r.mode is ReasoningMode.NONE or not r.end:
        return lit("")
    gp = o.generation_prompt.rstrip()
    start = r.start.strip()
    closed = capture(Tag.REASONING, until(r.end)) + mk(r.end) + space()
    if start and start in gp and r.end in gp[gp.rfind(start):]:
        # pre-closed by the prompt: at most a repeated end marker is generated (DeepSeek V3.2's
        # turns start with one); what follows is content, decided by the first characters (no
        # start marker opens reasoning), so it streams as content while it arrives
        return space() + opt(mk(r.end) + space())
    if o.tool_calls_in_reasoning and trig:
        open_call = capture(Tag.REASONING, _text_until([trig, r.end], read_stops))
        ahead = lenient(_peek_lit(trig), _peek_lit(trig, *read_stops))
        body = closed | (open_call + ahead)
    elif trig:
        # policy off: an unclosed reasoning block keeps everything, tool markup included
        body = closed | capture(Tag.REASONING, star(any_char()))
    else:
        body = closed
    if (start and gp.endswith(start)) or o.in_reasoning:
        if o.tool_choice in ("auto", "none") and o.tool_calls_in_reasoning:
            # forced open by the prompt and never closed (e.g. cut off while thinking): reasoning
            body = body | capture(Tag.REASONING, star(any_char()))
        if start.strip() and gp.endswith(start):
            # the model writes the opener the prompt already wrote (vLLM's Command 4 cases)
            again = space() + lit(start.strip()) + variants.repair("reasoning opener written again after the prompt's")
            body = lenient(body, (again + body) | body)
        return opt(body)
    if not start:
        return opt(body)
    # opened by the model's start marker: reasoning from there on, closed or not (an output cut
    # off while thinking is reasoning), so a stream shows it while it arrives
    body = lenient(body, body | capture(Tag.REASONING, star(any_char())))
    bare_end = space() + mk(r.end) + space()  # an empty reasoning block written without its start
    return opt((space() + mk(start) + body) | bare_end)


def _peek_lit(*texts: str) -> Node:
    from pegtool.grammar.builder import peek

    return peek(choice(*[lit(t) for t in texts]))


def _text_until(stops: Sequence[str], read_stops: Sequence[str]) -> Node:
    """Text up to ``stops``; reading also stops where a variant call may start."""
    strict = until(*[s for s in stops if s])
    return lenient(strict, until(*[s for s in stops if s], *read_stops)) if read_stops else strict


def _content(a: Analysis, o: _Opts, stops: list[str], read_stops: Sequence[str] = ()) -> Node:
    if o.response_format is not None:
        schema = _response_schema(o.response_format)
        with origins.where(tool="", param=""):
            return space() + capture(Tag.CONTENT, json_schema(schema)) + space()
    plain = capture(Tag.CONTENT, _text_until(stops, read_stops))
    c = a.content
    if c.mode is ContentMode.PLAIN or not (c.start or c.end):
        return plain
    if not c.end:
        return (space() + mk(c.start) + plain) | plain
    inner = capture(Tag.CONTENT, _text_until([*stops, first_literal(c.end)], read_stops))
    closed = inner + mk(c.end) + space()
    if not c.start or o.generation_prompt.rstrip().endswith(c.start.strip()):
        # (the second case, issue 12: an assistant prefill cut the prompt inside the content block)
        return closed | plain
    # an opened block the model did not close (cut off, or it went on to the calls) is still content
    unclosed = variants.repair("content block not closed") + plain
    wrapped = space() + mk(c.start) + (closed | unclosed)
    siblings = [_sibling_block(start, end, c.start, c.end, stops, read_stops, plain)
                for start, end in variants.sibling_wrappers(c.start, c.end)]
    if siblings:  # reading only: the wrapper a sibling model of the family writes
        wrapped = lenient(wrapped, choice(wrapped, *siblings))
    return wrapped | plain


def _sibling_block(start: str, end: str, own_start: str, own_end: str, stops: list[str],
                   read_stops: Sequence[str], plain: Node) -> Node:
    """A content block in another wrapper of the same family, read as a repair."""
    note = f"content wrapped in {start}…{end} instead of {own_start.strip()}…{own_end.strip()}"
    inner = capture(Tag.CONTENT, _text_until([*stops, end], read_stops))
    return space() + lit(start) + variants.repair(note) + ((inner + lit(end) + space()) | plain)


def _response_schema(rf: Any) -> Any:
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        return rf.get("json_schema", {}).get("schema", True)
    if isinstance(rf, dict) and rf.get("type") == "json_object":
        return {"type": "object"}
    return rf if isinstance(rf, dict) else True


# --- tool calls ----------------------------------------------------------------------------------

def _calls_region(b: GrammarBuilder, a: Analysis, fns: list[dict[str, Any]],
                  o: _Opts) -> tuple[str, Node, tuple[str, ...]] | None:
    """(trigger text, the calls region, extra places content stops at when reading variants)."""
    named = dialects.named_for(a)
    if named is not None:
        region = named.calls_region(b, a, fns, CallsOptions(o.parallel, a.canary.id_style))
        if region is not None:
            return (*region, ())
    t = a.tools
    if t.format in (ToolFormat.NONE, ToolFormat.NAMED):
        return None
    ids = a.canary.id_style
    one = b.intern("tool-call", atomic(capture(Tag.TOOL_CALL, _head_and_bodies(b, t, fns, ids))))
    trig, body = _strict_region(t, one, o)
    names = [f.get("name", "") for f in fns]
    read = variants.read_region(b, t, names, one, lambda shape: _head_and_bodies(b, shape, fns, "plain"))
    fenced = variants.fenced_list(t, body)
    if read is None and fenced is None:
        return trig, body, ()
    loose = choice(body, *([fenced[0]] if fenced else []), *([read.body] if read else []))
    return trig, lenient(body, loose), (*(read.stops if read else ()), *(fenced[1] if fenced else ()))


def _head_and_bodies(b: GrammarBuilder, t: Tools, fns: list[dict[str, Any]], ids: str) -> Node:
    head = mk(t.call_start.lstrip() if not t.section_start.strip() else t.call_start, ids=ids)
    bodies = choice(*[_call(b, t, f, ids) for f in _by_name_length(fns)])
    if t.format is ToolFormat.JSON_NATIVE:
        loose = variants.loose_json_call(b, [f.get("name", "") for f in fns], t.json_call) + mk(t.call_end, ids=ids)
        bodies = lenient(bodies, bodies | loose)
    return head + bodies


def _strict_region(t: Tools, one: Node, o: _Opts) -> tuple[str, Node]:
    if t.json_call is not None and t.json_call.array_wrapped:
        return _array_region(t, one, o)
    # Calls rendered back to back may also come separated by a comma (llama.cpp's own output for
    # such dialects, e.g. MiniMax-M2, uses ", "): accepted, never required.
    loose = space() + opt(lit(",") + space())
    sep = space() + mk(t.call_separator.strip()) + space() if t.call_separator.strip() else loose
    many = one + star(sep + one) if (o.parallel and t.parallel) else one
    start = t.section_start.lstrip() or t.call_start.lstrip()
    trig = first_literal(start) or _json_trigger(t)
    body = mk(t.section_start.lstrip()) + many
    return trig, body + mk(t.section_end) + space()


def _array_region(t: Tools, one: Node, o: _Opts) -> tuple[str, Node]:
    sep = space() + mk(t.call_separator.strip() or ",") + space()
    many = one + star(sep + one) if o.parallel else one
    start = t.section_start.strip()
    # white space before the section end is read back (Command-R+ writes ``]`` and the closing
    # fence on separate lines, its template on one)
    apart = variants.repair("white space before the section end") + space() + mk(t.section_end.lstrip())
    close = lit("]") + lenient(mk(t.section_end), mk(t.section_end) | apart)
    body = mk(start) + space() + lit("[") + space() + many + space() + close + space()
    return (first_literal(start) or "["), body


def _json_trigger(t: Tools) -> str:
    jc = t.json_call
    if jc is None:
        return ""
    if jc.name_is_key:
        return '{"'
    first = jc.outer_keys[0] if jc.function_field else jc.keys[0]
    return '{"' + first + '"'


def _by_name_length(fns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(fns, key=lambda f: -len(f.get("name", "")))


def _call(b: GrammarBuilder, t: Tools, fn: dict[str, Any], ids: str) -> Node:
    """One tool's call after the shared per-call start marker (factored out of the choice so the
    lazy trigger and the GBNF see one common prefix)."""
    name, params = fn.get("name", ""), fn.get("parameters") or {"type": "object"}
    with origins.where(tool=name, param=""):
        if t.format is ToolFormat.JSON_NATIVE:
            return _json_call(b, t, name, params, ids) + mk(t.call_end, ids=ids)
        args = _tagged_args(b, t, params) if t.format is ToolFormat.TAG_WITH_TAGGED and t.tagged \
            else _json_args(b, params)
    return capture(Tag.TOOL_NAME, lit(name)) + mk(t.name_suffix, name, ids=ids) + args + mk(t.call_end, name, ids=ids)


def _json_args(b: GrammarBuilder, params: Any) -> Node:
    """Arguments as one JSON object: generated under the tool's schema (its key order, required
    keys, value types); read back as any JSON value, so a call the model wrote in another key
    order, or with a wrong value, is still a tool call (the caller validates), never chat text
    (a JSON-encoded string or a Python dict too: :func:`variants.loose_arguments`)."""
    return capture(Tag.TOOL_ARGS, lenient(json_schema(params), variants.loose_arguments(b)))


def _json_call(b: GrammarBuilder, t: Tools, name: str, params: Any, ids: str) -> Node:
    jc = t.json_call
    assert jc is not None
    args = _json_args(b, params)
    quoted_name = lit('"') + capture(Tag.TOOL_NAME, lit(name)) + lit('"')
    # Without a start marker the call's first characters are the content's stop and the lazy
    # trigger (``{"name"``): written tight, so the trigger fires exactly where the parser stops.
    tight = not (t.section_start.strip() or t.call_start.strip())
    if jc.name_is_key:
        return _obj([(quoted_name, args)], tight)
    inner_fields = [(_key(k), _json_field(k, jc.name_field, jc.args_field, jc.id_field, quoted_name, args, ids))
                    for k in jc.keys]
    if not jc.function_field:
        return _obj(inner_fields, tight)
    inner = _obj(inner_fields)
    outer = [(_key(k), inner if k == jc.function_field else
              _json_field(k, "", "", jc.id_field, quoted_name, args, ids)) for k in jc.outer_keys]
    return _obj(outer, tight)


def _key(k: str) -> Node:
    return lit('"' + k + '"')


def _json_field(k: str, name_f: str, args_f: str, id_f: str, quoted_name: Node, args: Node, ids: str) -> Node:
    if k == name_f:
        return quoted_name
    if k == args_f:
        return args
    if k == id_f:
        return lit('"') + call_id(ids, until('"')) + lit('"')
    return json_value()


def _obj(fields: list[tuple[Node, Node]], tight: bool = False) -> Node:
    parts: list[Node] = [lit("{")] if tight else [lit("{"), space()]
    for i, (key, value) in enumerate(fields):
        if i:
            parts += [space(), lit(","), space()]
        parts += [key, space(), lit(":"), space(), value]
    parts += [space(), lit("}")]
    return seq(*parts)


def _tagged_args(b: GrammarBuilder, t: Tools, params: dict[str, Any]) -> Node:
    ta = t.tagged
    assert ta is not None
    props: dict[str, Any] = params.get("properties") or {}
    sep = mk(ta.separator) if ta.separator.strip() else lit("")
    # a schema open to other properties: any argument name is read (never generated)
    other = _tagged_arg(b, t, "", True) if variants.open_schema(params) and ARG_SLOT not in \
        ta.arg_prefix + ta.arg_mid + ta.arg_mid_json + ta.arg_suffix else None
    if not props:
        return lit("") if other is None else lenient(lit(""), opt(other + star(sep + other)))
    defs: dict[str, Any] = {k: params[k] for k in ("$defs", "definitions") if k in params}
    args = {}
    for k, v in props.items():
        with origins.where(param=k):
            args[k] = _tagged_arg(b, t, k, _with_defs(v, defs))
    one = choice(*[args[k] for k in sorted(args, key=lambda k: -len(k))], *([other] if other else []))
    # a template that leaves null arguments out renders a required nullable one as nothing
    required = [k for k in params.get("required", []) if k in props and not (ta.skips_null and _nullable(props[k]))]
    order = sorted(props, key=str.lower) if ta.sorted_keys else property_order(props, required)
    ordered = [(args[k], k in required) for k in order]
    # the generation order: like JSON object keys (required first, then optional, each at most
    # once), or sorted by name for templates that sort them (Jinja's case-insensitive dictsort)
    strict = ordered_members(ordered, sep)
    return lenient(strict if any(req for _, req in ordered) else opt(strict), opt(one + star(sep + one)))


def _with_defs(schema: Any, defs: dict[str, Any]) -> Any:
    """A property schema carrying the tool schema's ``$defs`` so its ``$ref``s resolve."""
    if not defs or not isinstance(schema, dict) or "$ref" not in json.dumps(schema):
        return schema
    return {**defs, **_inline(schema, defs, 8)}


def _inline(node: Any, defs: dict[str, Any], depth: int) -> Any:
    """``node`` with local ``$ref``s replaced by their definitions (``depth`` levels deep)."""
    if isinstance(node, list):
        return [_inline(v, defs, depth) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and depth > 0 and ref.startswith("#/"):
        kind, _, name = ref[2:].partition("/")
        target = defs.get(kind, {}).get(name)
        if isinstance(target, dict) and len(node) == 1:
            return _inline(target, defs, depth - 1)
    return {k: _inline(v, defs, depth) for k, v in node.items()}


def _nullable(schema: Any) -> bool:
    """Whether ``schema`` admits null (by its type, enum, const or one of its alternatives)."""
    if not isinstance(schema, dict):
        return schema is True or schema is None
    types = schema.get("type")
    if types == "null" or (isinstance(types, list) and "null" in types):
        return True
    if "const" in schema and schema["const"] is None or None in (schema.get("enum") or ()):
        return True
    return any(_nullable(s) for k in ("anyOf", "oneOf") for s in schema.get(k) or () if isinstance(s, dict))


def _is_string(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "string"


def _tagged_arg(b: GrammarBuilder, t: Tools, name: str, schema: Any) -> Node:
    """One ``name = value`` argument. Generation holds the value to the property's schema; reading
    also takes a value that breaks it (a value of another type, or plain text where a typed value
    was due, kept as a string), so the call survives and the caller can validate it. A non-string
    value is written in the template's notation (:mod:`pegtool.dialects`)."""
    ta = t.tagged
    assert ta is not None
    suffix = mk(ta.arg_suffix, arg=name)
    marked = _marked_variants(b, t, suffix) if ta.value_style == "marker_quoted" else []
    if _is_string(schema):
        text = _text_value(t, name, schema) + suffix
        value = lenient(text, choice(text, *marked)) if marked else text
    else:
        typed = mk(ta.arg_mid_json) + dialects.notation(ta.value_style).value_node(b, ta, schema) + suffix
        value = lenient(typed, choice(typed, _text_value(t, name, {"type": "string"}) + suffix, *marked))
    # ``name`` empty: any argument name (a tool whose schema is open)
    key = lit(name) if name else variants.argument_name()
    body = mk(ta.arg_prefix.lstrip()) + capture(Tag.ARG_NAME, key) + value
    return capture(Tag.ARG, space() + body)


def _marked_variants(b: GrammarBuilder, t: Tools, suffix: Node) -> list[Node]:
    """Values where the template's marker-quoted notation was due, written as JSON, as a
    JSON-quoted string or as a bare word (read only)."""
    ta = t.tagged
    assert ta is not None
    stops = "".join(dict.fromkeys(x.strip()[:1] for x in (ta.separator, t.call_end) if x.strip()))
    mid, mid_json = mk(ta.arg_mid.rstrip()) + _lead_ws(ta.arg_mid), mk(ta.arg_mid_json)
    quoted, bare = [mid + v + suffix for v in variants.marked_string_variants(ta.string_quote, stops)]
    return [quoted, mid_json + variants.json_value_variant(b, ta.string_quote) + suffix, bare]


def _text_value(t: Tools, name: str, schema: Any) -> Node:
    """A raw (unquoted, or quoted Python-style) string value with its leading marker."""
    ta = t.tagged
    assert ta is not None
    delims = _string_delimiters(t, name)
    q = lit(ta.string_quote)
    follows = [first_literal(x) for x in (ta.arg_prefix, ta.separator, t.call_end) if first_literal(x)]
    raw = capture(Tag.ARG_STRING, lenient(schema_text(schema, *delims), variants.raw_value(delims, follows)))
    if len(ta.string_wrap) == 2:
        wrap_open, wrap_close = ta.string_wrap
        raw = (lit(wrap_open) + capture(Tag.ARG_STRING, schema_text(schema, wrap_close)) + lit(wrap_close)) | raw
    head = mk(ta.arg_mid.rstrip()) + _lead_ws(ta.arg_mid)
    if ta.string_quote in ("'", '"') and len(ta.string_wrap) != 2:
        # Python quotes: a string holding escapes is read as Python reads it (``'it\\'s'``)
        after = [d[1:] for d in delims if d.startswith(ta.string_quote)]
        escaped = variants.escaped_python_string(ta.string_quote, after)
        return lenient(head + q + raw + q, head + choice(escaped, q + raw + q))
    return head + q + raw + q


def _string_delimiters(t: Tools, name: str) -> list[str]:
    """Where a raw string value ends. A suffix that is a bare quote (``a='x', b='y'``) only ends
    the value when the argument separator or the call end follows it."""
    ta = t.tagged
    assert ta is not None
    suffix = ta.string_quote + ta.arg_suffix.rstrip().replace(ARG_SLOT, name)
    close = ta.string_quote + ta.arg_suffix.strip().replace(ARG_SLOT, name)
    if suffix and len(suffix) <= 2 and not suffix.strip("'\"`"):
        follow = [x.strip()[:1] for x in (ta.separator, t.call_end) if x.strip()]
        if follow:
            return [suffix + f for f in follow]
    return [d for d in (suffix, close) if d]


def _lead_ws(mid: str) -> Node:
    """Optional white space after the name/value marker (``>\\n`` before a raw value)."""
    return space() if mid != mid.rstrip() else lit("")
