"""Tools read from the system message (Phi-4-mini) and the named dialect ``system_tool_list``.

The analysis finds where the template reads the tool list; ``prepare`` puts the tools there; the
dialect fires on the ``<|tool|>…<|/tool|>`` list and reads ``functools[…]`` calls. The outputs
themselves (one call, parallel calls, content around calls, streaming, GBNF) are family cases in
``tests/emissions/cases.py`` (``phi4_mini``). Also here: which dialect the real public templates
of the families fixture directory get.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pegtool.analysis.probe import with_system_tools
from pegtool.analysis.record import ToolFormat
from pegtool.cli import EXIT_OK, main
from pegtool.dialects.base import TOOL_LIST
from pegtool.format import ChatFormat
from pegtool.template import TemplateSource

ROOT = Path(__file__).resolve().parent.parent
PHI4 = ROOT / "templates" / "microsoft-Phi-4-mini-instruct.jinja"
FAMILIES = ROOT / "tests" / "fixtures" / "families"
TOOLS: list[dict[str, Any]] = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
USER = {"role": "user", "content": "Weather in Paris?"}


@pytest.fixture(scope="module")
def phi4() -> ChatFormat:
    return ChatFormat.load(PHI4)


def test_the_tool_slot_and_the_dialect_are_found(phi4: ChatFormat) -> None:
    a = phi4.analysis
    assert a.canary.system_tools and a.capabilities.tools and a.capabilities.tool_calls
    (entry, source, detail), = a.dialects
    assert (entry, source) == ("system_tool_list", TOOL_LIST)
    assert "<|tool|>" in detail and "<|/tool|>" in detail
    assert a.tools.format is ToolFormat.JSON_NATIVE and a.tools.section_start == "functools"


def test_prepare_puts_the_tools_in_the_system_message(phi4: ChatFormat) -> None:
    prompt = phi4.prepare([USER], TOOLS).prompt
    assert prompt.startswith('<|system|><|tool|>[{"name": "get_weather"') and "<|/tool|><|end|><|user|>" in prompt
    own = phi4.prepare([{"role": "system", "content": "Be brief."}, USER], TOOLS).prompt
    assert own.startswith('<|system|>Be brief.<|tool|>[{"name": "get_weather"')
    assert phi4.prepare([USER]).prompt == "<|user|>Weather in Paris?<|end|><|assistant|>"


def test_a_system_message_carrying_tools_is_kept_as_sent() -> None:
    sent = [{"role": "system", "content": "S", "tools": "[]"}, USER]
    assert with_system_tools(sent, TOOLS) == sent
    assert with_system_tools([USER], []) == [USER]
    added = with_system_tools([USER], TOOLS)
    assert added[0]["role"] == "system" and added[0]["content"] == ""
    assert json.loads(added[0]["tools"]) == [TOOLS[0]["function"]]


def test_the_calls_read_back(phi4: ChatFormat) -> None:
    parser = phi4.prepare([USER], TOOLS).parser
    msg = parser.parse('functools[{"name": "get_weather", "arguments": {"city": "Paris"}}]')
    assert [(c.name, json.loads(c.arguments)) for c in msg.tool_calls] == [("get_weather", {"city": "Paris"})]
    prose = parser.parse("Use functools.partial for that.")
    assert not prose.tool_calls and prose.content == "Use functools.partial for that."


def test_a_system_tools_template_without_a_marked_list_gets_no_calls() -> None:
    text = ("{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% if m.tools %}Tools: {{ m.tools }}{% endif %}"
            "<|end|>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")
    a = ChatFormat(TemplateSource(text=text, name="inline")).analysis
    assert a.canary.system_tools and a.capabilities.tools
    assert a.tools.format is ToolFormat.NONE and a.dialects == ()


def test_only_phi4_mini_reads_tools_from_the_system_message() -> None:
    found = []
    for path in sorted((ROOT / "tests" / "golden" / "analysis").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("canary", {}).get("system_tools"):
            found.append(path.stem)
    assert found == ["microsoft-Phi-4-mini-instruct"]


def test_detect_prints_the_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", str(PHI4)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "system_tool_list" in out and '"functools"' in out


@pytest.mark.parametrize(("fixture", "dialect", "fmt"), [
    ("vllm-xlam-llama.jinja", "", ToolFormat.JSON_NATIVE),
    ("vllm-xlam-qwen.jinja", "", ToolFormat.JSON_NATIVE),
    ("ai21-Jamba-Mini-1.7.jinja", "", ToolFormat.JSON_NATIVE),
    ("vllm-llama4-json.jinja", "", ToolFormat.JSON_NATIVE),
    ("vllm-olmo3.jinja", "", ToolFormat.TAG_WITH_TAGGED),  # renders its calls: read from the renders
    ("vllm-llama4-pythonic.jinja", "pythonic", ToolFormat.NAMED),  # renders k="%s": the instructions win
])
def test_real_family_templates(fixture: str, dialect: str, fmt: ToolFormat) -> None:
    a = ChatFormat.load(FAMILIES / fixture).analysis
    assert a.tools.format is fmt
    named = [d[0] for d in a.dialects if d[0] in ("pythonic", "system_tool_list", "instructed_json_list")]
    assert named == ([dialect] if dialect else [])
