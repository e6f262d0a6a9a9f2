"""Tests of the property-test generator itself: its grammars mean the same as a PEG and as a CFG
(checked with two small reference matchers), its random walks are accepted, and the IR
round-trips through JSON."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from property.grammar_gen import Gen, RandomChooser
from property.reference import cfg_match, peg_match
from property.strategies import Case, cases
from property.strings_gen import Walker

from pegtool.grammar import ir


@settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(case=cases())
def test_generated_grammars_are_deterministic_and_round_trip(case: Case) -> None:
    g = case.grammar
    assert ir.loads(ir.dumps(g)) == g
    for text in case.walks:
        assert peg_match(g, text), (ir.dumps(g), text)
    for text in case.strings:
        assert peg_match(g, text) == cfg_match(g, text), (ir.dumps(g), text)


def test_random_chooser_is_deterministic() -> None:
    one = Gen(RandomChooser(7)).grammar()
    assert one == Gen(RandomChooser(7)).grammar()
    assert Walker(one, RandomChooser(1)).sample() == Walker(one, RandomChooser(1)).sample()


def test_reference_matchers_differ_on_non_deterministic_grammars() -> None:
    """The PEG/CFG difference the generator avoids really exists (sanity of the references)."""
    g = ir.Grammar.of({"root": ir.Seq((ir.Choice((ir.Literal("a"), ir.Literal("ab"))), ir.Literal("c")))})
    assert cfg_match(g, "abc") and not peg_match(g, "abc")
    g = ir.Grammar.of({"root": ir.Seq((ir.Repeat(ir.Literal("a")), ir.Literal("a")))})
    assert cfg_match(g, "aa") and not peg_match(g, "aa")
