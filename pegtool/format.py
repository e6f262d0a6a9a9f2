"""Stage: front door — :class:`ChatFormat` ties the pipeline together.

template (load, render) -> analysis (dialect record) -> ONE chat grammar per request (IR) ->
parser (partial-input, streaming) and GBNF (lazy triggers, preserved tokens) for llama.cpp.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pegtool.engines.requests import EngineRequests
from pegtool.errors import TemplateError
from pegtool.grammar import origins
from pegtool.grammar.ir import Grammar, Trigger, walk
from pegtool.parser.chat import ChatParser
from pegtool.template import Renderer, TemplateSource, load_template, normalize_tools
from pegtool.template.render import check_tool_choice
from pegtool.template.sandbox import LIMITS, OperationTimeout, operation


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
class Prepared(EngineRequests):
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
    prefill: Any = None  # the continued assistant message (pegtool.prefill.Prefill), if any
    _gbnf: dict[bool, str] = field(default_factory=dict, repr=False)
    _built: _Built | None = field(default=None, repr=False, compare=False)  # shared build (see _BuildCache)
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
        return self.tool_choice == "auto" and self._has_trigger() and bool(self.grammar_triggers)

    def _has_trigger(self) -> bool:
        return self._built.has_trigger() if self._built is not None else _has_trigger(self.grammar_ir)

    @property
    def all_preserved_tokens(self) -> list[str]:
        """The analysis' markers plus every word trigger (llama-server rejects a single-token word
        trigger that is not preserved)."""
        words = [t["value"] for t in self.grammar_triggers if t["type"] == 1] if self.grammar_lazy else []
        return list(dict.fromkeys([*self.preserved_tokens, *words]))

    @cached_property
    def grammar_triggers(self) -> list[dict[str, Any]]:
        if self._built is not None:
            return [dict(t) for t in self._built.triggers()]
        return _triggers(self.grammar_ir)

    @cached_property
    def grammar(self) -> str | None:
        """The GBNF to hand to llama.cpp (lazy form when :attr:`grammar_lazy`); None when
        unconstrained. Schema keywords it does not enforce are issued as
        ``UnsupportedSchemaWarning``s naming the tool and parameter."""
        from pegtool.gbnf.emit import lower_schemas, to_gbnf
        from pegtool.grammar.schema import issue_warnings

        if not self.constrain_content and self.tool_choice in ("none", "auto") and not self._has_trigger():
            return None
        if self._built is not None:
            text = self._built.gbnf(self.grammar_lazy)
            found = self._built.schema_warnings()
        else:
            text = to_gbnf(self.grammar_ir, lazy=self.grammar_lazy, warn=False, origins=self.schema_origins)
            found = lower_schemas(self.grammar_ir)[1]
        issue_warnings(found, self.schema_origins, stacklevel=3)
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


# --- build cache ---------------------------------------------------------------------------------
# A server sends the same tools and options again and again: the chat grammar, its parser, its
# GBNF and triggers depend only on (analysis, tools, options, generation prompt), so they are
# built once per ChatFormat and shared by every Prepared of the same request shape. The prompt
# itself is rendered for every request (it depends on the messages).


def _triggers(grammar: Grammar) -> list[dict[str, Any]]:
    from pegtool.gbnf.triggers import triggers_for

    return [t.to_json() for t in triggers_for(grammar)]


def _gbnf(grammar: Grammar, lazy: bool, where: dict[str, Any] | None = None) -> str:
    from pegtool.gbnf.emit import to_gbnf

    return to_gbnf(grammar, lazy=lazy, warn=False, origins=where or {})


class _Built:
    """One build: the chat grammar, its parser, and (on first use) its GBNF forms and triggers."""

    def __init__(self, grammar: Grammar, parser: ChatParser, where: dict[str, Any] | None = None) -> None:
        self.grammar, self.parser = grammar, parser
        self.origins: dict[str, Any] = where or {}  # which tool / parameter each schema is for
        self._warnings: list[Any] | None = None
        self._gbnf: dict[bool, str] = {}
        self._triggers: list[dict[str, Any]] | None = None
        self._trigger_found: bool | None = None
        self._lock = threading.Lock()

    def has_trigger(self) -> bool:
        """Whether the grammar has a trigger (a lazy part): walked once per build."""
        if self._trigger_found is None:
            self._trigger_found = _has_trigger(self.grammar)
        return self._trigger_found

    def gbnf(self, lazy: bool) -> str:
        with self._lock:
            if lazy not in self._gbnf:
                self._gbnf[lazy] = _gbnf(self.grammar, lazy, self.origins)
            return self._gbnf[lazy]

    def schema_warnings(self) -> list[Any]:
        from pegtool.gbnf.emit import lower_schemas

        with self._lock:
            if self._warnings is None:
                self._warnings = list(lower_schemas(self.grammar)[1])
            return self._warnings

    def triggers(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._triggers is None:
                self._triggers = _triggers(self.grammar)
            return self._triggers


class _BuildCache:
    """A small LRU of :class:`_Built`, keyed on a canonical JSON of the tools and options (keys
    keep their order: the order of a schema's properties is part of the grammar)."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._items: OrderedDict[str, _Built] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self._analysis: Any = None

    def bind(self, analysis: Any) -> None:
        """Entries hold for one analysis object: another one (replaced by the caller) clears them."""
        if analysis is not self._analysis:
            self.clear()
            self._analysis = analysis

    @staticmethod
    def key(tools: list[dict[str, Any]], options: dict[str, Any]) -> str | None:
        try:
            return json.dumps([tools, options], ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):  # not JSON data (an object, NaN): build without caching
            return None

    def get(self, key: str | None) -> _Built | None:
        if key is None:
            return None
        with self._lock:
            built = self._items.get(key)
            if built is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return built

    def put(self, key: str | None, built: _Built) -> _Built:
        if key is None:
            return built
        with self._lock:
            built = self._items.setdefault(key, built)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return built

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


# --- end of build cache --------------------------------------------------------------------------


class ChatFormat:
    """A model's chat dialect, worked out from its chat template."""

    def __init__(self, source: TemplateSource) -> None:
        self.source = source
        self.renderer = Renderer(source)
        self._path: Path | None = None  # the file of a loaded format: its other named variants
        self._pinned = False  # a variant was asked for by name: never switch
        self._siblings: dict[str, ChatFormat] = {}
        self._names: list[str] | None = None
        self.build_cache = _BuildCache()  # grammar + parser per (tools, options); see _BuildCache

    @classmethod
    def from_template(cls, source: str, bos_token: str = "", eos_token: str = "", name: str = "<string>") -> ChatFormat:
        return cls(TemplateSource(text=source, name=name, bos_token=bos_token, eos_token=eos_token))

    @classmethod
    def load(cls, path: str | Path, variant: str | None = None) -> ChatFormat:
        """The format of the template stored at ``path``. A file holding named templates yields
        ``default``; with no ``variant`` given, :meth:`prepare` switches to ``tool_use`` for a
        request with tools, as Hugging Face does."""
        fmt = cls(load_template(path, variant=variant))
        fmt._path, fmt._pinned = Path(path), variant is not None
        return fmt

    def variants(self) -> list[str]:
        """The named templates of the file this format was loaded from (empty: a single one)."""
        from pegtool.template.loader import variant_names

        if self._names is None:
            self._names = variant_names(self._path) if self._path is not None and self.source.variant else []
        return self._names

    def for_request(self, tools: Any = None, variant: str | None = None) -> ChatFormat:
        """The format a request uses: the named ``variant`` when given; else ``tool_use`` when
        tools are passed and the file has one (unless the format was loaded with a variant)."""
        if variant is None:
            if not tools or self._pinned or self.source.variant in (None, "tool_use"):
                return self
            if "tool_use" not in self.variants():
                return self
            variant = "tool_use"
        if variant == (self.source.variant or "default"):
            return self
        if variant not in self._siblings:
            from pegtool.errors import RequestError

            names = self.variants()
            if variant not in names:
                held = f"available: {', '.join(names)}" if names else "this format holds a single template"
                raise RequestError(f"unknown template variant {variant!r}; {held}", "variant")
            self._siblings[variant] = ChatFormat.load(self._path or "", variant=variant)
        return self._siblings[variant]

    @cached_property
    def analysis(self) -> Any:
        from pegtool.analysis import analyze

        return analyze(self.source)

    def render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **kw: Any) -> str:
        return self.renderer.render(messages, tools=tools, **kw)

    def _tool_variants(self, envelopes: list[dict[str, Any]]) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(tools, extra variables) to try, the form the analysis found first: the envelope or the
        bare form, and a ``functions`` variable for templates that read that instead."""
        if not envelopes:
            yield None, {}
            return
        bare = [t["function"] for t in envelopes]
        canary = self.analysis.canary
        form = bare if canary.tools_form == "bare" else envelopes
        if not canary.functions_var:  # the ``functions`` JSON text is only built if this fails
            yield form, {}
        functions = {"functions": json.dumps(bare, indent=2, ensure_ascii=False)}
        first = (form, functions if canary.functions_var else {})
        if canary.functions_var:
            yield first
        for v in [(envelopes, {}), (envelopes, functions), (bare, {}), (bare, functions)]:
            if v != first:
                yield v

    def _render_prompt(
        self, messages: list[dict[str, Any]], envelopes: list[dict[str, Any]], kw: dict[str, Any], gen: bool
    ) -> tuple[str, Any, dict[str, Any]]:
        """The prompt, with the first tool form the template accepts (its first error otherwise)."""
        first_error: TemplateError | None = None
        for tools, extra in self._tool_variants(envelopes):
            merged = {**extra, **kw}
            try:
                return self.render(messages, tools, add_generation_prompt=gen, **merged), tools, merged
            except OperationTimeout:
                raise
            except TemplateError as exc:
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    def _generation_prompt(self, messages: list[dict[str, Any]], tools: Any, prompt: str, kw: dict[str, Any]) -> str:
        try:
            bare = self.render(messages, tools, add_generation_prompt=False, **kw)
        except OperationTimeout:
            raise
        except Exception:  # noqa: BLE001 - a template may refuse; the prompt itself rendered
            return ""
        return prompt[len(bare) :] if prompt.startswith(bare) else ""

    def _parser(self, grammar_for: Any, reasoning_format: str, opened_by: str, reasoning_field: str,
                prefill: Any = None, ids: dict[str, Any] | None = None) -> tuple[Grammar, ChatParser]:
        """The grammar and parser for the request's reasoning format and prefill. ``grammar_for(
        extract)`` builds the chat grammar extracting reasoning ("auto") or not ("none");
        ``opened_by``: the generation prompt when it opened a reasoning block. A plain
        :class:`ChatParser` for the extracting formats without prefill, else a
        :class:`ShapedParser` (see :mod:`pegtool.parser.shaped`)."""
        from pegtool.parser.shaped import ShapedParser

        ids = ids or {}
        inline_form = reasoning_format in ("none", "deepseek-legacy")
        if prefill is not None and prefill.state == "content":
            # the continuation starts inside content: no reasoning block can follow
            grammar = grammar_for("none")
            return grammar, ShapedParser(grammar, reasoning_field=reasoning_field, **ids,
                                         keep_reasoning=reasoning_format != "none",
                                         content_prefix=prefill.raw if inline_form else prefill.content,
                                         reasoning_prefix=prefill.reasoning)
        grammar = grammar_for("none" if reasoning_format == "none" else "auto")
        if not inline_form and prefill is None:
            return grammar, ChatParser(grammar, reasoning_field=reasoning_field, **ids)
        start = self.analysis.reasoning.start.strip()
        opener = opened_by[opened_by.rfind(start):] if start and opened_by and prefill is None else ""
        content_prefix = prefill.raw if prefill is not None and inline_form else ""
        reasoning_prefix = prefill.reasoning if prefill is not None else ""
        inline = ChatParser(grammar_for("none"), reasoning_field=reasoning_field, **ids) \
            if reasoning_format == "deepseek-legacy" else None
        return grammar, ShapedParser(grammar, reasoning_field=reasoning_field, **ids, inline=inline,
                                     keep_reasoning=reasoning_format != "none", opener=opener,
                                     content_prefix=content_prefix, reasoning_prefix=reasoning_prefix)

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
        call_id_seed: int | None = None,
        call_id_factory: Callable[[int, str], str] | None = None,
        variant: str | None = None,
        continue_final_message: bool | str | None = None,
        **template_kwargs: Any,
    ) -> Prepared:
        """Render the prompt and build the one chat grammar for this request.

        ``tool_calls_in_reasoning``: a call that starts inside a reasoning block the model never
        closed (Qwen3.5 style) is a call; with False it stays reasoning. Tool markup quoted inside a
        closed reasoning block is never a call.

        Request options (README "Request options"): client mistakes raise
        :class:`~pegtool.errors.RequestError` (:mod:`pegtool.request`); ``reasoning_format`` is
        "auto" | "deepseek" | "none" | "deepseek-legacy" (:mod:`pegtool.parser.shaped`);
        ``variant`` names the template to use (:meth:`for_request`); ``continue_final_message``:
        ``None`` continues a final assistant message (llama-server), ``True`` requires one,
        ``False`` closes it as a finished turn, "content" / "reasoning_content" say which field to
        continue (:mod:`pegtool.prefill`): the parsed message is then the whole assistant message,
        while streaming deltas carry only the new text."""
        from pegtool.grammar.chat import build_chat_grammar
        from pegtool.prefill import build_prefill, wants_continuation
        from pegtool.request import check_request

        messages, tools, tool_choice, reasoning_format = check_request(messages, tools, tool_choice, reasoning_format)
        target = self.for_request(tools, variant)
        if target is not self:
            return target.prepare(
                messages, tools, tool_choice=tool_choice, parallel_tool_calls=parallel_tool_calls,
                enable_thinking=enable_thinking, reasoning_format=reasoning_format,
                add_generation_prompt=add_generation_prompt, response_format=response_format,
                reasoning_field=reasoning_field, tool_calls_in_reasoning=tool_calls_in_reasoning,
                continue_final_message=continue_final_message, call_id_seed=call_id_seed,
                call_id_factory=call_id_factory, **template_kwargs)
        envelopes = normalize_tools(tools) if tools else []
        if envelopes:
            check_tool_choice(tool_choice, (t["function"]["name"] for t in envelopes))
            # each tool's schema was checked (iteratively, cached) by check_request above
            if self.analysis.canary.system_tools:  # the template reads them from the system message
                from pegtool.analysis.probe import with_system_tools

                messages = with_system_tools(messages, envelopes)
        kw = dict(template_kwargs)
        if enable_thinking is not None:
            kw["enable_thinking"] = enable_thinking
        continuing = wants_continuation(messages, continue_final_message)
        with operation("prepare", LIMITS.prepare_timeout_s,
                       "PEGTOOL_PREPARE_TIMEOUT or pegtool.template.sandbox.LIMITS.prepare_timeout_s"):
            # continuing: the history alone picks the tool form (a template may refuse the message
            # being continued as it stands, e.g. reasoning without content)
            probe = messages[:-1] if continuing is not None and len(messages) > 1 else messages
            prompt, rendered_tools, kw = self._render_prompt(probe, envelopes, kw,
                                                             add_generation_prompt and continuing is None)
            gen = self._generation_prompt(messages, rendered_tools, prompt, kw) \
                if add_generation_prompt and continuing is None else ""
            prefill = None
            if continuing is not None:
                prefill = build_prefill(
                    lambda ms, g: self.render(ms, rendered_tools, add_generation_prompt=g, **kw),
                    messages, self.analysis.reasoning.start,
                    lambda text: _opens_reasoning(text, self.analysis), continuing,
                    self.analysis.reasoning.end)
                prompt, gen = prefill.prompt, prefill.head

        def grammar_for(extract: str) -> Grammar:
            return build_chat_grammar(
                self.analysis,
                envelopes,
                tool_choice=tool_choice if envelopes else "none",
                parallel_tool_calls=parallel_tool_calls,
                reasoning_format=extract,
                enable_thinking=enable_thinking,
                response_format=response_format,
                generation_prompt=gen,
                tool_calls_in_reasoning=tool_calls_in_reasoning,
                in_reasoning=prefill is not None and prefill.state == "reasoning",
            )

        preserved = list(getattr(self.analysis, "preserved_tokens", ()) or ())
        choice = tool_choice if envelopes else "none"
        opened = _opens_reasoning(gen, self.analysis) or (prefill is not None and prefill.state == "reasoning")
        ids = {"id_style": self.analysis.canary.id_style, "id_seed": call_id_seed, "id_factory": call_id_factory}
        # the build cache: a server sending the same tools and options again pays the build once
        # (not for a prefill, whose parser carries the prefill's text, nor for a caller's id factory)
        cacheable = prefill is None and call_id_factory is None
        options = {
            "tool_choice": choice, "parallel_tool_calls": parallel_tool_calls,
            "reasoning_format": reasoning_format, "enable_thinking": enable_thinking,
            "response_format": response_format, "generation_prompt": gen,
            "tool_calls_in_reasoning": tool_calls_in_reasoning, "reasoning_field": reasoning_field,
            "call_id_seed": call_id_seed,
        }
        key = self.build_cache.key(envelopes, options) if cacheable else None
        self.build_cache.bind(self.analysis)
        built = self.build_cache.get(key) if key is not None else None
        if built is None:
            with origins.recording() as where:
                grammar, parser = self._parser(grammar_for, reasoning_format, gen if opened else "",
                                               reasoning_field, prefill, ids)
            built = _Built(grammar, parser, where)
            if key is not None:
                built = self.build_cache.put(key, built)
        grammar, parser = built.grammar, built.parser
        if prefill is not None:
            gen = prefill.tail  # llama-server's generation_prompt: the turn so far
        return Prepared(
            prompt, gen, grammar, parser, choice, preserved, self.source.bos_token, opened, response_format is not None,
            prefill=prefill, _built=built, schema_origins=built.origins,
        )
