"""Fuzzing the chat parser of every bundled template (see tests/fuzz/fuzz_corpus.py).

CI runs a fixed, derandomized number of examples per property (the whole fuzz suite takes well
under a minute on 2 cores). A long run draws fresh random examples:

    FUZZ_EXAMPLES=20000 python -m pytest tests/fuzz -q -p no:cacheprovider

Inputs: random text (NUL, lone surrogates, any plane), mutations and truncations of the texts
the templates' own renders give (round-trip scenarios), marker fragments spliced in, deep
nesting, many calls; each fed to the stream in random chunkings.
"""

from __future__ import annotations

import sys

import pytest
from fuzz_corpus import EXAMPLES, Case, cases, check_output, examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SETTINGS = dict(deadline=None, database=None, derandomize=not EXAMPLES,
                suppress_health_check=list(HealthCheck))

ANY_CHAR = st.characters(codec=None, categories=None)  # surrogates and NUL included
SPECIAL = st.sampled_from(["\x00", "\ud800", "\udfff", "\n", " ", "\\", '"', "'", "{", "}", "[", "]",
                           "<", ">", "/", "=", ":", ",", "|", "\u2028", "\ufeff", "😀"])


@st.composite
def fragments(draw: st.DrawFn, c: Case) -> str:
    """A piece of markup: a whole marker, or a prefix or suffix of one."""
    m = draw(st.sampled_from(c.markup)) if c.markup else "<"
    i = draw(st.integers(0, len(m)))
    return draw(st.sampled_from([m, m[:i], m[i:]]))


@st.composite
def mutated(draw: st.DrawFn, c: Case) -> tuple[str, str]:
    """(seed, the seed after a few random edits): a render of the template, mutated."""
    seed = text = draw(st.sampled_from(c.seeds))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "delete", "insert", "fragment", "duplicate", "nest", "calls"]))
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        if op == "truncate":
            text = text[:i]
        elif op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.text(st.one_of(ANY_CHAR, SPECIAL), max_size=8)) + text[i:]
        elif op == "fragment":
            text = text[:i] + draw(fragments(c)) + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "nest":
            depth = draw(st.sampled_from([3, 50, 2000]))
            text = text[:i] + draw(st.sampled_from(["[", "{", '{"a":', "[{"])) * depth + text[i:]
        else:
            text = text * draw(st.integers(2, 6))
    return seed, text


@st.composite
def outputs(draw: st.DrawFn) -> tuple[Case, str, list[list[int]], str]:
    c = draw(st.sampled_from(cases()))
    seed, text = draw(st.one_of(
        mutated(c),
        st.text(st.one_of(ANY_CHAR, SPECIAL), max_size=60).map(lambda t: ("", t)),
        st.lists(st.one_of(fragments(c), st.text(SPECIAL, max_size=3)), max_size=6).map(lambda p: ("", "".join(p))),
    ))
    n = len(text)
    chunkings = [draw(st.lists(st.integers(0, n), max_size=12))]
    if n <= 400:
        chunkings.append(list(range(n)))  # one character at a time
    return c, text, chunkings, seed


@settings(max_examples=examples(400), **SETTINGS)
@given(outputs())
def test_properties_hold_on_fuzzed_output(sample: tuple[Case, str, list[list[int]], str]) -> None:
    c, text, chunkings, seed = sample
    check_output(c, text, chunkings, seed)


@pytest.mark.parametrize("name", [c.name for c in cases()])
def test_every_seed_and_its_truncations(name: str) -> None:
    """Deterministic sweep: every seed and ~13 cuts of it, each parsed and streamed in two chunkings."""
    c = next(x for x in cases() if x.name == name)
    for seed in c.seeds:
        step = max(1, len(seed) // 12)
        for end in range(0, len(seed) + 1, step):
            text = seed[:end]
            check_output(c, text, [[], list(range(0, len(text), 7))], seed)


def _calls(fn, *args) -> int:  # type: ignore[no-untyped-def]
    """Python and C function calls made by ``fn(*args)`` (a deterministic measure of work)."""
    count = 0

    def prof(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(prof)
    try:
        fn(*args)
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("name", ["Qwen3-Coder", "mistralai-Mistral-Nemo-Instruct-2407", "Qwen-Qwen3-0.6B",
                                  "google-gemma-4-31B-it", "openai-gpt-oss-120b"])
def test_parse_work_grows_linearly(name: str) -> None:
    """8x the input costs at most ~8x the work (2x slack), for long seeds and deep nesting."""
    c = next(x for x in cases() if x.name == name)
    seed = max(c.seeds, key=len)
    inputs = [(seed * 4, seed * 32), ("[" * 500 + seed, "[" * 4000 + seed)]
    for small, large in inputs:
        a = _calls(c.parser.parse, small)
        b = _calls(c.parser.parse, large)
        assert b <= 16 * a + 5000, f"{name}: work {a} -> {b} for 8x the input"
