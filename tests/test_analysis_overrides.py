"""Each override of the registry: applies when the analysis shows its quirk, is recorded."""

from __future__ import annotations

from pegtool.analysis import Analysis, Reasoning, ReasoningMode, analyze
from pegtool.analysis.overrides import apply_overrides, think_tags_from_generation_prompt
from pegtool.template import TemplateSource


def test_think_tags_from_generation_prompt_applies() -> None:
    a = Analysis(generation_prompt="<|assistant|>\n<think>\n")
    out = apply_overrides(a)
    assert out.reasoning == Reasoning(ReasoningMode.TAG_BASED, "<think>", "</think>")
    assert out.overrides == ("think_tags_from_generation_prompt",)


def test_think_tags_not_applied_when_reasoning_found() -> None:
    a = Analysis(reasoning=Reasoning(ReasoningMode.TAG_BASED, "<r>", "</r>"), generation_prompt="<think>")
    assert think_tags_from_generation_prompt(a) is None


def test_override_recorded_for_a_template_that_drops_reasoning() -> None:
    text = ("{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}")
    a = analyze(TemplateSource.from_text(text, name="dropper"))
    assert "think_tags_from_generation_prompt" in a.overrides
    assert a.reasoning.start == "<think>"
