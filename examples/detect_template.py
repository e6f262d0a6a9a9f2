"""Detect a chat template's dialect.

Usage: python examples/detect_template.py [TEMPLATE]   (a .jinja, tokenizer_config.json or .gguf)
"""

import json
import sys
from pathlib import Path

import pegtool
from pegtool.report import summarize

ROOT = Path(__file__).resolve().parent.parent
path = sys.argv[1] if len(sys.argv) > 1 else ROOT / "templates" / "Qwen3-Coder.jinja"

fmt = pegtool.ChatFormat.load(path)
record = fmt.analysis.to_dict()
print(summarize(record))
print()
print("tool-call syntax:", json.dumps(record["tools"], indent=2, ensure_ascii=False))
