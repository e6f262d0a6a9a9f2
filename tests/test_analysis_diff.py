"""Diff helpers: doctests plus marker-boundary properties."""

from __future__ import annotations

import doctest

from hypothesis import given
from hypothesis import strategies as st

from pegtool.analysis import diff


def test_doctests() -> None:
    assert doctest.testmod(diff).failed == 0


@given(st.text(alphabet="ab<>/|x", max_size=30), st.text(alphabet="ab<>/|x", max_size=30))
def test_diff_split_reassembles(a: str, b: str) -> None:
    d = diff.diff_split(a, b)
    assert d.prefix + d.left + d.suffix == a
    assert d.prefix + d.right + d.suffix == b


def test_cut_never_inside_a_marker() -> None:
    d = diff.diff_split("<|im_start|>assistant\n<think>\nR", "<|im_start|>assistant\nC")
    assert d.prefix == "<|im_start|>assistant\n"
