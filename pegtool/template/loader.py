"""Stage 1 (template): load a chat template from a ``.jinja`` file, ``tokenizer_config.json``,
``chat_template.json`` or a ``.gguf`` file into a :class:`TemplateSource`.

The kind of file is told by its content (GGUF magic, JSON object) and then by its name. Every
failure is a :class:`~pegtool.errors.TemplateError` naming the file; a template syntax error also
names the line. A ``tokenizer_config.json`` without a template picks up a ``chat_template.jinja``
or ``chat_template.json`` beside it (the newer HF layout), and a ``chat_template.json`` picks up
the special tokens of a ``tokenizer_config.json`` beside it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pegtool.errors import TemplateError
from pegtool.template.sandbox import compile_template
from pegtool.template.source import TemplateSource

GGUF_MAGIC = b"GGUF"
_TEXT_SUFFIXES = {".jinja", ".jinja2", ".j2", ".tmpl", ".txt"}
_TOKEN_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token")


def load_template(path: str | Path, *, variant: str | None = None) -> TemplateSource:
    """Load and syntax-check the chat template stored at ``path`` (``variant`` picks a named one)."""
    p = Path(path)
    if not p.is_file():
        raise TemplateError("is a directory, not a template file" if p.is_dir() else "no such file",
                            source=str(p))
    head = _read_bytes(p, 4)
    if head == GGUF_MAGIC:
        from pegtool.template.gguf_source import load_gguf

        source = load_gguf(p, variant=variant)
    elif p.suffix.lower() == ".json" or (p.suffix.lower() not in _TEXT_SUFFIXES and _looks_like_json(p)):
        source = _load_json(p, variant)
    elif p.suffix.lower() in _TEXT_SUFFIXES or _looks_like_jinja(p):
        source = _load_text(p, variant)
    else:
        raise TemplateError("not a chat template (.jinja, tokenizer_config.json, chat_template.json "
                            "or .gguf expected)", source=str(p))
    compile_template(source.text, str(p))
    return source


def _read_bytes(p: Path, n: int = -1) -> bytes:
    try:
        with p.open("rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise TemplateError(f"cannot read: {exc.strerror}", source=str(p)) from None


def _read_text(p: Path) -> str:
    try:
        return _read_bytes(p).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=str(p)) from None


def _looks_like_json(p: Path) -> bool:
    try:
        return isinstance(json.loads(_read_bytes(p)), dict)
    except (ValueError, RecursionError):
        return False


def _looks_like_jinja(p: Path) -> bool:
    try:
        text = _read_text(p)
    except TemplateError:
        return False
    return "{{" in text or "{%" in text


def _load_text(p: Path, variant: str | None) -> TemplateSource:
    if variant is not None:
        raise TemplateError(f"variant {variant!r} asked for, but a template file holds one template",
                            source=str(p))
    text = _read_text(p)
    if "{{" not in text and "{%" not in text:
        raise TemplateError("not a chat template: no Jinja markup ({{ ... }} or {% ... %}) in it", source=str(p))
    return TemplateSource(text=text, name=p.stem, origin=str(p))


def _load_json(p: Path, variant: str | None) -> TemplateSource:
    try:
        data = json.loads(_read_text(p))
    except json.JSONDecodeError as exc:
        raise TemplateError(f"bad JSON: {exc.msg}", source=str(p), line=exc.lineno) from None
    except RecursionError:
        raise TemplateError("JSON nested too deeply to read", source=str(p)) from None
    if not isinstance(data, dict):
        raise TemplateError("JSON file does not hold an object", source=str(p))
    config = data if "chat_template" not in data or _has_tokens(data) else _sibling_config(p)
    template = data.get("chat_template")
    if template is None:
        template = _sibling_template(p)
    text, picked = pick_variant(template, variant, str(p))
    return _from_config(config or {}, text=text, variant=picked, p=p)


def _has_tokens(data: Mapping[str, Any]) -> bool:
    return any(k in data for k in (*_TOKEN_KEYS, "added_tokens_decoder"))


def _sibling_config(p: Path) -> dict[str, Any] | None:
    other = p.with_name("tokenizer_config.json")
    if other == p or not other.is_file():
        return None
    try:
        data = json.loads(other.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _sibling_template(p: Path) -> Any:
    jinja = p.with_name("chat_template.jinja")
    if jinja.is_file():
        return _read_text(jinja)
    other = p.with_name("chat_template.json")
    if other != p and other.is_file():
        try:
            return json.loads(_read_text(other)).get("chat_template")
        except (ValueError, AttributeError, RecursionError):
            pass
    raise TemplateError("no chat_template in this file (nor a chat_template.jinja/.json beside it)",
                        source=str(p))


def pick_variant(template: Any, variant: str | None, where: str) -> tuple[str, str | None]:
    """The template text and variant name from a ``chat_template`` value (string or named list).

    With no ``variant`` a list yields its ``default`` entry, or its first one when it has none.
    """
    if isinstance(template, str):
        if variant not in (None, "default"):
            raise TemplateError(f"unknown variant {variant!r}: this file holds a single template", source=where)
        return template, None
    if isinstance(template, Mapping):  # {name: template}, seen in some exports
        template = [{"name": k, "template": v} for k, v in template.items()]
    if not isinstance(template, list) or not all(_is_named(t) for t in template):
        raise TemplateError("chat_template must be a string or a list of {name, template}", source=where)
    if not template:
        raise TemplateError("chat_template is an empty list", source=where)
    named = {t["name"]: t["template"] for t in template}
    want = variant or ("default" if "default" in named else template[0]["name"])
    if want not in named:
        raise TemplateError(f"unknown variant {want!r}; available: {', '.join(named)}", source=where)
    return named[want], want


def variant_names(path: str | Path) -> list[str]:
    """The names of the templates a file holds (``default``, ``tool_use``, ...); empty for a file
    holding a single template."""
    p = Path(path)
    if _read_bytes(p, 4) == GGUF_MAGIC:
        from pegtool.template.gguf_source import _templates, read_metadata

        template: Any = _templates(read_metadata(p))
    elif p.suffix.lower() == ".json" or (p.suffix.lower() not in _TEXT_SUFFIXES and _looks_like_json(p)):
        try:
            data = json.loads(_read_text(p))
        except json.JSONDecodeError:
            return []
        template = data.get("chat_template") if isinstance(data, dict) else None
    else:
        return []
    if isinstance(template, Mapping):
        return [str(k) for k in template]
    if isinstance(template, list) and len(template) > 1:
        return [t["name"] for t in template if _is_named(t)]
    return []


def _is_named(item: Any) -> bool:
    return isinstance(item, Mapping) and isinstance(item.get("name"), str) and isinstance(
        item.get("template"), str)


def token_text(value: Any) -> str:
    """A token given as a string or as an ``{"content": ...}`` (AddedToken) dict; else ``""``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("content"), str):
        return str(value["content"])
    return ""


def _special_tokens(config: Mapping[str, Any]) -> frozenset[str]:
    found = {token_text(config.get(k)) for k in _TOKEN_KEYS}
    found.update(token_text(t) for t in config.get("additional_special_tokens") or ())
    decoder = config.get("added_tokens_decoder")
    if isinstance(decoder, Mapping):
        found.update(token_text(t) for t in decoder.values() if isinstance(t, Mapping) and t.get("special"))
    found.discard("")
    return frozenset(found)


def _from_config(config: Mapping[str, Any], *, text: str, variant: str | None, p: Path) -> TemplateSource:
    name = p.parent.name or p.stem
    if variant:
        name += f"/{variant}"
    return TemplateSource(text=text, name=name, bos_token=token_text(config.get("bos_token")),
                          eos_token=token_text(config.get("eos_token")),
                          special_tokens=_special_tokens(config), variant=variant, origin=str(p))
