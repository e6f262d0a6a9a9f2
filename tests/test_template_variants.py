"""Named template variants chosen like Hugging Face: ``tool_use`` when tools are passed and the
file has one, ``default`` otherwise; a variant named by the caller always wins (API and CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import pegtool
from pegtool.cli import EXIT_OK, main

ROOT = Path(__file__).resolve().parent.parent
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
USER = [{"role": "user", "content": "What is the weather in Paris?"}]
# a default template that cannot show tools, and the tool-use template of a real model
PLAIN = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
         "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
TOOL_USE = (ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja").read_text()
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"location": "Paris"}}\n</tool_call>'


def _config(tmp_path: Path, rag: bool = False) -> Path:
    named = [{"name": "default", "template": PLAIN}, {"name": "tool_use", "template": TOOL_USE}]
    if rag:
        named.append({"name": "rag", "template": PLAIN.replace("<|im_start|>", "<|doc|>")})
    path = tmp_path / "tokenizer_config.json"
    path.write_text(json.dumps({"chat_template": named, "bos_token": "", "eos_token": "<|im_end|>"}))
    return path


def test_tools_pick_tool_use(tmp_path: Path) -> None:
    fmt = pegtool.ChatFormat.load(_config(tmp_path))
    assert fmt.source.variant == "default" and fmt.variants() == ["default", "tool_use"]
    with_tools = fmt.prepare(USER, TOOLS)
    assert "get_weather" in with_tools.prompt and with_tools.grammar_lazy
    msg = with_tools.parser.parse(CALL)
    assert [c.name for c in msg.tool_calls] == ["get_weather"]
    without = fmt.prepare(USER)
    assert "get_weather" not in without.prompt and without.grammar is None
    assert without.prompt.endswith("<|im_start|>assistant\n") and "<|im_start|>system" not in without.prompt


def test_explicit_variant_always_wins(tmp_path: Path) -> None:
    path = _config(tmp_path, rag=True)
    pinned = pegtool.ChatFormat.load(path, variant="default")
    prep = pinned.prepare(USER, TOOLS)
    assert "get_weather" not in prep.prompt and "tools" not in prep.prompt
    fmt = pegtool.ChatFormat.load(path)
    assert fmt.prepare(USER, TOOLS, variant="default").prompt == prep.prompt
    assert fmt.prepare(USER, TOOLS, variant="rag").prompt.startswith("<|doc|>user")
    assert fmt.prepare(USER, variant="tool_use").prompt.startswith("<|im_start|>system")  # Qwen's default system
    with pytest.raises(pegtool.RequestError, match="available: default, tool_use, rag"):
        fmt.prepare(USER, TOOLS, variant="bogus")


def test_a_single_template_file_has_no_variants(tmp_path: Path) -> None:
    fmt = pegtool.ChatFormat.load(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")
    assert fmt.variants() == [] and fmt.for_request(TOOLS) is fmt
    with pytest.raises(pegtool.RequestError, match="single template"):
        fmt.prepare(USER, TOOLS, variant="tool_use")


def test_no_tool_use_variant_keeps_default(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer_config.json"
    path.write_text(json.dumps({"chat_template": [{"name": "default", "template": TOOL_USE},
                                                  {"name": "rag", "template": PLAIN}]}))
    fmt = pegtool.ChatFormat.load(path)
    assert fmt.for_request(TOOLS) is fmt


def test_cli_commands_follow_the_same_rule(tmp_path: Path, capsys: Any) -> None:
    path = str(_config(tmp_path))
    tools = str(ROOT / "pegtool" / "data" / "tools.json")
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps(USER))
    assert main(["request", path, "--messages", str(messages), "--tools", tools]) == EXIT_OK
    assert "get_weather" in json.loads(capsys.readouterr().out)["prompt"]
    assert main(["request", path, "--messages", str(messages), "--tools", tools, "--variant", "default"]) == EXIT_OK
    assert "get_weather" not in json.loads(capsys.readouterr().out)["prompt"]
    assert main(["grammar", path, "--tools", tools, "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["grammar_lazy"] is True
    assert main(["detect", path, "--json", "--variant", "tool_use"]) == EXIT_OK
    assert "<tool_call>" in capsys.readouterr().out
    main(["doctor", path, "--variant", "tool_use"])
    assert "tool_use" in capsys.readouterr().out


def test_gguf_variants(tmp_path: Path) -> None:
    gguf = pytest.importorskip("gguf")
    path = tmp_path / "m.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("llama")
    writer.add_token_list(["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"])
    writer.add_token_types([2, 3, 3, 3, 3])
    writer.add_string("tokenizer.chat_template", PLAIN)
    writer.add_string("tokenizer.chat_template.tool_use", TOOL_USE)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    fmt = pegtool.ChatFormat.load(path)
    assert sorted(fmt.variants()) == ["default", "tool_use"]
    assert "get_weather" in fmt.prepare(USER, TOOLS).prompt
    assert "get_weather" not in pegtool.ChatFormat.load(path, variant="default").prepare(USER, TOOLS).prompt
