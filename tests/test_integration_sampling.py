"""Tests for pegtool.integrations.sampling / vocab: triggers, grammar validation, samplers."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pegtool.errors import GrammarError
from pegtool.integrations.sampling import (
    PATTERN,
    PATTERN_FULL,
    TOKEN,
    WORD,
    ecma_escape,
    resolve_triggers,
    trigger_pattern,
)

sys.path.insert(0, str(Path(__file__).parent))
from integration_support import GEMMA_PROMPT, load_llama  # noqa: E402

HERMES_GBNF = r'''
root ::= "<tool_call>" ws "{\"name\": \"get_weather\", \"arguments\": {\"location\": \"" [A-Za-z ]{1,12} "\"}}" ws "</tool_call>"
ws ::= [ \n]{0,2}
'''


@given(st.text(max_size=20))
def test_ecma_escape_is_literal(text: str) -> None:
    assert re.fullmatch(ecma_escape(text), text, flags=re.DOTALL)


def test_word_pattern_full_and_pattern_conversion() -> None:
    assert trigger_pattern(WORD, "[TOOL_CALLS]") == r"(\[TOOL_CALLS\])"
    assert trigger_pattern(PATTERN, r"(<f=)") == r"(<f=)"
    assert trigger_pattern(PATTERN_FULL, r"\s*(\{)[\s\S]*") == r"^\s*(\{)[\s\S]*$"
    with pytest.raises(GrammarError):
        trigger_pattern(9, "x")


def test_resolve_without_vocabulary_keeps_token_ids_and_falls_back_to_text() -> None:
    trig = resolve_triggers([{"type": TOKEN, "value": "<x>", "token": 7}, {"type": TOKEN, "value": "<y>"},
                             {"type": WORD, "value": "<tool_call>"}])
    assert trig.tokens == [7]
    assert trig.patterns == [r"(<y>)", r"(<tool_call>)"]
    assert trig.notes


@pytest.mark.parametrize("pattern", [r"(?<=a)b", r"(?P<n>a)", r"(?i)abc", r"(unclosed"])
def test_patterns_std_regex_cannot_take_are_refused(pattern: str) -> None:
    with pytest.raises(GrammarError):
        resolve_triggers([{"type": PATTERN, "value": pattern}])


# --- with the model ---------------------------------------------------------------------------


def test_invalid_grammar_is_a_typed_error_not_a_crash() -> None:
    from pegtool.integrations.sampling import build_sampler

    llama = load_llama()
    with pytest.raises(GrammarError):
        build_sampler(llama, "root ::= undefined-rule")
    with pytest.raises(GrammarError):
        build_sampler(llama, 'root ::= "a"', lazy=True)  # lazy without triggers


def test_special_single_token_trigger_becomes_a_token_id() -> None:
    llama = load_llama()
    trig = resolve_triggers([{"type": TOKEN, "value": "<start_of_turn>"}], llama)
    assert trig.tokens == [105] and not trig.patterns


def test_trigger_boundary_notes() -> None:
    from pegtool.integrations.vocab import check_trigger_boundaries

    llama = load_llama()
    assert check_trigger_boundaries(llama, [{"type": WORD, "value": "<start_of_turn>"}]) == []
    notes = check_trigger_boundaries(llama, [{"type": WORD, "value": "function"}])
    assert any("functional" in n or "boundary" in n for n in notes)


@pytest.mark.parametrize("grammar_first", [False, True])
def test_eager_grammar_forces_the_call(grammar_first: bool) -> None:
    from pegtool.integrations.generate import Generation, prompt_tokens
    from pegtool.integrations.sampling import build_sampler

    llama = load_llama()
    toks = prompt_tokens(llama, GEMMA_PROMPT.format(question="Weather in Paris?"))
    sampler = build_sampler(llama, HERMES_GBNF, grammar_first=grammar_first)
    text = Generation(llama, toks, sampler, max_tokens=60).run()
    assert re.fullmatch(r'<tool_call>\s*\{"name": "get_weather", "arguments": \{"location": "[A-Za-z ]+"\}\}\s*</tool_call>',
                        text), text


def test_lazy_grammar_waits_for_its_trigger() -> None:
    from pegtool.integrations.generate import Generation, prompt_tokens
    from pegtool.integrations.sampling import build_sampler

    llama = load_llama()
    question = "Reply exactly: <tool_call>{...}</tool_call>"
    toks = prompt_tokens(llama, GEMMA_PROMPT.format(question=question))
    trig = resolve_triggers([{"type": WORD, "value": "<tool_call>"}], llama)
    sampler = build_sampler(llama, HERMES_GBNF, lazy=True, trigger_patterns=trig.patterns)
    text = Generation(llama, toks, sampler, max_tokens=80).run()
    head, sep, tail = text.partition("<tool_call>")
    assert sep, text
    assert re.fullmatch(r'\s*\{"name": "get_weather", "arguments": \{"location": "[A-Za-z ]+"\}\}\s*</tool_call>',
                        tail), text


def test_guard_bans_a_token_that_would_replay_ungrammatical_text() -> None:
    from pegtool.integrations.sampling import TriggerGuard

    llama = load_llama()
    guard = TriggerGuard(llama, 'root ::= "function(" [a-z]* ")"', ["(function)"])
    (functional,) = llama.tokenize(b"functional", add_bos=False, special=False)
    (function,) = llama.tokenize(b"function", add_bos=False, special=False)
    assert not guard.safe(functional)  # llama.cpp would abort replaying "functional"
    assert guard.safe(function)
    guard.accept(function)
    assert guard.triggered and guard.safe(functional)  # after the trigger the grammar decides
    guard.close()


@pytest.mark.parametrize(("gbnf", "shortlisted"), [('root ::= "{" [a-z]+ "}"', True), ('root ::= [\\u00e9]+', False)])
def test_shortlist_resample_picks_what_a_whole_vocabulary_pass_picks(gbnf: str, shortlisted: bool) -> None:
    import llama_cpp

    from pegtool.integrations.generate import prompt_tokens
    from pegtool.integrations.sampling import build_sampler

    llama = load_llama()
    toks = prompt_tokens(llama, GEMMA_PROMPT.format(question="Write a short poem about the sea."))
    sampler = build_sampler(llama, gbnf, repeat_penalty=1.3)
    llama.reset()
    llama.eval(toks)
    ctx = llama._ctx.ctx
    for _ in range(4):
        sampler._pick(ctx, -1, masked=False)  # the unmasked pick that a rejection follows
        fast = sampler._resample(ctx, -1)
        assert fast == sampler._pick(ctx, -1, masked=True)
        llama_cpp.llama_sampler_accept(sampler.grammar, fast)
        llama_cpp.llama_sampler_accept(sampler.chain.sampler, fast)
        llama.eval([fast])
    assert (sampler.full_passes < 4) == shortlisted  # a rare character is not among the best logits
    sampler.close()
