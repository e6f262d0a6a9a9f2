"""Stage: analysis — named overrides for quirks that no render reveals.

Each override is a small named function ``(analysis) -> analysis | None`` that returns a changed
analysis when it applies. Applied overrides are listed in ``Analysis.overrides``. Overrides
inspect the *analysis* (what rendering found), never substrings of the template source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pegtool.analysis.record import Analysis, Reasoning, ReasoningMode

Override = Callable[[Analysis], "Analysis | None"]


def think_tags_from_generation_prompt(a: Analysis) -> Analysis | None:
    """Reasoning templates that drop the reasoning of every rendered turn (QwQ, DeepSeek R1
    distills) still open ``<think>`` in the generation prompt: the model writes the reasoning and
    the closing tag. When no reasoning was rendered but the generation prompt ends with an
    opening tag ``<x>``, reasoning is ``<x>`` … ``</x>``."""
    if a.reasoning.mode is not ReasoningMode.NONE:
        return None
    gp = (a.generation_prompt_thinking or a.generation_prompt).rstrip()
    if not gp.endswith(">") or "<" not in gp:
        return None
    tag = gp[gp.rfind("<"):]
    if tag.startswith("</") or not tag[1:-1].replace("_", "").isalnum():
        return None
    close = "</" + tag[1:]
    return replace(a, reasoning=Reasoning(ReasoningMode.TAG_BASED, tag, close))


REGISTRY: dict[str, Override] = {
    "think_tags_from_generation_prompt": think_tags_from_generation_prompt,
}


def apply_overrides(a: Analysis) -> Analysis:
    applied: list[str] = []
    for name, fn in REGISTRY.items():
        changed = fn(a)
        if changed is not None:
            a = changed
            applied.append(name)
    return replace(a, overrides=a.overrides + tuple(applied)) if applied else a
