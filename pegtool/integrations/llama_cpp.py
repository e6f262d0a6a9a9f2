"""Stage: integration — OpenAI-style chat completions with tool calls on ``llama_cpp.Llama``.

request (messages, tools, tool_choice, sampling) -> :meth:`ChatFormat.prepare` (prompt, chat
grammar, parser) -> sampler (lazy grammar + triggers for ``tool_choice="auto"``, eager for
"required" / a named tool, none for "none") -> :class:`Generation` (special tokens kept) ->
pegtool's parser -> ``chat.completion`` (or a stream of ``chat.completion.chunk``).

:class:`PegtoolChatHandler` plugs the same path into llama-cpp-python:
``Llama(model_path, chat_handler=PegtoolChatHandler(fmt)).create_chat_completion(...)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

from pegtool.errors import PegtoolError, TemplateError
from pegtool.format import ChatFormat, Prepared
from pegtool.integrations.generate import Generation, prompt_tokens
from pegtool.integrations.openai_shapes import (
    completion_id,
    completion_object,
    finish_reason,
    stream_chunks,
)
from pegtool.integrations.sampling import LazyTriggers, build_sampler, resolve_triggers
from pegtool.integrations.vocab import TriggerWarning, check_trigger_boundaries

__all__ = [
    "load_model",
    "PegtoolChatHandler",
    "TriggerWarning",
    "build_sampler",
    "chat_completion",
    "complete",
    "default_chat_format",
    "prepare_request",
    "start_generation",
]

def load_model(path: str, *, extra_bufts: bool = False, **kwargs: Any) -> Any:
    """``llama_cpp.Llama(path, **kwargs)``; ``extra_bufts=False`` loads the weights without
    llama.cpp's extra CPU buffer types (AMX / repacked layouts): with llama-cpp-python 0.3.36 their
    kernels crash the first ``decode`` on some CPUs (this project's test machines among them); the
    results are the same. 0.3.36 has no keyword for it, so the default model parameters are
    wrapped for the duration of the load."""
    import llama_cpp.llama as module
    from llama_cpp import Llama

    if extra_bufts:
        return Llama(path, **kwargs)
    original = module.llama_cpp.llama_model_default_params

    def params() -> Any:
        p = original()
        p.use_extra_bufts = False
        return p

    module.llama_cpp.llama_model_default_params = params
    try:
        return Llama(path, **kwargs)
    finally:
        module.llama_cpp.llama_model_default_params = original


def default_chat_format(llama: Any) -> ChatFormat:
    """The chat format of the GGUF ``llama`` was loaded from (its own chat template)."""
    path = getattr(llama, "model_path", "")
    try:
        return ChatFormat.load(path)
    except TemplateError as exc:
        raise TemplateError(
            f"cannot use the model's own chat template ({exc}); pass chat_format="
            "ChatFormat.load('template.jinja') (or tokenizer_config.json) explicitly",
            source=str(path),
        ) from exc


def prepare_request(fmt: ChatFormat, request: dict[str, Any]) -> Prepared:
    """Render the prompt and build grammar + parser for an OpenAI-style ``request``."""
    tools = request.get("tools") or None
    choice = request.get("tool_choice")
    if choice is None:
        choice = "auto" if tools else "none"
    extra = dict(request.get("chat_template_kwargs") or {})
    messages: Any = request.get("messages")  # checked by prepare (RequestError: missing, empty, malformed)
    if "enable_thinking" in request:
        extra["enable_thinking"] = request["enable_thinking"]
    return fmt.prepare(
        messages,
        tools,
        tool_choice=choice,
        parallel_tool_calls=bool(request.get("parallel_tool_calls", True)),
        response_format=request.get("response_format"),
        reasoning_format=request.get("reasoning_format") or "auto",
        continue_final_message=request.get("continue_final_message"),
        **extra,
    )


def _stop_list(stop: Any) -> list[str]:
    if not stop:
        return []
    return [stop] if isinstance(stop, str) else [s for s in stop if s]


def _end_of_turn(fmt: ChatFormat) -> list[str]:
    """Soft stops: the end-of-turn markers, or (a template without one) the markers the next
    user / tool turn opens with, which a model that does not stop by itself writes next."""
    try:
        a = fmt.analysis
        return [m.strip() for m in (*a.end_of_turn, *a.next_turn) if m.strip()]
    except Exception:  # noqa: BLE001 - stops are a convenience; the grammar still ends the turn
        return []


def _logit_bias(raw: Any) -> dict[int, float] | None:
    return {int(k): float(v) for k, v in raw.items()} if raw else None


def _triggers(llama: Any, prep: Prepared) -> LazyTriggers:
    if not prep.grammar_lazy:
        return LazyTriggers()
    trig = resolve_triggers(prep.grammar_triggers, llama)
    trig.notes.extend(check_trigger_boundaries(llama, prep.grammar_triggers))
    for note in trig.notes:
        warnings.warn(note, TriggerWarning, stacklevel=3)
    return trig


def start_generation(llama: Any, prep: Prepared, request: dict[str, Any], *,
                     soft_stop: list[str] | None = None,
                     cancel: Callable[[], bool] | None = None) -> tuple[Generation, LazyTriggers]:
    """The (not yet started) generation for ``prep`` with the request's sampling settings.

    ``soft_stop`` (a template's end-of-turn markers) ends free text; in constrained output (an
    eager grammar, or a lazy one after its trigger) only where the message parses complete.
    ``cancel`` is asked before every token and ends generation when it says True.
    """
    trig = _triggers(llama, prep)
    sampler = build_sampler(
        llama, prep.grammar, lazy=prep.grammar_lazy,
        trigger_patterns=trig.patterns, trigger_tokens=trig.tokens,
        temperature=float(request.get("temperature", 0.8)),
        top_k=int(request.get("top_k", 40)), top_p=float(request.get("top_p", 0.95)),
        min_p=float(request.get("min_p", 0.05)), seed=request.get("seed"),
        logit_bias=_logit_bias(request.get("logit_bias")),
        repeat_penalty=float(request.get("repeat_penalty", 1.0)),
        frequency_penalty=float(request.get("frequency_penalty", 0.0)),
        presence_penalty=float(request.get("presence_penalty", 0.0)),
    )
    eager = prep.grammar is not None and not prep.grammar_lazy
    triggered = trig.patterns if prep.grammar_lazy else []
    max_tokens = request.get("max_tokens") or request.get("max_completion_tokens")
    gen = Generation(
        llama, prompt_tokens(llama, prep.prompt, prep.bos_token), sampler,
        max_tokens=max_tokens, stop=_stop_list(request.get("stop")),
        soft_stop=list(soft_stop or []), trigger_regexes=triggered, constrained=eager,
        complete=lambda text: _complete_message(prep, text), cancel=cancel,
    )
    return gen, trig


def _complete_message(prep: Prepared, text: str) -> bool:
    msg = prep.parser.parse(text)
    return not msg.diagnostics and not msg.incomplete


def _model_name(llama: Any, request: dict[str, Any]) -> str:
    return str(request.get("model") or getattr(llama, "model_path", ""))


def complete(llama: Any, prep: Prepared, request: dict[str, Any] | None = None, *,
             soft_stop: list[str] | None = None, strict: bool = False,
             cancel: Callable[[], bool] | None = None) -> Any:
    """Generate for an already prepared request; a ``chat.completion`` dict or, if
    ``request["stream"]``, an iterator of ``chat.completion.chunk`` dicts.

    Sampling settings come from ``request`` (temperature, top_k, top_p, min_p, seed,
    logit_bias, max_tokens, stop). The raw generated text, trigger notes and parse diagnostics
    are reported under the extra ``"pegtool"`` key (a stream's last chunk: raw text and usage).
    ``cancel`` (asked before every token) stops generation early, e.g. when a client went away.
    """
    request = request or {}
    gen, trig = start_generation(llama, prep, request, soft_stop=soft_stop, cancel=cancel)
    if request.get("stream"):
        return _stream(llama, prep, gen, request)
    text = gen.run()
    msg = prep.parser.parse(text, strict=strict)
    extra = {
        "raw_text": text,
        "diagnostics": [d.to_dict() for d in msg.diagnostics],
        "trigger_notes": list(trig.notes),
        "time_to_first_token": gen.time_to_first_token,
        "seconds": gen.seconds,
        "cancelled": gen.cancelled,
    }
    return completion_object(
        msg, finish=finish_reason(msg, gen.finish_reason), model=_model_name(llama, request),
        usage=gen.usage(), reasoning_field=prep.parser.reasoning_field, extra=extra,
    )


def chat_completion(llama: Any, request: dict[str, Any], *, chat_format: ChatFormat | None = None,
                    strict: bool = False) -> Any:
    """An OpenAI ``chat.completion`` dict for ``request`` (an iterator of chunks if ``stream``).

    ``request`` holds ``messages``, ``tools``, ``tool_choice`` ("auto" -> lazy grammar with
    triggers, "required" / a named tool -> eager grammar, "none" -> no grammar), optional
    ``parallel_tool_calls``, ``response_format``, ``chat_template_kwargs`` and sampling fields.
    ``chat_format`` defaults to the GGUF's own template.
    """
    fmt = chat_format or default_chat_format(llama)
    prep = prepare_request(fmt, request)
    return complete(llama, prep, request, soft_stop=_end_of_turn(fmt), strict=strict)


def _stream(llama: Any, prep: Prepared, gen: Generation, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return stream_chunks(prep.parser, gen, lambda: gen.finish_reason,
                         model=_model_name(llama, request), cid=completion_id(),
                         extra=lambda: {"raw_text": gen.text, "usage": gen.usage(),
                                        "seconds": gen.seconds, "cancelled": gen.cancelled})


def _legacy_tools(functions: Any, function_call: Any) -> tuple[Any, Any]:
    tools = [{"type": "function", "function": f} for f in functions or []]
    if isinstance(function_call, dict):
        return tools, {"type": "function", "function": {"name": function_call.get("name")}}
    return tools, function_call


class PegtoolChatHandler:
    """A llama-cpp-python chat handler: ``Llama(..., chat_handler=PegtoolChatHandler(fmt))``.

    ``create_chat_completion(messages=..., tools=..., tool_choice=...)`` then renders with
    ``chat_format`` (default: the GGUF's template), constrains tool calls with pegtool's grammar
    and returns pegtool-parsed tool calls. A ``grammar=`` passed by the caller is not combined
    with pegtool's grammar and is rejected.
    """

    def __init__(self, chat_format: ChatFormat | None = None, *, strict: bool = False) -> None:
        self.chat_format = chat_format
        self.strict = strict

    def __call__(self, *, llama: Any, messages: list[dict[str, Any]], functions: Any = None,
                 function_call: Any = None, tools: Any = None, tool_choice: Any = None,
                 grammar: Any = None, **kwargs: Any) -> Any:
        if grammar is not None:
            raise PegtoolError("PegtoolChatHandler builds its own grammar; do not pass grammar=")
        if not tools and functions:
            tools, tool_choice = _legacy_tools(functions, function_call)
        request = {k: v for k, v in kwargs.items() if v is not None}
        request.update(messages=messages, tools=tools, tool_choice=tool_choice)
        if request.get("temperature") is None:
            request["temperature"] = 0.2
        return chat_completion(llama, request, chat_format=self.chat_format, strict=self.strict)
