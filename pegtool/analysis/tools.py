"""Stage: analysis — the tool-call dialect, found by locating canaries in rendered calls.

One call (two string arguments), a zero-argument call, two calls, and a call with a
non-string argument are rendered; the canary tool name, argument names and values are located
in the model's text and the text around them becomes the dialect's markers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from pegtool import dialects
from pegtool.analysis import probe as P
from pegtool.analysis.diff import (
    DiffSplit,
    common_prefix_of,
    diff_split,
    is_marker,
    lcp,
    marker_safe_suffix,
    segments,
)
from pegtool.analysis.record import (
    ARG_SLOT,
    ID_SLOT,
    INDEX_SLOT,
    NAME_SLOT,
    TYPE_SLOT,
    IdPosition,
    JsonCall,
    TaggedArgs,
    ToolFormat,
    Tools,
)
from pegtool.dialects.base import ValueRenders

ARGS2 = {P.ARG1: P.V1, P.ARG2: P.V2}


@dataclass(frozen=True)
class CallShape:
    """Where things are in the rendered text of one call."""

    text: str  # the call section text (ids replaced by ID_SLOT)
    anchor: int  # start of the per-call part (name for tag formats, JSON start for JSON)
    args_end: int  # end of the arguments (of the JSON value for JSON-native)
    tools: Tools


def call_section(pr: P.Prober, probe: str, calls: list[dict[str, Any]]) -> str | None:
    """The text a tool-call message adds over a message without calls (ids replaced by ``{{id}}``).

    Markers a template prints around an *empty* message but not around a content-only message
    (an empty ``<section></section>``) belong to the call section: the diff is widened to them."""
    pair = _pair(pr, probe, calls, "") or _pair(pr, probe, calls, P.CONTENT)
    if pair is None:
        return None
    d = diff_split(*pair)
    text = _widen(d, pr.output(probe + ".content", pr.assistant(P.CONTENT)) or "")
    for i in range(len(calls)):
        text = text.replace(pr.call_id(i), ID_SLOT)
    return text


def _pair(pr: P.Prober, probe: str, calls: list[dict[str, Any]], content: str) -> tuple[str, str] | None:
    empty = pr.output(probe + ".empty", pr.assistant(content))
    with_calls = pr.output(probe, pr.assistant(content, calls))
    return None if empty is None or with_calls is None else (empty, with_calls)


def _widen(d: DiffSplit, content_only: str) -> str:
    if not content_only:
        return d.right
    head = _edge_markers(d.prefix, content_only, tail=True) or _glued_word(d)
    tail = _edge_markers(d.suffix, content_only, tail=False)
    return head + d.right + tail


def _glued_word(d: DiffSplit) -> str:
    """The word the diff starts inside of (``to=`` of ``to=user`` / ``to=f``), when it is plain."""
    m = re.search(r"[A-Za-z_=:.\-]+$", d.prefix)
    if m is None or not d.right[:1].strip() or d.prefix[m.start() - 1:m.start()].strip():
        return ""
    return m.group()


def _edge_markers(text: str, content_only: str, tail: bool) -> str:
    """The markers at the end (``tail``) or start of ``text`` that ``content_only`` lacks."""
    segs = segments(text)
    picked: list[str] = []
    for seg in (reversed(segs) if tail else segs):
        if not is_marker(seg) or seg in content_only:
            break
        picked.append(seg)
    return "".join(reversed(picked) if tail else picked)


def json_span(text: str, pos: int) -> tuple[int, int, Any] | None:
    """The outermost JSON value (object/array) of ``text`` that starts before ``pos`` and ends after it."""
    dec = json.JSONDecoder()
    for m in re.finditer(r"[\[{]", text[:pos]):
        try:
            value, end = dec.raw_decode(text, m.start())
        except ValueError:
            continue
        if end > pos:
            return m.start(), end, value
    return None


def analyze_tools(pr: P.Prober) -> tuple[Tools, list[str]]:
    """The tool dialect (``Tools()`` when the template shows no calls) and notes."""
    notes: list[str] = []
    text = call_section(pr, "tools.one", [pr.call(P.ALPHA, ARGS2)])
    if not text or P.ALPHA not in text:
        return Tools(), notes
    shape = _json_native(text) or _tag_json(text) or _tagged(pr, text, notes)
    if shape is None:
        notes.append("tool call found but its arguments could not be located")
        return Tools(), notes
    tools = _multi_call(pr, shape, notes)
    return _name_slots(_id_position(tools, shape)), notes


def _name_slots(t: Tools) -> Tools:
    """The tool name printed a second time (after the first) becomes ``{{name}}``."""
    if t.format is ToolFormat.JSON_NATIVE:
        return t
    return replace(t, name_suffix=t.name_suffix.replace(P.ALPHA, NAME_SLOT),
                   call_end=t.call_end.replace(P.ALPHA, NAME_SLOT))


# --- JSON-native -------------------------------------------------------------------------------

def _json_native(text: str) -> CallShape | None:
    pos = text.find(P.ALPHA)
    if pos <= 0 or text[pos - 1] != '"':
        return None
    span = json_span(text, pos)
    if span is None:
        return None
    start, end, value = span
    wrapped = isinstance(value, list)
    obj = value[0] if wrapped and value else value
    jc = _json_call(obj, wrapped)
    if jc is None:
        return None
    tools = Tools(format=ToolFormat.JSON_NATIVE, section_start=text[:start], section_end=text[end:],
                  json_call=jc, args_as_string=_args_is_string(obj, jc))
    return CallShape(text, start, end, tools)


def _json_call(obj: Any, wrapped: bool) -> JsonCall | None:
    if not isinstance(obj, dict):
        return None
    if P.ALPHA in obj:
        return JsonCall(keys=tuple(obj), name_is_key=True, array_wrapped=wrapped)
    inner, fn_field = obj, ""
    for k, v in obj.items():
        if isinstance(v, dict) and P.ALPHA in v.values():
            inner, fn_field = v, k
    name_field = next((k for k, v in inner.items() if v == P.ALPHA), "")
    args_field = next((k for k, v in inner.items() if _is_args(v)), "")
    if not name_field or not args_field:
        return None
    id_field = next((k for k, v in {**obj, **inner}.items() if v == ID_SLOT), "")
    return JsonCall(keys=tuple(inner), name_field=name_field, args_field=args_field, id_field=id_field,
                    function_field=fn_field, outer_keys=tuple(obj) if fn_field else (),
                    array_wrapped=wrapped)


def _is_args(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    return bool(value == ARGS2)


def _args_is_string(obj: Any, jc: JsonCall) -> bool:
    inner = obj.get(jc.function_field, obj) if jc.function_field else obj
    return isinstance(inner.get(jc.args_field), str)


# --- tag + JSON arguments --------------------------------------------------------------------

def _tag_json(text: str) -> CallShape | None:
    pos = text.find(P.ALPHA)
    after = pos + len(P.ALPHA)
    dec = json.JSONDecoder()
    for m in re.finditer(r"\{", text[after:]):
        try:
            value, end = dec.raw_decode(text, after + m.start())
        except ValueError:
            continue
        if value == ARGS2:
            tools = Tools(format=ToolFormat.TAG_WITH_JSON, call_start=text[:pos],
                          name_suffix=text[after:after + m.start()], section_end=text[end:])
            return CallShape(text, pos, end, tools)
    return None


# --- tag + tagged arguments ------------------------------------------------------------------

def _tagged(pr: P.Prober, text: str, notes: list[str]) -> CallShape | None:
    zero = call_section(pr, "tools.zero_args", [pr.call(P.ALPHA, {})])
    pos = text.find(P.ALPHA)
    if zero is None or P.ALPHA not in zero:
        return None
    rest = text[pos + len(P.ALPHA):]
    rest0 = zero[zero.find(P.ALPHA) + len(P.ALPHA):]
    d = diff_split(rest0, rest)
    parsed = _arg_blocks(d.right)
    if parsed is None:
        return None
    tagged, extra_tail = parsed
    tagged = _string_wrap(pr, _quoted_strings(_json_values(pr, tagged, notes)))
    if _sorts_keys(pr, tagged):
        notes.append("arguments are printed sorted by name")
        tagged = replace(tagged, sorted_keys=True)
    if _skips_null(pr, tagged):
        notes.append("null arguments are left out")
        tagged = replace(tagged, skips_null=True)
    tail = extra_tail + d.suffix
    args_end = len(text) - len(tail)
    tools = Tools(format=ToolFormat.TAG_WITH_TAGGED, call_start=text[:pos], name_suffix=d.prefix,
                  section_end=tail, tagged=tagged)
    return CallShape(text, pos, args_end, tools)


def _arg_blocks(region: str) -> tuple[TaggedArgs, str] | None:
    """Markers of ``PRE k1 MID v1 POST SEP PRE k2 MID v2 POST`` plus text after the last POST."""
    k1 = region.find(P.ARG1)
    v1 = region.find(P.V1, k1)
    k2 = region.find(P.ARG2, v1)
    v2 = region.find(P.V2, k2)
    if min(k1, v1, k2, v2) < 0:
        return None
    pre, mid = region[:k1], region[k1 + len(P.ARG1):v1]
    if region[k2 - len(pre):k2] != pre or region[k2 + len(P.ARG2):v2] != mid:
        return None
    between = region[v1 + len(P.V1):k2 - len(pre)].replace(P.ARG1, ARG_SLOT)
    post_last = region[v2 + len(P.V2):].replace(P.ARG2, ARG_SLOT)
    post = common_prefix_of(between, post_last)
    return TaggedArgs(pre, mid, mid, post, between[len(post):]), post_last[len(post):]


def _json_values(pr: P.Prober, tagged: TaggedArgs, notes: list[str]) -> TaggedArgs:
    """The notation of non-string values: the first registered one that recognises the renders
    of the canary value (see :mod:`pegtool.dialects`); its evidence becomes a note."""
    text = call_section(pr, "tools.json_value", [pr.call(P.GAMMA, {P.ARG_DATA: P.DATA_VALUE})])
    key = (text or "").find(tagged.arg_prefix + P.ARG_DATA)
    if text is None or key < 0:
        return tagged
    after = key + len(tagged.arg_prefix + P.ARG_DATA)
    brace = text.find("{", after)
    scalars = _scalar_style(pr, tagged)

    def render(probe: str, args: dict[str, Any]) -> str:
        return call_section(pr, probe, [pr.call(P.GAMMA, args)]) or ""

    json_mid = _type_slot(tagged.arg_mid, text[after:brace]) if brace >= 0 else tagged.arg_mid
    found, row = dialects.detect_notation(ValueRenders(tagged, text, after, brace, json_mid, scalars, render))
    if row is not None:
        notes.append(row[2])
        pr.fired.append(row)
    return found


def _skips_null(pr: P.Prober, ta: TaggedArgs) -> bool:
    """Whether a null argument is left out of the call (its name is not rendered)."""
    text = call_section(pr, "tools.null_arg", [pr.call(P.ALPHA, {P.ARG1: P.V1, P.ARG2: None})]) or ""
    return P.V1 in text and ta.arg_prefix + P.ARG1 in text and P.ARG2 not in text


def _sorts_keys(pr: P.Prober, ta: TaggedArgs) -> bool:
    """Whether arguments are printed sorted by name: with the canary tool's properties and the
    call's arguments both listed ``second_arg, first_arg``, ``first_arg`` still comes first."""
    tools = pr.canary_tools
    alpha = dict(tools[0])
    params = alpha["parameters"]
    alpha["parameters"] = {**params, "properties": dict(reversed(list(params["properties"].items())))}
    pr.canary_tools = [alpha, *tools[1:]]
    try:
        text = call_section(pr, "tools.key_order", [pr.call(P.ALPHA, {P.ARG2: P.V2, P.ARG1: P.V1})]) or ""
    finally:
        pr.canary_tools = tools
    first, second = text.find(ta.arg_prefix + P.ARG1), text.find(ta.arg_prefix + P.ARG2)
    return 0 <= first < second


