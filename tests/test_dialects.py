"""The dialect registry: each value notation is found from renders and owns its grammar and its
mapping; a named dialect fires on declared evidence and supplies the calls region; ``detect`` and
``doctor`` print which entries fired and why."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pegtool import dialects
from pegtool.analysis.record import Analysis, ToolFormat, Tools
from pegtool.cli import EXIT_OK, main
from pegtool.dialects.base import (
    SPECIAL_TOKENS,
    TOOL_LIST,
    CallsOptions,
    Evidence,
    NamedDialect,
    TemplateFacts,
)
from pegtool.errors import PegtoolError
from pegtool.format import ChatFormat
from pegtool.grammar.builder import (
    GrammarBuilder,
    atomic,
    capture,
    choice,
    json_schema,
    json_value,
    lenient,
    lit,
)
from pegtool.grammar.ir import Node, Tag
from pegtool.template import TemplateSource

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


def test_every_value_style_has_one_notation() -> None:
    styles = [s for n in dialects.NOTATIONS for s in (n.name, *n.styles)]
    assert len(styles) == len(set(styles))
    for style in styles:
        n = dialects.notation(style)
        assert style in (n.name, *n.styles)
    with pytest.raises(PegtoolError):
        dialects.notation("no_such_notation")
    assert dialects.notation_for_tag(Tag.ARG_VALUE) is dialects.DEFAULT
    assert dialects.notation_for_tag(Tag.ARG_MARKED) is dialects.notation("marker_quoted")
    assert dialects.notation_for_tag(Tag.ARG_XML) is dialects.notation("xml_elements")


@pytest.mark.parametrize(("template", "entry", "style"), [
    ("google-gemma-4-31B-it.jinja", "marker_quoted", "marker_quoted"),
    ("MiniMax-M3.jinja", "xml_elements", "xml_elements"),
    ("Qwen3-Coder.jinja", "python", "python_scalars"),
])
def test_notation_evidence_is_recorded(template: str, entry: str, style: str) -> None:
    a = ChatFormat.load(TEMPLATES / template).analysis
    assert a.tools.tagged is not None and a.tools.tagged.value_style == style
    assert [row[:2] for row in a.dialects] == [(entry, "render")]


def test_json_templates_fire_no_entry() -> None:
    a = ChatFormat.load(TEMPLATES / "Qwen-Qwen2.5-7B-Instruct.jinja").analysis
    assert a.dialects == ()


# --- a named dialect, registered for the test ------------------------------------------------------

OPEN, CLOSE = "<|fn|>", "<|/fn|>"
TEMPLATE = (
    "{%- if tools %}<|system|>Call a tool by writing " + OPEN + "NAME{json arguments}" + CLOSE + ".\n"
    "{{ tools | tojson }}<|end|>{% endif -%}"
    "{%- for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor -%}"
    "{%- if add_generation_prompt %}<|assistant|>{% endif -%}"
)
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


class FnCalls(NamedDialect):
    """``<|fn|>NAME{json}<|/fn|>``, when the template names that marker in its tool instructions."""

    name = "test_fn_calls"

    def detect(self, facts: TemplateFacts) -> Evidence | None:
        if facts.analysis.tools.format is not ToolFormat.NONE:
            return None
        where = facts.declares(OPEN)
        return Evidence(where, OPEN) if where else None

    def apply(self, a: Analysis, evidence: Evidence) -> Analysis:
        return replace(a, tools=Tools(format=ToolFormat.NAMED, section_start=OPEN, section_end=CLOSE))

    def calls_region(self, b: GrammarBuilder, a: Analysis, fns: Sequence[dict[str, Any]],
                     opts: CallsOptions) -> tuple[str, Node] | None:
        calls = [capture(Tag.TOOL_NAME, lit(f["name"])) + capture(Tag.TOOL_ARGS, lenient(
            json_schema(f.get("parameters") or {}), json_value())) for f in fns]
        one = atomic(capture(Tag.TOOL_CALL, lit(OPEN) + choice(*calls) + lit(CLOSE)))
        return OPEN, one


@pytest.fixture
def fn_dialect(monkeypatch: pytest.MonkeyPatch) -> FnCalls:
    d = FnCalls()
    monkeypatch.setattr(dialects, "NAMED", (d,))
    return d


def _format(text: str, special: frozenset[str] = frozenset()) -> ChatFormat:
    return ChatFormat(TemplateSource(text=text, name="fn", special_tokens=special))


def test_named_dialect_fires_on_tool_instructions(fn_dialect: FnCalls) -> None:
    a = _format(TEMPLATE + "{# instructions #}").analysis
    assert a.dialects == ((fn_dialect.name, TOOL_LIST, OPEN),)
    assert a.tools.format is ToolFormat.NAMED and a.capabilities.tool_calls
    assert OPEN in a.preserved_tokens and CLOSE in a.preserved_tokens


def test_named_dialect_fires_on_special_tokens(fn_dialect: FnCalls) -> None:
    plain = TEMPLATE.replace(OPEN, "a marker")
    a = _format(plain + "{# tokens #}", frozenset({OPEN, CLOSE})).analysis
    assert a.dialects == ((fn_dialect.name, SPECIAL_TOKENS, OPEN),)
    assert _format(plain + "{# none #}").analysis.dialects == ()


def test_named_dialect_supplies_the_calls_region(fn_dialect: FnCalls) -> None:
    fmt = _format(TEMPLATE + "{# region #}")
    prep = fmt.prepare([{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER])
    assert prep.grammar_lazy and OPEN in json.dumps(prep.grammar_triggers)
    msg = prep.parser.parse('Let me look. <|fn|>get_weather{"city": "Paris"}<|/fn|>')
    assert msg.content.strip() == "Let me look."
    assert [(c.name, json.loads(c.arguments)) for c in msg.tool_calls] == [("get_weather", {"city": "Paris"})]
    # an unknown tool stays content
    other = prep.parser.parse('<|fn|>get_time{"tz": "UTC"}<|/fn|>')
    assert not other.tool_calls and "get_time" in other.content


def test_detect_prints_the_entries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", str(TEMPLATES / "google-gemma-4-31B-it.jinja")]) == EXIT_OK
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("dialect entries"))
    assert "marker_quoted (render:" in line


def test_doctor_prints_the_entries(capsys: pytest.CaptureFixture[str]) -> None:
    main(["doctor", str(TEMPLATES / "MiniMax-M3.jinja")])
    out = capsys.readouterr().out
    assert "dialect entries that fired" in out and "xml_elements (render:" in out
