"""Stage 1 (template): render conversations through a chat template like Hugging Face does.

:class:`Renderer` passes the same variables as ``transformers``' ``apply_chat_template``
(``messages``, ``tools``, ``documents``, ``add_generation_prompt``, ``bos_token``, ``eos_token``
and any extra keyword such as ``enable_thinking``) to a compiled template and turns every failure
into a :class:`~pegtool.errors.TemplateError` (a :class:`TemplateRaised` for the template's own
``raise_exception``). Messages and tools are deep-copied, so a template that mutates them (the
sandbox allows ``list.append``) never changes the caller's data. ``tools`` are passed as given;
call :func:`normalize_tools` first to get OpenAI envelopes. Firefunction v2 reads a
``functions`` variable (a JSON string): pass it as a keyword when wanted.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from pegtool.errors import TemplateError
from pegtool.template.sandbox import (
    TEMPLATE_FILENAME,
    RenderLimitError,
    check_budget,
    compile_template,
    limits,
)
from pegtool.template.source import TemplateSource

_SCALARS = (str, int, float, bool, type(None))


def data_copy(obj: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), several times faster than
    ``copy.deepcopy`` on tool schemas; anything else is deep-copied as usual.

    >>> a = {"x": [1, {"y": "z"}]}; b = data_copy(a); b["x"][1]["y"] = 0; a
    {'x': [1, {'y': 'z'}]}
    """
    kind = type(obj)
    if kind is dict:
        return {k: data_copy(v) for k, v in obj.items()}
    if kind is list:
        return [data_copy(v) for v in obj]
    if kind in _SCALARS:
        return obj
    return copy.deepcopy(obj)


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
            out.append({**data_copy(dict(tool)), "type": tool.get("type", "function")})
        elif "name" in tool:
            out.append({"type": "function", "function": data_copy(dict(tool))})
        else:
            raise TemplateError(f"tool {i} has neither a 'function' object nor a 'name'")
    return out


def _template_line(tb: types.TracebackType | None) -> int | None:
    """The last template line on a (jinja-rewritten) traceback."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class Renderer:
    """Renders one template; compile once, render many times (compilation is cached by text).

    ``now`` fixes what ``strftime_now`` returns (renders that are diffed should not straddle
    midnight); by default it is the wall clock.
    """

    def __init__(self, source: TemplateSource, *, timeout_s: float = 5.0, max_output: int = 2_000_000,
                 now: datetime | None = None) -> None:
        self.source = source
        self.timeout_s = timeout_s
        self.max_output = max_output
        self.now = now
        self._template = compile_template(source.text, source.origin or source.name)

    def render(self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None,
               add_generation_prompt: bool = False, **kwargs: Any) -> str:
        """The template's text for ``messages``; raises :class:`TemplateError` on any failure."""
        context: dict[str, Any] = {
            "messages": data_copy(messages),
            "tools": data_copy(tools) if tools is not None else None,
            "documents": None,
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self.source.bos_token,
            "eos_token": self.source.eos_token,
        }
        context.update(kwargs)
        with limits(self.timeout_s, self.max_output, self.now):
            return self._run(context)

    def _run(self, context: dict[str, Any]) -> str:
        where = self.source.origin or self.source.name
        try:
            return self._generate(context)
        except TemplateError as exc:
            if exc.source is None:
                exc.args = (f"{where}: {exc.args[0]}",)
                exc.source = where
            raise
        except RecursionError:
            raise RenderLimitError("recursion too deep", source=where) from None
        except SecurityError as exc:
            raise TemplateError(f"blocked by the sandbox: {exc}", source=where,
                                line=_template_line(exc.__traceback__)) from None
        except (jinja2.TemplateError, Exception) as exc:  # noqa: BLE001 - untrusted template code
            raise TemplateError(f"render failed: {type(exc).__name__}: {exc}", source=where,
                                line=_template_line(exc.__traceback__)) from None

    def _generate(self, context: dict[str, Any]) -> str:
        parts: list[str] = []
        total = 0
        for chunk in self._template.generate(context):
            total += len(chunk)
            if total > self.max_output:
                raise RenderLimitError(f"output exceeds {self.max_output} characters")
            parts.append(chunk)
            check_budget()
        return "".join(parts)