def _quoted_strings(ta: TaggedArgs) -> TaggedArgs:
    """Strings printed in quotes that other values lack (``a='x', b=None``): the quote moves out
    of the markers into ``string_quote``."""
    quote = ta.arg_mid[len(ta.arg_mid_json):] if ta.arg_mid.startswith(ta.arg_mid_json) else ""
    if quote not in ("'", '"') or not ta.arg_suffix.startswith(quote):
        return ta
    return replace(ta, arg_mid=ta.arg_mid_json, arg_suffix=ta.arg_suffix[1:], string_quote=quote)


SPECIAL = "SPECIAL_s1 <&>\nline2"


def _string_wrap(pr: P.Prober, ta: TaggedArgs) -> TaggedArgs:
    """Text a template wraps around strings with new lines or markup (``<![CDATA[…]]>``)."""
    text = call_section(pr, "tools.special_string", [pr.call(P.ALPHA, {P.ARG1: SPECIAL})]) or ""
    head = ta.arg_prefix + P.ARG1 + ta.arg_mid + ta.string_quote
    start, at = text.find(head), text.find(SPECIAL)
    if start < 0 or at < 0:
        return ta
    pre = text[start + len(head):at]
    tail = text[at + len(SPECIAL):]
    close = (ta.string_quote + ta.arg_suffix).replace(ARG_SLOT, P.ARG1).strip()
    post = tail[:tail.find(close)] if close and close in tail else ""
    if not pre.strip() or not post.strip():
        return ta
    return replace(ta, string_wrap=(pre, post))


