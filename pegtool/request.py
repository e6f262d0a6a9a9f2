"""Stage: front door — checking what a client sent before anything is rendered or compiled.

A server built on pegtool receives OpenAI-style requests. Mistakes in them (a ``tool_choice``
naming a tool that was not offered, a parameter schema with ``"type": "strng"``, history
``arguments`` that are not JSON, an empty message list, ...) must fail early with a
:class:`~pegtool.errors.RequestError` that names the field and says what to send instead, never
deep inside the template or the grammar builder, and never silently.

:func:`check_request` is the one place these rules live; :meth:`pegtool.ChatFormat.prepare`
calls it, and so do the integrations through ``prepare``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from pegtool.errors import RequestError, SchemaError, ToolSchemaError

REASONING_FORMATS = ("auto", "none", "deepseek", "deepseek-legacy")
TOOL_CHOICES = ("auto", "required", "none")


def check_reasoning_format(value: Any) -> str:
    """The reasoning format, or a :class:`RequestError` naming the accepted values."""
    if value is None:
        return "auto"
    if not isinstance(value, str) or value not in REASONING_FORMATS:
        hint = " (did you mean 'deepseek-legacy'?)" if value == "deepseek_legacy" else ""
        raise RequestError(f"unknown value {value!r}{hint}; send one of {', '.join(REASONING_FORMATS)}",
                           "reasoning_format")
    return value


def tool_name(tool: Mapping[str, Any]) -> Any:
    fn = tool.get("function")
    return fn.get("name") if isinstance(fn, Mapping) else tool.get("name")


def check_tools(tools: Any) -> list[Mapping[str, Any]]:
    """The tool list (envelopes or bare tools), each with a usable name and parameter schema."""
    if tools is None:
        return []
    if isinstance(tools, Mapping):
        if "tools" in tools and isinstance(tools["tools"], list):
            raise RequestError("got an object holding a 'tools' list; pass the list itself", "tools")
        raise RequestError("got a single tool object; tools must be a list: wrap it as [tool]", "tools")
    if isinstance(tools, (str, bytes)) or not isinstance(tools, Sequence):
        raise RequestError(f"must be a list of tool objects, got {type(tools).__name__}", "tools")
    seen: dict[str, int] = {}
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, Mapping):
            raise RequestError(f"must be an object like {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}, "
                               f"got {type(tool).__name__} {str(tool)[:40]!r}", where)
        fn: Mapping[str, Any] = tool
        if "function" in tool:
            if tool.get("type", "function") != "function":
                raise RequestError(f"type {tool.get('type')!r} is not supported; send \"type\": \"function\"",
                                   f"{where}.type")
            if not isinstance(tool["function"], Mapping):
                raise RequestError("must be an object with a name and parameters", f"{where}.function")
            fn, where = tool["function"], f"{where}.function"
        name = fn.get("name")
        if name is None or name == "":
            raise RequestError("the tool has no name; every tool needs a non-empty string \"name\"", f"{where}.name")
        if not isinstance(name, str):
            raise RequestError(f"must be a string, got {type(name).__name__} {name!r}", f"{where}.name")
        if name in seen:
            raise RequestError(f"tool {name!r} is offered twice (also tools[{seen[name]}]); send each tool once",
                               f"{where}.name")
        seen[name] = i
        _check_parameters(fn.get("parameters"), name, f"{where}.parameters")
    return list(tools)


def _check_parameters(params: Any, name: str, where: str) -> None:
    if params is None or params is True or params == {}:
        return
    if not isinstance(params, Mapping):
        raise RequestError(f"tool {name!r}: must be a JSON Schema object, got {type(params).__name__}", where)
    from pegtool.grammar.schema_check import check_schema

    try:
        key = json.dumps(params, sort_keys=True, ensure_ascii=False)
    except RecursionError:
        key = None  # nested past Python's limit: the iterative check below names the problem
    except (TypeError, ValueError) as exc:
        raise RequestError(f"tool {name!r}: the schema is not JSON data ({exc})", where) from exc
    if key is None:
        try:
            check_schema(params)  # iterative and bounded
        except SchemaError as exc:
            raise ToolSchemaError(f"tool {name!r}: invalid JSON Schema: {exc}", where, exc.pointer) from exc
        raise ToolSchemaError(f"tool {name!r}: invalid JSON Schema: #: the schema nests too deeply", where, "#")
    problem = _schema_problem(key)
    if problem:
        # the same message ``pegtool schema`` prints for this schema
        raise ToolSchemaError(f"tool {name!r}: invalid JSON Schema: {problem[0]}", where, problem[1])


@lru_cache(maxsize=512)
def _schema_problem(schema_json: str) -> tuple[str, str] | None:
    """Why the schema cannot be compiled ("" when it can), by the compiler ``pegtool schema`` uses
    (cached: a server sees the same tools on every request)."""
    from pegtool.grammar.builder import GrammarBuilder
    from pegtool.grammar.schema import schema_to_ir
    from pegtool.grammar.schema_check import check_schema

    try:
        schema = json.loads(schema_json)
        check_schema(schema)  # iterative, bounded: before anything recursive touches the schema
        schema_to_ir(schema, GrammarBuilder(), "params")
    except SchemaError as exc:
        return str(exc), exc.pointer
    except RecursionError:
        return "#: the schema nests too deeply", "#"
    return None


def check_tool_choice(choice: Any, tools: Sequence[Mapping[str, Any]]) -> Any:
    """The tool choice in its canonical form: "auto" | "required" | "none" | a named-tool dict."""
    names = [tool_name(t) for t in tools]
    offered = ", ".join(repr(n) for n in names) or "none"
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            raise RequestError(f"unknown value {choice!r}; send \"auto\", \"required\", \"none\" or "
                               "{\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice")
        if choice == "required" and not tools:
            raise RequestError("\"required\" needs tools: pass tools, or use \"auto\" / \"none\"", "tool_choice")
        return choice
    if not isinstance(choice, Mapping):
        raise RequestError(f"must be a string or an object, got {type(choice).__name__}", "tool_choice")
    if choice.get("type", "function") != "function":
        raise RequestError(f"type {choice.get('type')!r} is not supported; send \"type\": \"function\"",
                           "tool_choice.type")
    fn = choice.get("function")
    if fn is None and isinstance(choice.get("name"), str):
        fn = {"name": choice["name"]}  # the flat form some clients send
    if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str) or not fn.get("name"):
        raise RequestError("a named choice must be {\"type\": \"function\", \"function\": {\"name\": \"TOOL\"}}",
                           "tool_choice.function")
    name = fn["name"]
    if name not in names:
        raise RequestError(f"names tool {name!r}, which was not offered; offered tools: {offered}",
                           "tool_choice.function.name")
    return {"type": "function", "function": {"name": name}}


def check_messages(messages: Any) -> list[dict[str, Any]]:
    """The message list: non-empty, each message an object with a role; history tool calls have a
    name and JSON ``arguments``."""
    if isinstance(messages, Mapping) or isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise RequestError(f"must be a list of message objects, got {type(messages).__name__}", "messages")
    if not messages:
        raise RequestError("is empty: send at least one message (e.g. {\"role\": \"user\", \"content\": ...})",
                           "messages")
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, Mapping):
            raise RequestError(f"must be an object with a role, got {type(msg).__name__}", where)
        role = msg.get("role")
        if not isinstance(role, str) or not role:
            raise RequestError("has no role; send \"role\": \"system\" | \"user\" | \"assistant\" | \"tool\"",
                               f"{where}.role")
        calls = msg.get("tool_calls")
        if calls is None:
            continue
        if not isinstance(calls, Sequence) or isinstance(calls, (str, bytes)):
            raise RequestError("must be a list of tool calls", f"{where}.tool_calls")
        for j, call in enumerate(calls):
            _check_history_call(call, f"{where}.tool_calls[{j}]")
    return list(messages)


def _check_history_call(call: Any, where: str) -> None:
    if not isinstance(call, Mapping):
        raise RequestError("must be an object {\"type\": \"function\", \"function\": {\"name\", \"arguments\"}}", where)
    fn = call.get("function", call)
    if not isinstance(fn, Mapping):
        raise RequestError("must be an object with a name and arguments", f"{where}.function")
    if not isinstance(fn.get("name"), str) or not fn.get("name"):
        raise RequestError("the call has no name", f"{where}.function.name")
    args = fn.get("arguments")
    if args is None or isinstance(args, Mapping):
        return
    if not isinstance(args, str):
        raise RequestError(f"must be a JSON-encoded object string, got {type(args).__name__}",
                           f"{where}.function.arguments")
    try:
        value = json.loads(args) if args.strip() else {}
    except json.JSONDecodeError as exc:
        raise RequestError(f"is not valid JSON ({exc.msg} at character {exc.pos}): {args[:60]!r}; send the "
                           "arguments as a JSON-encoded object string", f"{where}.function.arguments") from exc
    if not isinstance(value, dict):
        raise RequestError(f"must encode a JSON object, got {type(value).__name__}: {args[:60]!r}",
                           f"{where}.function.arguments")


def check_request(messages: Any, tools: Any, tool_choice: Any, reasoning_format: Any) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]], Any, str]:
    """Every check above, in request order; returns (messages, tools, tool_choice, reasoning_format)."""
    msgs = check_messages(messages)
    tool_list = check_tools(tools)
    choice = check_tool_choice(tool_choice, tool_list)
    return msgs, [dict(t) for t in tool_list], choice, check_reasoning_format(reasoning_format)


__all__ = ["REASONING_FORMATS", "check_messages", "check_reasoning_format", "check_request",
           "check_tool_choice", "check_tools"]
