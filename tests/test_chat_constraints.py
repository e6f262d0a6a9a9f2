"""Chat grammar -> GBNF, judged by llama.cpp: every round-trip text with tool calls is accepted by
the lazy grammar from its trigger on, and by the eager (tool_choice="required") grammar whole."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from call_texts import TOOLS, call_texts

from pegtool.analysis.roundtrip import (
    SCENARIOS,
)
from pegtool.errors import PegtoolError
from pegtool.gbnf import Recognizer, to_gbnf
from pegtool.gbnf.triggers import trigger_regex, triggers_for
from pegtool.grammar.chat import build_chat_grammar

llama = pytest.importorskip("pegtool.gbnf.llama")
if not llama.llama_available():
    pytest.skip("llama-cpp-python is not available", allow_module_level=True)

T = Path(__file__).resolve().parents[1] / "templates"
TEMPLATES = sorted(T.glob("*.jinja"))
#: "required" forbids content before the calls, so these are checked against the lazy grammar only
CONTENT_FIRST = {name for name, spec in SCENARIOS.items() if spec.get("calls") and spec.get("content")}


# Templates whose call texts are known not to satisfy the grammar (none at present).
KNOWN: dict[str, str] = {}


@pytest.fixture(scope="module")
def judge() -> Any:
    return llama.LlamaGrammarJudge.default()


_GRAMMARS: dict[tuple[int, str], tuple[Any, Any, Any, list[str]]] = {}


def _grammars(a: Any, gp: str) -> tuple[Any, Any, list[str]]:
    """(eager GBNF, lazy GBNF, trigger patterns) of one template's grammar, built once."""
    hit = _GRAMMARS.get((id(a), gp))
    if hit is not None and hit[0] is a:
        return hit[1], hit[2], hit[3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lazy_g = build_chat_grammar(a, TOOLS, generation_prompt=gp)
        # llama.cpp parses the GBNF itself (the syntax check of to_gbnf is tested elsewhere)
        eager = to_gbnf(build_chat_grammar(a, TOOLS, generation_prompt=gp, tool_choice="required"), check=False)
        lazy = to_gbnf(lazy_g, lazy=True, check=False)
        patterns = [trigger_regex(t) for t in triggers_for(lazy_g)]
    _GRAMMARS.clear()
    _GRAMMARS[(id(a), gp)] = (a, eager, lazy, patterns)
    return eager, lazy, patterns


def _check(judge: Any, name: str, text: str, a: Any, gp: str) -> str:
    eager, lazy, patterns = _grammars(a, gp)
    try:
        judge.tokenize(text)
    except PegtoolError:
        # the judge's vocabulary cannot spell these markers (Gemma turns DeepSeek's "▁" into a
        # space): check with pegtool's recogniser, which runs llama.cpp's stack algorithm
        ok = name in CONTENT_FIRST or Recognizer(str(eager)).accepts(text)
        return "" if ok else f"{name}: eager grammar (offline recogniser) rejects {text[:80]!r}"
    problems = []
    if not judge.lazy_accepts(str(lazy), text, patterns):
        problems.append(f"{name}: lazy grammar (triggers {patterns}) rejects {text[:80]!r}")
    if name not in CONTENT_FIRST and not judge.accepts(str(eager), text):
        problems.append(f"{name}: eager grammar rejects {text[:80]!r}")
    return "; ".join(problems)


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.stem for p in TEMPLATES])
def test_round_trip_texts_satisfy_the_grammar(judge: Any, path: Path) -> None:
    if path.stem in KNOWN:
        pytest.xfail(KNOWN[path.stem])
    problems = [p for name, text, (a, gp) in call_texts(path) if (p := _check(judge, name, text, a, gp))]
    assert not problems, problems
