"""Named dialect: calls the tool instructions describe but the template never renders.

Two instruction shapes, both from real templates that render no call of past turns:

* Granite 3.3 tells the model, when tools are offered, to "respond only with ``<|tool_call|>``
  followed by a JSON list of tools used": the model writes
  ``<|tool_call|>[{"name": "f", "arguments": {…}}, …]``;
* SmolLM3's original template (and Hermes-style prompts) show the call between tags:
  ``<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>``: the
  model writes one such element per call.

Evidence (``tool_list`` — the text that offering tools adds to the prompt): a marker (``<|…|>``
or ``<…>``) followed, in the same sentence, by "JSON list" / "list of JSON"; or a call example
``OPEN {"name": …, "arguments": …} CLOSE`` between a tag and its closing tag. It fires only when
the renders show no calls. The call objects use ``name`` / ``arguments`` (the example's keys, or
those of the OpenAI tool list the instructions point at).
"""

from __future__ import annotations

import re
from dataclasses import replace

from pegtool.analysis.record import Analysis, JsonCall, ToolFormat, Tools
from pegtool.dialects.base import TOOL_LIST, Evidence, NamedDialect, TemplateFacts

_INSTRUCTION = re.compile(r"(<\|?[A-Za-z_]+\|?>)[^.<]{0,40}?\b(?:JSON list|json list|list of JSON|list of json)")
#: ``<tag>`` + a call example with "name" and "arguments" + ``</tag>``
_EXAMPLE = re.compile(r'<([A-Za-z_]+)>\s*\{\s*"name"\s*:[^{}]{0,80}"arguments"\s*:[^{}]{0,80}\}\s*</\1>')


class InstructedCalls(NamedDialect):
    name = "instructed_json_list"

    def detect(self, facts: TemplateFacts) -> Evidence | None:
        if facts.analysis.tools.format is not ToolFormat.NONE:
            return None
        m = _INSTRUCTION.search(facts.tool_instructions) or _EXAMPLE.search(facts.tool_instructions)
        if m is None:
            return None
        return Evidence(TOOL_LIST, " ".join(m.group(0).split()))

    def apply(self, a: Analysis, evidence: Evidence) -> Analysis:
        listed = _INSTRUCTION.match(evidence.detail)
        if listed is not None:
            call = JsonCall(keys=("name", "arguments"), name_field="name", args_field="arguments", array_wrapped=True)
            tools = Tools(ToolFormat.JSON_NATIVE, section_start=listed.group(1), call_separator=", ",
                          json_call=call, parallel=True)
            return replace(a, tools=tools)
        example = _EXAMPLE.match(evidence.detail)
        tag = example.group(1) if example else ""
        call = JsonCall(keys=("name", "arguments"), name_field="name", args_field="arguments")
        tools = Tools(ToolFormat.JSON_NATIVE, call_start=f"<{tag}>\n", call_end=f"\n</{tag}>", call_separator="\n",
                      json_call=call, parallel=True)
        return replace(a, tools=tools)


DIALECT = InstructedCalls()
