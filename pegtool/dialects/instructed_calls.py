"""Named dialect: calls the tool instructions describe but the template never renders.

Granite 3.3's template tells the model, when tools are offered, to "respond only with
``<|tool_call|>`` followed by a JSON list of tools used", and renders no call of past turns.
The model writes ``<|tool_call|>[{"name": "f", "arguments": {…}}, …]``.

Evidence (``tool_list`` — the text that offering tools adds to the prompt): a marker (``<|…|>``
or ``<…>``) followed, in the same sentence, by "JSON list" / "list of JSON"; it fires only when
the renders show no calls. The call objects use ``name`` / ``arguments``: the keys of the OpenAI
tool list the instructions point at. Reading also takes ``"parameters"`` for ``"arguments"`` is
left to the generic JSON reading; a single object without the list is not read.
"""

from __future__ import annotations

import re
from dataclasses import replace

from pegtool.analysis.record import Analysis, JsonCall, ToolFormat, Tools
from pegtool.dialects.base import TOOL_LIST, Evidence, NamedDialect, TemplateFacts

_INSTRUCTION = re.compile(r"(<\|?[A-Za-z_]+\|?>)[^.<]{0,40}?\b(?:JSON list|json list|list of JSON|list of json)")


class InstructedCalls(NamedDialect):
    name = "instructed_json_list"

    def detect(self, facts: TemplateFacts) -> Evidence | None:
        if facts.analysis.tools.format is not ToolFormat.NONE:
            return None
        m = _INSTRUCTION.search(facts.tool_instructions)
        if m is None:
            return None
        return Evidence(TOOL_LIST, m.group(0))

    def apply(self, a: Analysis, evidence: Evidence) -> Analysis:
        m = _INSTRUCTION.match(evidence.detail)
        marker = m.group(1) if m else ""
        call = JsonCall(keys=("name", "arguments"), name_field="name", args_field="arguments", array_wrapped=True)
        tools = Tools(ToolFormat.JSON_NATIVE, section_start=marker, call_separator=", ", json_call=call, parallel=True)
        return replace(a, tools=tools)


DIALECT = InstructedCalls()
