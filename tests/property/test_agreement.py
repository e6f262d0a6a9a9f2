"""The central property of pegtool: its two back-ends, generated from one IR, accept the same
strings. ``Parser(g).match(s)`` (PEG interpreter) must equal llama.cpp's own verdict on
``to_gbnf(g)`` for ``s`` (through :class:`pegtool.gbnf.llama.LlamaGrammarJudge`).

Grammars come from :mod:`property.grammar_gen` (deterministic style, where PEG and CFG readings
agree — see its docstring); strings are random walks plus mutations. The run is derandomized
(no example database) so CI is stable.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from property.strategies import Case, cases

from pegtool.gbnf.emit import to_gbnf
from pegtool.grammar import ir
from pegtool.parser.engine import Parser

N_GRAMMARS = 1200  # each with 9 strings: 10,800 (grammar, string) comparisons per run


def _explain(case: Case, gbnf: str, text: str, peg: bool, cfg: bool) -> str:
    return (
        f"\nPEG parser: {peg}  llama.cpp: {cfg}  text: {text!r}\nIR: {ir.dumps(case.grammar)}\nGBNF:\n{gbnf}"
    )


@settings(
    max_examples=N_GRAMMARS,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(case=cases())
def test_parser_and_llama_cpp_accept_the_same_strings(case: Case, llama_judge: Any) -> None:
    assert ir.loads(ir.dumps(case.grammar)) == case.grammar
    gbnf = to_gbnf(case.grammar)
    assert llama_judge.is_valid(gbnf), f"llama.cpp rejects:\n{gbnf}\n{llama_judge.last_error}"
    parser = Parser(case.grammar)
    for text in case.strings:
        peg, cfg = parser.match(text), llama_judge.accepts(gbnf, text)
        assert peg == cfg, _explain(case, gbnf, text, peg, cfg)
