"""Assistant prefill (``continue_final_message``): the prompt is the render cut at the end of the
final assistant message's text, the parser starts where that text stopped (inside content, inside
an open reasoning block, after a complete one), the parsed message is the whole assistant message
and streaming deltas carry only the new text. Checked across the template corpus."""

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
USER = [{"role": "user", "content": "Say hello."}]
TEMPLATES = [p.name for p in sorted((ROOT / "templates").glob("*.jinja"))]


@cache
def _format(name: str) -> pegtool.ChatFormat | None:
    try:
        fmt = pegtool.ChatFormat.load(ROOT / "templates" / name)
        fmt.analysis  # noqa: B018 - analyse once
    except pegtool.PegtoolError:
        return None
    return fmt


def _streamed(prep: pegtool.Prepared, text: str, size: int = 2) -> tuple[ChatMessage, list[dict[str, Any]]]:
    stream = prep.parser.stream()
    for i in range(0, len(text), size):
        stream.feed(text[i:i + size])
    return stream.finish(), stream.deltas


def _render(fmt: pegtool.ChatFormat, messages: list[dict[str, Any]]) -> str | None:
    try:
        return fmt.render(messages, add_generation_prompt=False)
    except pegtool.PegtoolError:
        return None


def _content_templates() -> list[str]:
    """Templates whose render shows an assistant message's content."""
    out = []
    for name in TEMPLATES:
        fmt = _format(name)
        if fmt is None:
            continue
        text = _render(fmt, [*USER, {"role": "assistant", "content": "Hello wor"}])
        if text is not None and "Hello wor" in text:
            out.append(name)
    return out


CONTENT = _content_templates()


def test_most_of_the_corpus_renders_assistant_content() -> None:
    assert len(CONTENT) >= 60


@pytest.mark.parametrize("name", CONTENT)
def test_continue_content(name: str) -> None:
    fmt = _format(name)
    assert fmt is not None
    messages = [*USER, {"role": "assistant", "content": "Hello wor"}]
    prep = fmt.prepare(messages)
    assert prep.prefill is not None and prep.prefill.state == "content"
    assert prep.prompt.endswith("Hello wor")
    full = _render(fmt, messages)
    assert full is not None and full.startswith(prep.prompt)  # the render, cut
    more = "ld! How are you?"
    msg = prep.parser.parse(more)
    assert msg.content == "Hello world! How are you?" and msg.tool_calls == ()
    final, deltas = _streamed(prep, more)
    assert final.content == msg.content
    assert apply_deltas(deltas).content == more  # deltas: the new text only
    none = fmt.prepare(messages, reasoning_format="none").parser.parse(more)
    assert none.content.endswith("Hello world! How are you?") and none.reasoning_content == ""
    legacy = fmt.prepare(messages, reasoning_format="deepseek-legacy").parser.parse(more)
    assert legacy.content == none.content
    # closing it instead: a finished turn and a fresh generation prompt
    closed = fmt.prepare(messages, continue_final_message=False)
    assert closed.prefill is None and closed.prompt.startswith(prep.prompt)
    assert fmt.prepare(messages, continue_final_message=True).prompt == prep.prompt


def _reasoning_templates() -> list[str]:
    """Templates with a reasoning dialect whose render shows a final assistant message's reasoning."""
    out = []
    for name in CONTENT:
        fmt = _format(name)
        assert fmt is not None
        r = fmt.analysis.reasoning
        if r.mode is ReasoningMode.NONE or not r.end.strip():
            continue
        text = _render(fmt, [*USER, {"role": "assistant", "content": "Hi.", "reasoning_content": "Let me thin"}])
        if text is not None and "Let me thin" in text:
            out.append(name)
    return out


REASONING = _reasoning_templates()


def test_a_good_part_of_the_corpus_renders_reasoning() -> None:
    assert len(REASONING) >= 15


