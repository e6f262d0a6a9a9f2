"""Streaming properties over the round-trip texts of every template (pegtool.parser.stream).

For each template and scenario (rendered through the template as in
:mod:`pegtool.analysis.roundtrip`), any chunking of the model text — one character at a time
included — gives deltas that concatenate to the final message, which equals the non-streamed
parse; argument fragments concatenate to the final ``arguments``; nothing is retracted.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pegtool.analysis import roundtrip as R
from pegtool.analysis.analyze import analyze
from pegtool.grammar.chat import build_chat_grammar
from pegtool.grammar.ir import Tag
from pegtool.messages import ChatMessage, apply_deltas
from pegtool.parser.chat import ChatParser, _open_text
from pegtool.template import Renderer, load_template

TEMPLATES = sorted((Path(__file__).resolve().parents[1] / "templates").glob("*.jinja"))
USER = [{"role": "user", "content": "Please help me."}]


def _key(msg: ChatMessage) -> tuple[Any, ...]:
    return (msg.content, msg.reasoning_content, [(c.name, c.id, c.arguments) for c in msg.tool_calls])


#: Known gap: reasoning marked only by its end marker (optional, no start marker) followed by
#: content and a call. While the end marker has not come, the partial parse says "reasoning" and
#: a competing parse says "content + call"; the stream holds back, and finish() falls back to
#: "what was sent + the rest as content" (no text lost, but != parse()). Fix in progress: flip
#: the outermost tentative choice in a second, pessimistic session and send the agreement.
KNOWN_AMBIGUOUS = {("Qwen-QwQ-32B", "content_call"), ("deepseek-ai-DeepSeek-V3.1", "content_call"),
                   ("tencent-Hy3", "content_call")}


def _tools_for(tools: list[dict[str, Any]], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The scenario's tools plus get_weather (a smaller grammar compiles much faster)."""
    names = {n for n, _ in spec.get("calls", [])} | {"get_weather"}
    return [t for t in tools if t["function"]["name"] in names]


@functools.cache
def _cases() -> tuple[tuple[str, str, ChatParser, str], ...]:
    """(template, scenario, parser, model text) for every scenario each template renders and
    parses back without a diagnostic (texts the grammar rejects are the round trip's business)."""
    tools = R.load_tools()
    parsers: dict[tuple[str, str, tuple[str, ...]], ChatParser] = {}
    out = []
    for path in TEMPLATES:
        try:
            source = load_template(path)
            a = analyze(source)
        except Exception:  # noqa: BLE001 - analysis failures are tested elsewhere
            continue
        renderer = Renderer(source)
        for name, spec in R.SCENARIOS.items():
            if R._skip_reason(a, spec):
                continue
            try:
                gp, text = R.model_text(renderer, a, R._message(a, spec), tools, USER)
                subset = _tools_for(tools, spec)
                key = (path.stem, gp, tuple(t["function"]["name"] for t in subset))
                if key not in parsers:
                    parsers[key] = ChatParser(build_chat_grammar(a, subset, generation_prompt=gp), id_seed=0)
                parser = parsers[key]
                clean = not parser.parse(text).diagnostics
            except Exception:  # noqa: BLE001 - render/grammar failures are the round trip's business
                continue
            if clean and (path.stem, name) not in KNOWN_AMBIGUOUS:
                out.append((path.stem, name, parser, text))
    return tuple(out)


def _stream(parser: ChatParser, pieces: list[str]) -> tuple[ChatMessage, list[dict[str, Any]]]:
    s = parser.stream()
    deltas: list[dict[str, Any]] = []
    for p in pieces:
        deltas.extend(s.feed(p))
    final = s.finish()
    assert deltas == s.deltas[: len(deltas)]
    _STREAMS[0] = s
    return final, s.deltas


_STREAMS: list[Any] = [None]  # the latest stream of _stream()


