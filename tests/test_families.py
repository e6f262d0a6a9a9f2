"""Model families whose outputs the templates do not show (or show in another shape): real-looking
outputs of each (``tests/emissions/cases.py``) read back to the expected message, one-shot and
streamed in small chunks, and every output in the strict form is accepted by the family's GBNF."""

from __future__ import annotations

import json
import re
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from emissions.cases import FAMILIES, TOOLS, Case, Family

from pegtool import ChatFormat
from pegtool.gbnf.recognizer import Recognizer

ROOT = Path(__file__).resolve().parents[1] / "templates"
CASES = [(f, c) for f, fam in FAMILIES.items() for c in fam.cases]
IDS = [f"{f}-{c.name}" for f, c in CASES]


@cache
def _format(family: str) -> ChatFormat:
    name = FAMILIES[family].template
    return ChatFormat.load(Path(__file__).parent / name if "/" in name else ROOT / name)


@cache
def _prepared(family: str, tool_choice: str = "auto") -> Any:
    fam: Family = FAMILIES[family]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _format(family).prepare([{"role": "user", "content": "Weather in Paris?"}], TOOLS,
                                       tool_choice=tool_choice, **fam.kwargs)


def _expected(case: Case) -> tuple[Any, ...]:
    calls = tuple((n, a) for n, a in case.calls)
    return ((case.content or "").strip(), (case.reasoning or "").strip(), calls)


def _actual(msg: Any) -> tuple[Any, ...]:
    calls = tuple((c.name, json.loads(c.arguments)) for c in msg.tool_calls)
    return ((msg.content or "").strip(), (msg.reasoning_content or "").strip(), calls)


@pytest.mark.parametrize(("family", "case"), CASES, ids=IDS)
def test_output_reads_as_expected(family: str, case: Case) -> None:
    msg = _prepared(family).parser.parse(case.text)
    assert _actual(msg) == _expected(case), msg.diagnostics
    if case.content is not None and case.content == case.text:
        return  # text kept as content on purpose (an unknown tool): no call is invented
    if not case.variant:
        assert not msg.diagnostics, msg.diagnostics
    if case.repair:
        assert any(d.message.startswith("repaired: ") and case.repair in d.message for d in msg.diagnostics), \
            msg.diagnostics


@pytest.mark.parametrize(("family", "case"), CASES, ids=IDS)
@pytest.mark.parametrize("size", [1, 3, 7])
def test_streaming_in_small_chunks_equals_one_shot(family: str, case: Case, size: int) -> None:
    parser = _prepared(family).parser
    stream = parser.stream()
    content, reasoning, args = "", "", ""
    for i in range(0, len(case.text), size):
        for d in stream.feed(case.text[i:i + size]):
            content += d.get("content") or ""
            reasoning += d.get("reasoning_content") or ""
            args += "".join(tc["function"].get("arguments", "") for tc in d.get("tool_calls", []))
    final = stream.finish()
    for d in stream.finish_deltas:  # what only the end of the text settles (an unmarked reasoning block)
        content += d.get("content") or ""
        reasoning += d.get("reasoning_content") or ""
        args += "".join(tc["function"].get("arguments", "") for tc in d.get("tool_calls", []))
    whole = parser.parse(case.text)
    assert _actual(final) == _actual(whole)
    assert content == (final.content or "") and reasoning == (final.reasoning_content or "")
    assert args == "".join(c.arguments for c in final.tool_calls)


def _trigger_start(text: str, triggers: list[dict[str, Any]]) -> int:
    """Where llama.cpp's lazy grammar would start on ``text`` (-1: never triggered)."""
    starts = []
    for t in triggers:
        if t["type"] == 1:
            i = text.find(t["value"])
        elif t["type"] == 2:
            m = re.search(t["value"], text)
            i = -1 if m is None else next((m.start(g) for g in range(1, (m.lastindex or 0) + 1) if m.group(g)), m.start())
        elif t["type"] == 3:
            m = re.fullmatch(t["value"].lstrip("^").rstrip("$"), text)
            i = -1 if m is None else next((m.start(g) for g in range(1, (m.lastindex or 0) + 1) if m.group(g)), 0)
        else:
            continue
        if i >= 0:
            starts.append(i)
    return min(starts, default=-1)


