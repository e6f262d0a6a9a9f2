"""pegtool: detect a chat template's dialect and compile it into one PEG description, from which
come a partial-input (streaming) parser and lazy GBNF grammars for llama.cpp."""

from __future__ import annotations

from pegtool.errors import (
    AnalysisError,
    GrammarError,
    ParseError,
    PegtoolError,
    SchemaError,
    TemplateError,
)

__version__ = "0.1.0"

__all__ = [
    "AnalysisError",
    "GrammarError",
    "ParseError",
    "PegtoolError",
    "SchemaError",
    "TemplateError",
    "__version__",
]
