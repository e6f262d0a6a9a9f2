"""Dialects — the small protocol the stages call (analysis, grammar, parser mapping).

Two kinds of registry entries, each one module under :mod:`pegtool.dialects`:

* a :class:`Notation` — how a tagged argument's non-string *value* is written (JSON, Python
  literals, Gemma 4's marker-quoted values, MiniMax-M3's nested elements). The analysis offers
  it the renders of a few canary values (:class:`ValueRenders`) and records the winner's name in
  ``TaggedArgs.value_style``; the grammar asks it for the value's IR, strict (what generation
  may write) and loose (what the parser reads back), joined with the IR's ``Lenient``; the
  parser's mapper asks it to turn the captured text into JSON.
* a :class:`NamedDialect` — a whole tool-call region, reasoning block or content wrapper that
  the renders cannot reveal (the template renders no call, or a different shape from what the
  model emits). It looks at :class:`TemplateFacts` (what the renders did show, the tool-list
  instructions of the system prompt, the declared special tokens, the generation prompt — never
  a file or model name), says on what :class:`Evidence` it fires, fills the analysis record,
  and may supply the IR of the calls region (captured the chat grammar's way, so the generic
  mapper turns it into JSON; its argument values through a :class:`Notation`).

Every entry that fires is listed in ``Analysis.dialects`` as ``(name, source, detail)``;
``pegtool detect`` and ``pegtool doctor`` print them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pegtool.analysis.record import Analysis, TaggedArgs
from pegtool.grammar.builder import GrammarBuilder
from pegtool.grammar.ir import Node, Tag

if TYPE_CHECKING:
    from pegtool.parser.engine import CaptureNode

#: where a piece of evidence was found
RENDER = "render"  # the canary renders (a diff of what the template printed)
TOOL_LIST = "tool_list"  # the system prompt / tool-list instructions the template prints with tools
SPECIAL_TOKENS = "special_tokens"  # the tokens the template source declares special (tokenizer, GGUF)
GENERATION_PROMPT = "generation_prompt"  # the text the template opens the assistant turn with


@dataclass(frozen=True)
class Evidence:
    """Why a registry entry fired: ``source`` is one of the constants above, ``detail`` says what
    was seen (the marker, the phrase, the rendered value)."""

    source: str
    detail: str

    def record(self, entry: str) -> tuple[str, str, str]:
        """The ``Analysis.dialects`` row of ``entry`` firing on this evidence."""
        return (entry, self.source, self.detail)


# --- value notations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueRenders:
    """What the analysis shows a :class:`Notation`: how the template rendered the non-string canary
    value ``probe.DATA_VALUE`` as a tagged argument, and a way to render others.

    ``text`` is the call section of ``gamma_tool(data_arg=DATA_VALUE)`` ("" when it did not
    render); ``after`` the index in it just after ``arg_prefix + data_arg`` (-1 when absent);
    ``brace`` the first ``{`` after that (-1 when none); ``json_mid`` the text between the
    argument name and a JSON value with a type word as ``{{type}}`` (see ``_type_slot``);
    ``scalars`` is ``"python"`` when a boolean argument renders ``True``, else ``"json"``;
    ``render(probe, args)`` the call section of one ``gamma_tool`` call with ``args`` ("" when
    the render failed)."""

    tagged: TaggedArgs
    text: str
    after: int
    brace: int
    json_mid: str
    scalars: str
    render: Callable[[str, dict[str, Any]], str]


class Notation:
    """A value notation. Subclasses set ``name`` (the ``TaggedArgs.value_style`` they own; more in
    ``styles``), ``tag`` (the capture holding a value) and implement the three stages."""

    name: ClassVar[str] = ""
    styles: ClassVar[tuple[str, ...]] = ()  # further value_style names this notation owns
    tag: ClassVar[Tag] = Tag.ARG_VALUE
    default: ClassVar[bool] = False  # the notation every template gets unless another fires

    # analysis ----------------------------------------------------------------------------------
    def detect(self, r: ValueRenders) -> tuple[TaggedArgs, Evidence] | None:
        """The record (``r.tagged`` with this notation's fields set) and the evidence, or None."""
        raise NotImplementedError

    # grammar -----------------------------------------------------------------------------------
    def value(self, b: GrammarBuilder, ta: TaggedArgs, schema: Any, *, strict: bool) -> Node:
        """The IR of one value under ``schema``: ``strict`` what generation may write (the
        template's rendered form, held to the schema where cheap), else what reading accepts."""
        raise NotImplementedError

    def value_node(self, b: GrammarBuilder, ta: TaggedArgs, schema: Any) -> Node:
        """The captured value as the chat grammar uses it: strict and loose joined by ``Lenient``."""
        from pegtool.grammar.builder import capture, lenient

        strict = self.value(b, ta, schema, strict=True)
        return capture(self.tag, lenient(strict, self.value(b, ta, schema, strict=False)))

    # parser ------------------------------------------------------------------------------------
    def to_json(self, text: str, node: CaptureNode) -> str:
        """The JSON text of a complete captured value (never raises: text that does not read as
        the notation becomes a JSON string)."""
        raise NotImplementedError

    def partial_json(self, text: str, node: CaptureNode) -> str:
        """The JSON prefix of a value the output was cut off inside, for the final message
        (streams send a notation's value only once its argument closes: see
        ``pegtool.parser.mapper._arg_pair``). Default: nothing (the value is kept as written)."""
        del text, node
        return ""


# --- named dialects ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateFacts:
    """What a :class:`NamedDialect` may look at: the analysis from the renders, the system prompt
    the template renders when tools are offered (its tool-list instructions; "" if it failed),
    the same without tools, the special tokens the source declares, the generation prompt, and
    the prompt without tools rendered with thinking asked for (``enable_thinking`` and Granite's
    ``thinking``; "" if it failed)."""

    analysis: Analysis
    tools_prompt: str
    plain_prompt: str
    special_tokens: frozenset[str]
    generation_prompt: str
    thinking_prompt: str = ""

    @property
    def tool_instructions(self) -> str:
        """The text offering tools adds to the prompt (the tool list and what is said around it)."""
        a, b = self.plain_prompt, self.tools_prompt
        i = 0
        while i < min(len(a), len(b)) and a[i] == b[i]:
            i += 1
        j = 0
        while j < min(len(a), len(b)) - i and a[len(a) - 1 - j] == b[len(b) - 1 - j]:
            j += 1
        return b[i:len(b) - j]

    def declares(self, token: str) -> str:
        """Where the template declares ``token``: a special token, the tool instructions or the
        generation prompt (the evidence source), or ""."""
        if token in self.special_tokens:
            return SPECIAL_TOKENS
        if token in self.tool_instructions:
            return TOOL_LIST
        if token in self.generation_prompt:
            return GENERATION_PROMPT
        return ""


@dataclass(frozen=True)
class CallsOptions:
    """What the chat grammar tells a named dialect about the request."""

    parallel: bool
    ids: str  # the canary id style ("plain" | "alnum9")


@dataclass(frozen=True)
class OutputOptions:
    """What the chat grammar tells a named dialect that describes the whole output."""

    tool_choice: Any
    parallel: bool
    extract_reasoning: bool  # False: reasoning stays inline in the content
    generation_prompt: str
    in_reasoning: bool = False  # the prompt ends inside a reasoning block (a prefill continuing it)


class NamedDialect:
    """A dialect the renders cannot reveal. Subclasses set ``name`` and implement :meth:`detect`
    and :meth:`apply`; :meth:`calls_region` only when the calls do not fit the record's generic
    shapes (``apply`` then records ``ToolFormat.NAMED`` and the region's markers).

    Mapping back to JSON needs no hook: the region captures follow the chat grammar's conventions
    (``TOOL_CALL`` with ``TOOL_NAME``, optional ``TOOL_ID``, ``TOOL_ARGS`` JSON or ``ARG`` pairs whose
    values are captured by a :class:`Notation`), which the generic mapper reads."""

    name: ClassVar[str] = ""
    #: the template renders the history form of the calls, which the model does not emit (it is
    #: read back as a repair): the round trip accepts that repair
    history_renders: ClassVar[bool] = False

    # analysis ----------------------------------------------------------------------------------
    def detect(self, facts: TemplateFacts) -> Evidence | None:
        """The evidence this dialect is the model's, or None. Evidence comes from what the template
        renders or declares (``facts``), never from its file or model name."""
        raise NotImplementedError

    def apply(self, a: Analysis, evidence: Evidence) -> Analysis:
        """The analysis with this dialect's markers recorded (tools, reasoning, content, ...)."""
        raise NotImplementedError

    # grammar -----------------------------------------------------------------------------------
    def calls_region(self, b: GrammarBuilder, a: Analysis, fns: Sequence[dict[str, Any]],
                     opts: CallsOptions) -> tuple[str, Node] | None:
        """(trigger text, IR of the whole calls region) for the offered tools ``fns``, or None to
        use the generic region built from the record. Generation strict, reading loose
        (``Lenient``); captures follow the chat grammar's conventions (``TOOL_CALL``, ...)."""
        del b, a, fns, opts
        return None

    def root(self, b: GrammarBuilder, a: Analysis, fns: Sequence[dict[str, Any]],
             opts: OutputOptions) -> Node | None:
        """The IR of the whole output (reasoning, content and calls), or None for the generic
        root built from the record: for dialects whose output is not ``reasoning? content calls?``
        (gpt-oss Harmony writes a sequence of channel messages). Same conventions as
        :meth:`calls_region`; the calls sit under a ``Trigger``."""
        del b, a, fns, opts
        return None


__all__ = ["GENERATION_PROMPT", "RENDER", "SPECIAL_TOKENS", "TOOL_LIST", "CallsOptions", "Evidence",
           "NamedDialect", "Notation", "OutputOptions", "TemplateFacts", "ValueRenders"]
