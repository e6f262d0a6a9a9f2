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


# --- OLMo 3's real template: vLLM's olmo3 parser cases (its calls are read from the renders) ---------
_S = "get_weather(city='San Francisco', metric='celsius')"
_S_CALL = ("get_weather", {"city": "San Francisco", "metric": "celsius"})
_M = ("register_user(name='John Doe', age=37, address={'city': 'San Francisco', 'state': 'CA'}, role=@R, "
      "passed_test=@P, aliases=['John', 'Johnny'])")
_M_CALL = ("register_user", {"name": "John Doe", "age": 37, "address": {"city": "San Francisco", "state": "CA"},
                             "role": None, "passed_test": True, "aliases": ["John", "Johnny"]})


def _m(none: str, true: str) -> str:
    return _M.replace("@R", none).replace("@P", true)


OLMO_CASES = [
    ("simple", f"<function_calls>{_S}</function_calls>", [_S_CALL]),
    ("as_rendered", f"<function_calls>\n{_S}\n</function_calls>", [_S_CALL]),
    ("python_literals", f"<function_calls>{_m('None', 'True')}</function_calls>", [_M_CALL]),
    ("json_literals", f"<function_calls>{_m('null', 'true')}</function_calls>", [_M_CALL]),
    ("parameterless", "<function_calls>get_time()</function_calls>", [("get_time", {})]),
    ("empty_dict", "<function_calls>do_something_cool(additional_data={})</function_calls>",
     [("do_something_cool", {"additional_data": {}})]),
    ("empty_list", "<function_calls>do_something_cool(steps=[])</function_calls>", [("do_something_cool", {"steps": []})]),
    ("parallel", f"<function_calls>{_S}\n{_m('None', 'True')}</function_calls>", [_S_CALL, _M_CALL]),
    ("unicode_multiline", "<function_calls>\nexec(command='echo \"東京\"\nls -la')\n</function_calls>",
     [("exec", {"command": 'echo "東京"\nls -la'})]),
]


@pytest.fixture(scope="module")
def olmo3() -> Any:
    from test_dialect_pythonic import TOOLS as PY_TOOLS

    return ChatFormat.load(FAMILIES / "vllm-olmo3.jinja").prepare([USER], PY_TOOLS)


@pytest.mark.parametrize(("case", "text", "calls"), OLMO_CASES, ids=[c[0] for c in OLMO_CASES])
def test_olmo3_real_template_reads_the_vllm_cases(olmo3: Any, case: str, text: str,
                                                   calls: list[tuple[str, Any]]) -> None:
    msg = olmo3.parser.parse(text)
    assert [(c.name, json.loads(c.arguments)) for c in msg.tool_calls] == calls, case
    assert msg.content == ""
    stream = olmo3.parser.stream()
    for i in range(0, len(text), 3):
        stream.feed(text[i:i + 3])
    final = stream.finish()
    assert [(c.name, c.arguments) for c in final.tool_calls] == [(c.name, c.arguments) for c in msg.tool_calls]
    assert olmo3.parser.parse("How can I help you today?").content == "How can I help you today?"


# --- Llama 4's pythonic template: vLLM's llama4_pythonic parser cases (the pythonic entry reads them) --
_ESC = r"get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')"
LLAMA4_CASES = [
    ("simple", f"[{_S}]", [_S_CALL]),
    ("python_tokens", f"<|python_start|>[{_S}]<|python_end|>", [_S_CALL]),
    ("python_literals", f"[{_m('None', 'True')}]", [_M_CALL]),
    ("json_literals", f"[{_m('null', 'true')}]", [_M_CALL]),
    ("parameterless", "[get_time()]", [("get_time", {})]),
    ("escaped_string", f"[{_ESC}]", [("get_weather", {"city": "Martha's Vineyard", "metric": '"cool units"'})]),
    ("parallel", f"[{_S}, {_m('None', 'True')}]", [_S_CALL, _M_CALL]),
    ("unicode", "[get_weather(city='São Paulo — 東京 🌧')]", [("get_weather", {"city": "São Paulo — 東京 🌧"})]),
]


@pytest.fixture(scope="module")
def llama4() -> Any:
    from test_dialect_pythonic import TOOLS as PY_TOOLS

    return ChatFormat.load(FAMILIES / "vllm-llama4-pythonic.jinja").prepare([USER], PY_TOOLS)


@pytest.mark.parametrize(("case", "text", "calls"), LLAMA4_CASES, ids=[c[0] for c in LLAMA4_CASES])
def test_llama4_real_template_reads_the_vllm_cases(llama4: Any, case: str, text: str,
                                                    calls: list[tuple[str, Any]]) -> None:
    msg = llama4.parser.parse(text)
    assert [(c.name, json.loads(c.arguments)) for c in msg.tool_calls] == calls, case
    assert msg.content == ""
    stream = llama4.parser.stream()
    for i in range(0, len(text), 3):
        stream.feed(text[i:i + 3])
    assert [(c.name, c.arguments) for c in stream.finish().tool_calls] == [(c.name, c.arguments) for c in msg.tool_calls]
