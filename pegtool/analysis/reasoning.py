"""Stage: analysis — reasoning markers, content wrapping and the end-of-turn marker.

Reasoning: an assistant message with a canary ``reasoning_content`` (or the older ``thinking`` /
``reasoning`` fields) is diffed against the same message without it; the text around the canary
gives the start and end markers. Content: the text around a canary content string.
"""

from __future__ import annotations

import re

from pegtool.analysis import probe as P
from pegtool.analysis.diff import (
    diff_split,
    first_marker,
    last_marker,
    marker_safe_prefix,
    marker_safe_suffix,
    markers_in,
    openers_of,
    segments,
)
from pegtool.analysis.record import Content, ContentMode, Reasoning, ReasoningMode, ToolFormat, Tools

_WS = re.compile(r"\s")
FIELDS = ("reasoning_content", "thinking", "reasoning")


def _with_calls(pr: P.Prober) -> list[dict[str, object]]:
    return [pr.call(P.ALPHA, {P.ARG1: P.V1})]


def analyze_reasoning(pr: P.Prober, tools: Tools | None = None) -> Reasoning:
    """Find the reasoning markers with content; failing that, next to tool calls only."""
    stops = _tool_stops(tools)
    found = _reasoning_near(pr, P.CONTENT, None, stops)
    if found is not None:
        return found
    if tools is not None and tools.format is not ToolFormat.NONE:
        found = _reasoning_near(pr, "", _with_calls(pr), stops)
        if found is not None:
            return Reasoning(ReasoningMode.TOOLS_ONLY, found.start, found.end, found.field)
    return Reasoning()


def _tool_stops(tools: Tools | None) -> list[str]:
    if tools is None or tools.format is ToolFormat.NONE:
        return []
    heads = [tools.section_start.strip(), tools.call_start.strip()]
    return [h.split()[0] for h in heads if h.split()]


def _reasoning_near(pr: P.Prober, content: str, calls: list[dict[str, object]] | None,
                    stops: list[str]) -> Reasoning | None:
    base = pr.turn("reasoning.base", pr.assistant(content, calls))
    if base is None:
        return None
    for field in FIELDS:
        t = pr.turn(f"reasoning.{field}", pr.assistant(content, calls, P.REASONING, field))
        if t is not None and P.REASONING in t.segment:
            return _markers(pr, base.segment, t, field, stops)
    return None


def _markers(pr: P.Prober, seg0: str, t: P.Turn, field: str, stops: list[str]) -> Reasoning:
    if P.REASONING not in t.output:
        return _markers_in_segment(seg0, t.segment, t.generation_prompt, field, stops)
    before, _, after = t.output.partition(P.REASONING)
    start = before.strip()
    end = _end_marker(pr, after, stops)
    if not start:
        start = _markers_in_segment(seg0, t.segment, t.generation_prompt, field, stops).start
    if not start:
        # the opener may sit in the render before the turn's text (Command R7B writes the turn
        # header and ``<|START_THINKING|>`` whether or not a generation prompt was asked for)
        start = _opening_of(end, t.before + t.segment[:t.segment.index(P.REASONING)])
    return Reasoning(ReasoningMode.TAG_BASED, start, end, field)


def _opening_of(end: str, before: str) -> str:
    """The opening counterpart of a closing end marker (``</x>`` -> ``<x>``, ``<|END_X|>`` ->
    ``<|START_X|>``) when it is the last marker before the reasoning.

    >>> _opening_of("</think:o>", "<a><think:o>"), _opening_of("<|END_T|>", "<|B|><|START_T|>")
    ('<think:o>', '<|START_T|>')
    """
    tail = before.rstrip()
    return next((o for o in openers_of(end.strip()) if tail.endswith(o)), "")


def _end_marker(pr: P.Prober, after: str, stops: list[str]) -> str:
    """The reasoning end: the text up to the content (minus the content's own start marker) or up
    to the first tool-call marker; otherwise the leading marker run."""
    if P.CONTENT in after:
        between = after[:after.index(P.CONTENT)]
        cut = len(between) - _content_start_overlap(pr, between)
        end = between[:cut].strip()
        return end or between.strip()
    for stop in stops:
        if stop in after:
            return after[:after.index(stop)].strip() or first_segment_run(after)
    return first_segment_run(after)


def _content_start_overlap(pr: P.Prober, between: str) -> int:
    """Length of the tail of ``between`` that a content-only render also puts before its content."""
    out = pr.output("content.prefix", pr.assistant(P.CONTENT))
    if out is None or P.CONTENT not in out:
        return 0
    prefix = out[:out.index(P.CONTENT)]
    n = marker_safe_suffix(between, prefix)
    return 0 if n >= len(between.strip()) else n


