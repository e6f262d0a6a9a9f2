"""Stage: gallery — grammars as build artefacts: ``pegtool regen DIR [--tools F] [--check]``.

For every chat template in a directory (``*.jinja``, ``*.gguf``, ``tokenizer_config.json``,
``chat_template.json``) regen writes ``DIR/<stem>/`` with ``analysis.json``, ``grammar.gbnf``
(tool_choice auto, lazy), ``grammar-required.gbnf``, ``server.json`` (llama-server fields) and
``SUMMARY.md``, plus one ``DIR/INDEX.md``. Output is byte-identical across runs and machines;
``check=True`` writes nothing and prints a unified diff of whatever is stale.
"""

from __future__ import annotations

from pegtool.gallery.build import ARTEFACTS, FIXED_NOW, Built, build_template
from pegtool.gallery.discover import Entry, find_templates
from pegtool.gallery.runner import (
    Generation,
    RegenResult,
    generate,
    load_tools,
    regen,
    run_regen,
    standard_tools,
)

__all__ = [
    "ARTEFACTS",
    "FIXED_NOW",
    "Built",
    "Entry",
    "Generation",
    "RegenResult",
    "build_template",
    "find_templates",
    "generate",
    "load_tools",
    "regen",
    "run_regen",
    "standard_tools",
]
