"""Print the lazy GBNF grammar, its triggers and preserved tokens for a template and tool set.

Usage: python examples/grammar_for_llama_server.py [TEMPLATE] [auto|required|none|TOOL_NAME]
"""

import json
import sys
from pathlib import Path

import pegtool

ROOT = Path(__file__).resolve().parent.parent
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
template = sys.argv[1] if len(sys.argv) > 1 else ROOT / "templates" / "GLM-4.6.jinja"
choice = sys.argv[2] if len(sys.argv) > 2 else "auto"
tool_choice = choice if choice in ("auto", "required", "none") else {"type": "function", "function": {"name": choice}}

fmt = pegtool.ChatFormat.load(template)
prep = fmt.prepare([{"role": "user", "content": "What is the weather in Paris?"}], TOOLS, tool_choice=tool_choice)
print(prep.grammar or "(no grammar: the model is unconstrained)")
print("grammar_lazy:", prep.grammar_lazy)
print("grammar_triggers:", json.dumps(prep.grammar_triggers, ensure_ascii=False))
print("preserved_tokens:", json.dumps(prep.preserved_tokens, ensure_ascii=False))
