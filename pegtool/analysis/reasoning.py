"""Stage: analysis — reasoning markers, content wrapping and the end-of-turn marker.

Reasoning: an assistant message with a canary ``reasoning_content`` (or the older ``thinking`` /
``reasoning`` fields) is diffed against the same message without it; the text around the canary
gives the start and end markers. Content: the text around a canary content string.
"""

from __future__ import annotations

from pegtool.analysis import probe as P
from pegtool.analysis.diff import diff_split, first_marker, last_marker, marker_safe_prefix, segments
from pegtool.analysis.record import Content, ContentMode, Reasoning, ReasoningMode

FIELDS = ("reasoning_content", "thinking", "reasoning")


def _with_calls(pr: P.Prober) -> list[dict[str, object]]:
    return [pr.call(P.ALPHA, {P.ARG1: P.V1})]


def analyze_reasoning(pr: P.Prober, has_tools: bool) -> Reasoning:
    """Find the reasoning markers with content; failing that, next to tool calls only."""
    found = _reasoning_near(pr, P.CONTENT, None)
    if found is not None:
        return found
    if has_tools:
        found = _reasoning_near(pr, "", _with_calls(pr))
        if found is not None:
            return Reasoning(ReasoningMode.TOOLS_ONLY, found.start, found.end, found.field)
    return Reasoning()


def _reasoning_near(pr: P.Prober, content: str, calls: list[dict[str, object]] | None) -> Reasoning | None:
    base = pr.turn("reasoning.base", pr.assistant(content, calls))
    if base is None:
        return None
    for field in FIELDS:
        t = pr.turn(f"reasoning.{field}", pr.assistant(content, calls, P.REASONING, field))
        if t is not None and P.REASONING in t.segment:
            return _markers(base.segment, t.segment, t.generation_prompt, field)
    return None


def _markers(seg0: str, seg: str, gp: str, field: str) -> Reasoning:
    d = diff_split(seg0, seg)
    before, _, after = d.right.partition(P.REASONING)
    if P.REASONING not in d.right:
        before, _, after = seg.partition(P.REASONING)
        before = before[len(d.prefix):] if before.startswith(d.prefix) else ""
    start = before.strip()
    if not start:
        start = _start_in_prefix(d.prefix, gp)
    end = (after + d.suffix).strip() if not after.strip() else after.strip()
    end = first_segment_run(end)
    return Reasoning(ReasoningMode.TAG_BASED, start, end, field)


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
        if seg.strip() == "" and out:
            break
        if P.CONTENT in seg or P.V1 in seg or P.ALPHA in seg:
            break
        out += seg
        if not seg.startswith(("<", "[")):
            break
    return out.strip() or first_marker(text)


def analyze_content(pr: P.Prober, reasoning: Reasoning) -> tuple[Content, tuple[str, ...]]:
    """Content wrapping and the end-of-turn markers after plain content."""
    out = pr.output("content", pr.assistant(P.CONTENT))
    if out is None or P.CONTENT not in out:
        return Content(), ()
    before, _, after = out.partition(P.CONTENT)
    before = _strip_empty_reasoning(before, reasoning).strip()
    start = last_marker(before) if before else ""
    if start and (start == reasoning.end or start == reasoning.start):
        start = ""
    eot = after.strip()
    if start:
        end = first_marker(eot)
        rest = eot[len(end):].strip()
        return Content(ContentMode.ALWAYS_WRAPPED, start, end), _eot(rest)
    return Content(), _eot(eot)


def _eot(text: str) -> tuple[str, ...]:
    return (text,) if text else ()


def _strip_empty_reasoning(before: str, r: Reasoning) -> str:
    if r.end and r.end in before:
        return before[before.rfind(r.end) + len(r.end):]
    return before
