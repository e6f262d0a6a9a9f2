"""Stream a model output chunk by chunk and print the OpenAI deltas as they come.

Usage: python examples/stream_output.py [CHUNK_SIZE]
"""

import json
import sys
from pathlib import Path

import pegtool

ROOT = Path(__file__).resolve().parent.parent
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
OUTPUT = (
    "<think>\nThe user wants the weather; I will call the tool.\n</think>\n\n"
    "Checking now.\n<tool_call>\n"
    '{"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}\n</tool_call>'
)
size = int(sys.argv[1]) if len(sys.argv) > 1 else 5

fmt = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen3-0.6B.jinja")
prep = fmt.prepare([{"role": "user", "content": "Weather in Paris?"}], TOOLS, enable_thinking=True)
stream = prep.parser.stream()
for i in range(0, len(OUTPUT), size):
    for delta in stream.feed(OUTPUT[i : i + size]):
        print(json.dumps(delta, ensure_ascii=False))
final = stream.finish()
for delta in stream.finish_deltas:  # text held back until the end (e.g. a possible marker prefix)
    print(json.dumps(delta, ensure_ascii=False))
print("finish_reason:", stream.finish_reason)
print("final:", json.dumps(final.to_openai(), ensure_ascii=False))
