"""Parse a saved model output into an OpenAI message.

Usage: python examples/parse_output.py [TEMPLATE OUTPUT.txt]
Without arguments it parses a Qwen3-Coder style output with reasoning-free content and two calls.
"""

import json
import sys
from pathlib import Path

import pegtool

ROOT = Path(__file__).resolve().parent.parent
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())

SAMPLE = """Let me check both cities.
<tool_call>
<function=get_weather>
<parameter=location>
Paris
</parameter>
<parameter=unit>
celsius
</parameter>
</function>
</tool_call>
<tool_call>
<function=get_weather>
<parameter=location>
Zürich
</parameter>
</function>
</tool_call>"""

if len(sys.argv) > 2:
    template, output = sys.argv[1], Path(sys.argv[2]).read_text(encoding="utf-8")
else:
    template, output = str(ROOT / "templates" / "Qwen3-Coder.jinja"), SAMPLE

fmt = pegtool.ChatFormat.load(template)
prep = fmt.prepare([{"role": "user", "content": "Weather in Paris and Zürich?"}], TOOLS)
message = prep.parser.parse(output)
print(json.dumps(message.to_openai(), indent=2, ensure_ascii=False))
for diag in message.diagnostics:
    print("diagnostic:", diag.message, "at line", diag.line, file=sys.stderr)