def _check(parser: ChatParser, text: str, pieces: list[str]) -> None:
    assert "".join(pieces) == text
    s = parser.stream()
    sent, in_reasoning = [], []
    for p in pieces:
        s.feed(p)
        sent.append(s.sent)
        in_reasoning.append(s._last is not None and _open_text(s._last.captures) is Tag.REASONING)
    final = s.finish()
    assert _key(apply_deltas(s.deltas)) == _key(final)
    assert _key(final) == _key(parser.parse(text))
    _check_call_deltas(s.deltas)
    _check_growth(sent)
    if all(len(p) == 1 for p in pieces):
        _check_lag(parser, text, sent, in_reasoning)


def _check_growth(sent: list[ChatMessage]) -> None:
    """Every field only grows: each snapshot extends the one before."""
    for a, b in zip(sent, sent[1:], strict=False):
        assert b.content.startswith(a.content) and b.reasoning_content.startswith(a.reasoning_content)
        assert len(b.tool_calls) >= len(a.tool_calls)
        for x, y in zip(a.tool_calls, b.tool_calls, strict=False):
            assert (x.name, x.id) == (y.name, y.id) and y.arguments.startswith(x.arguments)


def _spans(nodes: Any, tag: Tag, out: list[Any]) -> list[Any]:
    for n in nodes:
        if n.tag is tag:
            out.append(n)
        elif n.tag is not Tag.TOOL_CALL:
            _spans(n.children, tag, out)
    return out


def _check_lag(parser: ChatParser, text: str, sent: list[ChatMessage], in_reasoning: list[bool]) -> None:
    """The streaming contract, at every prefix ``text[:i]`` (one character per feed): what was
    sent of reasoning, content and each call's JSON arguments trails what the final parse reads
    from ``text[:i]`` by at most the longest marker (a possible marker prefix held back; a
    complete marker that the final parse keeps as text is held from there until it is known),
    and each call is sent once its name (and an id written before its arguments) is complete —
    except a call written inside a reasoning block that is still open: whether the block closes
    later (then the markup was quoted reasoning) is only known when the text ends; likewise text
    after a prompt that opened a block marked only by its end (reasoning if the end comes), and a
    call that starts with the bare tool name, no marker (content until the call is complete)."""
    final = parser.engine.parse(text)
    assert final.ok
    hold = max((len(m) for m in parser.markers), default=0)
    fields = ((Tag.REASONING, lambda m: m.reasoning_content), (Tag.CONTENT, lambda m: m.content))
    calls = [n for n in final.captures if n.tag is Tag.TOOL_CALL]
    for i, msg in enumerate(sent, start=1):
        if in_reasoning[i - 1] and not parser.parse(text[:i]).reasoning_content:
            continue  # a block marked only by its end: reasoning if the end marker comes, else content
        for tag, get in fields:
            known = "".join(text[n.start:min(n.end, i)] for n in _spans(final.captures, tag, []) if n.start < i)
            unsent = known[len(get(msg)):]
            marked = any(unsent.lstrip().startswith(m) for m in parser.markers)
            assert len(unsent) <= hold or marked, (tag, i, text[max(0, i - 30):i])
        for k, call in enumerate(calls):
            children = {c.tag: c for c in call.children}
            name = children[Tag.TOOL_NAME]
            ident = children.get(Tag.TOOL_ID)
            ready = max(name.end, ident.end if ident is not None and not parser.late_ids else 0)
            if parser.late_ids and (ident is None or ident.start > name.end):
                # a dialect whose id may follow the arguments: the call is sent once they begin
                # (an id could still come before them)
                begun = [c.start for c in call.children if c.tag in (Tag.TOOL_ARGS, Tag.ARG)]
                ready = max(ready, min(begun, default=ready))
            if i >= ready + hold and not in_reasoning[i - 1] and parser.marked_calls:
                assert len(msg.tool_calls) > k, ("call", k, i, text[max(0, i - 30):i])
            args = children.get(Tag.TOOL_ARGS)
            if args is not None and len(msg.tool_calls) > k and args.start < i:
                known = len(text[args.start:min(args.end, i)].strip())
                assert known - len(msg.tool_calls[k].arguments) <= hold, ("args", k, i)