STRICT = [(f, c) for f, c in CASES if c.strict and c.calls]


@pytest.mark.parametrize(("family", "case"), STRICT, ids=[f"{f}-{c.name}" for f, c in STRICT])
def test_strict_outputs_satisfy_the_lazy_grammar(family: str, case: Case) -> None:
    prep = _prepared(family)
    assert prep.grammar_lazy, "tool_choice auto should give a lazy grammar"
    start = _trigger_start(case.text, prep.grammar_triggers)
    assert start >= 0, f"no trigger of {prep.grammar_triggers} fires on {case.text!r}"
    assert Recognizer(prep.grammar).accepts(case.text[start:])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_dialect_is_detected(family: str) -> None:
    a = _format(family).analysis
    expects_calls = any(c.calls for c in FAMILIES[family].cases)
    expects_reasoning = any(c.reasoning for c in FAMILIES[family].cases)
    assert a.capabilities.tool_calls or not expects_calls
    assert a.reasoning.mode.value != "none" or not expects_reasoning


@pytest.mark.parametrize(("family", "case"), STRICT, ids=[f"{f}-{c.name}" for f, c in STRICT])
def test_strict_outputs_satisfy_llama_cpp(llama_judge: Any, family: str, case: Case) -> None:
    """The same, judged by llama.cpp's own lazy grammar sampler (its triggers as regexes)."""
    from pegtool.errors import PegtoolError
    from pegtool.gbnf.triggers import trigger_regex, triggers_for

    prep = _prepared(family)
    try:
        llama_judge.tokenize(case.text)
    except PegtoolError:
        pytest.skip("the judge's vocabulary cannot spell these markers")
    patterns = [trigger_regex(t) for t in triggers_for(prep.grammar_ir)]
    assert llama_judge.lazy_accepts(prep.grammar, case.text, patterns)


#: the bundled templates each named dialect of these families fires on (and on no other)
FIRES_ON = {
    "harmony": {"openai-gpt-oss-120b"},
    "instructed_json_list": {"ibm-granite-granite-3.3-2B-Instruct"},
    "system_tool_list": {"microsoft-Phi-4-mini-instruct"},
    "prompted_reasoning": {"HuggingFaceTB-SmolLM3-3B", "ibm-granite-granite-3.3-2B-Instruct",
                           "mistralai-Ministral-3-14B-Reasoning-2512", "unsloth-Apriel-1.5"},
}


def test_named_dialects_fire_only_on_their_evidence() -> None:
    from pegtool.analysis import analyze
    from pegtool.template import load_template

    fired: dict[str, set[str]] = {name: set() for name in FIRES_ON}
    for path in sorted(ROOT.glob("*.jinja")):
        for entry, source, detail in analyze(load_template(path)).dialects:
            if entry in fired:
                assert source and detail, (path.stem, entry)
                fired[entry].add(path.stem)
    assert fired == FIRES_ON


def test_harmony_forced_call_grammar_accepts_the_strict_form() -> None:
    prep = _prepared("harmony", "required")
    assert not prep.grammar_lazy
    for case in FAMILIES["harmony"].cases:
        if case.strict and case.calls:
            assert Recognizer(prep.grammar).accepts(case.text), case.name
    # and holds the model to the emitted form: the history-only form is not generated
    history = " to=functions.special_function<|channel|>commentary json<|message|>{\"arg1\": 1}<|call|>"
    assert not Recognizer(prep.grammar).accepts(history)
    assert _prepared("harmony").parser.parse(history).tool_calls  # but it is read back


def test_harmony_reasoning_format_none_keeps_the_analysis_inline() -> None:
    fmt = _format("harmony")
    prep = fmt.prepare([{"role": "user", "content": "hi"}], TOOLS, reasoning_format="none")
    msg = prep.parser.parse("<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>Hi.")
    assert msg.reasoning_content in (None, "") and "Think." in (msg.content or "") and "Hi." in (msg.content or "")
