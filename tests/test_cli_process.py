"""The command line as a user meets it: ``python -m pegtool.cli ...`` in a subprocess.

Each test checks the exit code, what goes to stdout (the result: JSON that parses, GBNF, a
table) and what goes to stderr (warnings, errors, progress), and the README's command table is
compared with the parser's own definitions.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pegtool import __version__
from pegtool.cli import COMMON_NOTE, command_table, subcommands

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
QWEN = str(TEMPLATES / "Qwen-Qwen2.5-7B-Instruct.jinja")
CODER = str(TEMPLATES / "Qwen3-Coder.jinja")
GPT_OSS = str(TEMPLATES / "openai-gpt-oss-120b.jinja")
TOOLS = str(ROOT / "pegtool" / "data" / "tools.json")
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"location": "Paris"}}\n</tool_call>'
MY_TOOLS = [
    {"type": "function", "function": {"name": "create_ticket", "description": "Open a ticket", "parameters": {
        "type": "object", "properties": {
            "summary": {"type": "string", "maxLength": 80},
            "severity": {"type": "string", "enum": ["low", "high"]},
            "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
            "labels": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
        "required": ["summary", "severity"]}}},
    {"type": "function", "function": {"name": "close_ticket", "description": "Close a ticket", "parameters": {
        "type": "object", "properties": {"id": {"type": "integer", "minimum": 1}}, "required": ["id"]}}},
]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTHONWARNINGS")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pegtool.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env=_env(), timeout=300)


@pytest.fixture(scope="module")
def my_tools(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("tools") / "my_tools.json"
    path.write_text(json.dumps(MY_TOOLS), encoding="utf-8")
    return str(path)


# --- the parser: version, help, README --------------------------------------------------------------

def test_version() -> None:
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"pegtool {__version__}"


def test_top_level_help_is_for_users() -> None:
    out = cli("--help")
    assert out.returncode == 0
    assert "Stage:" not in out.stdout and "exit codes" in out.stdout
    for name in subcommands():
        assert name in out.stdout


@pytest.mark.parametrize("name", list(subcommands()))
def test_every_option_has_help(name: str) -> None:
    sp = subcommands()[name]
    for action in sp._actions:  # noqa: SLF001
        assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)
    out = cli(name, "--help")
    assert out.returncode == 0 and not out.stderr
    for action in sp._actions:  # noqa: SLF001
        for opt in action.option_strings:
            assert opt in out.stdout, (name, opt)
        assert (action.help or "").split()[0] in out.stdout


def test_the_same_options_mean_the_same_everywhere() -> None:
    seen: dict[str, tuple[str | None, str | None]] = {}
    for name, sp in subcommands().items():
        for action in sp._actions:  # noqa: SLF001
            key = action.option_strings[0] if action.option_strings else action.dest
            if key in ("--tools", "--json", "--variant", "--thinking", "--tool-choice", "-q", "-W"):
                seen.setdefault(key, (str(action.metavar), type(action).__name__))
                assert seen[key] == (str(action.metavar), type(action).__name__), (name, key)
    for cmd in ("parse", "grammar", "request"):
        opts = {o for a in subcommands()[cmd]._actions for o in a.option_strings}  # noqa: SLF001
        assert {"--tools", "--variant", "--thinking", "--no-thinking", "--tool-choice"} <= opts
        assert next(a for a in subcommands()[cmd]._actions if a.dest == "template").metavar == "TEMPLATE"  # noqa: SLF001
    for cmd in ("detect", "grammar", "schema", "doctor", "regen"):
        assert "--json" in {o for a in subcommands()[cmd]._actions for o in a.option_strings}  # noqa: SLF001


def test_readme_command_table_matches_the_parser() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = command_table()
    assert table in readme, "README's command table is stale; paste pegtool.cli.command_table():\n" + table
    # and every synopsis lists exactly the options of the command's --help
    for name, sp in subcommands().items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `pegtool {name} "))
        for action in sp._actions:  # noqa: SLF001
            if action.dest in ("help", "quiet", "warnings"):
                continue
            names = action.option_strings or [str(action.metavar)]
            assert any(n in row for n in names), (name, names)
    assert COMMON_NOTE in readme


def test_tool_choice_lists_its_choices() -> None:
    out = cli("grammar", "--help")
    assert "{auto,required,none,NAME}" in out.stdout


# --- warnings ----------------------------------------------------------------------------------------

def test_quick_start_warnings_say_where_once_and_without_source_lines() -> None:
    out = cli("grammar", CODER, "--tools", TOOLS, "--json")
    assert out.returncode == 0
    body = json.loads(out.stdout)
    assert "root ::=" in body["grammar"]
    lines = out.stderr.splitlines()
    assert lines and all(line.startswith("pegtool: warning: ") for line in lines)
    assert len(lines) == len(set(lines))
    assert any(line.startswith("pegtool: warning: tool 'create_event', parameter 'title': maxLength 200 "
                               "is not enforced") for line in lines)
    assert any("tool 'set_alarm', parameter 'days': keyword 'uniqueItems'" in line for line in lines)
    assert ".py:" not in out.stderr and "#/maxLength" not in out.stderr


def test_quiet_and_ignore_silence_warnings_error_makes_them_fatal() -> None:
    for flag in (["-q"], ["-W", "ignore"]):
        out = cli("grammar", CODER, "--tools", TOOLS, "--json", *flag)
        assert out.returncode == 0 and out.stderr == "" and json.loads(out.stdout)["grammar"]
    out = cli("grammar", CODER, "--tools", TOOLS, "-W", "error")
    assert out.returncode == 3 and out.stdout == ""
    assert "tool 'create_event', parameter 'title'" in out.stderr


@pytest.mark.parametrize(("schema", "keyword"), [
    ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, "uniqueItems"),
    ({"type": "object", "properties": {"a": {"not": {"type": "null"}}}}, "not"),
    ({"type": "number", "multipleOf": 0.5}, "multipleOf"),
])
def test_schema_command_warns_about_unenforced_keywords(schema: dict, keyword: str, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema))
    out = cli("schema", str(path))
    assert out.returncode == 0 and "root ::=" in out.stdout
    assert "pegtool: warning: schema #/" in out.stderr and f"keyword '{keyword}' is not enforced" in out.stderr
    out = cli("schema", "-", "--json", stdin=json.dumps(schema))
    data = json.loads(out.stdout)
    assert out.returncode == 0 and any(keyword in w for w in data["warnings"]) and "root ::=" in data["grammar"]


def test_schema_errors_are_input_errors(tmp_path: Path) -> None:
    assert cli("schema", "-", stdin="{not json").returncode == 3
    bad = cli("schema", "-", stdin='{"type": "integer", "minimum": 5, "maximum": 1}')
    assert bad.returncode == 3 and bad.stdout == "" and bad.stderr.startswith("pegtool: error:")


# --- parse -------------------------------------------------------------------------------------------

def test_parse_reads_a_file_or_stdin(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("Sure.\n" + CALL, encoding="utf-8")
    from_file = cli("parse", QWEN, str(path), "--tools", TOOLS, "--id-seed", "7")
    from_stdin = cli("parse", QWEN, "-", "--tools", TOOLS, "--id-seed", "7", stdin="Sure.\n" + CALL)
    implicit = cli("parse", QWEN, "--tools", TOOLS, "--id-seed", "7", stdin="Sure.\n" + CALL)
    assert from_file.returncode == from_stdin.returncode == implicit.returncode == 0
    assert from_file.stdout == from_stdin.stdout == implicit.stdout
    msg = json.loads(from_file.stdout)
    assert msg["tool_calls"][0]["function"]["name"] == "get_weather"
    unseeded = [json.loads(cli("parse", QWEN, str(path), "--tools", TOOLS).stdout) for _ in range(2)]
    assert unseeded[0]["tool_calls"][0]["id"] != unseeded[1]["tool_calls"][0]["id"]  # unique per response
    missing = cli("parse", QWEN, str(tmp_path / "nope.txt"))
    assert missing.returncode == 3 and "nope.txt" in missing.stderr and missing.stdout == ""


def test_parse_strict_without_tools_fails_on_tool_markup() -> None:
    out = cli("parse", QWEN, "--strict", stdin="Sure.\n" + CALL)
    assert out.returncode == 1 and out.stdout == ""
    assert "--tools" in out.stderr and "^" in out.stderr
    lenient = cli("parse", QWEN, stdin="Sure.\n" + CALL)
    assert lenient.returncode == 0 and "<tool_call>" in json.loads(lenient.stdout)["content"]
    assert "pegtool: warning:" in lenient.stderr and "--tools" in lenient.stderr
    plain = cli("parse", QWEN, "--strict", stdin="Just text.")
    assert plain.returncode == 0 and json.loads(plain.stdout)["content"] == "Just text." and not plain.stderr


def test_parse_strict_with_tools_reports_a_caret() -> None:
    broken = '<tool_call>\n{"name": "get_weather", "arguments": {"location": </tool_call>'
    out = cli("parse", QWEN, "--tools", TOOLS, "--strict", stdin=broken)
    assert out.returncode == 1 and out.stdout == "" and "^" in out.stderr


def test_parse_stream_keeps_its_flag() -> None:
    out = cli("parse", QWEN, "--tools", TOOLS, "--stream", stdin="Hi " + CALL)
    assert out.returncode == 0 and out.stdout.strip()
    for line in out.stdout.splitlines():
        json.loads(line)


# --- grammar, request, detect ------------------------------------------------------------------------

def test_grammar_without_tools_is_a_usage_error() -> None:
    out = cli("grammar", QWEN)
    assert out.returncode == 2 and out.stdout == ""
    assert "--tools is required" in out.stderr and "usage: pegtool grammar" in out.stderr


def test_tool_choice_name_must_be_a_tool() -> None:
    out = cli("grammar", QWEN, "--tools", TOOLS, "--tool-choice", "no_such_tool")
    assert out.returncode == 2 and "get_weather" in out.stderr
    ok = cli("grammar", QWEN, "--tools", TOOLS, "--tool-choice", "get_weather", "--json")
    assert ok.returncode == 0 and "get_weather" in json.loads(ok.stdout)["grammar"]


def test_grammar_plain_prints_gbnf_and_none_prints_nothing() -> None:
    out = cli("grammar", QWEN, "--tools", TOOLS)
    assert out.returncode == 0 and "root ::=" in out.stdout
    none = cli("grammar", QWEN, "--tools", TOOLS, "--tool-choice", "none")
    assert none.returncode == 0 and none.stdout == "" and "not constrained" in none.stderr


def test_request_and_thinking(tmp_path: Path) -> None:
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps([{"role": "user", "content": "Weather in Paris?"}]))
    on = cli("request", str(TEMPLATES / "Qwen-Qwen3-0.6B.jinja"), "--messages", str(messages), "--tools", TOOLS,
             "--thinking")
    off = cli("request", str(TEMPLATES / "Qwen-Qwen3-0.6B.jinja"), "--messages", str(messages), "--tools", TOOLS,
              "--no-thinking")
    assert on.returncode == off.returncode == 0
    assert json.loads(on.stdout)["prompt"] != json.loads(off.stdout)["prompt"]
    missing = cli("request", QWEN, "--tools", TOOLS)
    assert missing.returncode == 2 and "--messages" in missing.stderr


def test_detect_json_and_human(tmp_path: Path) -> None:
    data = cli("detect", QWEN, "--json")
    assert data.returncode == 0 and json.loads(data.stdout)["tools"]
    human = cli("detect", QWEN)
    assert human.returncode == 0 and "tool calls" in human.stdout and not human.stderr
    plain = tmp_path / "notes.txt"
    plain.write_text("Just some notes, no template here.\n")
    out = cli("detect", str(plain))
    assert out.returncode == 3 and "not a chat template" in out.stderr and out.stdout == ""


def test_usage_errors() -> None:
    assert cli("frobnicate").returncode == 2
    assert cli().returncode == 2
    assert cli("detect").returncode == 2


# --- doctor ------------------------------------------------------------------------------------------

def test_doctor_builds_scenarios_from_the_given_tools(my_tools: str) -> None:
    out = cli("doctor", CODER, "--tools", my_tools, "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    scenarios = {s["scenario"]: s for s in report["templates"][0]["scenarios"]}
    assert {"call:create_ticket", "call:close_ticket", "two_calls", "content_call"} <= set(scenarios)
    assert "get_weather" not in out.stdout
    assert scenarios["call:create_ticket"]["status"] == "pass" and report["ok"] and report["tools"] == "custom"


def test_doctor_reports_known_exceptions_as_expected() -> None:
    out = cli("doctor", GPT_OSS)
    assert out.returncode == 0 and "expected failure: openai-gpt-oss-120b content_call" in out.stdout
    strict = cli("doctor", GPT_OSS, "--strict")
    assert strict.returncode == 1
    data = json.loads(cli("doctor", GPT_OSS, "--json").stdout)
    statuses = {s["scenario"]: s["status"] for s in data["templates"][0]["scenarios"]}
    assert statuses["content_call"] == "expected_fail" and data["ok"] and data["total"]["expected_fail"] == 1
    full = cli("doctor", GPT_OSS, "--full")
    assert "model text: " in full.stdout and "parsed: " in full.stdout


def test_doctor_paths(tmp_path: Path) -> None:
    missing = cli("doctor", str(tmp_path / "nowhere"))
    assert missing.returncode == 3 and "no such file or directory" in missing.stderr and missing.stdout == ""
    empty = cli("doctor", str(tmp_path))
    assert empty.returncode == 3 and "no chat templates" in empty.stderr
    shutil.copy(QWEN, tmp_path / "A.jinja")
    shutil.copy(CODER, tmp_path / "B.jinja")
    both = cli("doctor", str(tmp_path))
    assert both.returncode == 0 and re.search(r"^A\s", both.stdout, re.M) and re.search(r"^B\s", both.stdout, re.M)
    assert both.stderr == ""  # not a terminal: no progress


def test_doctor_shows_progress_on_a_terminal() -> None:
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "pegtool.cli", "doctor", QWEN], stdout=subprocess.PIPE,
                              stderr=slave, cwd=ROOT, env=_env(), timeout=300, text=True)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    err = b"".join(chunks).decode()
    assert proc.returncode == 0 and "doctor [" in err and "1/1" in err
    assert "Qwen-Qwen2.5-7B-Instruct" in proc.stdout


# --- regen -------------------------------------------------------------------------------------------

def test_regen_messages_and_custom_tools(tmp_path: Path, my_tools: str) -> None:
    shutil.copy(QWEN, tmp_path / "Qwen.jinja")
    out = cli("regen", str(tmp_path), "--tools", my_tools)
    assert out.returncode == 0
    assert "1 template in" in out.stdout and "no errors" in out.stdout and "with errors: 0" not in out.stdout
    assert "regen [1/1] Qwen" in out.stderr  # progress (plain lines off a terminal) on stderr
    index = (tmp_path / "INDEX.md").read_text(encoding="utf-8")
    assert "the tools of `my_tools.json`: `create_ticket`, `close_ticket`" in index
    assert "standard tool set" not in index and "1 template," in index
    check = cli("regen", str(tmp_path), "--check")  # the standard set now: stale
    assert check.returncode == 1 and "DIR" not in check.stdout
    assert f"run `pegtool regen {tmp_path}`" in check.stdout
    data = json.loads(cli("regen", str(tmp_path), "--check", "--json", "--tools", my_tools).stdout)
    assert data["ok"] and data["templates"] == 1 and data["diff"] == ""
    assert cli("regen", str(tmp_path / "nowhere")).returncode == 3
