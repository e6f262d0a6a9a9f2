"""Stage: front door — :class:`ChatFormat` ties the pipeline together.

template (load, render) -> analysis (dialect record) -> ONE chat grammar per request (IR) ->
parser (partial-input, streaming) and GBNF (lazy triggers, preserved tokens) for llama.cpp.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pegtool.errors import TemplateError
from pegtool.grammar import origins
from pegtool.grammar.ir import Grammar, Trigger, walk
from pegtool.parser.chat import ChatParser
from pegtool.template import Renderer, TemplateSource, load_template, normalize_tools


def _has_trigger(grammar: Grammar) -> bool:
    return any(isinstance(n, Trigger) for _, rule in grammar.rules for n in walk(rule))


def _opens_reasoning(generation_prompt: str, analysis: Any) -> bool:
    """True when the generation prompt ends inside a reasoning block (e.g. ``<think>\\n``)."""
    start = analysis.reasoning.start.strip()
    end = analysis.reasoning.end.strip()
    if not start or start not in generation_prompt:
        return False
    return not end or generation_prompt.rfind(end) < generation_prompt.rfind(start)


def _strip_bos(prompt: str, bos: str) -> str:
    return prompt[len(bos) :] if bos and prompt.startswith(bos) else prompt


@dataclass
class Prepared:
    """Everything one request needs: the prompt, the parser and the constraint grammar."""

    prompt: str
    generation_prompt: str
    grammar_ir: Grammar
    parser: ChatParser
    tool_choice: Any
    preserved_tokens: list[str]
    bos_token: str = ""
    reasoning_open: bool = False  # the generation prompt opens a reasoning block the model must close
    constrain_content: bool = False  # response_format: the content itself follows a JSON schema
    _gbnf: dict[bool, str] = field(default_factory=dict, repr=False)
    #: which tool / parameter each schema in ``grammar_ir`` was made for (for warnings)
    schema_origins: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def schema_warnings(self) -> list[str]:
        """What the GBNF does not enforce of the tools' schemas, one line per tool / parameter
        (``tool 'f', parameter 'p': maxLength 200 is not enforced ...``)."""
        from pegtool.gbnf.emit import lower_schemas

        found = lower_schemas(self.grammar_ir)[1]
        return list(dict.fromkeys(line for w in found for line in w.lines(self.schema_origins)))

    @property
    def grammar_lazy(self) -> bool:
        """True when the model is free until a trigger (tool_choice auto with tools)."""
        if self.constrain_content:
            return False
        return self.tool_choice == "auto" and _has_trigger(self.grammar_ir) and bool(self.grammar_triggers)

    @property
    def all_preserved_tokens(self) -> list[str]:
        """The analysis' markers plus every word trigger (llama-server rejects a single-token word
        trigger that is not preserved)."""
        words = [t["value"] for t in self.grammar_triggers if t["type"] == 1] if self.grammar_lazy else []
        return list(dict.fromkeys([*self.preserved_tokens, *words]))

    @cached_property
    def grammar_triggers(self) -> list[dict[str, Any]]:
        from pegtool.gbnf.triggers import triggers_for

        return [t.to_json() for t in triggers_for(self.grammar_ir)]

    @cached_property
    def grammar(self) -> str | None:
        """The GBNF to hand to llama.cpp (lazy form when :attr:`grammar_lazy`); None when
        unconstrained. Schema keywords it does not enforce are issued as
        ``UnsupportedSchemaWarning``s naming the tool and parameter."""
        from pegtool.gbnf.emit import lower_schemas, to_gbnf
        from pegtool.grammar.schema import issue_warnings

        if not self.constrain_content and self.tool_choice in ("none", "auto") and not _has_trigger(self.grammar_ir):
            return None
        text = to_gbnf(self.grammar_ir, lazy=self.grammar_lazy, warn=False, origins=self.schema_origins)
        issue_warnings(lower_schemas(self.grammar_ir)[1], self.schema_origins, stacklevel=3)
        return text

    def to_llama_server(self, *, thinking_forced_open: bool = False) -> dict[str, Any]:
        """The fields of a llama-server ``/completion`` body."""
        body: dict[str, Any] = {"prompt": _strip_bos(self.prompt, self.bos_token)}
        if self.grammar is not None:
            body["grammar"] = self.grammar
            if self.grammar_lazy:
                body["grammar_lazy"] = True
                body["grammar_triggers"] = self.grammar_triggers
        preserved = self.all_preserved_tokens
        if preserved:
            body["preserved_tokens"] = preserved
        body["generation_prompt"] = self.generation_prompt
        if thinking_forced_open:
            body.pop("generation_prompt")
            body["thinking_forced_open"] = self.reasoning_open
        return body


class ChatFormat:
    """A model's chat dialect, worked out from its chat template."""

    def __init__(self, source: TemplateSource) -> None:
        self.source = source
        self.renderer = Renderer(source)

    @classmethod
    def from_template(cls, source: str, bos_token: str = "", eos_token: str = "", name: str = "<string>") -> ChatFormat:
        return cls(TemplateSource(text=source, name=name, bos_token=bos_token, eos_token=eos_token))

    @classmethod
    def load(cls, path: str | Path, variant: str | None = None) -> ChatFormat:
        return cls(load_template(path, variant=variant))

    @cached_property
    def analysis(self) -> Any:
        from pegtool.analysis import analyze

        return analyze(self.source)

    def render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **kw: Any) -> str:
        return self.renderer.render(messages, tools=tools, **kw)

    def _tool_variants(self, envelopes: list[dict[str, Any]]) -> list[tuple[Any, dict[str, Any]]]:
        """(tools, extra variables) to try, the form the analysis found first: the envelope or the
        bare form, and a ``functions`` variable for templates that read that instead."""
        if not envelopes:
            return [(None, {})]
        bare = [t["function"] for t in envelopes]
        functions = {"functions": json.dumps(bare, indent=2, ensure_ascii=False)}
        canary = self.analysis.canary
        first = (bare if canary.tools_form == "bare" else envelopes, functions if canary.functions_var else {})
        others = [(envelopes, {}), (envelopes, functions), (bare, {}), (bare, functions)]
        return [first] + [v for v in others if v != first]

    def _render_prompt(
        self, messages: list[dict[str, Any]], envelopes: list[dict[str, Any]], kw: dict[str, Any], gen: bool
    ) -> tuple[str, Any, dict[str, Any]]:
        """The prompt, with the first tool form the template accepts (its first error otherwise)."""
        first_error: TemplateError | None = None
        for tools, extra in self._tool_variants(envelopes):
            merged = {**extra, **kw}
            try:
                return self.render(messages, tools, add_generation_prompt=gen, **merged), tools, merged
            except TemplateError as exc:
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    def _generation_prompt(self, messages: list[dict[str, Any]], tools: Any, prompt: str, kw: dict[str, Any]) -> str:
        try:
            bare = self.render(messages, tools, add_generation_prompt=False, **kw)
        except Exception:  # noqa: BLE001 - a template may refuse; the prompt itself rendered
            return ""
        return prompt[len(bare) :] if prompt.startswith(bare) else ""

    def prepare(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        *,
        tool_choice: Any = "auto",
        parallel_tool_calls: bool = True,
        enable_thinking: bool | None = None,
        reasoning_format: str = "auto",
        add_generation_prompt: bool = True,
        response_format: dict[str, Any] | None = None,
        reasoning_field: str = "reasoning_content",
        tool_calls_in_reasoning: bool = True,
        **template_kwargs: Any,
    ) -> Prepared:
        """Render the prompt and build the one chat grammar for this request.

        ``tool_calls_in_reasoning``: a call that starts inside a reasoning block the model never
        closed (Qwen3.5 style) is a call; with False it stays reasoning. Tool markup quoted inside a
        closed reasoning block is never a call."""
        from pegtool.grammar.chat import build_chat_grammar

        envelopes = normalize_tools(tools) if tools else []
        kw = dict(template_kwargs)
        if enable_thinking is not None:
            kw["enable_thinking"] = enable_thinking
        prompt, rendered_tools, kw = self._render_prompt(messages, envelopes, kw, add_generation_prompt)
        gen = self._generation_prompt(messages, rendered_tools, prompt, kw) if add_generation_prompt else ""
        with origins.recording() as where:
            grammar = build_chat_grammar(
                self.analysis,
                envelopes,
                tool_choice=tool_choice if envelopes else "none",
                parallel_tool_calls=parallel_tool_calls,
                reasoning_format=reasoning_format,
                enable_thinking=enable_thinking,
                response_format=response_format,
                generation_prompt=gen,
                tool_calls_in_reasoning=tool_calls_in_reasoning,
            )
        preserved = list(getattr(self.analysis, "preserved_tokens", ()) or ())
        parser = ChatParser(grammar, reasoning_field=reasoning_field)
        choice = tool_choice if envelopes else "none"
        opened = _opens_reasoning(gen, self.analysis)
        return Prepared(
            prompt, gen, grammar, parser, choice, preserved, self.source.bos_token, opened, response_format is not None,
            schema_origins=where,
        )
