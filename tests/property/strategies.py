"""Test support: hypothesis strategies over the grammar and string generators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from property.grammar_gen import DrawChooser, Gen
from property.strings_gen import Walker, mutate

from pegtool.grammar.ir import Grammar


@dataclass(frozen=True)
class Case:
    """A generated grammar, random walks of it (accepted by design) and mutated strings."""

    grammar: Grammar
    walks: tuple[str, ...]
    mutants: tuple[str, ...]

    @property
    def strings(self) -> tuple[str, ...]:
        return self.walks + self.mutants


@st.composite
def cases(draw: Any, n_walks: int = 3, n_mutants: int = 5) -> Case:
    ch = DrawChooser(draw)
    grammar = Gen(ch).grammar()
    walker = Walker(grammar, ch)
    walks = tuple(walker.sample() for _ in range(n_walks))
    mutants = tuple(mutate(walks[ch.int(0, n_walks - 1)], ch) for _ in range(n_mutants))
    return Case(grammar, walks, mutants + (walks[0] + walks[-1],))
