"""Benchmark helpers that look inside llama.cpp's grammar sampler (never used by pegtool itself).

llama.cpp's C API does not expose the grammar's pushdown stacks. These helpers read them through
the struct layouts of the llama.cpp that llama-cpp-python 0.3.36 vendors, on a 64-bit libstdc++
build: ``llama_sampler {iface*, ctx*}``; the grammar sampler's ctx ``{vocab*, std::string
grammar_str, std::string grammar_root, llama_grammar*}``; ``llama_grammar {vocab*,
std::vector<rule> rules, std::vector<stack> stacks, ...}``; a ``std::vector`` is three pointers.
Every read is checked for plausibility; when a check fails the figures are reported as missing
(``None``), never guessed.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

_PTR = ctypes.sizeof(ctypes.c_void_p)
_STRING = 32  # sizeof(std::string), libstdc++ 64-bit
_VECTOR = 3 * _PTR


def _read_ptr(addr: int) -> int:
    return ctypes.c_void_p.from_address(addr).value or 0


def _vector_len(addr: int, elem: int) -> int | None:
    begin, end, cap = _read_ptr(addr), _read_ptr(addr + _PTR), _read_ptr(addr + 2 * _PTR)
    if begin == 0 and end == 0:
        return 0
    if not (begin <= end <= cap) or (end - begin) % elem:
        return None
    return (end - begin) // elem


class GrammarProbe:
    """Reads the stack count of one llama.cpp grammar sampler (``llama_sampler *``)."""

    def __init__(self, sampler: Any) -> None:
        self.grammar = 0
        self.n_rules: int | None = None
        if _PTR != 8:
            return
        smpl = ctypes.cast(sampler, ctypes.c_void_p).value or 0
        ctx = _read_ptr(smpl + _PTR) if smpl else 0
        grammar = _read_ptr(ctx + _PTR + 2 * _STRING) if ctx else 0
        if not grammar:
            return
        rules = _vector_len(grammar + _PTR, _VECTOR)
        stacks = _vector_len(grammar + _PTR + _VECTOR, _VECTOR)
        if rules is None or stacks is None or not 0 < rules < 10_000_000 or stacks > 10_000_000:
            return
        self.grammar, self.n_rules = grammar, rules

    def stacks(self) -> int | None:
        """How many stacks the grammar holds now (None when the layout could not be read)."""
        if not self.grammar:
            return None
        return _vector_len(self.grammar + _PTR + _VECTOR, _VECTOR)


def one_token_allowed(llama_cpp: Any, sampler: Any, token: int) -> bool:
    """Whether the grammar sampler allows ``token`` now (llama.cpp aborts on accepting a rejected one)."""
    one = (llama_cpp.llama_token_data * 1)()
    one[0].id, one[0].logit, one[0].p = token, 1.0, 0.0
    arr = llama_cpp.llama_token_data_array(one, 1, -1, False)
    llama_cpp.llama_sampler_apply(sampler, ctypes.byref(arr))
    return bool(one[0].logit != -math.inf)


def load_llama(path: str, *, extra_bufts: bool = False, **kwargs: Any) -> Any:
    """``llama_cpp.Llama(path, **kwargs)``; ``extra_bufts=False`` loads the weights without
    llama.cpp's extra CPU buffer types (AMX / repacked layouts), whose kernels crash in some
    sandboxes (a segmentation fault in the first ``decode``). Every variant of a run uses the same
    setting, so ratios are unaffected."""
    from pegtool.integrations.llama_cpp import load_model

    return load_model(path, extra_bufts=extra_bufts, **kwargs)