def _check_call_deltas(deltas: list[dict[str, Any]]) -> None:
    """The first delta of call i carries id, type and the whole name; later ones only arguments."""
    seen: set[int] = set()
    for d in deltas:
        for tc in d.get("tool_calls", []):
            i = tc["index"]
            if i not in seen:
                assert i == len(seen) and tc["type"] == "function" and tc["id"] and tc["function"]["name"]
                seen.add(i)
            else:
                assert set(tc) == {"index", "function"} and set(tc["function"]) == {"arguments"}


def _chunks(text: str, rng: random.Random, max_len: int) -> list[str]:
    out, i = [], 0
    while i < len(text):
        k = rng.randint(1, max_len)
        out.append(text[i : i + k])
        i += k
    return out


def test_cases_cover_most_templates() -> None:
    assert len({c[0] for c in _cases()}) >= 55


@pytest.mark.parametrize("tmpl,scen", sorted(KNOWN_AMBIGUOUS))
def test_known_ambiguous_cases_lose_no_text(tmpl: str, scen: str) -> None:
    """The known gap still loses nothing: every character is in the streamed message."""
    tools = R.load_tools()
    source = load_template(Path(__file__).resolve().parents[1] / "templates" / f"{tmpl}.jinja")
    a = analyze(source)
    gp, text = R.model_text(Renderer(source), a, R._message(a, R.SCENARIOS[scen]), tools, USER)
    parser = ChatParser(build_chat_grammar(a, _tools_for(tools, R.SCENARIOS[scen]), generation_prompt=gp), id_seed=0)
    final, deltas = _stream(parser, list(text))
    assert _key(apply_deltas(deltas)) == _key(final)
    kept = final.content + final.reasoning_content + "".join(c.name + c.arguments for c in final.tool_calls)
    for word in ("Let me check.", "get_weather", "Tokyo"):
        assert word in kept


@pytest.mark.parametrize("index", range(12))
def test_one_char_chunks_equal_parse(index: int) -> None:
    """Every case, one character at a time (split over 12 tests to keep each short)."""
    cases = _cases()
    for tmpl, scen, parser, text in cases[index::12]:
        try:
            _check(parser, text, list(text))
        except AssertionError as exc:
            raise AssertionError(f"{tmpl} / {scen}: {exc}") from exc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=2**32), st.integers(1, 24))
def test_random_chunkings_equal_parse(which: int, seed: int, max_len: int) -> None:
    cases = _cases()
    tmpl, scen, parser, text = cases[which % len(cases)]
    pieces = _chunks(text, random.Random(seed), max_len)
    try:
        _check(parser, text, pieces)
    except AssertionError as exc:
        raise AssertionError(f"{tmpl} / {scen} / {pieces!r}: {exc}") from exc


@pytest.mark.parametrize("index", range(4))
def test_truncated_output_marks_the_call_incomplete(index: int) -> None:
    """Cut every call-bearing text inside its arguments: finish() keeps the call, incomplete,
    and the deltas still add up to it; no text is lost."""
    cases = [c for c in _cases() if c[1] in ("one_call", "code_arg")]
    for tmpl, scen, parser, text in cases[index::4]:
        full = parser.parse(text)
        if not full.tool_calls or full.diagnostics:
            continue
        cut = len(text) - len(text) // 3
        final, deltas = _stream(parser, list(text[:cut]))
        assert _key(apply_deltas(deltas)) == _key(final), (tmpl, scen)
        assert _key(final) == _key(parser.parse(text[:cut])), (tmpl, scen)
        if final.tool_calls:
            assert final.tool_calls[-1].incomplete or json.loads(final.tool_calls[-1].arguments) is not None
