"""Round-trip call texts per bundled template: what the model would write for each call scenario
that round-trips, with the analysis and generation prompt it was made under (shared by the
grammar tests of every engine)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pegtool.analysis import analyze
from pegtool.analysis.roundtrip import (
    SCENARIOS,
    _message,
    _skip_reason,
    check_scenario,
    load_tools,
    model_text,
)
from pegtool.errors import AnalysisError, PegtoolError
from pegtool.template import Renderer, load_template

TOOLS = load_tools()
USER = [{"role": "user", "content": "Please help me."}]
CALL_SCENARIOS = tuple(name for name, spec in SCENARIOS.items() if spec.get("calls"))


@functools.cache
def call_texts(path: Path) -> list[tuple[str, str, tuple[Any, str]]]:
    """``(scenario, text, (analysis, generation prompt))`` for each call scenario of the template."""
    src = load_template(path)
    try:
        a, r = analyze(src), Renderer(src)
    except AnalysisError:  # every render fails: the template yields no texts
        return []
    from pegtool import dialects

    if dialects.renders_history_form(a):
        # the template renders calls in a history-only form (gpt-oss: the recipient before the
        # channel) that generation does not write: the parser reads it back as a repair (the round
        # trip checks that), the grammar holds the model to the form it emits
        return []
    out = []
    for name in CALL_SCENARIOS:
        spec = SCENARIOS[name]
        if _skip_reason(a, spec) or check_scenario(r, a, name, TOOLS).status != "pass":
            continue  # texts that do not round-trip are listed by the round-trip table instead
        try:
            gp, text = model_text(r, a, _message(a, spec), TOOLS, USER)
        except PegtoolError:
            continue
        out.append((name, text, (a, gp)))
    return out
