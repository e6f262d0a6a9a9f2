"""Stage: analysis — canary conversations rendered through a template.

A :class:`Prober` renders canary messages (tool names, argument values, content and reasoning
strings that cannot occur by chance) and cuts the text the *model* would have written out of
each render. A render that raises is recorded in ``errors`` and yields ``None``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from pegtool.analysis.diff import marker_safe_prefix
from pegtool.analysis.record import CanaryStyle
from pegtool.errors import PegtoolError
from pegtool.template import Renderer, TemplateSource
from pegtool.template.sandbox import OperationTimeout

ALPHA, BETA, GAMMA = "alpha_tool", "beta_tool", "gamma_tool"
ARG1, ARG2, ARG3, ARG_DATA = "first_arg", "second_arg", "only_arg", "data_arg"
V1, V2, V3 = "VALUE_ONE_a1", "VALUE_TWO_b2", "VALUE_THREE_c3"
CONTENT = "CONTENT_CANARY_k9"
REASONING = "REASONING_CANARY_r7"
USER = "USER_CANARY_u5"
DATA_VALUE: dict[str, Any] = {"k": [1, True, None]}
MARKED_VALUE: dict[str, Any] = {"k": [1, True, None, 2.5], "s": {"t": V3}}
NESTED_VALUE: dict[str, Any] = {"k": [1, True, 2.5], "s": {"t": V3}}
IDS = {"plain": ("call_c4n4ry_1", "call_c4n4ry_2"), "alnum9": ("aX7q2Zp0A", "bY8r3Wo1B")}

_STR = {"type": "string"}
CANARY_TOOLS: list[dict[str, Any]] = [
    {"name": ALPHA, "description": "Alpha canary tool",
     "parameters": {"type": "object", "properties": {ARG1: _STR, ARG2: _STR}, "required": [ARG1]}},
    {"name": BETA, "description": "Beta canary tool",
     "parameters": {"type": "object", "properties": {ARG3: _STR}, "required": [ARG3]}},
    {"name": GAMMA, "description": "Gamma canary tool",
     "parameters": {"type": "object", "properties": {ARG_DATA: {"type": "object"}}}},
]

STYLES: tuple[CanaryStyle, ...] = tuple(
    CanaryStyle(args_as=a, id_style=i, tools_form=t, functions_var=f)
    for f in (False, True) for t in ("envelope", "bare") for a in ("dict", "json") for i in ("plain", "alnum9")
)


def with_system_tools(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with the tool list where templates like Phi-4-mini's read it: the JSON text of
    the functions in the ``tools`` field of the first system message (one with empty content is
    added when there is none). A system message that already carries ``tools`` is kept as sent."""
    if not tools:
        return messages
    text = json.dumps([t.get("function", t) for t in tools], ensure_ascii=False)
    if messages and messages[0].get("role") == "system":
        if messages[0].get("tools") is not None:
            return messages
        return [{**messages[0], "tools": text}, *messages[1:]]
    return [{"role": "system", "content": "", "tools": text}, *messages]


@dataclass(frozen=True)
class Turn:
    """One rendered assistant turn: the generation prompt and the model's text."""

    generation_prompt: str
    segment: str  # the assistant message as rendered (role header included)
    output: str  # the segment minus the generation prompt: what the model wrote
    before: str = ""  # the render before the segment (the conversation so far)


