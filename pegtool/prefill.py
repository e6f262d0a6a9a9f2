"""Stage: front door — assistant prefill (``continue_final_message``).

When a request ends with an assistant message, llama-server (and Hugging Face's
``continue_final_message=True``) let the model continue it instead of opening a new turn. The
prompt is the template's render of the whole conversation, cut at the end of that message's
text, and the model's output continues the content, or the reasoning when the message holds
reasoning and no content yet.

The cut is found with a sentinel: the final message is rendered with a marker word appended to
its text, and the prompt stops where the marker appears, so whatever the template does around
that text (a header, a reasoning block, ``|trim``) is kept. A second render with the text
replaced by the marker alone gives the *structural* prefix — the prompt tail before the text —
from which the grammar learns where the continuation starts (inside content, inside an open
reasoning block, after a complete one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pegtool.errors import PegtoolError, RequestError

_CUT = "PEGTOOLCUTMARK"


@dataclass(frozen=True)
class Prefill:
    """What continuing a final assistant message means for one request.

    ``prompt``: the render cut at the end of the message's text. ``head``: the prompt tail from
    the end of the history to where the prefilled text starts (what the grammar reads as the
    generation prompt). ``tail``: the prompt after the history (the turn so far). ``state``:
    "content" or "reasoning" (where the continuation starts). ``content`` / ``reasoning``: the
    prefilled text as the message will show it. ``raw``: the prefilled turn as the model would
    have written it after the ordinary generation prompt (for ``reasoning_format`` "none")."""

    prompt: str
    head: str
    tail: str
    state: str
    content: str
    reasoning: str
    raw: str


CONTINUE_VALUES = (None, True, False, "content", "reasoning_content")


def wants_continuation(messages: list[dict[str, Any]], flag: Any) -> str | None:
    """Where to continue the final message: ``None`` (don't), "auto", "content" or
    "reasoning_content". llama-server's values: ``None`` continues a final assistant message that
    holds no tool calls, ``True`` requires one ("auto": its reasoning when it has reasoning and no
    content yet, else its content), "content" / "reasoning_content" name the field, ``False``
    never continues."""
    if flag not in CONTINUE_VALUES or (flag is not None and not isinstance(flag, (bool, str))):
        raise RequestError(f"unknown value {flag!r}; send true, false, \"content\" or \"reasoning_content\"",
                           "continue_final_message")
    last = messages[-1]
    is_assistant = last.get("role") == "assistant"
    if flag is None:
        flag = "auto" if is_assistant and not last.get("tool_calls") else False
    if flag is False:
        return None
    where = f"messages[{len(messages) - 1}]"
    if not is_assistant:
        raise RequestError(f"continue_final_message needs a final assistant message to continue; the last "
                           f"message has role {last.get('role')!r} (append the assistant text to continue, or "
                           "leave continue_final_message unset)", where)
    if last.get("tool_calls"):
        raise RequestError("continue_final_message cannot continue a message that ends with tool calls; "
                           "send the tool results, or drop continue_final_message", f"{where}.tool_calls")
    if len(messages) > 1 and messages[-2].get("role") == "assistant":
        raise RequestError("two assistant messages end the list: merge them into the one to continue",
                           f"messages[{len(messages) - 2}]")
    mode = "auto" if flag is True else str(flag)
    if mode == "reasoning_content" and _text(last.get("content")):
        raise RequestError("continue_final_message=\"reasoning_content\" continues the reasoning, but this message "
                           "already has content after it; send \"content\", or drop the content", where)
    return mode


def _text(value: Any) -> str:
    """A message content as text (a list of parts: its text parts joined)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(p.get("text", "")) for p in value if isinstance(p, Mapping) and p.get("type") == "text")
    return str(value)


def _reasoning_key(msg: Mapping[str, Any]) -> str:
    return "reasoning" if "reasoning" in msg and "reasoning_content" not in msg else "reasoning_content"