def _scalar_style(pr: P.Prober, tagged: TaggedArgs) -> str:
    """``"python"`` when a boolean argument is rendered ``True`` (Python's ``str``), else ``"json"``."""
    text = call_section(pr, "tools.bool_value", [pr.call(P.GAMMA, {P.ARG_DATA: True})]) or ""
    key = text.find(tagged.arg_prefix + P.ARG_DATA)
    if key < 0:
        return "json"
    rest = text[key + len(tagged.arg_prefix + P.ARG_DATA):]
    m = re.search(r"True|true", rest)
    return "python" if m is not None and m.group() == "True" else "json"


def _type_slot(mid: str, mid_json: str) -> str:
    """``mid_json`` with the word in which it differs from ``mid`` (a type name) as ``{{type}}``.

    >>> _type_slot('" type="string">', '" type="object">')
    '" type="{{type}}">'
    """
    a = re.search(r"[A-Za-z_]*$", mid[:lcp(mid, mid_json)])
    start = a.start() if a else 0
    m1 = re.match(r"[A-Za-z_]+", mid[start:])
    m2 = re.match(r"[A-Za-z_]+", mid_json[start:])
    if m1 and m2 and mid[start + m1.end():] == mid_json[start + m2.end():] and m1.group() != m2.group():
        return mid[:start] + TYPE_SLOT + mid[start + m1.end():]
    return mid_json