class Prober:
    """Renders canary conversations with one template, remembering failures."""

    def __init__(self, source: TemplateSource) -> None:
        self.renderer = Renderer(source)
        self.style = CanaryStyle()
        self.errors: list[tuple[str, str]] = []
        #: registry entries that recognised these renders: (name, evidence source, detail)
        self.fired: list[tuple[str, str, str]] = []
        self.rendered = 0  # renders that succeeded
        self.canary_tools: list[dict[str, Any]] = CANARY_TOOLS  # the tools offered in renders

    # --- canary building blocks -------------------------------------------------------------

    def tools(self) -> list[dict[str, Any]]:
        if self.style.tools_form == "bare":
            return [dict(t) for t in self.canary_tools]
        return [{"type": "function", "function": dict(t)} for t in self.canary_tools]

    def call(self, name: str, args: dict[str, Any], index: int = 0) -> dict[str, Any]:
        value: Any = json.dumps(args, ensure_ascii=False) if self.style.args_as == "json" else dict(args)
        return {"id": IDS[self.style.id_style][index], "type": "function",
                "function": {"name": name, "arguments": value}}

    def call_id(self, index: int = 0) -> str:
        return IDS[self.style.id_style][index]

    def assistant(self, content: str | None = "", calls: list[dict[str, Any]] | None = None,
                  reasoning: str | None = None, field: str = "reasoning_content") -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            msg["tool_calls"] = calls
        if reasoning is not None:
            msg[field] = reasoning
        return msg

    # --- rendering ----------------------------------------------------------------------------

    def render(self, probe: str, messages: list[dict[str, Any]], *, tools: bool = True,
               add_generation_prompt: bool = False, **kwargs: Any) -> str | None:
        extra: dict[str, Any] = dict(kwargs)
        tool_list = self.tools() if tools else None
        if self.style.functions_var and tools:
            extra["functions"] = json.dumps([t.get("function", t) for t in self.tools()], indent=2)
        if self.style.system_tools and tool_list:
            messages = with_system_tools(messages, tool_list)
        try:
            out = self.renderer.render(messages, tools=tool_list,
                                       add_generation_prompt=add_generation_prompt, **extra)
        except OperationTimeout:
            raise  # the analysis as a whole is out of time: no later render may run
        except PegtoolError as exc:
            self.errors.append((probe, str(getattr(exc, "detail", exc))[:300]))
            return None
        self.rendered += 1
        return out

    def messages(self, assistant: dict[str, Any] | None = None, system: bool = False) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = [{"role": "system", "content": "SYSTEM_CANARY_s3"}] if system else []
        msgs.append({"role": "user", "content": USER})
        return msgs + ([assistant] if assistant else [])

    def generation_prompt(self, probe: str, *, tools: bool = True, **kwargs: Any) -> str | None:
        base = self.render(probe, self.messages(), tools=tools, **kwargs)
        with_gp = self.render(probe, self.messages(), tools=tools, add_generation_prompt=True, **kwargs)
        if base is None or with_gp is None:
            return None
        return with_gp[marker_safe_prefix(base, with_gp):]

    def turn(self, probe: str, assistant: dict[str, Any], *, tools: bool = True, **kwargs: Any) -> Turn | None:
        """The model's text for ``assistant`` (render with it, minus the render without it)."""
        base = self.render(probe, self.messages(), tools=tools, **kwargs)
        full = self.render(probe, self.messages(assistant), tools=tools, **kwargs)
        gp = self.generation_prompt(probe, tools=tools, **kwargs)
        if base is None or full is None or gp is None:
            return None
        start = marker_safe_prefix(base, full)
        if gp and not full.startswith(gp, start):
            # a turn opener the template also writes after the messages (Command-R+ appends a
            # system turn: the common prefix runs into ``<|START_OF_TURN_TOKEN|>``): back up to it
            start = next((start - k for k in range(1, min(len(gp), start) + 1)
                          if full.startswith(gp, start - k)), start)
        segment = full[start:]
        return Turn(gp, segment, segment[marker_safe_prefix(gp, segment):], full[:start])

    def output(self, probe: str, assistant: dict[str, Any], **kwargs: Any) -> str | None:
        t = self.turn(probe, assistant, **kwargs)
        return None if t is None else t.output

    def choose_style(self) -> bool:
        """Pick the first canary variant that renders a one-call message showing the call."""
        first_error: list[tuple[str, str]] = []
        for style in STYLES:
            self.style = style
            mark = len(self.errors)
            out = self.output("style", self.assistant("", [self.call(ALPHA, {ARG1: V1})]))
            if out is not None and ALPHA in out:
                self.errors[mark:] = first_error[:1] if style != STYLES[0] else []
                return True
            if not first_error and len(self.errors) > mark:
                first_error = self.errors[mark:mark + 1]
            del self.errors[mark:]
        self.style = CanaryStyle()
        self.errors.extend(first_error)
        return False

    def find_tool_slot(self) -> None:
        """When the ``tools`` variable does not show the canary tools in the prompt, try the system
        message's ``tools`` field (Phi-4-mini) and keep it if the tools show there."""
        mark = len(self.errors)
        shown = self.render("tools.slot", self.messages()) or ""
        del self.errors[mark:]
        if ALPHA in shown:
            return
        before = self.style
        self.style = replace(before, system_tools=True)
        shown = self.render("tools.slot", self.messages()) or ""
        del self.errors[mark:]
        if ALPHA not in shown:
            self.style = before

    def with_style(self, **changes: Any) -> None:
        self.style = replace(self.style, **changes)
