"""Stage 1 of the pipeline: load a chat template from any source and render it like Hugging Face.

* :func:`load_template` reads a ``.jinja`` file, ``tokenizer_config.json``, ``chat_template.json``
  or a ``.gguf`` file into a :class:`TemplateSource` (text, special tokens, variant, origin).
* :class:`Renderer` renders conversations through a sandboxed, HF-compatible jinja2 environment
  with bounded time and output size; every failure is a :class:`~pegtool.errors.TemplateError`.
* :func:`normalize_tools` turns bare tool definitions into OpenAI envelopes.
"""

from __future__ import annotations

from pegtool.errors import TemplateError
from pegtool.template.loader import load_template
from pegtool.template.render import Renderer, normalize_tools
from pegtool.template.sandbox import (
    RenderLimitError,
    RenderTimeout,
    TemplateRaised,
    compile_template,
)
from pegtool.template.source import TemplateSource

__all__ = [
    "RenderLimitError",
    "RenderTimeout",
    "Renderer",
    "TemplateError",
    "TemplateRaised",
    "TemplateSource",
    "compile_template",
    "load_template",
    "normalize_tools",
]
