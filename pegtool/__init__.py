"""pegtool: detect a chat template's dialect and compile it into one PEG description, from which
come a partial-input (streaming) parser and lazy GBNF grammars for llama.cpp."""

from __future__ import annotations

from pegtool.errors import (
    AnalysisError,
    GrammarError,
    ParseError,
    PegtoolError,
    PegtoolWarning,
    RequestError,
    SchemaError,
    TemplateError,
)
from pegtool.format import ChatFormat, Prepared
from pegtool.gbnf import json_schema_to_gbnf, to_gbnf
from pegtool.grammar.ir import Grammar, Tag
from pegtool.grammar.schema import UnsupportedSchemaWarning
from pegtool.messages import ChatMessage, Diagnostic, ToolCall
from pegtool.parser.engine import Parser, Status

__version__ = "0.1.0"

__all__ = [
    "AnalysisError",
    "ChatFormat",
    "ChatMessage",
    "Diagnostic",
    "Grammar",
    "GrammarError",
    "ParseError",
    "Parser",
    "PegtoolError",
    "PegtoolWarning",
    "Prepared",
    "RequestError",
    "SchemaError",
    "Status",
    "Tag",
    "TemplateError",
    "ToolCall",
    "UnsupportedSchemaWarning",
    "__version__",
    "json_schema_to_gbnf",
    "to_gbnf",
]