# --- several calls -------------------------------------------------------------------------------

def _multi_call(pr: P.Prober, shape: CallShape, notes: list[str]) -> Tools:
    calls = [pr.call(P.ALPHA, ARGS2, 0), pr.call(P.BETA, {P.ARG3: P.V3}, 1)]
    text2 = call_section(pr, "tools.two", calls)
    t = shape.tools
    if text2 is not None and P.BETA in text2 and t.json_call is not None and t.json_call.array_wrapped:
        return _array_separator(t, text2, shape)
    if text2 is None or P.BETA not in text2 or text2[:shape.args_end] != shape.text[:shape.args_end]:
        notes.append("parallel calls not rendered")
        return _single_call_split(t)
    anchor2 = _anchor(text2, shape)
    if anchor2 < 0:
        return _single_call_split(t)
    pre, post = shape.text[:shape.anchor], shape.text[shape.args_end:]
    x = text2[shape.args_end:anchor2]
    c = marker_safe_suffix(pre, x)
    e = len(common_prefix_of(post, x[:len(x) - c]))
    t = _split(t, pre, post, c, e, sep=x[e:len(x) - c])
    return _index_slot(t, text2, anchor2)


def _anchor(text2: str, shape: CallShape) -> int:
    pos = text2.find(P.BETA, shape.args_end)
    if shape.tools.format is ToolFormat.JSON_NATIVE:
        span = json_span(text2, pos)
        return -1 if span is None or span[0] < shape.args_end else span[0]
    return pos


