"""The examples that need no model run and print what they promise."""

import os
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
    # The checkout's own pegtool, whichever copy (if any) is installed.
    env = dict(os.environ, PYTHONPATH=str(EXAMPLES.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=300,
                         env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert expected in out.stdout
