"""reasoning_format: "auto" / "deepseek" extract, "none" returns the output as produced (with the
reasoning opener the generation prompt supplied), "deepseek-legacy" extracts and keeps the block
inline in content. Checked on every reasoning template of the corpus, for blocks the model opens,
blocks the prompt opens, and reasoning cut off before its end marker; streams agree with parses.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import pegtool
from pegtool.analysis.record import ReasoningMode
from pegtool.messages import ChatMessage, apply_deltas

ROOT = Path(__file__).resolve().parent.parent
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
USER = [{"role": "user", "content": "What is 2 + 2?"}]
FORMATS = ("auto", "deepseek", "none", "deepseek-legacy")
R, C = "First, 2 + 2.\nThat is 4.", "The answer is 4."


@cache
def _format(name: str) -> pegtool.ChatFormat | None:
    try:
        fmt = pegtool.ChatFormat.load(ROOT / "templates" / name)
        r = fmt.analysis.reasoning
    except pegtool.PegtoolError:
        return None
    return fmt if r.mode is not ReasoningMode.NONE and r.end.strip() else None


REASONING = [p.name for p in sorted((ROOT / "templates").glob("*.jinja")) if _format(p.name) is not None]


def test_the_corpus_has_reasoning_templates_of_both_kinds() -> None:
    opened = [n for n in REASONING if _prep(n, "auto").reasoning_open]
    assert len(REASONING) >= 30 and len(opened) >= 10 and len(REASONING) - len(opened) >= 10


@cache
def _prep(name: str, reasoning_format: str) -> pegtool.Prepared:
    fmt = _format(name)
    assert fmt is not None
    return fmt.prepare(USER, reasoning_format=reasoning_format)


def _pre_closed(prep: pegtool.Prepared, start: str, end: str) -> bool:
    gp = prep.generation_prompt
    return bool(start) and start in gp and end in gp[gp.rfind(start):]


def _streamed(prep: pegtool.Prepared, text: str, size: int = 3) -> tuple[ChatMessage, list[dict[str, Any]]]:
    stream = prep.parser.stream()
    for i in range(0, len(text), size):
        stream.feed(text[i:i + size])
    return stream.finish(), stream.deltas


def _same(a: ChatMessage, b: ChatMessage) -> bool:
    return (a.content, a.reasoning_content, a.tool_calls) == (b.content, b.reasoning_content, b.tool_calls)


def _outputs(name: str) -> dict[str, str]:
    fmt = _format(name)
    assert fmt is not None
    r = fmt.analysis.reasoning
    start = "" if _prep(name, "auto").reasoning_open else r.start.strip()
    return {"closed": f"{start}{R}{r.end}{C}", "truncated": f"{start}{R}"}


@pytest.mark.parametrize("name", REASONING)
def test_every_format_on_every_reasoning_template(name: str) -> None:
    fmt = _format(name)
    assert fmt is not None
    r = fmt.analysis.reasoning
    auto = _prep(name, "auto")
    gp = auto.generation_prompt
    opener = gp[gp.rfind(r.start.strip()):] if auto.reasoning_open else ""
    pre_closed = _pre_closed(auto, r.start.strip(), r.end)
    for kind, text in _outputs(name).items():
        msgs = {f: _prep(name, f).parser.parse(text) for f in FORMATS}
        # none: the output exactly as produced, the prompt's opener in front; never any reasoning
        assert msgs["none"].content == opener + text and msgs["none"].reasoning_content == ""
        # deepseek is auto; legacy is auto's reasoning with none's content
        assert _same(msgs["deepseek"], msgs["auto"])
        assert msgs["deepseek-legacy"].reasoning_content == msgs["auto"].reasoning_content
        assert msgs["deepseek-legacy"].content == msgs["none"].content
        # reasoning cut off before its end marker is only recognisable when something opened it
        readable = kind == "closed" or auto.reasoning_open or r.start.strip()
        if not pre_closed and readable:
            assert msgs["auto"].reasoning_content.strip() == R, (kind, msgs["auto"])
            assert msgs["auto"].content.strip() == (C if kind == "closed" else "")
        for f in FORMATS:
            final, deltas = _streamed(_prep(name, f), text)
            assert _same(final, msgs[f]), (f, kind, final, msgs[f])
            assert _same(apply_deltas(deltas), final), (f, kind)


def test_none_and_legacy_with_a_tool_call() -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen3.5-4B.jinja")
    call = '<tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n</parameter>\n</function>\n</tool_call>'
    text = "Weather lookup needed.\n</think>\n\nLet me check.\n" + call
    msgs = {f: fmt.prepare(USER, TOOLS, reasoning_format=f, call_id_seed=0).parser.parse(text) for f in FORMATS}
    for f in FORMATS:
        assert [c.name for c in msgs[f].tool_calls] == ["get_weather"], f
        assert json.loads(msgs[f].tool_calls[0].arguments) == {"location": "Paris"}
    assert msgs["none"].content.startswith("<think>\nWeather lookup needed.\n</think>")
    assert call not in msgs["none"].content and msgs["none"].reasoning_content == ""
    assert msgs["deepseek-legacy"].content == msgs["none"].content
    assert msgs["deepseek-legacy"].reasoning_content == msgs["auto"].reasoning_content
    assert msgs["auto"].reasoning_content.strip() == "Weather lookup needed."


# llama.cpp's own cases (tests/test-chat.cpp, DeepSeek R1 format): "I'm\nthinking" reasoning then
# "Hello, world!\nWhat's up?" content, with the thinking block forced open by the prompt or opened
# by the model, and a stream cut inside the reasoning. Reproduced with pegtool's semantics: the
# opener of the prompt is "<think>\n", so the inline forms show exactly that.
R1 = "llama-cpp-deepseek-r1.jinja"
THINK, SAY = "I'm\nthinking", "Hello, world!\nWhat's up?"


def test_llama_cpp_r1_forced_open() -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / R1)
    out = f"{THINK}</think>{SAY}"
    auto = fmt.prepare(USER).parser.parse(out)
    assert fmt.prepare(USER).reasoning_open
    assert (auto.reasoning_content, auto.content) == (THINK, SAY)
    none = fmt.prepare(USER, reasoning_format="none").parser.parse(out)
    assert (none.reasoning_content, none.content) == ("", f"<think>\n{THINK}</think>{SAY}")
    legacy = fmt.prepare(USER, reasoning_format="deepseek-legacy").parser.parse(out)
    assert (legacy.reasoning_content, legacy.content) == (THINK, f"<think>\n{THINK}</think>{SAY}")


def test_llama_cpp_r1_partial_reasoning_streams_as_reasoning() -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / R1)
    prep = fmt.prepare(USER, reasoning_format="deepseek")
    stream = prep.parser.stream()
    deltas = [d for piece in ("I'm", "\nthink", "ing") for d in stream.feed(piece)]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == THINK
    assert not any("content" in d for d in deltas)
    legacy = fmt.prepare(USER, reasoning_format="deepseek-legacy").parser.stream()
    sent = [d for piece in ("I'm", "\nthink", "ing") for d in legacy.feed(piece)]
    assert "".join(d.get("content", "") for d in sent) == f"<think>\n{THINK}"
    assert "".join(d.get("reasoning_content", "") for d in sent) == THINK


def test_llama_cpp_model_opened_block() -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen3-0.6B.jinja")
    out = f"<think>{THINK}</think>{SAY}"
    auto = fmt.prepare(USER).parser.parse(out)
    assert (auto.reasoning_content, auto.content) == (THINK, SAY)
    assert fmt.prepare(USER, reasoning_format="none").parser.parse(out).content == out


@pytest.mark.parametrize("name", ["Qwen3.5-4B.jinja", "Qwen-Qwen3-0.6B.jinja", "GLM-4.7-Flash.jinja",
                                  "openai-gpt-oss-120b.jinja"])
@pytest.mark.parametrize("reasoning_format", ["none", "deepseek-legacy"])
def test_any_chunking_gives_the_same_deltas(name: str, reasoning_format: str) -> None:
    """One character at a time or in uneven pieces: the deltas add up to the parse, never retracted."""
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / name)
    prep = fmt.prepare(USER, TOOLS, reasoning_format=reasoning_format, call_id_seed=0)
    r = fmt.analysis.reasoning
    text = ("" if prep.reasoning_open else r.start) + R + r.end + C
    whole = prep.parser.parse(text)
    for sizes in ([1], [2, 5, 1], [7]):
        stream = prep.parser.stream()
        i = k = 0
        while i < len(text):
            step = sizes[k % len(sizes)]
            stream.feed(text[i:i + step])
            i, k = i + step, k + 1
        final = stream.finish()
        assert _same(final, whole) and _same(apply_deltas(stream.deltas), whole), sizes
