"""Stage: serve — the OpenAI Chat Completions request checks and error bodies of ``pegtool serve``.

:func:`check_chat_request` checks the fields :meth:`~pegtool.ChatFormat.prepare` does not see
(sampling, ``n``, ``stream_options``, ``response_format``, ...) and returns the request in the
form :func:`pegtool.integrations.llama_cpp.prepare_request` reads. Messages, tools,
``tool_choice`` and ``reasoning_format`` are checked by ``prepare`` itself
(:mod:`pegtool.request`). Every mistake is a :class:`~pegtool.errors.RequestError` naming the
field; :func:`error_body` turns it (or an engine failure) into OpenAI's error object.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from pegtool.errors import RequestError, SchemaError, ToolSchemaError
from pegtool.template.sandbox import TemplateRaised

__all__ = ["ServeError", "check_chat_request", "error_body", "sse"]


class ServeError(Exception):
    """A failure that is not the client's: the engine, or the upstream server (5xx)."""

    def __init__(self, message: str, status: int = 500, code: str = "engine_error") -> None:
        super().__init__(message)
        self.status, self.code = status, code


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(HTTP status, OpenAI error object) for an exception raised while serving a request."""
    if isinstance(exc, ToolSchemaError):
        return 400, _error(str(exc), exc.field or None, "invalid_tool_schema")
    if isinstance(exc, RequestError):
        return 400, _error(str(exc), exc.field or None, _code(exc.field))
    if isinstance(exc, TemplateRaised):  # the template's own raise_exception: it refuses this conversation
        return 400, _error(f"the chat template refused the conversation: {exc.detail}", "messages",
                           "template_rejected")
    if isinstance(exc, SchemaError):  # the response_format schema (tool schemas are ToolSchemaErrors)
        return 400, _error(str(exc), "response_format", "invalid_response_format")
    if isinstance(exc, ServeError):
        return exc.status, _error(str(exc), None, exc.code, "server_error")
    return 500, _error(f"{type(exc).__name__}: {exc}", None, "engine_error", "server_error")


def _code(field: str) -> str:
    head = field.split(".")[0].split("[")[0]
    return f"invalid_{head}" if head else "invalid_request"


def _error(message: str, param: str | None, code: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def sse(data: Any) -> bytes:
    """One server-sent event ``data: ...`` (a dict is sent as JSON)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {payload}\n\n".encode()


# --- the request ---------------------------------------------------------------------------------

def _number(body: Mapping[str, Any], key: str, lo: float, hi: float) -> None:
    value = body.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RequestError(f"must be a number, got {json.dumps(value)[:40]}", key)
    if not lo <= value <= hi:
        raise RequestError(f"must be between {lo:g} and {hi:g}, got {value}", key)


def _integer(body: Mapping[str, Any], key: str, lo: int | None = None) -> None:
    value = body.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"must be an integer, got {json.dumps(value)[:40]}", key)
    if lo is not None and value < lo:
        raise RequestError(f"must be at least {lo}, got {value}", key)


def _boolean(body: Mapping[str, Any], key: str) -> None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise RequestError(f"must be true or false, got {json.dumps(value)[:40]}", key)


def _object(body: Mapping[str, Any], key: str) -> None:
    value = body.get(key)
    if value is not None and not isinstance(value, Mapping):
        raise RequestError(f"must be an object, got {type(value).__name__}", key)


def _stop(value: Any) -> None:
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise RequestError("must be a string or a list of strings", "stop")
    if len(value) > 16:
        raise RequestError(f"at most 16 stop strings, got {len(value)}", "stop")


def _logit_bias(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise RequestError("must be an object mapping token ids to biases", "logit_bias")
    for key, bias in value.items():
        if not str(key).lstrip("-").isdigit():
            raise RequestError(f"key {key!r} is not a token id", "logit_bias")
        if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not -100 <= bias <= 100:
            raise RequestError(f"bias of token {key} must be a number between -100 and 100", "logit_bias")


def check_response_format(value: Any) -> dict[str, Any] | None:
    """The ``response_format`` for ``prepare``: None (free text), or json_object / json_schema
    with a schema pegtool can compile."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RequestError("must be an object such as {\"type\": \"json_object\"}", "response_format")
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema":
        raise RequestError(f"unknown type {kind!r}; send \"text\", \"json_object\" or \"json_schema\"",
                           "response_format.type")
    spec = value.get("json_schema")
    if not isinstance(spec, Mapping):
        raise RequestError("json_schema needs {\"name\": ..., \"schema\": {...}}", "response_format.json_schema")
    schema = spec.get("schema", True)
    if not isinstance(schema, (Mapping, bool)):
        raise RequestError(f"must be a JSON Schema object, got {type(schema).__name__}",
                           "response_format.json_schema.schema")
    if isinstance(schema, Mapping):
        from pegtool.request import _schema_problem  # the compiler's own verdict, cached

        try:
            problem = _schema_problem(json.dumps(schema, sort_keys=True, ensure_ascii=False))
        except (TypeError, ValueError, RecursionError) as exc:
            raise RequestError(f"the schema is not JSON data ({exc})", "response_format.json_schema.schema") from exc
        if problem:
            raise RequestError(f"invalid JSON Schema: {problem[0]}", "response_format.json_schema.schema")
    return {"type": "json_schema", "json_schema": {"name": spec.get("name", ""), "schema": schema}}


def check_chat_request(body: Any) -> dict[str, Any]:
    """The checked request (a new dict). Raises :class:`RequestError` for a client mistake."""
    if not isinstance(body, Mapping):
        raise RequestError("the request body must be a JSON object")
    if "messages" not in body:
        raise RequestError("is missing: send a list of messages", "messages")
    req = dict(body)
    n = req.get("n")
    if n is not None and n != 1:
        raise RequestError(f"only one choice per request is supported (n=1), got {n!r}", "n")
    if req.get("logprobs"):
        raise RequestError("logprobs are not supported by pegtool serve", "logprobs")
    for key in ("stream", "parallel_tool_calls", "enable_thinking"):
        _boolean(req, key)
    for key in ("stream_options", "chat_template_kwargs", "tool_choice_options"):
        _object(req, key)
    for key in ("max_tokens", "max_completion_tokens"):
        _integer(req, key, lo=1)
    _integer(req, "seed")
    _integer(req, "top_k", lo=0)
    _number(req, "temperature", 0, 2)
    _number(req, "top_p", 0, 1)
    _number(req, "min_p", 0, 1)
    _number(req, "presence_penalty", -2, 2)
    _number(req, "frequency_penalty", -2, 2)
    _number(req, "repeat_penalty", 0, 10)
    _stop(req.get("stop"))
    _logit_bias(req.get("logit_bias"))
    req["response_format"] = check_response_format(req.get("response_format"))
    if req.get("max_tokens") is None and req.get("max_completion_tokens") is not None:
        req["max_tokens"] = req["max_completion_tokens"]
    options = req.get("stream_options") or {}
    if not isinstance(options.get("include_usage", False), bool):
        raise RequestError("must be true or false", "stream_options.include_usage")
    req["include_usage"] = bool(options.get("include_usage")) and bool(req.get("stream"))
    if req.get("tools") == []:
        req["tools"] = None  # an empty list: no tools
    return req
