"""Tests for the gallery stage: ``pegtool regen DIR [--tools F] [--check]``."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pegtool.cli import main
from pegtool.gallery import ARTEFACTS, FIXED_NOW, find_templates, regen, standard_tools
from pegtool.gallery.build import clean_error, fixed_clock, trigger_kind
from pegtool.gallery.discover import is_template_file, stem_of
from pegtool.gallery.markdown import code
from pegtool.gallery.progress import Progress
from pegtool.gallery.sync import file_diff

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "templates"
# Gemma 2 (no tools), Qwen3-Coder (tagged arguments), Llama 3.1 and 3.3 (identical template text
# under two names: a record cached for one must not leak into the other's artefacts).
REAL = ("google-gemma-2-2b-it.jinja", "Qwen3-Coder.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja",
        "meta-llama-Llama-3.3-70B-Instruct.jinja")

TINY = """\
{%- if tools %}<|im_start|>system
Tools: {{ tools | tojson }}<|im_end|>
{% endif %}
{%- for m in messages %}<|im_start|>{{ m.role }}
{% if m.content %}{{ m.content }}{% endif %}
{%- if m.tool_calls %}{% for tc in m.tool_calls %}<tool_call>
{"name": "{{ tc.function.name }}", "arguments": {{ tc.function.arguments | tojson }}}
</tool_call>{% endfor %}{% endif %}<|im_end|>
{% endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant ({{ strftime_now('%Y-%m-%d') }})
{% endif %}
"""
BROKEN = "{% for m in messages %}{{ m.content }\n"


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _regen(d: Path, **kw: object) -> tuple[bool, str]:
    out = io.StringIO()
    ok = regen(d, out=out, progress_stream=io.StringIO(), **kw)  # type: ignore[arg-type]
    return ok, out.getvalue()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small gallery (real templates, a tiny ChatML one, a broken one), regenerated once."""
    d = tmp_path_factory.mktemp("gallery")
    for name in REAL:
        shutil.copy(TEMPLATES / name, d / name)
    (d / "tiny.jinja").write_text(TINY, encoding="utf-8")
    (d / "broken.jinja").write_text(BROKEN, encoding="utf-8")
    ok, _ = _regen(d, jobs=1)
    assert ok
    return d


@pytest.fixture
def gallery(baseline: Path, tmp_path: Path) -> Path:
    d = tmp_path / "g"
    shutil.copytree(baseline, d)
    return d


def test_regen_writes_every_artefact_and_the_index(baseline: Path) -> None:
    stems = [e.stem for e in find_templates(baseline)]
    assert stems == ["Qwen3-Coder", "broken", "google-gemma-2-2b-it", "meta-llama-Llama-3.1-8B-Instruct",
                     "meta-llama-Llama-3.3-70B-Instruct", "tiny"]
    for stem in stems:
        assert sorted(p.name for p in (baseline / stem).iterdir()) == sorted(ARTEFACTS)
        json.loads((baseline / stem / "analysis.json").read_text(encoding="utf-8"))
        json.loads((baseline / stem / "server.json").read_text(encoding="utf-8"))
    index = (baseline / "INDEX.md").read_text(encoding="utf-8")
    assert all(f"[{s}]({s}/SUMMARY.md)" in index for s in stems)


def test_artefacts_hold_no_machine_specific_text(baseline: Path) -> None:
    for rel, data in _snapshot(baseline).items():
        if rel.endswith(".jinja"):
            continue
        text = data.decode("utf-8")
        assert str(baseline) not in text and str(REPO) not in text, rel
        assert "\r" not in text and text.endswith("\n"), rel


def test_json_artefacts_are_canonical(baseline: Path) -> None:
    for p in baseline.glob("*/*.json"):
        text = p.read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def test_regen_twice_gives_identical_bytes(gallery: Path) -> None:
    before = _snapshot(gallery)
    ok, report = _regen(gallery, jobs=2)
    assert ok and "up to date" in report
    assert _snapshot(gallery) == before


def test_output_does_not_depend_on_hash_seed_or_process(gallery: Path, baseline: Path) -> None:
    env = dict(os.environ, PYTHONHASHSEED="12345", CI="1", PEGTOOL_JOBS="2")
    for p in gallery.glob("*/"):
        shutil.rmtree(p)
    subprocess.run([sys.executable, "-m", "pegtool", "regen", str(gallery)], check=True, cwd=REPO,
                   env=env, capture_output=True)
    got, want = _snapshot(gallery), _snapshot(baseline)
    assert sorted(got) == sorted(want)
    assert [rel for rel in sorted(want) if got[rel] != want[rel]] == []


def test_strftime_now_is_fixed(baseline: Path) -> None:
    analysis = json.loads((baseline / "tiny" / "analysis.json").read_text(encoding="utf-8"))
    day = FIXED_NOW.strftime("%Y-%m-%d")
    assert day in json.dumps(analysis) or "error" in analysis


def test_fixed_clock_restores_the_real_clock() -> None:
    from pegtool.template import Renderer, TemplateSource

    r = Renderer(TemplateSource.from_text("{{ strftime_now('%Y') }}"))
    with fixed_clock():
        assert r.render([]) == "2025"
    assert r.render([]) == str(__import__("datetime").date.today().year)


def test_check_passes_after_regen_via_cli(gallery: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["regen", str(gallery), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_check_fails_after_a_template_edit_and_writes_nothing(
        gallery: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny = gallery / "tiny.jinja"
    tiny.write_text(TINY.replace("<tool_call>", "<tool_use>").replace("</tool_call>", "</tool_use>"),
                    encoding="utf-8")
    before = _snapshot(gallery)
    assert main(["regen", str(gallery), "--check"]) == 1
    out = capsys.readouterr().out
    assert "--- a/tiny/analysis.json" in out and "+++ b/tiny/analysis.json" in out
    assert "+" in out and "<tool_use>" in out and "STALE" in out
    assert _snapshot(gallery) == before
    assert main(["regen", str(gallery)]) == 0
    assert main(["regen", str(gallery), "--check"]) == 0


def test_extra_file_is_reported_then_removed(gallery: Path) -> None:
    (gallery / "tiny" / "old-grammar.gbnf").write_text("root ::= \"x\"\n", encoding="utf-8")
    ok, report = _regen(gallery, check=True)
    assert not ok
    assert "--- a/tiny/old-grammar.gbnf" in report and "+++ /dev/null" in report and "1 extra" in report
    assert _regen(gallery)[0]
    assert not (gallery / "tiny" / "old-grammar.gbnf").exists()
    assert _regen(gallery, check=True)[0]


def test_deleted_template_leaves_a_stale_folder(gallery: Path) -> None:
    (gallery / "tiny.jinja").unlink()
    ok, report = _regen(gallery, check=True)
    assert not ok and "a/tiny/SUMMARY.md" in report
    assert _regen(gallery)[0]
    assert not (gallery / "tiny").exists()
    assert "[tiny]" not in (gallery / "INDEX.md").read_text(encoding="utf-8")


def test_missing_artefact_is_reported(gallery: Path) -> None:
    (gallery / "tiny" / "server.json").unlink()
    ok, report = _regen(gallery, check=True)
    assert not ok and "--- /dev/null" in report and "+++ b/tiny/server.json" in report


def test_an_error_in_one_template_does_not_stop_the_others(baseline: Path) -> None:
    summary = (baseline / "broken" / "SUMMARY.md").read_text(encoding="utf-8")
    assert "## Errors" in summary and "TemplateError" in summary and "broken.jinja:1" in summary
    assert "error" in json.loads((baseline / "broken" / "analysis.json").read_text(encoding="utf-8"))
    assert (baseline / "broken" / "grammar.gbnf").read_text(encoding="utf-8").startswith("# pegtool regen:")
    good = json.loads((baseline / "google-gemma-2-2b-it" / "analysis.json").read_text(encoding="utf-8"))
    assert "error" not in good
    index = (baseline / "INDEX.md").read_text(encoding="utf-8")
    assert "| [broken](broken/SUMMARY.md) | error | error | error | n/a | load |" in index


def test_tools_override_changes_the_grammar(gallery: Path, tmp_path: Path) -> None:
    tools = [t for t in standard_tools() if t["function"]["name"] == "python"]
    path = tmp_path / "tools.json"
    path.write_text(json.dumps({"tools": tools}), encoding="utf-8")
    ok, report = _regen(gallery, tools_path=path, check=True)
    assert not ok and "a/tiny/grammar.gbnf" in report
    assert _regen(gallery, tools_path=path, check=False)[0]
    assert _regen(gallery, tools_path=path, check=True)[0]
    grammar = (gallery / "tiny" / "grammar.gbnf").read_text(encoding="utf-8")
    assert "python" in grammar and "get_weather" not in grammar


def test_tiny_template_gets_a_lazy_grammar_with_its_trigger(baseline: Path) -> None:
    server = json.loads((baseline / "tiny" / "server.json").read_text(encoding="utf-8"))
    assert server["grammar_lazy"] is True and server["grammar_file"] == "grammar.gbnf"
    assert {"type": 1, "value": "<tool_call>"} in server["grammar_triggers"]
    assert "<tool_call>" in server["preserved_tokens"] and "prompt" not in server and "grammar" not in server
    assert "::=" in (baseline / "tiny" / "grammar.gbnf").read_text(encoding="utf-8")
    assert "::=" in (baseline / "tiny" / "grammar-required.gbnf").read_text(encoding="utf-8")
    assert "| [tiny](tiny/SUMMARY.md) | json_native | none | word | pass " in (
        baseline / "INDEX.md").read_text(encoding="utf-8")


def test_bad_tools_file_is_an_input_error(gallery: Path, tmp_path: Path) -> None:
    bad = tmp_path / "tools.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["regen", str(gallery), "--tools", str(bad)]) == 3
    assert main(["regen", str(tmp_path / "nowhere")]) == 3


# --- small units -------------------------------------------------------------------------------------

def test_template_discovery_rules(tmp_path: Path) -> None:
    for name in ("a.jinja", "a.gguf", "tokenizer_config.json", "M.chat_template.json", "notes.json",
                 "README.md", ".hidden.jinja"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "sub.jinja").mkdir()
    found = [(e.stem, e.filename) for e in find_templates(tmp_path)]
    assert found == [("M.chat_template", "M.chat_template.json"), ("a", "a.gguf"), ("a-jinja", "a.jinja"),
                     ("tokenizer_config", "tokenizer_config.json")]
    assert is_template_file(Path("x.jinja")) and not is_template_file(Path("x.json"))
    assert stem_of("x.y.jinja") == "x.y"


def test_markdown_code_spans() -> None:
    assert code("<|im_start|>assistant\n") == "`<|im_start|>assistant\\n`"
    assert code("``") == "``` `` ```"


def test_trigger_kind_names() -> None:
    assert trigger_kind({"grammar_triggers": [{"type": 1, "value": "<t>"}, {"type": 3, "value": "x"}]}) \
        == "pattern_full, word"
    assert trigger_kind({"grammar_triggers": [], "grammar_file": None}) == "none"
    assert trigger_kind({"grammar_triggers": [], "grammar_file": "grammar.gbnf"}) == "eager"
    assert trigger_kind(None) == "error"


def test_clean_error_strips_paths_and_addresses(tmp_path: Path) -> None:
    exc = ValueError(f"{tmp_path}/x.jinja: bad <object at 0x7f00dead>")
    assert clean_error(exc, tmp_path) == "ValueError: x.jinja: bad <object>"


def test_file_diff_shapes() -> None:
    d = file_diff("a/b.txt", b"one\ntwo\n", b"one\nthree\n")
    assert d.startswith("--- a/a/b.txt\n+++ b/a/b.txt\n") and "-two\n+three\n" in d
    assert file_diff("x", None, b"new\n").startswith("--- /dev/null\n+++ b/x\n")
    assert "\\ No newline at end of file" in file_diff("x", b"a", b"b\n")


def test_progress_plain_lines_and_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = io.StringIO()
    p = Progress(2, plain, bar=False)
    p.step("one", 0.5)
    p.step("two", 1.0, failed=True)
    assert plain.getvalue() == "regen [1/2] one 0.50s\nregen [2/2] two 1.00s  (errors)\n"
    bar = io.StringIO()
    q = Progress(2, bar, bar=True)
    q.step("one", 0.1)
    q.step("two", 0.1)
    assert bar.getvalue().count("\r") == 2 and bar.getvalue().endswith("\n") and "#" * 28 in bar.getvalue()
    monkeypatch.setenv("CI", "true")
    assert Progress(1, bar).bar is False


def test_a_stage_that_hangs_is_cut_off_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    from pegtool.gallery.build import Built, _Stages
    from pegtool.gallery.discover import Entry

    def spin() -> None:
        while True:
            try:
                sum(range(1000))
            except Exception:  # noqa: BLE001 - the stage's own handlers must not swallow the timeout
                pass

    monkeypatch.setenv("PEGTOOL_REGEN_TIMEOUT", "0.2")
    built = Built(Entry("x", "x.jinja"))
    assert _Stages(built, Path(".")).run("grammar", spin) is None
    assert built.errors == {"grammar": "StageTimeout: took longer than 0.2s"}
