"""The public API is pinned: a change to it is a deliberate edit of this list."""

import subprocess
import sys

import pegtool

EXPECTED = [
    "AnalysisError", "ChatFormat", "ChatMessage", "Diagnostic", "Grammar", "GrammarError",
    "ParseError", "Parser", "PegtoolError", "Prepared", "RequestError", "SchemaError", "Status", "Tag",
    "PegtoolWarning",
    "TemplateError", "ToolCall", "UnsupportedSchemaWarning", "__version__", "json_schema_to_gbnf", "to_gbnf",
]


def test_all_is_pinned() -> None:
    assert sorted(pegtool.__all__) == sorted(EXPECTED)
    for name in pegtool.__all__:
        assert hasattr(pegtool, name), name


def test_errors_form_one_tree() -> None:
    for name in ("AnalysisError", "GrammarError", "ParseError", "RequestError", "SchemaError", "TemplateError"):
        assert issubclass(getattr(pegtool, name), pegtool.PegtoolError)


def test_warnings_form_one_tree() -> None:
    from pegtool.integrations.vocab import TriggerWarning

    assert issubclass(pegtool.UnsupportedSchemaWarning, pegtool.PegtoolWarning)
    assert issubclass(TriggerWarning, pegtool.PegtoolWarning)
    assert issubclass(pegtool.PegtoolWarning, UserWarning)


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "pegtool", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "detect" in out.stdout
