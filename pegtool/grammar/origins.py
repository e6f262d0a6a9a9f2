"""Stage: grammar — where a schema in a chat grammar came from, so a warning can say it.

A chat grammar holds ``JsonSchema`` / ``SchemaText`` nodes made from the tools' parameter schemas
(whole, or one per argument, sometimes narrowed to one type). The nodes carry only the schema
text, so the chat-grammar builder records, while it builds, which tool and parameter each schema
text came from: :func:`recording` collects, :func:`where` sets the current tool / parameter, and
:func:`note` (called by :func:`pegtool.grammar.builder.json_schema` and ``schema_text``) files the
text under the current place. :func:`describe` turns a lowering warning (JSON pointer relative to
its node's schema) into ``tool 'create_event', parameter 'title': ...`` lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple


class Origin(NamedTuple):
    """A schema's place in a request: a tool (``param`` empty: its whole parameters object), one
    of its parameters, or the response format (``tool`` empty)."""

    tool: str
    param: str = ""


#: schema text -> the places it was made for, in build order
Origins = dict[str, list[Origin]]

_RECORDER: ContextVar[Origins | None] = ContextVar("pegtool_schema_origins", default=None)
_HERE: ContextVar[Origin | None] = ContextVar("pegtool_schema_here", default=None)


@contextmanager
def recording() -> Iterator[Origins]:
    """Collect the origin of every schema node built inside the block."""
    table: Origins = {}
    token = _RECORDER.set(table)
    try:
        yield table
    finally:
        _RECORDER.reset(token)


@contextmanager
def where(*, tool: str | None = None, param: str | None = None) -> Iterator[None]:
    """Schema nodes built inside the block belong to ``tool`` (and ``param`` of the current tool)."""
    here = _HERE.get() or Origin("")
    new = Origin(here.tool if tool is None else tool, here.param if param is None else param)
    token = _HERE.set(new)
    try:
        yield
    finally:
        _HERE.reset(token)


def note(schema_text: str) -> None:
    """File ``schema_text`` under the current place (no-op outside :func:`recording`)."""
    table, here = _RECORDER.get(), _HERE.get()
    if table is None or here is None:
        return
    places = table.setdefault(schema_text, [])
    if here not in places:
        places.append(here)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def place(origin: Origin | None, pointer: str, keyword: str = "") -> str:
    """``tool 'f', parameter 'p'`` (plus ``at #/...`` when the pointer goes deeper) for a pointer
    relative to the schema made for ``origin`` (a final ``keyword`` token is left out: the message
    names it); ``schema #/...`` without an origin.

    >>> place(Origin("f"), "#/properties/p/maxLength", "maxLength")
    "tool 'f', parameter 'p'"
    >>> place(Origin("f", "p"), "#/items/not", "not")
    "tool 'f', parameter 'p', at #/items"
    >>> place(None, "#/uniqueItems", "uniqueItems")
    'schema #/uniqueItems'
    """
    if origin is None:
        return f"schema {pointer or '#'}"
    parts = (pointer or "#").split("/")[1:]
    param = origin.param
    if not param and len(parts) >= 2 and parts[0] == "properties":
        param, parts = _unescape(parts[1]), parts[2:]
    where_ = f"tool '{origin.tool}'" if origin.tool else "response_format"
    if param:
        where_ += f", parameter '{param}'"
    rest = parts[:-1] if parts and keyword and _unescape(parts[-1]) == keyword else parts
    return where_ + (f", at #/{'/'.join(rest)}" if rest else "")


def describe(pointer: str, keyword: str, message: str, schema_text: str, origins: Origins | None) -> list[str]:
    """One line per place the warned-about schema was made for."""
    places: list[Origin | None] = list((origins or {}).get(schema_text, ())) or [None]
    return list(dict.fromkeys(f"{place(o, pointer, keyword)}: {message}" for o in places))


__all__ = ["Origin", "Origins", "describe", "note", "place", "recording", "where"]