def build_prefill(render: Callable[[list[dict[str, Any]], bool], str], messages: list[dict[str, Any]],
                  reasoning_start: str, gen_opens_reasoning: Callable[[str], bool], mode: str = "auto",
                  reasoning_end: str = "") -> Prefill:
    """The prefill for ``messages`` (its last message is the assistant message to continue).

    ``render(messages, add_generation_prompt)`` renders with the request's tools and variables;
    ``reasoning_start`` is the dialect's reasoning opener ("" when it has none);
    ``gen_opens_reasoning(generation_prompt)`` says whether a prompt tail ends inside reasoning."""
    history, last = messages[:-1], dict(messages[-1])
    where = f"messages[{len(messages) - 1}]"
    content = _text(last.get("content"))
    key = _reasoning_key(last)
    reasoning = _text(last.get(key))
    if mode == "auto":
        state = "reasoning" if reasoning and not content else "content"
    else:
        state = "reasoning" if mode == "reasoning_content" else "content"
    before = _render_or(render, history, False, "")
    opened_prompt = _render_or(render, history, True, "")

    def cut(text: str, field: str) -> tuple[str, int]:
        msg = {**last, field: text}
        if state == "reasoning":
            msg["content"] = ""
        try:
            rendered = render([*history, msg], False)
        except PegtoolError:
            if state != "reasoning":
                raise
            return "", -1  # the template refuses a message with reasoning and no content: as if dropped
        return rendered, rendered.rfind(_CUT)  # the last one: the message continued

    field = "content" if state == "content" else key
    full, at = cut((content if state == "content" else reasoning) + _CUT, field)
    if at < 0 and state == "content":
        raise RequestError("the chat template does not render the content of this assistant message, so it "
                           "cannot be continued; send continue_final_message=False to close it", where)
    if at < 0:
        return _unrendered_reasoning(opened_prompt, before, reasoning, (reasoning_start, reasoning_end),
                                     gen_opens_reasoning, where)
    bare, at_bare = cut(_CUT, field)
    prompt = full[:at]
    start = _shared(prompt, before, 0)  # where the assistant turn starts
    if at_bare >= 0 and prompt.startswith(bare[:at_bare]):
        head, text = bare[start:at_bare] if at_bare >= start else "", prompt[at_bare:]
    else:
        head, text = "", content if state == "content" else reasoning
    tail = prompt[start:]
    opener = reasoning_start.strip()
    if state == "reasoning" and opener and opener in head:
        raw = head[head.rfind(opener):] + text  # the block as the model sees it, opener included
    else:
        raw = _as_generated(prompt, opened_prompt, start, reasoning_start, gen_opens_reasoning)
    if state == "content":
        return Prefill(prompt, head, tail, state, text, reasoning, raw)
    return Prefill(prompt, head, tail, state, "", text, raw)


def _shared(text: str, other: str, floor: int) -> int:
    """The length of the prefix ``text`` shares with ``other`` (at least ``floor``); when they part
    inside ``other``, backed off to a marker or line boundary, so a marker both start with ("<" of
    "<think>" and "</think>") is not cut in two."""
    k, limit = 0, min(len(text), len(other))
    while k < limit and text[k] == other[k]:
        k += 1
    if k < len(other):
        k = max(text.rfind(stop, floor, k) + 1 for stop in ("\n", ">", "]", "|"))
    return max(k, floor)


def _as_generated(prompt: str, opened_prompt: str, turn: int, reasoning_start: str,
                  gen_opens_reasoning: Callable[[str], bool]) -> str:
    """The prefilled turn as a model would have written it after the ordinary generation prompt
    (``turn``: where the assistant turn starts in ``prompt``): the prompt past the part it shares
    with that generation prompt, with the generation prompt's reasoning opener in front when it
    opened a block the prefill continues."""
    k = _shared(prompt, opened_prompt, min(turn, len(prompt)))
    raw = prompt[k:]
    gen = opened_prompt[turn:]
    start = reasoning_start.strip()
    if k == len(opened_prompt) and start and gen_opens_reasoning(gen):
        raw = gen[gen.rfind(start):] + raw
    return raw


def _render_or(render: Callable[[list[dict[str, Any]], bool], str], messages: list[dict[str, Any]], gen: bool,
               default: str) -> str:
    if not messages:
        return default
    try:
        return render(messages, gen)
    except PegtoolError:
        return default


def _unrendered_reasoning(opened_prompt: str, before: str, reasoning: str, markers: tuple[str, str],
                          gen_opens_reasoning: Callable[[str], bool], where: str) -> Prefill:
    """The template drops the reasoning of this message: put it in a reasoning block after the
    ordinary generation prompt — the block that prompt opened, the one it closed at once (thinking
    switched off: the close is taken back), or a new one."""
    start, end = markers[0], markers[1].strip()
    if not opened_prompt or not start.strip():
        raise RequestError("the chat template renders no reasoning for this assistant message and its dialect "
                           "has no reasoning opener, so its reasoning cannot be continued; send content to "
                           "continue, or continue_final_message=False", where)
    turn = len(before) if opened_prompt.startswith(before) else len(opened_prompt)
    gen = opened_prompt[turn:]
    at = gen.rfind(start.strip())
    if at >= 0 and end and gen.rfind(end) > at and not gen[gen.rfind(end) + len(end):].strip():
        head = gen[:gen.rfind(end)]  # pre-closed: reopen it
    else:
        head = gen + ("" if gen_opens_reasoning(gen) else start)
    opener = head[head.rfind(start.strip()):]
    return Prefill(opened_prompt[:turn] + head + reasoning, head, head + reasoning, "reasoning", "", reasoning,
                   opener + reasoning)


__all__ = ["CONTINUE_VALUES", "Prefill", "build_prefill", "wants_continuation"]
