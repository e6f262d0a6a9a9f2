"""Stage 2 of the pipeline: analysis — render canary conversations through a chat template, diff
the renders and record the template's reasoning / content / tool-call dialect as plain data.

``analyze(source) -> Analysis``; the record round-trips through ``to_dict()`` / ``from_dict()``.
"""

from pegtool.analysis.analyze import analyze, preserved_tokens
from pegtool.analysis.record import (
    Analysis,
    CanaryStyle,
    Capabilities,
    Content,
    ContentMode,
    IdPosition,
    JsonCall,
    Reasoning,
    ReasoningMode,
    TaggedArgs,
    ToolFormat,
    Tools,
)

__all__ = [
    "Analysis",
    "Capabilities",
    "CanaryStyle",
    "Content",
    "ContentMode",
    "IdPosition",
    "JsonCall",
    "Reasoning",
    "ReasoningMode",
    "TaggedArgs",
    "ToolFormat",
    "Tools",
    "analyze",
    "preserved_tokens",
]
