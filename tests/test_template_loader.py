"""Loading chat templates from every source kind, and the errors for broken input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pegtool.template import TemplateError, TemplateSource, load_template

SIMPLE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
TOOL_USE = "{{ bos_token }}TOOLS{% for m in messages %}{{ m.content }}{% endfor %}"


def write(tmp_path: Path, name: str, content: str | dict | list) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_jinja_file(tmp_path: Path) -> None:
    src = load_template(write(tmp_path, "model.jinja", SIMPLE))
    assert (src.text, src.name, src.variant, src.bos_token) == (SIMPLE, "model", None, "")
    assert src.origin.endswith("model.jinja")


def test_tokenizer_config_string_and_token_forms(tmp_path: Path) -> None:
    config = {"chat_template": SIMPLE, "bos_token": "<s>",
              "eos_token": {"__type": "AddedToken", "content": "</s>", "special": True},
              "added_tokens_decoder": {"5": {"content": "<tool_call>", "special": True},
                                       "6": {"content": "plain", "special": False}},
              "additional_special_tokens": ["<think>"]}
    src = load_template(write(tmp_path, "tokenizer_config.json", config))
    assert (src.text, src.bos_token, src.eos_token, src.variant) == (SIMPLE, "<s>", "</s>", None)
    assert {"<s>", "</s>", "<tool_call>", "<think>"} <= src.special_tokens
    assert "plain" not in src.special_tokens


def test_tokenizer_config_named_variants(tmp_path: Path) -> None:
    config = {"chat_template": [{"name": "default", "template": SIMPLE},
                                {"name": "tool_use", "template": TOOL_USE}]}
    path = write(tmp_path, "tokenizer_config.json", config)
    assert load_template(path).text == SIMPLE
    assert load_template(path).variant == "default"
    tool = load_template(path, variant="tool_use")
    assert (tool.text, tool.variant) == (TOOL_USE, "tool_use")


def test_unknown_variant_lists_available(tmp_path: Path) -> None:
    config = {"chat_template": [{"name": "default", "template": SIMPLE}, {"name": "rag", "template": SIMPLE}]}
    path = write(tmp_path, "tokenizer_config.json", config)
    with pytest.raises(TemplateError, match=r"unknown variant 'nope'; available: default, rag") as info:
        load_template(path, variant="nope")
    assert str(path) in str(info.value)


def test_variant_on_single_template_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="unknown variant"):
        load_template(write(tmp_path, "tokenizer_config.json", {"chat_template": SIMPLE}), variant="x")
    with pytest.raises(TemplateError, match="one template"):
        load_template(write(tmp_path, "t.jinja", SIMPLE), variant="x")


def test_chat_template_json_takes_tokens_from_sibling_config(tmp_path: Path) -> None:
    write(tmp_path, "tokenizer_config.json", {"bos_token": "<bos>", "eos_token": "<eos>"})
    src = load_template(write(tmp_path, "chat_template.json", {"chat_template": SIMPLE}))
    assert (src.text, src.bos_token, src.eos_token) == (SIMPLE, "<bos>", "<eos>")


def test_config_without_template_uses_sibling_jinja(tmp_path: Path) -> None:
    write(tmp_path, "chat_template.jinja", SIMPLE)
    src = load_template(write(tmp_path, "tokenizer_config.json", {"eos_token": "<eos>"}))
    assert (src.text, src.eos_token) == (SIMPLE, "<eos>")


def test_config_without_any_template(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="no chat_template"):
        load_template(write(tmp_path, "tokenizer_config.json", {"eos_token": "<eos>"}))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="no such file") as info:
        load_template(tmp_path / "absent.jinja")
    assert "absent.jinja" in str(info.value)


def test_directory_is_not_a_template(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="is a directory"):
        load_template(tmp_path)


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "tokenizer_config.json", '{\n  "chat_template": "x",\n  oops\n}')
    with pytest.raises(TemplateError, match=r"tokenizer_config\.json:3: bad JSON"):
        load_template(path)


def test_json_not_an_object_and_bad_template_list(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not hold an object"):
        load_template(write(tmp_path, "a.json", [1, 2]))
    with pytest.raises(TemplateError, match="list of {name, template}"):
        load_template(write(tmp_path, "b.json", {"chat_template": [{"name": "x"}]}))


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.jinja", "line one\n{% if x %}\nno end")
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert info.value.line is not None and info.value.line >= 2
    assert f"broken.jinja:{info.value.line}: template syntax error" in str(info.value)


def test_syntax_error_line_in_config_template(tmp_path: Path) -> None:
    path = write(tmp_path, "tokenizer_config.json", {"chat_template": "a\nb\n{{ x + }}"})
    with pytest.raises(TemplateError, match=r"tokenizer_config\.json:3: template syntax error"):
        load_template(path)


def test_unknown_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\x00\x01\x02\xff" * 10)
    with pytest.raises(TemplateError, match="not a chat template"):
        load_template(path)


def test_not_utf8_template(tmp_path: Path) -> None:
    path = tmp_path / "t.jinja"
    path.write_bytes(b"{{ x }}\xff\xfe")
    with pytest.raises(TemplateError, match="not UTF-8"):
        load_template(path)


def test_from_text() -> None:
    src = TemplateSource.from_text(SIMPLE, bos_token="<s>", eos_token="</s>")
    assert src.special_tokens == frozenset({"<s>", "</s>"})
    assert src.origin == ""
