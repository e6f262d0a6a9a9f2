"""Stage: analysis — the analysis record (plain frozen data, JSON-serialisable).

Everything the analysis finds about a chat template is stored here as frozen dataclasses and
enums; nothing here builds parsers (``pegtool.grammar.chat`` reads this record).

Marker strings may contain two placeholders, written literally in the record:

- ``{{id}}``    — the call id the model prints (captured as the tool id);
- ``{{index}}`` — the 0-based call index printed by templates such as Kimi K2 (``functions.f:0``);
- ``{{name}}``  — the tool name printed again (``to=f<|message|>…<invoke name="f">``);
- ``{{arg}}``   — the argument name printed again in its closing tag (``<k>v</k>``);
- ``{{type}}``  — a JSON type word printed next to a value (``type="object"``, ``string="false"``).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

ID_SLOT = "{{id}}"
INDEX_SLOT = "{{index}}"
NAME_SLOT = "{{name}}"
ARG_SLOT = "{{arg}}"
TYPE_SLOT = "{{type}}"


class ReasoningMode(str, enum.Enum):
    NONE = "none"
    TAG_BASED = "tag_based"  # start/end markers (start may be empty: end marker only)
    TOOLS_ONLY = "tools_only"  # reasoning rendered only next to tool calls


class ContentMode(str, enum.Enum):
    PLAIN = "plain"
    ALWAYS_WRAPPED = "always_wrapped"
    WRAPPED_WITH_REASONING = "wrapped_with_reasoning"


class ToolFormat(str, enum.Enum):
    NONE = "none"
    JSON_NATIVE = "json_native"  # {"name": ..., "arguments": {...}} and relatives
    TAG_WITH_JSON = "tag_with_json"  # <function=NAME>{...}
    TAG_WITH_TAGGED = "tag_with_tagged"  # <parameter=k>v</parameter>
    NAMED = "named"  # the calls region comes from a named dialect (pegtool.dialects) in ``dialects``


class IdPosition(str, enum.Enum):
    NONE = "none"
    PRE_NAME = "pre_name"
    BETWEEN_NAME_AND_ARGS = "between_name_and_args"
    POST_ARGS = "post_args"
    JSON_FIELD = "json_field"


@dataclass(frozen=True)
class Reasoning:
    mode: ReasoningMode = ReasoningMode.NONE
    start: str = ""
    end: str = ""
    field: str = "reasoning_content"  # the message field the template reads


@dataclass(frozen=True)
class Content:
    mode: ContentMode = ContentMode.PLAIN
    start: str = ""
    end: str = ""


@dataclass(frozen=True)
class JsonCall:
    """Shape of one JSON-native call object."""

    keys: tuple[str, ...] = ()  # key order as rendered (of the object holding the name)
    name_field: str = ""  # "" when the name is the key (``{"NAME": {args}}``)
    args_field: str = ""
    id_field: str = ""
    function_field: str = ""  # nesting key: {"function": {"name", "arguments"}}, "" when flat
    outer_keys: tuple[str, ...] = ()  # key order of the outer object when nested
    name_is_key: bool = False
    array_wrapped: bool = False


@dataclass(frozen=True)
class TaggedArgs:
    """``arg_prefix NAME arg_mid VALUE arg_suffix`` per argument, ``separator`` between."""

    arg_prefix: str = ""
    arg_mid: str = ""  # between argument name and a string value
    arg_mid_json: str = ""  # between argument name and a non-string value (often == arg_mid)
    arg_suffix: str = ""
    separator: str = ""
    values_json: bool = True  # non-string values are rendered as JSON
    #: "json"; "python" (``str()`` of the value: ``{'a': None}``); "python_scalars" (JSON
    #: objects/arrays but ``True``/``None`` scalars); "marker_quoted" (the template's own notation:
    #: ``{k:<|"|>v<|"|>,n:1,b:true,z:None}``, strings inside between ``string_quote`` markers);
    #: "xml_elements" (objects as nested ``elements``, arrays as repeated ``item_tag`` elements,
    #: scalars as raw text: ``<k><item>a</item></k>``)
    value_style: str = "json"
    string_quote: str = ""  # a quote around raw string values only (``f(a='x', b=1)``)
    #: (open, close) written around some string values (``<![CDATA[``, ``]]>``); optional
    string_wrap: tuple[str, ...] = ()
    #: arguments are printed sorted by name (Jinja's ``dictsort``), not in the order given
    sorted_keys: bool = False
    #: (open, close) of a nested element with an ``{{arg}}`` slot for its name ("xml_elements")
    elements: tuple[str, ...] = ()
    item_tag: str = ""  # the element name of array items ("xml_elements")
    skips_null: bool = False  # a null argument is left out (so a required nullable one may be)


@dataclass(frozen=True)
class Tools:
    format: ToolFormat = ToolFormat.NONE
    section_start: str = ""
    section_end: str = ""
    call_start: str = ""  # for tag formats: up to the function name
    call_end: str = ""
    call_separator: str = ""
    name_suffix: str = ""  # tag formats: between the name and the arguments
    args_as_string: bool = False  # arguments rendered as a JSON string, not an object
    json_call: JsonCall | None = None
    tagged: TaggedArgs | None = None
    id_position: IdPosition = IdPosition.NONE
    parallel: bool = False


@dataclass(frozen=True)
class Capabilities:
    system_role: bool = True
    tools: bool = False
    tool_calls: bool = False
    reasoning_content: bool = False
    parallel_tool_calls: bool = False


@dataclass(frozen=True)
class CanaryStyle:
    """The canary variant the template accepted."""

    args_as: str = "dict"  # "dict" | "json"
    id_style: str = "plain"  # "plain" | "alnum9"
    tools_form: str = "envelope"  # "envelope" | "bare"
    functions_var: bool = False
    #: the template reads the tool list from the system message's ``tools`` field (JSON text of
    #: the functions), not from the ``tools`` variable (Phi-4-mini): see ``probe.with_system_tools``
    system_tools: bool = False


@dataclass(frozen=True)
class Analysis:
    name: str = ""
    generation_prompt: str = ""
    generation_prompt_thinking: str = ""  # with enable_thinking=True
    generation_prompt_no_thinking: str = ""  # with enable_thinking=False
    end_of_turn: tuple[str, ...] = ()
    #: what a following user / tool turn opens with, for templates that write no end-of-turn
    #: marker (GLM: ``<|user|>``, ``<|observation|>``): where generation stops at the latest
    next_turn: tuple[str, ...] = ()
    reasoning: Reasoning = field(default_factory=Reasoning)
    content: Content = field(default_factory=Content)
    tools: Tools = field(default_factory=Tools)
    capabilities: Capabilities = field(default_factory=Capabilities)
    canary: CanaryStyle = field(default_factory=CanaryStyle)
    preserved_tokens: tuple[str, ...] = ()
    special_tokens: tuple[str, ...] = ()  # preserved tokens the source knows to be special
    probe_errors: tuple[tuple[str, str], ...] = ()  # (probe, error message)
    overrides: tuple[str, ...] = ()
    #: the :mod:`pegtool.dialects` entries that fired: (name, evidence source, what was seen)
    dialects: tuple[tuple[str, str, str], ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        return _from_jsonable(cls, data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=False)


def _to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_to_jsonable(v) for v in value]
    return value


T = TypeVar("T")

_NESTED: dict[str, type] = {
    "reasoning": Reasoning,
    "content": Content,
    "tools": Tools,
    "capabilities": Capabilities,
    "canary": CanaryStyle,
    "json_call": JsonCall,
    "tagged": TaggedArgs,
}
_ENUMS: dict[str, type[enum.Enum]] = {
    "format": ToolFormat,
    "id_position": IdPosition,
}


def _from_jsonable(cls: type[T], data: dict[str, Any]) -> T:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        kwargs[f.name] = _field_value(cls, f.name, data[f.name])
    return cls(**kwargs)


def _field_value(cls: type, name: str, raw: Any) -> Any:
    if raw is None:
        return None
    if name in _NESTED and isinstance(raw, dict):
        return _from_jsonable(_NESTED[name], raw)
    if name == "mode":
        return ReasoningMode(raw) if cls is Reasoning else ContentMode(raw)
    if name in _ENUMS:
        return _ENUMS[name](raw)
    if isinstance(raw, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in raw)
    return raw
