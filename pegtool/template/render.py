"""Stage 1 (template): render conversations through a chat template like Hugging Face does.

:class:`Renderer` passes the same variables as ``transformers``' ``apply_chat_template``
(``messages``, ``tools``, ``documents``, ``add_generation_prompt``, ``bos_token``, ``eos_token``
and any extra keyword such as ``enable_thinking``) to a compiled template and turns every failure
into a :class:`~pegtool.errors.TemplateError` (a :class:`TemplateRaised` for the template's own
``raise_exception``). Messages and tools are deep-copied, so a template that mutates them (the
sandbox allows ``list.append``) never changes the caller's data. ``tools`` are passed as given;
call :func:`normalize_tools` first to get OpenAI envelopes. Firefunction v2 reads a
``functions`` variable (a JSON string): pass it as a keyword when wanted.

Two defaults keep ordinary requests from failing where Hugging Face would: a ``datetime``
variable holds today's date unless given (Firefunction v2 prints ``Today is {datetime}.``), and a
template that reads ``description`` of a tool or parameter that has none (Command-R+ prints every
parameter's description), or ``additionalProperties`` of an object schema that leaves it out
(Command-R+ turns it into a Python type), is rendered again with those defaults written out: an
empty description, and ``additionalProperties: {}`` (what JSON Schema assumes when it is absent).
A render that recurses without end is tried again with type lists written as ``anyOf``.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from pegtool.errors import RequestError, TemplateError
from pegtool.template.sandbox import (
    LIMITS,
    TEMPLATE_FILENAME,
    RenderLimitError,
    check_budget,
    compile_template,
    limits,
    today,
)
from pegtool.template.source import TemplateSource

_ATOMS = frozenset((str, int, float, bool, type(None)))  # immutable JSON scalars: shared, never copied


def _fresh(v: Any) -> Any:
    """An empty container of the same JSON kind as ``v``, or a deep copy of anything else."""
    kind = type(v)
    if kind is dict or (kind is not list and isinstance(v, Mapping)):
        return {}
    return [] if isinstance(v, list) else copy.deepcopy(v)


def json_copy(value: Any) -> Any:
    """A deep copy of dicts and lists made without recursion (a 900-level tool schema must not
    overflow the stack); other values are copied with :func:`copy.deepcopy`. Shared containers
    stay shared and cycles are kept, as with ``deepcopy``. Scalars are tested by exact type first:
    they are most of a request, and an ``isinstance`` against ``Mapping`` is slow.

    >>> a = {"x": [1, {"y": "z"}]}; a["self"] = a; b = json_copy(a); b["x"][1]["y"] = 0
    >>> a["x"], b["self"] is b
    ([1, {'y': 'z'}], True)
    """
    if type(value) in _ATOMS:
        return value
    top = _fresh(value)
    if not isinstance(value, (Mapping, list)):
        return top
    memo: dict[int, Any] = {id(value): top}
    stack = [(value, top)]
    while stack:
        src, dst = stack.pop()
        into_dict = type(dst) is dict
        pairs = src.items() if into_dict else enumerate(src)  # type: ignore[union-attr]
        for key, v in pairs:
            if type(v) in _ATOMS:
                c = v
            elif id(v) in memo:
                c = memo[id(v)]
            else:
                c = _fresh(v)
                if type(c) is dict or type(c) is list:
                    memo[id(v)] = c
                    stack.append((v, c))
            if into_dict:
                dst[key] = c
            else:
                dst.append(c)
    return top


def normalize_tools(tools: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """OpenAI envelopes ``{"type": "function", "function": {...}}`` for envelopes or bare tools.

    >>> normalize_tools([{"name": "f", "parameters": {}}])
    [{'type': 'function', 'function': {'name': 'f', 'parameters': {}}}]
    """
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools or ()):
        if not isinstance(tool, Mapping):
            raise TemplateError(f"tool {i} is not an object: {tool!r}")
        if isinstance(tool.get("function"), Mapping):
            out.append({**json_copy(dict(tool)), "type": tool.get("type", "function")})
        elif "name" in tool:
            out.append({"type": "function", "function": json_copy(dict(tool))})
        else:
            raise TemplateError(f"tool {i} has neither a 'function' object nor a 'name'")
        fn = out[-1]["function"]
        if not isinstance(fn.get("name"), str) or not fn["name"]:
            raise RequestError(f"tool {i}: the name must be a non-empty string, got {fn.get('name')!r}")
        if not isinstance(fn.get("parameters", {}), (Mapping, bool)):
            raise RequestError(f"tool {fn['name']!r}: parameters must be a JSON Schema object")
    return out


_DEFAULTED = ("description", "additionalProperties")


def _type_lists_as_any_of(tools: Any) -> list[Any] | None:
    """``tools`` with every ``"type": [a, b]`` written as the equivalent ``"anyOf": [{"type": a},
    {"type": b}]`` (None when there is none): the type macro of Hermes 2 Pro / 3 and Command-R+
    recurses without end on a type list holding ``"null"`` (it iterates the string's letters)."""
    found = False

    def walk(obj: Any) -> Any:
        nonlocal found
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        out = {k: walk(v) for k, v in obj.items()}
        if isinstance(out.get("type"), list):
            found = True
            out["anyOf"] = [{"type": t} for t in out.pop("type")]
        return out

    out = walk(tools)
    return out if found else None


def _with_defaults(tools: Any) -> list[Any] | None:
    """``tools`` with ``description: ""`` added to every tool and parameter that lacks one and
    ``additionalProperties: {}`` to every object schema without it (None when nothing was
    missing)."""
    if not isinstance(tools, list):
        return None
    out = copy.deepcopy(tools)
    missing = False

    def fill(obj: Any) -> None:
        nonlocal missing
        if isinstance(obj, dict) and "description" not in obj:
            obj["description"] = ""
            missing = True

    def fill_schema(schema: Any) -> None:
        nonlocal missing
        if not isinstance(schema, dict):
            return
        if schema.get("type") == "object" and "additionalProperties" not in schema:
            schema["additionalProperties"] = {}
            missing = True
        props = schema.get("properties")
        if isinstance(props, dict):
            for sub in props.values():
                fill(sub)
                fill_schema(sub)
        fill_schema(schema.get("items"))

    for tool in out:
        fn = tool.get("function", tool) if isinstance(tool, dict) else None
        if isinstance(fn, dict):
            fill(fn)
            fill_schema(fn.get("parameters"))
    return out if missing else None


def check_tool_choice(tool_choice: Any, names: Iterable[str]) -> None:
    """Raise :class:`RequestError` unless ``tool_choice`` is "auto", "required", "none" or
    ``{"type": "function", "function": {"name": <an offered tool>}}``."""
    if isinstance(tool_choice, str) and tool_choice in ("auto", "required", "none"):
        return
    if isinstance(tool_choice, Mapping):
        fn = tool_choice.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else None
        if not isinstance(name, str):
            raise RequestError('tool_choice must name a tool: {"type": "function", "function": {"name": ...}}')
        if name not in set(names):
            raise RequestError(f"tool_choice names a tool that was not offered: {name!r}")
        return
    raise RequestError(f'tool_choice must be "auto", "required", "none" or a named function, got {tool_choice!r}')


def _template_line(tb: types.TracebackType | None) -> int | None:
    """The last template line on a (jinja-rewritten) traceback."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def input_size(*values: Any) -> int:
    """Characters of every string (keys included) and item of ``values``, counted without recursion."""
    total, stack, seen = 0, list(values), 0
    while stack:
        value = stack.pop()
        seen += 1
        kind = type(value)
        if kind is str:
            total += len(value)
        elif kind in _ATOMS:
            total += 1
        elif kind is dict:
            stack.extend(value.keys())
            stack.extend(value.values())
        elif kind is list:
            stack.extend(value)
        elif isinstance(value, str):
            total += len(value)
        elif isinstance(value, Mapping):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        else:
            total += 1
    return total + seen


class Renderer:
    """Renders one template; compile once, render many times (compilation is cached by text).

    ``now`` fixes what ``strftime_now`` returns (renders that are diffed should not straddle
    midnight); by default it is the wall clock. ``timeout_s`` bounds one render; ``max_output``
    bounds what the template generates itself: a render may be ``max_output`` characters plus
    ``input_factor`` times the characters its messages, tools and keywords bring, so a long
    conversation is never refused (defaults: :data:`~pegtool.template.sandbox.LIMITS`).
    """

    def __init__(self, source: TemplateSource, *, timeout_s: float | None = None, max_output: int | None = None,
                 now: datetime | None = None, input_factor: int | None = None) -> None:
        self.source = source
        self.timeout_s = LIMITS.render_timeout_s if timeout_s is None else timeout_s
        self.max_output = LIMITS.max_generated if max_output is None else max_output
        self.input_factor = LIMITS.input_factor if input_factor is None else input_factor
        self.now = now
        self._template = compile_template(source.text, source.origin or source.name)

    def render(self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None,
               add_generation_prompt: bool = False, **kwargs: Any) -> str:
        """The template's text for ``messages``; raises :class:`TemplateError` on any failure."""
        context: dict[str, Any] = {
            "messages": json_copy(messages),
            "tools": json_copy(tools) if tools is not None else None,
            "documents": None,
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self.source.bos_token,
            "eos_token": self.source.eos_token,
        }
        context.update(kwargs)
        brought = input_size(messages, tools, kwargs)
        bound = self.max_output + self.input_factor * brought
        note = f" ({self.max_output:,} generated + {self.input_factor} x {brought:,} from the input)"
        with limits(self.timeout_s, bound, self.now, note):
            context.setdefault("datetime", today())
            for _ in range(3):
                try:
                    return self._run(context, bound, note)
                except TemplateError as exc:
                    if isinstance(exc, RenderLimitError) and "recursion" in str(exc):
                        filled = _type_lists_as_any_of(context["tools"])
                    elif any(f"'{key}'" in str(exc) for key in _DEFAULTED):
                        filled = _with_defaults(context["tools"])
                    else:
                        filled = None
                    if filled is None:
                        raise
                    context = {**context, "tools": filled, "messages": json_copy(messages)}
            return self._run(context, bound, note)

    def _run(self, context: dict[str, Any], bound: int, note: str) -> str:
        where = self.source.origin or self.source.name
        try:
            return self._generate(context, bound, note)
        except TemplateError as exc:
            if exc.source is None:
                exc.args = (f"{where}: {exc.args[0]}",)
                exc.source = where
            raise
        except RecursionError:
            raise RenderLimitError("recursion too deep", source=where) from None
        except MemoryError:
            raise RenderLimitError("out of memory", source=where) from None
        except SecurityError as exc:
            raise TemplateError(f"blocked by the sandbox: {exc}", source=where,
                                line=_template_line(exc.__traceback__)) from None
        except (jinja2.TemplateError, Exception) as exc:  # noqa: BLE001 - untrusted template code
            raise TemplateError(f"render failed: {type(exc).__name__}: {exc}", source=where,
                                line=_template_line(exc.__traceback__)) from None

    def _generate(self, context: dict[str, Any], bound: int, note: str) -> str:
        parts: list[str] = []
        total = 0
        for chunk in self._template.generate(context):
            total += len(chunk)
            if total > bound:
                raise RenderLimitError(f"output exceeds {bound:,} characters{note} (raise it with "
                                       "PEGTOOL_MAX_GENERATED or LIMITS.max_generated)")
            parts.append(chunk)
            check_budget()
        return "".join(parts)
