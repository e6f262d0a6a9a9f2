"""Stage: gallery — find the chat templates in a gallery directory and name their output folders.

A gallery directory holds template files side by side; each gets a folder ``DIR/<stem>/`` of
generated artefacts. Templates are ``*.jinja`` files, ``*.gguf`` files, and JSON files named
``tokenizer_config.json`` / ``chat_template.json`` (optionally with a prefix such as
``Model.tokenizer_config.json``). Only files directly in the directory count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

JSON_NAMES = ("tokenizer_config.json", "chat_template.json")
TEXT_SUFFIXES = (".jinja",)
GGUF_SUFFIX = ".gguf"


@dataclass(frozen=True, order=True)
class Entry:
    """One template of the gallery: its output folder name and its file name inside the directory."""

    stem: str
    filename: str


def is_template_file(path: Path) -> bool:
    """True for a file that the gallery treats as a chat template.

    >>> is_template_file(Path("Qwen3.jinja")), is_template_file(Path("notes.json"))
    (True, False)
    >>> is_template_file(Path("Qwen3.tokenizer_config.json"))
    True
    """
    name = path.name
    if name.startswith("."):
        return False
    if name.endswith(TEXT_SUFFIXES) or name.endswith(GGUF_SUFFIX):
        return True
    return any(name == j or name.endswith("." + j) or name.endswith("-" + j) for j in JSON_NAMES)


def stem_of(filename: str) -> str:
    """The output folder name for a template file: the file name without its last suffix.

    >>> stem_of("Qwen3-Coder.jinja"), stem_of("tokenizer_config.json"), stem_of("m.Q4.gguf")
    ('Qwen3-Coder', 'tokenizer_config', 'm.Q4')
    """
    return filename.rsplit(".", 1)[0] if "." in filename.lstrip(".") else filename


def find_templates(directory: Path) -> list[Entry]:
    """The templates in ``directory``, sorted by file name; colliding stems get their suffix kept."""
    files = sorted(p.name for p in directory.iterdir() if p.is_file() and is_template_file(p))
    entries: list[Entry] = []
    taken: set[str] = set()
    for name in files:
        stem = stem_of(name)
        if stem in taken:
            stem = name.replace(".", "-")
        taken.add(stem)
        entries.append(Entry(stem, name))
    return sorted(entries, key=lambda e: e.filename)
