"""The command line: every sub-command on a bundled template, and the documented exit codes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from pegtool.cli import EXIT_CHECK_FAILED, EXIT_INPUT, EXIT_OK, EXIT_USAGE, main

ROOT = Path(__file__).resolve().parent.parent
QWEN = str(ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja")
TOOLS = str(ROOT / "pegtool" / "data" / "tools.json")
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"location": "Paris"}}\n</tool_call>'


def run(argv: list[str], stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(argv)


def test_detect_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["detect", QWEN, "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert "<tool_call>" in json.dumps(data["tools"])


def test_detect_summary_for_humans(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["detect", QWEN]) == EXIT_OK
    assert "tool calls" in capsys.readouterr().out


def test_parse_returns_openai_message(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["parse", QWEN, "--tools", TOOLS], "Sure.\n" + CALL, monkeypatch) == EXIT_OK
    msg = json.loads(capsys.readouterr().out)
    call = msg["tool_calls"][0]["function"]
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"location": "Paris"}


def test_parse_stream_prints_one_delta_per_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["parse", QWEN, "--tools", TOOLS, "--stream"], "Hi " + CALL, monkeypatch) == EXIT_OK
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert any("tool_calls" in d for d in lines) and "".join(d.get("content", "") for d in lines).startswith("Hi")


def test_parse_strict_fails_on_broken_output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    broken = '<tool_call>\n{"name": "get_weather", "arguments": {"location": </tool_call>'
    assert run(["parse", QWEN, "--tools", TOOLS, "--strict"], broken, monkeypatch) == EXIT_CHECK_FAILED
    assert "^" in capsys.readouterr().err


def test_grammar_json_has_llama_server_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["grammar", QWEN, "--tools", TOOLS, "--json"]) == EXIT_OK
    body = json.loads(capsys.readouterr().out)
    assert body["grammar_lazy"] is True and body["grammar_triggers"] and "root ::=" in body["grammar"]


def test_grammar_required_is_eager(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["grammar", QWEN, "--tools", TOOLS, "--tool-choice", "required", "--json"]) == EXIT_OK
    body = json.loads(capsys.readouterr().out)
    assert "grammar_lazy" not in body and "root ::=" in body["grammar"]


def test_request_body(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps([{"role": "user", "content": "Weather in Paris?"}]))
    assert run(["request", QWEN, "--messages", str(messages), "--tools", TOOLS]) == EXIT_OK
    body = json.loads(capsys.readouterr().out)
    assert body["prompt"].endswith("<|im_start|>assistant\n") and body["grammar_lazy"] is True


def test_missing_file_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["detect", "/no/such/template.jinja"]) == EXIT_INPUT
    assert "template.jinja" in capsys.readouterr().err


def test_usage_error() -> None:
    assert run(["frobnicate"]) == EXIT_USAGE