def _split(t: Tools, pre: str, post: str, c: int, e: int, sep: str) -> Tools:
    start, call_start = pre[:len(pre) - c], pre[len(pre) - c:]
    call_end, end = post[:e], post[e:]
    if t.format is ToolFormat.JSON_NATIVE:
        return replace(t, section_start=start, call_start=call_start, call_end=call_end, section_end=end,
                       call_separator=sep, parallel=True)
    return replace(t, section_start=start, call_start=call_start, call_end=call_end, section_end=end,
                   call_separator=sep, parallel=True)


def _single_call_split(t: Tools) -> Tools:
    """Without a second call everything before the name is per-call (one call per message)."""
    if t.format is ToolFormat.JSON_NATIVE:
        return replace(t, call_start=t.section_start, section_start="", call_end=t.section_end,
                       section_end="", parallel=False)
    return replace(t, call_end=t.section_end, section_end="", parallel=False)


def _array_separator(t: Tools, text2: str, shape: CallShape) -> Tools:
    start = len(t.section_start)
    span = json_span(text2, text2.find(P.ALPHA))
    if span is None or not isinstance(span[2], list) or len(span[2]) < 2:
        return replace(t, parallel=False)
    inner = text2[start + 1:span[1] - 1]
    first_end = json.JSONDecoder().raw_decode(inner, len(inner) - len(inner.lstrip()))[1]
    sep_end = inner.find("{", first_end)
    return replace(t, call_separator=inner[first_end:sep_end], parallel=True,
                   section_end=text2[span[1]:] if t.section_end == "" else t.section_end)


def _index_slot(t: Tools, text2: str, anchor2: int) -> Tools:
    """Replace a call index printed in the per-call markers (``functions.f:0``) by ``{{index}}``."""
    after2 = text2[anchor2 + len(P.BETA):]
    if t.format is ToolFormat.JSON_NATIVE or after2.startswith(t.name_suffix):
        return t
    for m in re.finditer(r"\d+", t.name_suffix):
        bumped = t.name_suffix[:m.start()] + str(int(m.group()) + 1) + t.name_suffix[m.end():]
        if after2.startswith(bumped):
            return replace(t, name_suffix=t.name_suffix[:m.start()] + INDEX_SLOT + t.name_suffix[m.end():])
    return t


def _id_position(t: Tools, shape: CallShape) -> Tools:
    if t.json_call is not None and t.json_call.id_field:
        return replace(t, id_position=IdPosition.JSON_FIELD)
    if ID_SLOT in t.call_start or ID_SLOT in t.section_start:
        return replace(t, id_position=IdPosition.PRE_NAME)
    if ID_SLOT in t.name_suffix:
        return replace(t, id_position=IdPosition.BETWEEN_NAME_AND_ARGS)
    if ID_SLOT in t.call_end:
        return replace(t, id_position=IdPosition.POST_ARGS)
    return t