@pytest.mark.parametrize("name", REASONING)
def test_continue_reasoning(name: str) -> None:
    fmt = _format(name)
    assert fmt is not None
    r = fmt.analysis.reasoning
    messages = [*USER, {"role": "assistant", "content": "", "reasoning_content": "Let me thin"}]
    prep = fmt.prepare(messages)
    assert prep.prefill is not None and prep.prefill.state == "reasoning"
    assert prep.prompt.endswith("Let me thin") and prep.reasoning_open
    more = f"k about it.{r.end}Hello!"
    msg = prep.parser.parse(more)
    assert msg.reasoning_content.strip() == "Let me think about it." and msg.content.strip() == "Hello!"
    final, deltas = _streamed(prep, more)
    assert (final.content, final.reasoning_content) == (msg.content, msg.reasoning_content)
    sent = apply_deltas(deltas)
    assert (sent.reasoning_content + sent.content).strip() == f"k about it.{sent.content}".strip()
    assert sent.reasoning_content.startswith("k about it")
    # cut off while still thinking
    cut = prep.parser.parse("k abou")
    assert cut.reasoning_content == "Let me think abou" and cut.content == ""
    none = fmt.prepare(messages, reasoning_format="none").parser.parse(more)
    assert none.reasoning_content == "" and none.content.endswith(f"Let me think about it.{r.end}Hello!")
    assert r.start.strip() in none.content  # a well-formed block for a client that reads it itself
    legacy = fmt.prepare(messages, reasoning_format="deepseek-legacy").parser.parse(more)
    assert legacy.content == none.content and legacy.reasoning_content == msg.reasoning_content


@pytest.mark.parametrize("name", REASONING)
def test_continue_content_after_complete_reasoning(name: str) -> None:
    fmt = _format(name)
    assert fmt is not None
    messages = [*USER, {"role": "assistant", "content": "Hello wor", "reasoning_content": "A greeting."}]
    prep = fmt.prepare(messages)
    assert prep.prefill.state == "content" and "A greeting." in prep.prompt
    msg = prep.parser.parse("ld!")
    assert (msg.reasoning_content, msg.content) == ("A greeting.", "Hello world!")
    final, deltas = _streamed(prep, "ld!")
    assert final.content == "Hello world!" and apply_deltas(deltas) == ChatMessage("ld!")


def test_reasoning_the_template_drops_goes_after_the_generation_prompt() -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja")
    messages = [*USER, {"role": "assistant", "content": "", "reasoning_content": "Let me thin"}]
    prep = fmt.prepare(messages)
    assert prep.prompt == fmt.prepare(USER).prompt + "Let me thin"  # the prompt opened <think>\n itself
    msg = prep.parser.parse("k.</think>Hello!")
    assert (msg.reasoning_content, msg.content) == ("Let me think.", "Hello!")


def test_continuation_with_a_tool_call() -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")
    messages = [*USER, {"role": "assistant", "content": "Let me check the weather."}]
    prep = fmt.prepare(messages, TOOLS, call_id_seed=0)
    call = '\n<tool_call>\n{"name": "get_weather", "arguments": {"location": "Paris"}}\n</tool_call>'
    msg = prep.parser.parse(call)
    assert msg.content.strip() == "Let me check the weather." and [c.name for c in msg.tool_calls] == ["get_weather"]
    final, deltas = _streamed(prep, call)
    assert final.tool_calls == msg.tool_calls and "Let me check" not in apply_deltas(deltas).content


