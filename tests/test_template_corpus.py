"""Every real template in templates/ loads and renders the standard conversations; the failures
that remain are the templates' own demands, pinned in a table with the remedy that lifts each."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pegtool.template import Renderer, TemplateError, TemplateRaised, load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").glob("*.jinja"))
TOOLS: list[dict[str, Any]] = json.loads((ROOT / "tests" / "fixtures" / "tools.json").read_text())


def conversation(kind: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """a) user only; b) system+user+assistant+user; c) dict-argument call + tool result;
    d) the same with a JSON-string argument; e) like c with a 9-character alphanumeric id."""
    if kind == "a":
        return [{"role": "user", "content": "Hello"}], None
    if kind == "b":
        return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello there"}, {"role": "user", "content": "Bye"}], None
    call_id = "abcDEF123" if kind == "e" else "call_1"
    args: Any = {"location": "Paris"}
    if kind == "d":
        args = json.dumps(args)
    call = {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": args}}
    return [{"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call_id, "name": "get_weather", "content": "sunny"}], TOOLS


DICT_ARGS = ("str object' has no attribute 'items'", "Can only get item pairs from a mapping")
RAISED, ERROR = "raise", "error"

# template -> conversation -> (kind, message substring). Anything not listed renders.
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    # with tools these render now: the renderer supplies the descriptions Command-R+ reads and
    # retries Hermes' type lists as anyOf (its type macro recursed on ["integer", "null"])
    "CohereForAI-c4ai-command-r-plus-tool_use": {
        "a": (ERROR, "'NoneType' object is not iterable"), "b": (ERROR, "'NoneType' object is not iterable")},
    **{f"NousResearch-Hermes-{v}-tool_use": {
        "a": (ERROR, "'NoneType' object is not iterable"), "b": (ERROR, "'NoneType' object is not iterable")}
       for v in ("2-Pro-Llama-3-8B", "3-Llama-3.1-8B")},
    "fireworks-ai-llama-3-firefunction-v2": {k: (ERROR, "'functions' is undefined") for k in "abcde"},
    "google-gemma-2-2b-it": {"b": (RAISED, "System role not supported"),
                             **{k: (RAISED, "roles must alternate") for k in "cde"}},
    **{name: {k: (RAISED, "alphanumeric strings with length 9") for k in "cd"}
       for name in ("Mistral-Small-3.2-24B-Instruct-2506", "mistralai-Mistral-Nemo-Instruct-2407")},
    "meetkai-functionary-medium-v3.2": {k: (ERROR, "can only concatenate str") for k in "ce"},
    "GLM-4.6": {"d": (RAISED, "Invalid tool call arguments")},
    "Spark2.5": {"d": (RAISED, "arguments must be a dictionary")},
    "muse-glimmer": {"d": (RAISED, "requires tool_call.function.arguments to be a di")},
    **{name: {"d": (ERROR, DICT_ARGS[0])} for name in (
        "GLM-4.7-Flash", "LFM2.5-8B-A1B", "MiniMax-M2", "MiniMax-M3", "inclusionai-ling-3.0-flash",
        "openbmb-MiniCPM5-1B", "poolside-Laguna-S-2.1", "poolside-Laguna-XS-2.1", "poolside-Laguna-XS.2",
        "tencent-Hy3")},
    **{name: {"d": (ERROR, DICT_ARGS[1])} for name in (
        "ByteDance-Seed-OSS", "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "Qwen3-Coder", "Qwen3.5-4B",
        "StepFun3.5-Flash")},
}

_RENDERERS: dict[Path, Renderer] = {}


def renderer(path: Path) -> Renderer:
    if path not in _RENDERERS:
        _RENDERERS[path] = Renderer(load_template(path))
    return _RENDERERS[path]


def test_corpus_is_complete() -> None:
    assert len(TEMPLATES) == 71
    assert set(EXPECTED) <= {p.stem for p in TEMPLATES}


@pytest.mark.parametrize("kind", list("abcde"))
@pytest.mark.parametrize("path", TEMPLATES, ids=[p.stem for p in TEMPLATES])
def test_template_renders_or_fails_as_tabled(path: Path, kind: str) -> None:
    messages, tools = conversation(kind)
    expected = EXPECTED.get(path.stem, {}).get(kind)
    if expected is None:
        out = renderer(path).render(messages, tools=tools, add_generation_prompt=True)
        assert "Hello" in out or "Weather?" in out
        return
    with pytest.raises(TemplateError) as info:
        renderer(path).render(messages, tools=tools, add_generation_prompt=True)
    assert isinstance(info.value, TemplateRaised) == (expected[0] == RAISED)
    assert expected[1] in str(info.value)


def _described_tool() -> dict[str, Any]:
    tool = copy.deepcopy(TOOLS[0])
    tool["function"]["parameters"]["properties"]["unit"]["description"] = "Unit"
    return tool


REMEDIES: dict[str, tuple[str, dict[str, Any]]] = {
    "CohereForAI-c4ai-command-r-plus-tool_use": ("c", {"tools": [_described_tool()]}),
    "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use": (
        "c", {"tools": [t for t in TOOLS if t["function"]["name"] != "calculate"]}),
    "fireworks-ai-llama-3-firefunction-v2": (
        "c", {"functions": json.dumps([t["function"] for t in TOOLS]), "datetime": "2025-01-01"}),
    "google-gemma-2-2b-it": ("a", {}),
    "Mistral-Small-3.2-24B-Instruct-2506": ("e", {}),
    "meetkai-functionary-medium-v3.2": ("d", {}),
}


@pytest.mark.parametrize("name", sorted(REMEDIES))
def test_tabled_failures_have_a_remedy(name: str) -> None:
    kind, kwargs = REMEDIES[name]
    messages, tools = conversation(kind)
    kwargs = {"tools": tools, **kwargs}
    out = renderer(ROOT / "templates" / f"{name}.jinja").render(messages, add_generation_prompt=True, **kwargs)
    assert out


def test_command_r_plus_reads_bare_tools_too() -> None:
    r = renderer(ROOT / "templates" / "CohereForAI-c4ai-command-r-plus-tool_use.jinja")
    messages, _ = conversation("a")
    tool = _described_tool()
    assert r.render(messages, tools=[tool]) == r.render(messages, tools=[tool["function"]])
