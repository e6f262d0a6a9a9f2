"""Dialects — one home per value notation and per named dialect, behind one small protocol.

The stages stay generic and ask this registry:

* ``pegtool.analysis`` offers the renders of canary values to every :class:`~base.Notation` in
  :data:`NOTATIONS` order and records the first that recognises them (``TaggedArgs.value_style``,
  its evidence in ``Analysis.dialects``); then it offers :class:`~base.TemplateFacts` (the renders'
  findings, the tool-list instructions, the declared special tokens, the generation prompt) to
  every :class:`~base.NamedDialect` in :data:`NAMED` order, and each that fires fills the record.
* ``pegtool.grammar.chat`` asks the notation of a record for the IR of each argument value (strict
  for generation, loose for reading, joined with ``Lenient``) and a named dialect, if one fired,
  for the IR of the calls region.
* ``pegtool.parser.mapper`` asks the notation owning a value's capture tag for its JSON, and a
  named dialect for the arguments of a call it captured its own way.

``pegtool detect`` and ``pegtool doctor`` print every entry that fired and on what evidence.

How to add a family
-------------------
1. Write one module here. A value notation subclasses :class:`~base.Notation` (``detect`` from
   :class:`~base.ValueRenders`, ``value`` for strict/loose IR, ``to_json`` / ``partial_json`` for
   the mapper); a dialect the renders cannot reveal subclasses :class:`~base.NamedDialect`
   (``detect`` from :class:`~base.TemplateFacts` — markers the template prints or declares, never
   a file or model name —, ``apply`` to fill the record, and ``calls_region``
   when the calls do not fit the record's generic shapes). In the loose IR, mark
   each form generation never writes with ``pegtool.grammar.variants.repair(note, node)``: the
   parser reports it in ``msg.diagnostics`` as ``repaired: note``. Give it a module
   constant (``NOTATION`` or ``DIALECT``) and add it to :data:`NOTATIONS` or :data:`NAMED` below,
   where its evidence is tested in order (more specific evidence first).
2. Write its tests (``tests/test_dialect_<name>.py``): evidence fires on the templates that show
   it and on no other bundled template; real-looking outputs (one call, parallel calls, content
   around calls, unicode and multi-line arguments) parse to the expected calls; streaming in small
   chunks equals the one-shot parse; every strict-form output is accepted by the GBNF; variants
   read back carry a repair diagnostic; prose and unknown tool names stay content.
3. Add its line to the README's "Model families" table (how it is recognised, trigger, variants
   read back, known limits), then ``pegtool regen templates/`` and commit the gallery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pegtool.analysis.record import Analysis, TaggedArgs
from pegtool.dialects import (
    harmony,
    instructed_calls,
    json_args,
    marker_quoted,
    prompted_reasoning,
    python_literal,
    pythonic,
    system_tool_list,
    xml_elements,
)
from pegtool.dialects.base import (
    CallsOptions,
    Evidence,
    NamedDialect,
    Notation,
    OutputOptions,
    TemplateFacts,
    ValueRenders,
)
from pegtool.errors import GrammarError
from pegtool.grammar.builder import GrammarBuilder
from pegtool.grammar.ir import Node, Tag

#: Value notations, in the order their evidence is tested (the first that fires wins).
NOTATIONS: tuple[Notation, ...] = (
    python_literal.NOTATION,
    json_args.NOTATION,
    marker_quoted.NOTATION,
    xml_elements.NOTATION,
    pythonic.NOTATION,
)

#: Named dialects, in the order their evidence is tested (each that fires applies).
NAMED: tuple[NamedDialect, ...] = (
    pythonic.DIALECT,
    harmony.DIALECT,  # gpt-oss: channel messages, recipient-addressed calls (render / special tokens)
    instructed_calls.DIALECT,  # Granite 3.3: "<|tool_call|> followed by a JSON list" (tool list)
    system_tool_list.DIALECT,  # Phi-4-mini: tools in the system message, <|tool|>[…]<|/tool|> (tool list)
    prompted_reasoning.DIALECT,  # [THINK]…[/THINK], <think>…</think>, [BEGIN FINAL RESPONSE] (prompts)
)

#: Every registry entry: notations, then named dialects.
REGISTRY: tuple[Notation | NamedDialect, ...] = (*NOTATIONS, *NAMED)

#: The notation of a value style when nothing else applies, and of unmarked values.
DEFAULT: Notation = json_args.NOTATION


def notation(style: str) -> Notation:
    """The notation owning ``TaggedArgs.value_style`` ``style``."""
    for n in NOTATIONS:
        if style == n.name or style in n.styles:
            return n
    raise GrammarError(f"unknown argument value notation {style!r} (known: "
                       f"{', '.join(s for n in NOTATIONS for s in (n.name, *n.styles))})")


def notation_for_tag(tag: Tag) -> Notation | None:
    """The notation that reads values captured under ``tag`` (the default one for ``ARG_VALUE``)."""
    if tag is DEFAULT.tag:
        return DEFAULT
    return next((n for n in NOTATIONS if n.tag is tag), None)


#: The capture tags a value of some notation is held in.
VALUE_TAGS: tuple[Tag, ...] = tuple(dict.fromkeys(n.tag for n in NOTATIONS))


def detect_notation(r: ValueRenders) -> tuple[TaggedArgs, tuple[str, str, str] | None]:
    """The record with the first notation that recognises the renders, and its ``dialects`` row
    (None for the default notation); values nothing recognises are read as Python literals."""
    for n in NOTATIONS:
        hit = n.detect(r)
        if hit is not None:
            ta, ev = hit
            return ta, (None if n.default else ev.record(n.name))
    ta, ev = python_literal.NOTATION.fallback(r)
    return ta, ev.record(python_literal.NOTATION.name)


def named(name: str) -> NamedDialect | None:
    return next((d for d in NAMED if d.name == name), None)


def output_root(b: GrammarBuilder, a: Analysis, fns: Sequence[dict[str, Any]], opts: OutputOptions) -> Node | None:
    """The whole-output IR of the first named dialect of ``a`` that supplies one, or None."""
    for entry, _, _ in a.dialects:
        d = named(entry)
        whole = d.root(b, a, fns, opts) if d is not None else None
        if whole is not None:
            return whole
    return None


def renders_history_form(a: Analysis) -> bool:
    """Whether a named dialect of ``a`` says the template renders calls in a history-only form."""
    return any(d is not None and d.history_renders for d in (named(e) for e, _, _ in a.dialects))


def named_for(a: Analysis) -> NamedDialect | None:
    """The named dialect that supplies ``a``'s calls region, if one fired."""
    for entry, _, _ in a.dialects:
        d = named(entry)
        if d is not None:
            return d
    return None


def apply_named(a: Analysis, facts_of: TemplateFacts) -> Analysis:
    """``a`` with every named dialect whose evidence is in ``facts_of`` applied and listed."""
    for d in NAMED:
        ev = d.detect(replace(facts_of, analysis=a))
        if ev is not None:
            a = d.apply(a, ev)
            a = replace(a, dialects=(*a.dialects, ev.record(d.name)))
    return a


__all__ = ["DEFAULT", "NAMED", "NOTATIONS", "REGISTRY", "VALUE_TAGS", "CallsOptions", "Evidence", "NamedDialect",
           "Notation", "OutputOptions", "TemplateFacts", "ValueRenders", "apply_named", "detect_notation", "named",
           "named_for", "notation", "notation_for_tag", "output_root", "renders_history_form"]