def test_flags() -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")
    with pytest.raises(pegtool.RequestError, match="final assistant message") as info:
        fmt.prepare(USER, continue_final_message=True)
    assert info.value.field == "messages[0]"
    history = [*USER, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'}}]}]
    with pytest.raises(pegtool.RequestError, match="tool calls"):
        fmt.prepare(history, TOOLS, continue_final_message=True)
    assert fmt.prepare(history, TOOLS).prefill is None  # None: a turn that ended with calls is closed
    assert fmt.prepare(USER).prefill is None


def test_llama_server_body_carries_the_cut_prompt() -> None:
    from pegtool.integrations.llama_server import completion_body

    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen3.5-4B.jinja")
    messages = [*USER, {"role": "assistant", "content": "", "reasoning_content": "Let me thin"}]
    prep = fmt.prepare(messages)
    body = completion_body(prep)
    assert body["prompt"].endswith("<think>\nLet me thin") and body["generation_prompt"].endswith("Let me thin")
    assert completion_body(prep, thinking_forced_open=True)["thinking_forced_open"] is True


def _dropping_templates() -> list[str]:
    """Reasoning templates that do not render the reasoning of a final assistant message."""
    out = []
    for name in CONTENT:
        fmt = _format(name)
        assert fmt is not None
        r = fmt.analysis.reasoning
        if r.mode is ReasoningMode.NONE or not r.end.strip() or not r.start.strip() or name in REASONING:
            continue
        out.append(name)
    return out


@pytest.mark.parametrize("name", _dropping_templates())
def test_continue_reasoning_the_template_drops(name: str) -> None:
    fmt = _format(name)
    assert fmt is not None
    r = fmt.analysis.reasoning
    messages = [*USER, {"role": "assistant", "content": "", "reasoning_content": "Let me thin"}]
    prep = fmt.prepare(messages)
    plain = fmt.prepare(USER)
    gp, end = plain.generation_prompt, r.end.strip()
    if r.start.strip() in gp and gp.rstrip().endswith(end):
        # the ordinary prompt closes the block at once (thinking off): the close is taken back
        expected = plain.prompt[:plain.prompt.rfind(end)] + "Let me thin"
    else:
        expected = plain.prompt + ("" if plain.reasoning_open else r.start) + "Let me thin"
    assert prep.prompt == expected and prep.reasoning_open
    msg = prep.parser.parse(f"k.{r.end}Hello!")
    assert msg.reasoning_content.strip() == "Let me think." and msg.content.strip() == "Hello!"
    none = fmt.prepare(messages, reasoning_format="none").parser.parse(f"k.{r.end}Hello!")
    assert none.content.startswith(r.start.strip()) and none.content.endswith(f"Let me think.{r.end}Hello!")


def test_integration_passes_the_flag_through() -> None:
    from pegtool.integrations.llama_cpp import prepare_request

    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")
    messages = [*USER, {"role": "assistant", "content": "Hello wor"}]
    assert prepare_request(fmt, {"messages": messages}).prompt.endswith("Hello wor")
    assert prepare_request(fmt, {"messages": messages, "continue_final_message": False}).prefill is None


# llama.cpp (common/chat.cpp, DeepSeek V3.2 and Kimi K2 Thinking handlers): a continuation's
# generation prompt is the assistant header, the reasoning opener and the reasoning so far, then,
# when continuing content, the reasoning close and the content; continue_final_message takes
# true (auto: reasoning when the message has no content yet), "content" or "reasoning_content";
# two assistant messages at the end of the list are refused.
def test_llama_cpp_continuation_modes() -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "deepseek-ai-DeepSeek-V3.2.jinja")
    thinking = [*USER, {"role": "assistant", "content": "", "reasoning_content": "I think"}]
    prep = fmt.prepare(thinking, continue_final_message="reasoning_content")
    assert prep.prompt.endswith("<｜Assistant｜><think>I think") and prep.prefill.state == "reasoning"
    assert fmt.prepare(thinking, continue_final_message=True).prompt == prep.prompt  # auto: reasoning
    msg = prep.parser.parse(" more</think>Answer")
    assert (msg.reasoning_content, msg.content) == ("I think more", "Answer")
    answering = fmt.prepare(thinking, continue_final_message="content")
    assert answering.prefill.state == "content" and answering.prompt.endswith("</think>")
    msg = answering.parser.parse("Answer")
    assert (msg.reasoning_content, msg.content) == ("I think", "Answer")
    qwen3 = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen3-0.6B.jinja")
    both = [*USER, {"role": "assistant", "content": "Hel", "reasoning_content": "I think"}]
    assert qwen3.prepare(both, continue_final_message="content").prompt.endswith("<think>\nI think\n</think>\n\nHel")
    with pytest.raises(pegtool.RequestError, match="already has content"):
        qwen3.prepare(both, continue_final_message="reasoning_content")
    with pytest.raises(pegtool.RequestError, match="unknown value"):
        qwen3.prepare(both, continue_final_message="yes")
    with pytest.raises(pegtool.RequestError, match="two assistant messages") as info:
        qwen3.prepare([*USER, {"role": "assistant", "content": "A"}, {"role": "assistant", "content": "B"}])
    assert info.value.field == "messages[1]"


@pytest.mark.parametrize("reasoning_format", ["auto", "none", "deepseek-legacy"])
def test_prefilled_reasoning_then_a_call_in_any_chunking(reasoning_format: str) -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen3.5-4B.jinja")
    messages = [*USER, {"role": "assistant", "content": "", "reasoning_content": "The user wants wea"}]
    prep = fmt.prepare(messages, TOOLS, reasoning_format=reasoning_format, call_id_seed=0)
    more = ("ther.\n</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n"
            "</parameter>\n</function>\n</tool_call>")
    whole = prep.parser.parse(more)
    assert [c.name for c in whole.tool_calls] == ["get_weather"]
    if reasoning_format != "none":
        assert whole.reasoning_content.strip() == "The user wants weather."
    if reasoning_format != "auto":
        assert whole.content.startswith("<think>\nThe user wants weather.\n</think>")
    for size in (1, 4, 9):
        final, deltas = _streamed(prep, more, size)
        assert final.tool_calls == whole.tool_calls and final.content == whole.content
        sent = apply_deltas(deltas)
        assert "The user wants wea" not in sent.content + sent.reasoning_content  # the new text only
        assert sent.tool_calls and sent.tool_calls[0].arguments == whole.tool_calls[0].arguments
