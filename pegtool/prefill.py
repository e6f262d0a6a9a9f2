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


def wants_continuation(messages: list[dict[str, Any]], flag: bool | None) -> bool:
    """Whether to continue the final message: ``None`` continues a final assistant message that
    holds no tool calls, ``True`` requires one, ``False`` never continues."""
    last = messages[-1]
    is_assistant = last.get("role") == "assistant"
    if flag is None:
        return is_assistant and not last.get("tool_calls")
    if not flag:
        return False
    where = f"messages[{len(messages) - 1}]"
    if not is_assistant:
        raise RequestError(f"continue_final_message=True needs a final assistant message to continue; the last "
                           f"message has role {last.get('role')!r} (append the assistant text to continue, or "
                           "leave continue_final_message unset)", where)
    if last.get("tool_calls"):
        raise RequestError("continue_final_message=True cannot continue a message that ends with tool calls; "
                           "send the tool results, or drop continue_final_message", f"{where}.tool_calls")
    return True


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
                  reasoning_start: str, gen_opens_reasoning: Callable[[str], bool]) -> Prefill:
    """The prefill for ``messages`` (its last message is the assistant message to continue).

    ``render(messages, add_generation_prompt)`` renders with the request's tools and variables;
    ``reasoning_start`` is the dialect's reasoning opener ("" when it has none);
    ``gen_opens_reasoning(generation_prompt)`` says whether a prompt tail ends inside reasoning."""
    history, last = messages[:-1], dict(messages[-1])
    where = f"messages[{len(messages) - 1}]"
    content = _text(last.get("content"))
    key = _reasoning_key(last)
    reasoning = _text(last.get(key))
    state = "reasoning" if reasoning and not content else "content"
    before = _render_or(render, history, False, "")
    opened_prompt = _render_or(render, history, True, "")

    def cut(text: str, field: str) -> tuple[str, int]:
        msg = {**last, field: text}
        if state == "reasoning":
            msg["content"] = ""
        rendered = render([*history, msg], False)
        return rendered, rendered.find(_CUT)

    field = "content" if state == "content" else key
    full, at = cut((content if state == "content" else reasoning) + _CUT, field)
    if at < 0 and state == "content":
        raise RequestError("the chat template does not render the content of this assistant message, so it "
                           "cannot be continued; send continue_final_message=False to close it", where)
    if at < 0:
        return _unrendered_reasoning(opened_prompt, before, reasoning, reasoning_start, gen_opens_reasoning, where)
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


def _unrendered_reasoning(opened_prompt: str, before: str, reasoning: str, start: str,
                          gen_opens_reasoning: Callable[[str], bool], where: str) -> Prefill:
    """The template drops the reasoning of this message: open a reasoning block after the ordinary
    generation prompt (unless it opens one itself) and put the reasoning there."""
    if not opened_prompt or not start.strip():
        raise RequestError("the chat template renders no reasoning for this assistant message and its dialect "
                           "has no reasoning opener, so its reasoning cannot be continued; send content to "
                           "continue, or continue_final_message=False", where)
    gen = opened_prompt[len(before):] if opened_prompt.startswith(before) else ""
    opened = gen_opens_reasoning(gen)
    opener = "" if opened else start
    head = gen + opener
    prompt = opened_prompt + opener + reasoning
    raw = (gen[gen.rfind(start.strip()):] if opened else opener) + reasoning
    return Prefill(prompt, head, head + reasoning, "reasoning", "", reasoning, raw)


__all__ = ["Prefill", "build_prefill", "wants_continuation"]
