"""Compile time per grammar and per-token mask time, for llama.cpp, llguidance and xgrammar.

The same chat grammars (whole-output form, tool_choice "auto", the standard tool set) of a few
bundled templates, each compiled by each engine over the Gemma 3 270M GGUF's vocabulary (262k
tokens); then one round-trip model text is fed token by token and the time to compute the mask of
allowed tokens over the whole vocabulary is measured at every step. One run, no warm-up.
Run: python benchmarks/bench_engines.py [TEMPLATE ...]
"""

from __future__ import annotations

import ctypes
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from pegtool.analysis import analyze
from pegtool.analysis.roundtrip import SCENARIOS, _message, load_tools, model_text
from pegtool.engines import gbnf_to_ebnf, gbnf_to_lark
from pegtool.engines.judge import LlguidanceJudge, XgrammarJudge
from pegtool.gbnf import to_gbnf
from pegtool.gbnf.llama import LlamaGrammarJudge
from pegtool.grammar.chat import build_chat_grammar
from pegtool.template import Renderer, load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ["Qwen3-Coder", "GLM-4.6", "Mistral-Small-3.2-24B-Instruct-2506"]
TOOLS = load_tools()
USER = [{"role": "user", "content": "Please help me."}]


def _case(name: str) -> tuple[str, str]:
    src = load_template(ROOT / "templates" / f"{name}.jinja")
    a, r = analyze(src), Renderer(src)
    gp, text = model_text(r, a, _message(a, SCENARIOS["content_call"]), TOOLS, USER)
    gbnf = to_gbnf(build_chat_grammar(a, TOOLS, generation_prompt=gp), warn=False)
    return str(gbnf), text


def _llama_masks(j: Any, gbnf: str, tokens: list[int]) -> tuple[float, list[float]]:
    ll = j._ll  # noqa: SLF001
    ll_n = ll.llama_vocab_n_tokens(j._vocab)  # noqa: SLF001
    start = time.perf_counter()
    smpl = ll.llama_sampler_init_grammar(j._vocab, gbnf.encode(), b"root")  # noqa: SLF001
    compile_s = time.perf_counter() - start
    data = (ll.llama_token_data * ll_n)()
    arr = ll.llama_token_data_array(data=ctypes.cast(data, ll.llama_token_data_p), size=ll_n, selected=-1,
                                    sorted=False)  # fmt: skip
    times = []
    for tok in tokens:
        for i in range(ll_n):
            data[i].id, data[i].logit = i, 0.0
        start = time.perf_counter()
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        times.append(time.perf_counter() - start)
        ll.llama_sampler_accept(smpl, tok)
    ll.llama_sampler_free(smpl)
    return compile_s, times


def _llg_masks(lj: LlguidanceJudge, lark: str, tokens: list[int]) -> tuple[float, list[float]]:
    m = lj.matcher(lark)
    times = []
    for tok in tokens:
        start = time.perf_counter()
        m.compute_bitmask()
        times.append(time.perf_counter() - start)
        m.consume_token(tok)
    return lj.compile_seconds, times


def _xgr_masks(xj: XgrammarJudge, ebnf: str, tokens: list[int]) -> tuple[float, list[float]]:
    import numpy as np

    compiled = xj.compile(ebnf)
    m = xj.xgr.GrammarMatcher(compiled)
    mask = np.zeros((1, (xj.info.vocab_size + 31) // 32), dtype=np.int32)
    times = []
    for tok in tokens:
        start = time.perf_counter()
        m.fill_next_token_bitmask(mask)
        times.append(time.perf_counter() - start)
        m.accept_token(tok)
    return xj.compile_seconds, times


def main(names: list[str]) -> None:
    warnings.simplefilter("ignore")
    j = LlamaGrammarJudge.default()
    lj, xj = LlguidanceJudge(j, step_max_items=None), XgrammarJudge(j)
    print(f"{'template':<38} {'engine':<11} {'compile ms':>11} {'mask us/token (median, max)':>28} tokens")
    for name in names:
        gbnf, text = _case(name)
        tokens = list(j.tokenize(text))
        runs = [("llama.cpp", _llama_masks, j, gbnf), ("llguidance", _llg_masks, lj, gbnf_to_lark(gbnf)),
                ("xgrammar", _xgr_masks, xj, gbnf_to_ebnf(gbnf))]  # fmt: skip
        for engine, measure, judge, grammar in runs:
            compile_s, times = measure(judge, grammar, tokens)
            med, top = statistics.median(times) * 1e6, max(times) * 1e6
            print(f"{name:<38} {engine:<11} {compile_s * 1e3:>11.1f} {med:>17.0f} {top:>10.0f} {len(tokens):>6}")


if __name__ == "__main__":
    main(sys.argv[1:] or TEMPLATES)
