"""The examples that need no model run and print what they promise."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("detect_template.py", "tool calls"),
        ("parse_output.py", '"name": "get_weather"'),
        ("stream_output.py", "finish_reason: tool_calls"),
        ("grammar_for_llama_server.py", "grammar_lazy: True"),
    ],
)
def test_example_runs(script: str, expected: str) -> None:
    out = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert expected in out.stdout
