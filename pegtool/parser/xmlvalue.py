"""Stage: parser — a value rendered as nested elements (MiniMax-M3), read as JSON.

The grammar (:mod:`pegtool.grammar.xmlvalue`) captures the tree: inside the ``ARG_XML`` value each
element is an ``ARG`` whose name is ``ARG_NAME`` (an object member) or ``TEXT`` (an array item),
and a leaf's text is ``ARG_STRING`` (a string by the schema) or ``ARG_VALUE`` (a number,
``true``/``false``/``null`` if it reads as one, else a string). Elements that are all items make
an array, otherwise an object (an item among members keeps its element name as key; a repeated
key keeps its first value).
"""

from __future__ import annotations

import json
import math
from typing import Any

from pegtool.grammar.ir import Tag
from pegtool.parser.engine import CaptureNode


def xml_value_json(text: str, node: CaptureNode) -> str:
    """The JSON text of a complete ``ARG_XML`` capture; its text as a JSON string if it cannot be
    read (never raises)."""
    try:
        return json.dumps(_value(text, node), ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return json.dumps(node.text(text), ensure_ascii=False)


def _value(text: str, node: CaptureNode) -> Any:
    elements = [c for c in node.children if c.tag is Tag.ARG]
    if elements:
        names = [_name(c) for c in elements]
        if all(tag is Tag.TEXT for tag, _ in names):
            return [_value(text, c) for c in elements]
        out: dict[str, Any] = {}
        for c, (_, name) in zip(elements, names, strict=True):
            if name is not None:
                out.setdefault(name.text(text), _value(text, c))
        return out
    leaf = next((c for c in node.children if c.tag in (Tag.ARG_STRING, Tag.ARG_VALUE)), None)
    if leaf is None:
        return ""
    raw = leaf.text(text)
    return raw if leaf.tag is Tag.ARG_STRING else scalar(raw)


def _name(node: CaptureNode) -> tuple[Tag | None, CaptureNode | None]:
    for c in node.children:
        if c.tag in (Tag.ARG_NAME, Tag.TEXT):
            return c.tag, c
    return None, None


def scalar(raw: str) -> Any:
    """A leaf that is not a string by the schema: a JSON number, ``true``, ``false`` or ``null``
    as such, anything else (quoted text, JSON objects too) the string it is.

    >>> scalar("5"), scalar("2.5"), scalar("true"), scalar("null"), scalar("07:30"), scalar('"a"')
    (5, 2.5, True, None, '07:30', '"a"')
    """
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(value, float) and not math.isfinite(value):
        return raw
    return value if value is None or isinstance(value, (bool, int, float)) else raw


__all__ = ["scalar", "xml_value_json"]
