"""Stage 1 (template): read the chat template and special tokens out of a GGUF model file.

Only the metadata key-values at the head of the file are read (tensors are never touched), with
a small reader of the GGUF layout (little- or big-endian, versions 2 and 3): the ``gguf``
package's ``GGUFReader`` materialises every vocabulary entry as a numpy view, which takes ~13 s
on a 262k-token vocabulary; this reader takes well under a second. Keys read:
``tokenizer.chat_template`` (variant ``default``), ``tokenizer.chat_template.<name>`` (named
variants), ``tokenizer.ggml.tokens`` with ``tokenizer.ggml.token_type`` (CONTROL and USER_DEFINED
tokens are special) and ``tokenizer.ggml.bos_token_id`` / ``eos_token_id``.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import Any

from pegtool.errors import TemplateError
from pegtool.template.loader import pick_variant
from pegtool.template.source import TemplateSource

TEMPLATE_KEY = "tokenizer.chat_template"
_CONTROL, _USER_DEFINED = 3, 4
_STRING, _ARRAY = 8, 9
MAX_ARRAY_DEPTH = 32  # GGUF metadata holds flat arrays; deeper nesting is a broken or hostile file
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


class _Cursor:
    """Sequential reader over a buffer with a fixed byte order."""

    def __init__(self, buf: Any, order: str) -> None:
        self.buf, self.order, self.pos = buf, order, 4

    def scalar(self, code: str) -> Any:
        (value,) = struct.unpack_from(self.order + code, self.buf, self.pos)
        self.pos += struct.calcsize(code)
        return value

    def raw_string(self) -> bytes:
        n = self.scalar("Q")
        data = bytes(self.buf[self.pos:self.pos + n])
        if len(data) != n:
            raise ValueError("string runs past the end of the file")
        self.pos += n
        return data

    def value(self, vtype: int, depth: int = 0) -> Any:
        if vtype == _STRING:
            return self.raw_string().decode("utf-8", errors="replace")
        if vtype == _ARRAY:
            return self.array(depth + 1)
        if vtype not in _SCALARS:
            raise ValueError(f"unknown value type {vtype}")
        return self.scalar(_SCALARS[vtype])

    def array(self, depth: int = 1) -> list[Any]:
        if depth > MAX_ARRAY_DEPTH:
            raise ValueError(f"arrays nested deeper than {MAX_ARRAY_DEPTH}")
        itype, count = self.scalar("I"), self.scalar("Q")
        if count > len(self.buf):  # every element takes at least one byte
            raise ValueError(f"array of {count} elements runs past the end of the file")
        if itype in _SCALARS:
            code = _SCALARS[itype]
            values = list(struct.unpack_from(f"{self.order}{count}{code}", self.buf, self.pos))
            self.pos += count * struct.calcsize(code)
            return values
        if itype == _STRING:  # kept as bytes: decoding a whole vocabulary is wasted work
            return [self.raw_string() for _ in range(count)]
        return [self.value(itype, depth) for _ in range(count)]


def read_metadata(path: Path) -> dict[str, Any]:
    """All metadata key-values of a GGUF file (string arrays as ``bytes`` items)."""
    try:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(buf)
    except (OSError, ValueError, struct.error) as exc:
        raise TemplateError(f"not a readable GGUF file: {exc}", source=str(path)) from None


def _parse(buf: Any) -> dict[str, Any]:
    if bytes(buf[:4]) != b"GGUF":
        raise ValueError("bad magic")
    order = "<" if struct.unpack_from("<I", buf, 4)[0] < 0x10000 else ">"
    cur = _Cursor(buf, order)
    version = cur.scalar("I")
    if version < 2:
        raise ValueError(f"GGUF version {version} is not supported")
    cur.scalar("Q")  # tensor count
    fields: dict[str, Any] = {}
    for _ in range(cur.scalar("Q")):
        key = cur.raw_string().decode("utf-8", errors="replace")
        fields[key] = cur.value(cur.scalar("I"))
    return fields


def _templates(fields: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    if isinstance(fields.get(TEMPLATE_KEY), str):
        out.append({"name": "default", "template": fields[TEMPLATE_KEY]})
    prefix = TEMPLATE_KEY + "."
    for key, value in fields.items():
        if key.startswith(prefix) and isinstance(value, str):
            out.append({"name": key[len(prefix):], "template": value})
    return out


def _specials(tokens: list[bytes], kinds: list[int]) -> frozenset[str]:
    return frozenset(tokens[i].decode("utf-8", errors="replace") for i, kind in enumerate(kinds[:len(tokens)])
                     if kind in (_CONTROL, _USER_DEFINED))


def _token(fields: dict[str, Any], key: str, tokens: list[bytes]) -> str:
    tid = fields.get(key)
    if not isinstance(tid, int) or not 0 <= tid < len(tokens):
        return ""
    return tokens[tid].decode("utf-8", errors="replace")


def load_gguf(p: Path, *, variant: str | None = None) -> TemplateSource:
    """The chat template (``variant``: a ``tokenizer.chat_template.<name>``) and vocabulary facts."""
    fields = read_metadata(p)
    templates = _templates(fields)
    if not templates:
        raise TemplateError("GGUF file has no tokenizer.chat_template", source=str(p))
    text, picked = pick_variant(templates, variant, str(p))
    if len(templates) == 1 and picked == "default":
        picked = None  # a single template, as a tokenizer_config.json string
    tokens = [t for t in fields.get("tokenizer.ggml.tokens") or () if isinstance(t, bytes)]
    kinds = [k for k in fields.get("tokenizer.ggml.token_type") or () if isinstance(k, int)]
    name = p.stem + (f"/{picked}" if picked and picked != "default" else "")
    return TemplateSource(text=text, name=name, bos_token=_token(fields, "tokenizer.ggml.bos_token_id", tokens),
                          eos_token=_token(fields, "tokenizer.ggml.eos_token_id", tokens),
                          special_tokens=_specials(tokens, kinds), variant=picked, origin=str(p))
