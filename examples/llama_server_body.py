"""Build a llama-server ``POST /completion`` body with pegtool, and parse a (canned) response.

    python examples/llama_server_body.py TEMPLATE.jinja [--tool-choice auto|required|NAME] [--url URL]

With --url the body is sent (stdlib HTTP) and the answer parsed; otherwise a canned response
is parsed so the script runs without a server.
"""

from __future__ import annotations

import argparse
import json
import urllib.request

from pegtool.format import ChatFormat
from pegtool.integrations.llama_server import completion_body, completion_from_response

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                                          "required": ["location"]}}}]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("template")
    ap.add_argument("--tool-choice", default="auto")
    ap.add_argument("--url", help="e.g. http://127.0.0.1:8080/completion")
    args = ap.parse_args()
    choice = args.tool_choice
    if choice not in ("auto", "required", "none"):
        choice = {"type": "function", "function": {"name": choice}}
    prep = ChatFormat.load(args.template).prepare(
        [{"role": "user", "content": "What's the weather in Paris?"}], TOOLS, tool_choice=choice)
    body = completion_body(prep, n_predict=256, temperature=0.2)
    print(json.dumps(body, indent=2))
    if args.url:
        req = urllib.request.Request(args.url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:  # noqa: S310 - a URL the user passed
            answer = json.load(resp)
    else:
        answer = {"content": "I will check.", "stop": True, "stop_type": "eos"}
    print(json.dumps(completion_from_response(prep, answer)["choices"][0], indent=2))


if __name__ == "__main__":
    main()
