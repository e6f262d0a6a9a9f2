"""Named dialect: calls of a model whose template takes the tools inside the system message.

Phi-4-mini's chat template ignores the ``tools`` variable: it renders the ``tools`` field of a
system message (the JSON text of the functions) between ``<|tool|>`` and ``<|/tool|>``, and never
renders a call. The model answers a tool request with ``functools[`` and a JSON list of calls::

    functools[{"name": "get_weather", "arguments": {"city": "Tokyo"}}, {"name": …}]

(the form vLLM's and SGLang's ``phi4_mini`` parsers read; no closing marker).

Evidence (``tool_list``): the analysis found that the template shows the canary tools only when
they are in the system message's ``tools`` field (``Analysis.canary.system_tools``; the request
layer then puts them there, see ``pegtool.analysis.probe.with_system_tools``), the tool list it
prints sits between a marker and its closing marker (``<|tool|>[…]<|/tool|>``), and the renders
show no call. Generation: ``functools[`` + the calls as ``{"name", "arguments"}`` objects joined
by ``", "`` + ``]``; reading also takes white space and new lines around the calls (the JSON
dialect's variants). An empty ``functools[]`` is no call; an unknown tool name stays content.
"""

from __future__ import annotations

import re
from dataclasses import replace

from pegtool.analysis.record import Analysis, JsonCall, ToolFormat, Tools
from pegtool.dialects.base import TOOL_LIST, Evidence, NamedDialect, TemplateFacts

#: ``<|tool|>[{"name": …}]<|/tool|>``: a JSON list of functions between a marker and its closer
_WRAPPED_LIST = re.compile(r'(<\|([A-Za-z_]+)\|>)\s*\[\s*\{\s*"name"[\s\S]*?\]\s*(<\|/\2\|>)')

#: the section the model opens its call list with
MARKER = "functools"


class SystemToolList(NamedDialect):
    name = "system_tool_list"

    def detect(self, facts: TemplateFacts) -> Evidence | None:
        a = facts.analysis
        if a.tools.format is not ToolFormat.NONE or not a.canary.system_tools:
            return None
        m = _WRAPPED_LIST.search(facts.tool_instructions)
        if m is None:
            return None
        return Evidence(TOOL_LIST, f"the system message's tools field is rendered between {m.group(1)} and "
                                   f"{m.group(3)}; calls are written {MARKER}[…]")

    def apply(self, a: Analysis, evidence: Evidence) -> Analysis:
        del evidence
        call = JsonCall(keys=("name", "arguments"), name_field="name", args_field="arguments", array_wrapped=True)
        tools = Tools(ToolFormat.JSON_NATIVE, section_start=MARKER, call_separator=", ", json_call=call,
                      parallel=True)
        return replace(a, tools=tools)


DIALECT = SystemToolList()
