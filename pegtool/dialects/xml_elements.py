"""Dialects — values rendered as nested elements (MiniMax-M3); ``value_style`` "xml_elements".

Objects become elements named after their keys, arrays repeated item elements, scalars raw text
(numbers as Python prints them, ``true``/``false``; a null member is left out, a null item and an
empty object or array are empty text)::

    <filters><lang>fr</lang><max_results>5</max_results></filters>   <tags><item>a</item></tags>

(each element opened and closed with the template's separator token in front). The notation is
:class:`Elements`, found by the analysis (``TaggedArgs.elements`` and ``item_tag``,
:meth:`XmlElements.detect`: a member opens like an argument and the canary value renders back
exactly so).

:func:`xml_read` is what the parser reads: any element tree (closing names not checked); the
schema only names the elements it
declares and says which leaves are strings, captured for :meth:`XmlElements.to_json`
(``ARG_XML`` around the value, ``ARG`` per element with ``ARG_NAME`` for a member or ``TEXT`` for an array item, ``ARG_STRING``
/ ``ARG_VALUE`` per leaf). :func:`xml_for_schema` is what generation may write: the rendered form
held to the schema where cheap (declared keys, array items and lengths, scalar types through the
JSON Schema grammar, enums). Every choice is decided by its first characters: element lists
start with the opening text, leaf text never holds it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pegtool.analysis import probe as P
from pegtool.analysis.record import ARG_SLOT, TaggedArgs
from pegtool.dialects.base import RENDER, Evidence, Notation, ValueRenders
from pegtool.errors import GrammarError
from pegtool.grammar.builder import (
    GrammarBuilder,
    capture,
    chars,
    choice,
    json_schema,
    lit,
    plus,
    ref,
    repeat,
    schema_text,
    star,
    until,
)
from pegtool.grammar.ir import Node, Tag
from pegtool.grammar.narrowing import narrowed

if TYPE_CHECKING:
    from pegtool.parser.engine import CaptureNode


@dataclass(frozen=True)
class Elements:
    """``open_pre NAME open_post VALUE close_pre NAME close_post``; array items are named ``item``."""

    open_pre: str
    open_post: str
    close_pre: str
    close_post: str
    item: str

    @classmethod
    def of(cls, ta: TaggedArgs) -> Elements | None:
        if len(ta.elements) != 2 or not ta.item_tag or any(e.count(ARG_SLOT) != 1 for e in ta.elements):
            return None
        (op, opost), (cp, cpost) = (e.split(ARG_SLOT) for e in ta.elements)
        if not op or not opost or not cp or not cpost:
            return None
        return cls(op, opost, cp, cpost, ta.item_tag)

    @property
    def lead(self) -> str:
        """What leaf text never holds: the start of every opening and closing."""
        n = 0
        while n < min(len(self.open_pre), len(self.close_pre)) and self.open_pre[n] == self.close_pre[n]:
            n += 1
        return self.open_pre[:n] or self.open_pre

    def open(self, name: str) -> str:
        return self.open_pre + name + self.open_post

    def close(self, name: str) -> str:
        return self.close_pre + name + self.close_post

    def plain_name(self, name: str) -> bool:
        """Whether ``name`` can be an element name (it cannot end the opening or look like a closing)."""
        return bool(name) and self.open_post[0] not in name and not any(c.isspace() for c in name) \
            and not (self.open_pre + name).startswith(self.close_pre)

    def name(self) -> Node:
        """Any element name (generic elements)."""
        first = self.open_post[0] + " \t\n\r" + self.close_pre[len(self.lead):][:1]
        return chars(first, negated=True) + star(chars(self.open_post[0] + " \t\n\r", negated=True))


def _rule(b: GrammarBuilder, n: Elements, kind: str) -> str:
    return f"xml-{kind}"  # one notation per grammar (its template's)


# --- reading -------------------------------------------------------------------------------------

def xml_read(b: GrammarBuilder, n: Elements, schema: Any = None, depth: int = 4) -> Node:
    """Any value, as the parser reads it; ``schema`` names the declared elements and string leaves."""
    sch = schema if isinstance(schema, dict) and depth > 0 else {}
    props = sch.get("properties")
    props = {k: v for k, v in props.items() if n.plain_name(k)} if isinstance(props, dict) else {}
    items = sch.get("items")
    string = sch.get("type") == "string"
    if not props and not isinstance(items, dict) and not string:
        return _generic_read(b, n)
    members = [_element(n, k, xml_read(b, n, props[k], depth - 1), Tag.ARG_NAME)
               for k in sorted(props, key=lambda k: (-len(k), k))]
    if isinstance(items, dict):
        members.append(_element(n, n.item, xml_read(b, n, items, depth - 1), Tag.TEXT))
    _generic_read(b, n)
    members.append(ref(_rule(b, n, "read-element")))
    leaf = capture(Tag.ARG_STRING if string else Tag.ARG_VALUE, until(n.lead))
    return choice(plus(choice(*members)), leaf)


def _element(n: Elements, name: str, value: Node, tag: Tag) -> Node:
    return capture(Tag.ARG, lit(n.open_pre) + capture(tag, lit(name)) + lit(n.open_post) + value
                   + lit(n.close(name)))


def _generic_read(b: GrammarBuilder, n: Elements) -> Node:
    value, element = _rule(b, n, "read-value"), _rule(b, n, "read-element")
    if not b.has(value):
        item = _element(n, n.item, ref(value), Tag.TEXT)
        named = capture(Tag.ARG, lit(n.open_pre) + capture(Tag.ARG_NAME, n.name()) + lit(n.open_post)
                        + ref(value) + lit(n.close_pre) + until(n.close_post) + lit(n.close_post))
        b.define(element, choice(item, named))
        b.define(value, choice(plus(ref(element)), capture(Tag.ARG_VALUE, until(n.lead))))
    return ref(value)


# --- generation ----------------------------------------------------------------------------------

def xml_generic(b: GrammarBuilder, n: Elements) -> Node:
    """Any value as the template renders it: elements with a matching-shaped closing, or raw text."""
    value, element = _rule(b, n, "gen-value"), _rule(b, n, "gen-element")
    if not b.has(value):
        b.define(element, lit(n.open_pre) + n.name() + lit(n.open_post) + ref(value) + lit(n.close_pre)
                 + n.name() + lit(n.close_post))
        b.define(value, choice(plus(ref(element)), until(n.lead)))
    return ref(value)


def xml_for_schema(b: GrammarBuilder, n: Elements, schema: Any, depth: int = 4) -> Node:
    """A value narrowed by ``schema`` where cheap; :func:`xml_generic` otherwise."""
    return narrowed(schema, depth, generic=lambda: xml_generic(b, n), literals=lambda vs: _literals(vs, b, n),
                    typed=lambda kind, s, d: _typed(b, n, kind, s, d), order=lambda kind: _RANK.get(kind, 9))


#: elements first, then scalars, raw strings, and the empty text of null last: an alternative that
#: ends early would stop the PEG reading before the closing
_RANK = {"object": 0, "array": 1, "boolean": 2, "integer": 3, "number": 3, "string": 4, "null": 5}


def _typed(b: GrammarBuilder, n: Elements, kind: str, schema: dict[str, Any], depth: int) -> Node | None:
    if kind == "null":
        return lit("")
    if kind == "string":
        return schema_text({**schema, "type": "string"}, n.lead)
    if kind in ("integer", "number", "boolean"):
        return json_schema({**schema, "type": kind})
    if kind == "array":
        items = schema.get("items")
        item = xml_for_schema(b, n, items, depth - 1) if isinstance(items, dict) else xml_generic(b, n)
        lo, hi = schema.get("minItems", 0), schema.get("maxItems")
        if not isinstance(lo, int) or lo < 0 or (hi is not None and (not isinstance(hi, int) or hi < lo)):
            lo, hi = 0, None
        return repeat(lit(n.open(n.item)) + item + lit(n.close(n.item)), lo, hi)
    if kind == "object":
        props = schema.get("properties")
        if not isinstance(props, dict) or not props or not all(n.plain_name(k) for k in props):
            xml_generic(b, n)
            return star(ref(_rule(b, n, "gen-element")))
        members = [lit(n.open(k)) + xml_for_schema(b, n, props[k], depth - 1) + lit(n.close(k))
                   for k in sorted(props, key=lambda k: (-len(k), k))]
        return star(choice(*members))
    return None


def _literals(values: list[Any], b: GrammarBuilder, n: Elements) -> Node:
    texts = [render_xml(v, n) for v in values]
    if any(t is None for t in texts):
        return xml_generic(b, n)
    return choice(*[lit(t) for t in sorted({t for t in texts if t is not None}, key=lambda s: (-len(s), s))])


def render_xml(value: Any, n: Elements) -> str | None:
    """``value`` as the template renders it; None if a string holds the opening text or a key is
    not an element name."""
    if isinstance(value, str):
        return None if n.lead in value else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        parts = [render_xml(v, n) for v in value]
        return None if any(p is None for p in parts) else "".join(n.open(n.item) + str(p) + n.close(n.item)
                                                                   for p in parts)
    if isinstance(value, dict):
        if not all(isinstance(k, str) and n.plain_name(k) for k in value):
            return None
        items = [(k, render_xml(v, n)) for k, v in value.items() if v is not None]
        return None if any(p is None for _, p in items) else "".join(n.open(k) + str(p) + n.close(k)
                                                                     for k, p in items)
    return None



# --- reading back as JSON ------------------------------------------------------------------------
# Inside the ``ARG_XML`` value each element is an ``ARG`` whose name is ``ARG_NAME`` (an object
# member) or ``TEXT`` (an array item), and a leaf's text is ``ARG_STRING`` (a string by the schema)
# or ``ARG_VALUE`` (a number, ``true``/``false``/``null`` if it reads as one, else a string).
# Elements that are all items make an array, otherwise an object (an item among members keeps its
# element name as key; a repeated key keeps its first value).

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


# --- the registry entry ------------------------------------------------------------------------


class XmlElements(Notation):
    name = "xml_elements"
    tag = Tag.ARG_XML

    def detect(self, r: ValueRenders) -> tuple[TaggedArgs, Evidence] | None:
        """A member opens like an argument (``arg_prefix k arg_mid``) after the text ``lead``
        before it, and closes like one less a trailing ``lead`` (the next opening's); the first
        element inside ``k`` names array items. The canary value must render back exactly so."""
        ta = r.tagged
        text = r.render("tools.nested_value", {P.ARG_DATA: P.NESTED_VALUE})
        head = ta.arg_prefix + P.ARG_DATA + ta.arg_mid
        start = text.find(head)
        end = text.find(ta.arg_suffix.replace(ARG_SLOT, P.ARG_DATA), start)
        if start < 0 or end < 0:
            return None
        value = text[start + len(head):end]
        at = value.find(ta.arg_prefix + "k" + ta.arg_mid)
        if at < 0:
            return None
        lead = value[:at]
        close = ta.arg_suffix[:len(ta.arg_suffix) - len(lead)] if ta.arg_suffix.endswith(lead) else ta.arg_suffix
        opening = lead + ta.arg_prefix + ARG_SLOT + ta.arg_mid
        inner = value[at + len(ta.arg_prefix + "k" + ta.arg_mid):]
        m = re.match(re.escape(lead + ta.arg_prefix) + r"(\w+)" + re.escape(ta.arg_mid), inner)
        if m is None:
            return None
        nested = replace(ta, values_json=False, value_style=self.name, elements=(opening, close),
                         item_tag=m.group(1))
        n = Elements.of(nested)
        if n is None or render_xml(P.NESTED_VALUE, n) != value:
            return None
        return nested, Evidence(RENDER, f"non-string argument values are nested elements, array items named "
                                        f"{nested.item_tag!r}")

    def value(self, b: GrammarBuilder, ta: TaggedArgs, schema: Any, *, strict: bool) -> Node:
        n = Elements.of(ta)
        if n is None:
            raise GrammarError("the xml_elements notation needs its elements (TaggedArgs.elements, item_tag)")
        return xml_for_schema(b, n, schema) if strict else xml_read(b, n, schema)

    def to_json(self, text: str, node: CaptureNode) -> str:
        return xml_value_json(text, node)


NOTATION = XmlElements()

__all__ = ["NOTATION", "Elements", "XmlElements", "render_xml", "scalar", "xml_for_schema", "xml_generic",
           "xml_read", "xml_value_json"]