def _markers_in_segment(seg0: str, seg: str, gp: str, field: str, stops: list[str]) -> Reasoning:
    d = diff_split(seg0, seg)
    before, _, after = d.right.partition(P.REASONING)
    if P.REASONING not in d.right:
        before, _, after = seg.partition(P.REASONING)
        before = before[len(d.prefix):] if before.startswith(d.prefix) else ""
    start = before.strip()
    if not start:
        start = _start_in_prefix(d.prefix, gp)
    end = (after + d.suffix).strip() if not after.strip() else after.strip()
    return Reasoning(ReasoningMode.TAG_BASED, start, first_segment_run(end), field)


def _start_in_prefix(prefix: str, gp: str) -> str:
    """A start marker rendered just before the canary but outside the diff (``<think>\\n`` kept
    by the template even without reasoning), or at the end of the generation prompt."""
    role = marker_safe_prefix(gp, prefix)
    tail = prefix[role:].strip()
    if tail:
        return last_marker(tail)
    return ""


def first_segment_run(text: str) -> str:
    """The leading markers of ``text`` up to the first line of plain text.

    >>> first_segment_run("</think>\\n\\nCONTENT")
    '</think>'
    """
    out = ""
    for seg in segments(text):
        if (seg.strip() == "" or seg[:1].isspace()) and out:
            break
        if P.CONTENT in seg or P.V1 in seg or P.ALPHA in seg:
            break
        out += seg
        if not seg.startswith(("<", "[")):
            break
    return out.strip() or first_marker(text)


def analyze_content(pr: P.Prober, reasoning: Reasoning) -> tuple[Content, tuple[str, ...]]:
    """Content wrapping and the end-of-turn markers after plain content.

    The content start is what precedes the canary (minus an empty reasoning block); the content
    end is what follows it both in a content-only turn and in a content + call turn (the rest of
    the content-only tail is the end of turn)."""
    out = pr.output("content", pr.assistant(P.CONTENT))
    if out is None or P.CONTENT not in out:
        return Content(), ()
    before, _, after = out.partition(P.CONTENT)
    start = _content_start(_strip_empty_reasoning(before, reasoning).strip(), reasoning)
    end = _content_end(pr, after)
    eot = _before_next_turn(pr, after.strip())
    if not end and start and eot[len(first_marker(eot)):].strip():
        end = first_marker(eot)  # the turn's end follows the content's own end marker
    if start or end:
        rest = eot[len(end):].strip() if eot.startswith(end) else eot
        return Content(ContentMode.ALWAYS_WRAPPED, start, end), _eot(rest)
    return Content(), _eot(eot)


def _content_start(before: str, reasoning: Reasoning) -> str:
    if not before:
        return ""
    if not markers_in(before):
        start = last_marker(before)
        return "" if start in (reasoning.end, reasoning.start) else start
    start = before if not _WS.search(before) else last_marker(before)
    return "" if start in (reasoning.end, reasoning.start) else start


def _content_end(pr: P.Prober, after: str) -> str:
    """The markers after the content canary that a content + call turn shares."""
    out = pr.output("content.with_call", pr.assistant(P.CONTENT, _with_calls(pr)))
    if out is None or P.CONTENT not in out or P.ALPHA not in out:
        return ""
    after_call = out[out.index(P.CONTENT) + len(P.CONTENT):]
    shared = after[:marker_safe_prefix(after, after_call)].strip()
    rest = after.strip()[len(shared):].strip()
    return shared if rest and markers_in(shared) and not _WS.search(shared) else ""


def _before_next_turn(pr: P.Prober, eot: str) -> str:
    """``eot`` cut where a turn the template writes after every conversation begins: Command-R+
    appends an instruction turn after the last message, Firefunction v2 the assistant header
    whether or not a generation prompt was asked for. Such a tail ends the render without the
    assistant message too, and it opens a turn: it starts with the generation prompt's first
    marker, or (no generation prompt) it is the header the assistant's content follows."""
    base = (pr.render("content.base", pr.messages()) or "").rstrip()
    full = pr.render("content.full", pr.messages(pr.assistant(P.CONTENT))) or ""
    between = full[full.find(P.USER) + len(P.USER):full.find(P.CONTENT)] if P.CONTENT in full else ""
    opener = first_marker((pr.generation_prompt("generation_prompt") or "").strip())

    def opens_turn(i: int) -> bool:
        if opener:
            return eot.startswith(opener, i)
        # no generation prompt: the tail starts with a marker of the assistant's own turn header
        # (what the render puts between the user's text and the assistant's, after the user's
        # end of turn)
        first, marks = first_marker(eot[i:]), markers_in(between)
        return bool(first) and eot.startswith(first, i) and first in marks[1:] and first != marks[0]

    cut = next((i for i in range(1, len(eot))
                if eot[i] in "<[" and base.endswith(eot[i:]) and opens_turn(i)), 0)
    return eot[:cut].rstrip() if cut else eot


def _eot(text: str) -> tuple[str, ...]:
    return (text,) if text else ()


def _strip_empty_reasoning(before: str, r: Reasoning) -> str:
    if r.end and r.end in before:
        return before[before.rfind(r.end) + len(r.end):]
    return before
