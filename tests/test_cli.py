"""The command line: every sub-command on a bundled template, and the documented exit codes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from pegtool.cli import EXIT_CHECK_FAILED, EXIT_INPUT, EXIT_OK, EXIT_USAGE, main
from pegtool.messages import apply_deltas

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


def _chunks(out: str) -> list[dict]:  # type: ignore[type-arg]
    chunks = [json.loads(x) for x in out.splitlines()]
    assert all(c["object"] == "chat.completion.chunk" and len(c["choices"]) == 1 for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    return chunks


def test_parse_stream_prints_the_openai_chunk_sequence(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Role delta first, then the deltas, then a last chunk with an empty delta and the finish
    reason, one chat.completion.chunk per line; the deltas add up to the one-shot parse."""
    text = "Hi " + CALL
    assert run(["parse", QWEN, "--tools", TOOLS, "--stream", "--chunk", "3"], text, monkeypatch) == EXIT_OK
    chunks = _chunks(capsys.readouterr().out)
    first, last = chunks[0]["choices"][0], chunks[-1]["choices"][0]
    assert first["delta"] == {"role": "assistant", "content": ""} and first["finish_reason"] is None
    assert last["delta"] == {} and last["finish_reason"] == "tool_calls"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    streamed = apply_deltas([c["choices"][0]["delta"] for c in chunks])
    assert run(["parse", QWEN, "--tools", TOOLS], text, monkeypatch) == EXIT_OK
    whole = json.loads(capsys.readouterr().out)
    assert streamed.content == whole["content"]
    assert [(c.name, c.arguments) for c in streamed.tool_calls] == \
        [(c["function"]["name"], c["function"]["arguments"]) for c in whole["tool_calls"]]


def test_parse_stream_prints_what_finish_releases(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trailing marker prefix (``<`` may start ``<tool_call>``) is held back while streaming
    and sent when the text ends; truncated calls end with "length"."""
    assert run(["parse", QWEN, "--tools", TOOLS, "--stream"], "a < b <", monkeypatch) == EXIT_OK
    chunks = _chunks(capsys.readouterr().out)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "a < b <"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert run(["parse", QWEN, "--tools", TOOLS, "--stream"], CALL[:40], monkeypatch) == EXIT_OK
    assert _chunks(capsys.readouterr().out)[-1]["choices"][0]["finish_reason"] == "length"


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


def test_grammar_for_other_engines(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["grammar", QWEN, "--tools", TOOLS, "--engine", "llguidance", "-q"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("%llguidance {}") and "\nstart: " in out
    assert run(["grammar", QWEN, "--tools", TOOLS, "--engine", "xgrammar", "--json", "-q"]) == EXIT_OK
    body = json.loads(capsys.readouterr().out)
    assert body["engine"] == "xgrammar" and body["grammar"].startswith("root ::= ")
    assert body["structural_tag"]["format"]["triggers"] == ["<tool_call>"]


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
