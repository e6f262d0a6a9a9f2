"""Named dialect: OpenAI Harmony (gpt-oss) — messages on channels, calls addressed to a recipient.

What the model writes after the generation prompt ``<|start|>assistant`` is a sequence of
messages, each ``<|channel|>CHANNEL [to=functions.NAME] [<|constrain|>json]<|message|>BODY`` and
ended by ``<|end|>`` (another message follows after ``<|start|>assistant``), ``<|call|>`` (a tool
call: the turn stops) or ``<|return|>`` (the final answer):

* ``analysis`` — reasoning;
* ``commentary`` without a recipient — a preamble the user sees (content);
* ``final`` — the answer (content);
* a message with a recipient ``to=functions.NAME`` — a call whose body is the JSON arguments.

Evidence (``render``): the template renders a call as a recipient ``to=functions.NAME`` next to a
``<|channel|>`` header and ends it with ``<|call|>``; the renders show that shape, but only in its
history form (recipient before the channel, ``json`` without ``<|constrain|>``).

Generation is held to the form the model emits: ``<|channel|>commentary to=functions.NAME
<|constrain|>json<|message|>{…}<|call|>``, after optional analysis and preamble messages; one call
per turn (the model stops at ``<|call|>``). Reading also takes the recipient before the channel
(in the role header, ``<|start|>assistant to=functions.NAME<|channel|>commentary``), ``json``
without ``<|constrain|>`` or no constraint at all, a call on the ``analysis`` channel, a missing
``<|call|>`` and several calls in a row. A call to a tool that was not offered stays content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pegtool.analysis.record import Analysis, Reasoning, ReasoningMode
from pegtool.dialects.base import (
    RENDER,
    SPECIAL_TOKENS,
    Evidence,
    NamedDialect,
    OutputOptions,
    TemplateFacts,
)
from pegtool.grammar.builder import (
    GrammarBuilder,
    atomic,
    capture,
    chars,
    choice,
    end,
    json_schema,
    json_value,
    lenient,
    lit,
    opt,
    repeat,
    space,
    star,
    trigger,
    until,
)
from pegtool.grammar.ir import Node, Tag
from pegtool.grammar.variants import repair

CHANNEL, MESSAGE, START = "<|channel|>", "<|message|>", "<|start|>"
END, CALL, RETURN, CONSTRAIN = "<|end|>", "<|call|>", "<|return|>", "<|constrain|>"
RECIPIENT = "to=functions."
#: where a message body ends
_BODY_STOPS = (END, CALL, RETURN, START, CHANNEL)


def _sp1() -> Node:
    """At least one white-space character (bounded)."""
    return repeat(chars(" \t\n\r"), 1, 40)


def _args(fn: dict[str, Any]) -> Node:
    params = fn.get("parameters") or {"type": "object"}
    return capture(Tag.TOOL_ARGS, lenient(json_schema(params), json_value()))


def _name(fn: dict[str, Any]) -> Node:
    return capture(Tag.TOOL_NAME, lit(fn.get("name", "")))


def _strict_call(fn: dict[str, Any]) -> Node:
    """``<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{…}`` (the form the
    model emits; ``<|call|>`` ends the turn and is the model's stop token)."""
    return (lit(CHANNEL + "commentary " + RECIPIENT) + _name(fn) + lit(" " + CONSTRAIN + "json" + MESSAGE)
            + _args(fn))


def _loose_call(fn: dict[str, Any]) -> Node:
    """Every header order and constraint spelling read back; any other than the emitted form is
    reported as a repair."""
    channel = lit(CHANNEL) + choice(lit("commentary"), lit("analysis"))
    constraint = opt(space() + opt(lit(CONSTRAIN)) + lit("json"))
    recipient = lit(RECIPIENT) + _name(fn)
    emitted = lit(CHANNEL + "commentary " + RECIPIENT) + _name(fn) + lit(" " + CONSTRAIN + "json") + space()
    channel_first = (repair("Harmony call header without ' <|constrain|>json' or on the analysis channel")
                     + channel + _sp1() + recipient + constraint + space())
    recipient_first = (repair("Harmony recipient before the channel (the form the template renders)")
                       + space() + recipient + space() + channel + constraint + space())
    return (emitted | channel_first | recipient_first) + lit(MESSAGE) + _args(fn)


def _calls(b: GrammarBuilder, fns: Sequence[dict[str, Any]], strict: bool) -> Node:
    ordered = sorted(fns, key=lambda f: -len(f.get("name", "")))
    build = _strict_call if strict else _loose_call
    one = choice(*[build(f) for f in ordered])
    return b.intern("harmony-call" if strict else "harmony-call-read", atomic(capture(Tag.TOOL_CALL, one)))


def _plain_messages(extract_reasoning: bool) -> tuple[Node, Node, Node]:
    """(analysis, preamble, final) messages without a recipient. Without extraction (reasoning
    format "none") each message is content as written, its channel header included."""
    keep = _keeper(extract_reasoning)

    def message(channel: str, tag: Tag) -> Node:
        body = until(*_BODY_STOPS)
        return keep(lit(CHANNEL + channel + MESSAGE) + (capture(tag, body) if extract_reasoning else body))

    return message("analysis", Tag.REASONING), message("commentary", Tag.CONTENT), message("final", Tag.CONTENT)


def _keeper(extract_reasoning: bool) -> Any:
    """Identity when reasoning is extracted; else a capture that keeps a piece of markup as content,
    so the message reads exactly as the model wrote it (calls excepted)."""
    if extract_reasoning:
        return lambda node: node
    return lambda node: capture(Tag.CONTENT, node)


def harmony_root(b: GrammarBuilder, fns: Sequence[dict[str, Any]], *, tool_choice: Any = "auto",
                 parallel: bool = True, extract_reasoning: bool = True, in_reasoning: bool = False) -> Node:
    """The whole output after ``<|start|>assistant``.

    ``root = (plain SEP)* (trigger(calls rest) | plain? tail)``: plain messages (analysis,
    preamble, final) joined by ``<|end|><|start|>assistant``, then either the call messages (the
    lazy grammar starts at the first call header) or the last plain message. Generation writes one
    call whatever ``parallel`` says: the model ends its turn at ``<|call|>``; reading takes more."""
    del parallel
    whole = _root(b, fns, tool_choice, extract_reasoning)
    if not in_reasoning:
        return whole
    # the prompt ends inside an analysis message (a prefill continuing it): its body comes first
    body = capture(Tag.REASONING if extract_reasoning else Tag.CONTENT, until(*_BODY_STOPS))
    sep, tail, bare = _joints(extract_reasoning)
    return body + choice(sep + whole, bare + tail, tail)


def _joints(extract_reasoning: bool) -> tuple[Node, Node, Node]:
    """(separator between messages, end of the output, text after a bare ``<|end|>``: content)."""
    keep = _keeper(extract_reasoning)
    sep = keep(space() + lit(END) + space() + lit(START) + opt(lit("assistant")))
    tail = keep(space() + opt(lit(RETURN) | lit(END)) + space()) + end()
    bare = keep(space() + lit(END) + space()) + capture(Tag.CONTENT, until(*_BODY_STOPS))
    return sep, tail, bare


def _root(b: GrammarBuilder, fns: Sequence[dict[str, Any]], tool_choice: Any, extract_reasoning: bool) -> Node:
    analysis, preamble, final = _plain_messages(extract_reasoning)
    keep = _keeper(extract_reasoning)
    plain = choice(analysis, preamble, final)
    role = lit(START) + opt(lit("assistant"))
    sep, tail, bare = _joints(extract_reasoning)
    # what a text without recipient reads as: unknown channels keep their body as content
    word = repeat(chars([("a", "z"), ("A", "Z"), ("0", "9"), ("_", "_")]), 1, 32)
    other = keep(lit(CHANNEL) + word + lit(MESSAGE)) + capture(Tag.CONTENT, until(*_BODY_STOPS))
    last = choice(plain, other) + opt(bare)
    lead = keep(space()) + star(choice(plain, other) + sep)
    if not fns or tool_choice == "none":
        return lead + opt(last) + tail
    strict_one = _calls(b, fns, strict=True)
    loose_one = _calls(b, fns, strict=False)
    call_end = space() + opt(lit(CALL))
    # reading: several calls (each ended by <|call|> or <|end|>, the next after <|start|>assistant),
    # plain messages between them; generation: one call (the model stops at <|call|>)
    next_msg = space() + choice(lit(CALL), lit(END)) + space() + role + space() + choice(loose_one, plain, other)
    loose_region = loose_one + star(next_msg) + call_end + tail
    strict_region = strict_one + call_end + space() + end()
    region = trigger(lenient(strict_region, loose_region))
    forced = tool_choice == "required" or isinstance(tool_choice, dict)
    if forced:
        return lead + region
    return lead + (region | (opt(last) + tail))


# --- the registry entry ---------------------------------------------------------------------------


class Harmony(NamedDialect):
    name = "harmony"
    history_renders = True  # ``to=functions.f<|channel|>commentary json``: read back as a repair

    def detect(self, facts: TemplateFacts) -> Evidence | None:
        t = facts.analysis.tools
        if RECIPIENT in t.call_start and CHANNEL in t.name_suffix and MESSAGE in t.name_suffix \
                and CALL in t.call_end + t.section_end:
            return Evidence(RENDER, f"calls rendered as '{t.call_start.strip()}NAME{t.name_suffix}{{…}}{CALL}'")
        if all(m in facts.special_tokens for m in (CHANNEL, MESSAGE, CALL, CONSTRAIN)):
            return Evidence(SPECIAL_TOKENS, " ".join((CHANNEL, MESSAGE, CALL, CONSTRAIN)))
        return None

    def apply(self, a: Analysis, evidence: Evidence) -> Analysis:
        del evidence
        # the record describes the emitted form (its markers become llama-server's preserved
        # tokens); the output grammar itself comes from :func:`harmony_root`
        tools = replace(a.tools, section_start="", section_end="", call_start=CHANNEL + "commentary " + RECIPIENT,
                        name_suffix=" " + CONSTRAIN + "json" + MESSAGE, call_end=CALL, parallel=False)
        reasoning = Reasoning(ReasoningMode.TAG_BASED, CHANNEL + "analysis" + MESSAGE, END, a.reasoning.field)
        eot = tuple(dict.fromkeys((*a.end_of_turn, RETURN)))
        return replace(a, tools=tools, reasoning=reasoning, end_of_turn=eot)

    def root(self, b: GrammarBuilder, a: Analysis, fns: Sequence[dict[str, Any]],
             opts: OutputOptions) -> Node | None:
        del a
        return harmony_root(b, fns, tool_choice=opts.tool_choice, parallel=opts.parallel,
                            extract_reasoning=opts.extract_reasoning, in_reasoning=opts.in_reasoning)


DIALECT = Harmony()
