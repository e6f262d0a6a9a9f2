"""Stage: analysis — the entry point: render canaries, diff, record an :class:`Analysis`."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from typing import Any

from pegtool import dialects
from pegtool.analysis import probe as P
from pegtool.analysis.diff import marker_safe_prefix, markers_in, openers_of
from pegtool.analysis.overrides import apply_overrides
from pegtool.analysis.reasoning import analyze_content, analyze_reasoning
from pegtool.analysis.record import Analysis, Capabilities, ContentMode, ReasoningMode, ToolFormat, Tools
from pegtool.analysis.tools import analyze_tools
from pegtool.dialects.base import TemplateFacts
from pegtool.errors import AnalysisError
from pegtool.template import TemplateSource
from pegtool.template.sandbox import LIMITS, operation

_CACHE: dict[tuple[str, str, str], Analysis] = {}
_LOCK = threading.Lock()


def analyze(source: TemplateSource) -> Analysis:
    """The analysis of ``source`` (cached per template text, bos and eos token)."""
    key = (source.text, source.bos_token, source.eos_token)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is None:
        cached = _analyze(source)
        with _LOCK:
            _CACHE[key] = cached
    return replace(cached, name=source.name)


def _analyze(source: TemplateSource) -> Analysis:
    """One analysis under one time budget (:data:`~pegtool.template.sandbox.LIMITS`)."""
    with operation("analysis", LIMITS.analysis_timeout_s,
                   "PEGTOOL_ANALYSIS_TIMEOUT or pegtool.template.sandbox.LIMITS.analysis_timeout_s"):
        return _analyze_probed(source)


def _analyze_probed(source: TemplateSource) -> Analysis:
    pr = P.Prober(source)
    shows_calls = pr.choose_style()
    if not shows_calls:
        pr.find_tool_slot()
    if not pr.rendered:  # not even a plain conversation renders: nothing to analyse
        pr.render("plain", pr.messages(pr.assistant(P.CONTENT)), tools=False)
        if not pr.rendered:
            first = pr.errors[0][1] if pr.errors else "no render succeeded"
            raise AnalysisError(f"{source.name}: every render of the template fails; first error: {first}")
    tools, notes = analyze_tools(pr) if shows_calls else (Tools(), [])
    reasoning = analyze_reasoning(pr, tools)
    content, eot = analyze_content(pr, reasoning)
    tools, eot = _call_turn_end(pr, tools, eot)
    a = Analysis(
        name=source.name,
        generation_prompt=pr.generation_prompt("generation_prompt") or "",
        generation_prompt_thinking=pr.generation_prompt("thinking_on", enable_thinking=True) or "",
        generation_prompt_no_thinking=pr.generation_prompt("thinking_off", enable_thinking=False) or "",
        end_of_turn=eot,
        reasoning=reasoning,
        content=content,
        tools=_calls_after_eot(pr, _strip_eot(tools, eot), eot),
        canary=pr.style,
        dialects=tuple(pr.fired),
        notes=tuple(notes),
    )
    a = replace(a, capabilities=_capabilities(pr, a))
    a = _split_content_opener(a)
    a = _named_dialects(pr, source, a)
    changed = apply_overrides(a)
    if changed.reasoning != a.reasoning:  # content markers depend on the reasoning markers
        content, eot = analyze_content(pr, changed.reasoning)
        changed = replace(changed, content=content, end_of_turn=eot,
                          tools=_calls_after_eot(pr, _strip_eot(tools, eot), eot))
    return _finish(changed, source, pr)


def _split_content_opener(a: Analysis) -> Analysis:
    """A template that writes the reasoning block and the content block back to back in every turn
    (Kimi K3: ``…<|close|>think<|sep|><|open|>response<|sep|>content<|close|>response<|sep|>``)
    shows the content's opener glued to the reasoning's end. When the reasoning end finishes with
    the counterpart of the content's closing marker, that tail opens the content instead: the
    model may write the reasoning block without a response block after it (calls only)."""
    r, c = a.reasoning, a.content
    if r.mode is ReasoningMode.NONE or c.start or not c.end.strip():
        return a
    for opener in openers_of(c.end.strip()):
        end = r.end.rstrip()
        if end.endswith(opener) and end[:-len(opener)].strip():
            return replace(a, reasoning=replace(r, end=end[:-len(opener)]),
                           content=replace(c, mode=ContentMode.ALWAYS_WRAPPED, start=opener))
    return a


def _named_dialects(pr: P.Prober, source: TemplateSource, a: Analysis) -> Analysis:
    """``a`` with the named dialects whose evidence the template shows applied (see
    :mod:`pegtool.dialects`); capabilities follow what they add."""
    if not dialects.NAMED:
        return a
    facts = TemplateFacts(a, pr.render("capabilities.tools", pr.messages()) or "",
                          _quiet_render(pr, tools=False),
                          frozenset(source.special_tokens), a.generation_prompt,
                          _quiet_render(pr, tools=False, enable_thinking=True, thinking=True))
    named = dialects.apply_named(a, facts)
    if named == a:
        return a
    return replace(named, capabilities=replace(named.capabilities, tool_calls=named.tools.format is not ToolFormat.NONE,
                                               parallel_tool_calls=named.tools.parallel))


def _quiet_render(pr: P.Prober, *, tools: bool, **kwargs: Any) -> str:
    """The canary conversation rendered (failures are not recorded: the probe is optional)."""
    mark = len(pr.errors)
    text = pr.render("dialects", pr.messages(), tools=tools, **kwargs) or ""
    del pr.errors[mark:]
    return text


def _strip_eot(tools: Tools, eot: tuple[str, ...]) -> Tools:
    for marker in eot:
        end = tools.section_end.rstrip()
        if marker and end.endswith(marker):
            return replace(tools, section_end=end[: len(end) - len(marker)])
        end = tools.call_end.rstrip()
        if marker and not tools.section_end.strip() and end.endswith(marker):
            return replace(tools, call_end=end[: len(end) - len(marker)])
    return tools


def _call_turn_end(pr: P.Prober, tools: Tools, eot: tuple[str, ...]) -> tuple[Tools, tuple[str, ...]]:
    """A marker that ends a turn with calls (``…<tool_call|>Let me check.<|tool_response>``): the
    content rendered after the calls precedes it, so it is an end of turn, not part of the calls."""
    end = tools.section_end.strip()
    if tools.format is ToolFormat.NONE or not end or end in eot:
        return tools, eot
    out = pr.output("tools.content_after", pr.assistant(P.CONTENT, [pr.call(P.ALPHA, {P.ARG1: P.V1})])) or ""
    if P.ALPHA not in out or out.find(P.CONTENT) < out.find(P.ALPHA):
        return tools, eot
    after = out[out.index(P.CONTENT) + len(P.CONTENT):].strip()
    if after != end:
        return tools, eot
    section_end = tools.section_end[:tools.section_end.rindex(end)]
    return replace(tools, section_end=section_end), (*eot, end)


def _calls_after_eot(pr: P.Prober, tools: Tools, eot: tuple[str, ...]) -> Tools:
    """Calls written after the end-of-turn marker (``text<|message_sep|>function call…``): the
    marker (and the white space after it) opens the call section."""
    start = tools.section_start or tools.call_start
    if tools.format is ToolFormat.NONE or not start.strip() or not eot:
        return tools
    out = pr.output("tools.after_eot", pr.assistant("", [pr.call(P.ALPHA, {P.ARG1: P.V1})])) or ""
    i = out.find(start.strip())
    before = out[:i].rstrip() if i > 0 else ""
    marker = next((m for m in eot if m and before.endswith(m) and m not in start), "")
    if not marker:
        return tools
    lead = out[len(before) - len(marker):i] + start.lstrip()
    if tools.section_start:
        return replace(tools, section_start=lead)
    return replace(tools, call_start=lead)


def _capabilities(pr: P.Prober, a: Analysis) -> Capabilities:
    with_tools = pr.render("capabilities.tools", pr.messages()) or ""
    system = pr.render("capabilities.system", pr.messages(system=True), tools=False) or ""
    return Capabilities(
        system_role="SYSTEM_CANARY_s3" in system,
        tools=P.ALPHA in with_tools,
        tool_calls=a.tools.format is not ToolFormat.NONE,
        reasoning_content=a.reasoning.mode is not ReasoningMode.NONE and "reasoning" not in a.overrides,
        parallel_tool_calls=a.tools.parallel,
    )


_NEXT = "NEXT_TURN_CANARY_n4"


def _next_turn(pr: P.Prober, a: Analysis) -> tuple[str, ...]:
    """The markers a user or tool turn after the assistant's opens with, when the template writes
    no end-of-turn marker: the marker the text added by the follow-up turn starts with."""
    if a.end_of_turn:
        return ()
    follow_ups = [(pr.assistant(P.CONTENT), {"role": "user", "content": _NEXT})]
    if a.tools.format is not ToolFormat.NONE:
        call = pr.assistant("", [pr.call(P.ALPHA, {P.ARG1: P.V1})])
        follow_ups.append((call, {"role": "tool", "tool_call_id": pr.call_id(0), "name": P.ALPHA,
                                  "content": _NEXT}))
    found: list[str] = []
    for assistant, nxt in follow_ups:
        before = pr.render("next_turn", pr.messages(assistant))
        after = pr.render("next_turn", [*pr.messages(assistant), nxt])
        if before is None or after is None or _NEXT not in after:
            continue
        added = after[marker_safe_prefix(before, after):after.index(_NEXT)]
        added = added.split(P.CONTENT)[-1].strip()
        marks = markers_in(added)
        if marks and added.startswith(marks[0]) and marks[0] not in found:
            found.append(marks[0])
    return tuple(found)


def _finish(a: Analysis, source: TemplateSource, pr: P.Prober) -> Analysis:
    a = replace(a, next_turn=_next_turn(pr, a))
    preserved = preserved_tokens(a)
    special = tuple(t for t in preserved if t in source.special_tokens)
    errors = tuple(dict.fromkeys(pr.errors))
    return replace(a, preserved_tokens=preserved, special_tokens=special, probe_errors=errors)


def preserved_tokens(a: Analysis) -> tuple[str, ...]:
    """Every marker the parser needs, in a stable order."""
    t = a.tools
    texts = [a.reasoning.start, a.reasoning.end, a.content.start, a.content.end, *a.end_of_turn,
             t.section_start, t.call_start, t.name_suffix, t.call_end, t.section_end, t.call_separator]
    if t.tagged is not None:
        ta = t.tagged
        texts += [ta.arg_prefix, ta.arg_mid, ta.arg_mid_json, ta.arg_suffix, ta.string_quote]
    out: list[str] = []
    for text in texts:
        # a closing bracket token (``[/THINK]``) is a marker too
        found = markers_in(text) or ([text.strip()] if _CLOSING_BRACKET.fullmatch(text.strip()) else [])
        for m in found:
            if m not in out:
                out.append(m)
    return tuple(out)


_CLOSING_BRACKET = re.compile(r"\[/[A-Za-z_][A-Za-z0-9_]*\]")
