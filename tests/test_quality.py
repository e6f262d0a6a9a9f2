"""ruff and mypy are part of the test run (design habit 8)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("ruff") is None and not (ROOT / ".venv").exists(), reason="ruff not installed")
def test_ruff_is_clean() -> None:
    out = _run("ruff", "check", "pegtool", "tests", "benchmarks", "examples")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_is_clean() -> None:
    out = _run("mypy", "pegtool")
    assert out.returncode == 0, out.stdout[-4000:]
