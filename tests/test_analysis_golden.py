"""Every bundled template analyses without an exception and matches its golden analysis file, or
(a golden file holding ``{"error": ...}``) fails with that :class:`AnalysisError` — a template
whose every render fails with the canary tools does not yield an analysis.

Set PEGTOOL_UPDATE_GOLDEN=1 to rewrite the golden files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pegtool.analysis import Analysis, analyze
from pegtool.errors import AnalysisError
from pegtool.template import load_template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((ROOT / "templates").glob("*.jinja"))
GOLDEN = ROOT / "tests" / "golden" / "analysis"


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.stem for p in TEMPLATES])
def test_analysis_matches_golden(path: Path) -> None:
    golden = GOLDEN / (path.stem + ".json")
    expected = json.loads(golden.read_text(encoding="utf-8")) if golden.exists() else {}
    if "error" in expected:
        with pytest.raises(AnalysisError, match=expected["error"]):
            analyze(load_template(path))
        return
    a = analyze(load_template(path))
    data = a.to_dict()
    assert Analysis.from_dict(json.loads(json.dumps(data))) == a
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if os.environ.get("PEGTOOL_UPDATE_GOLDEN") == "1" or not golden.exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert json.loads(golden.read_text(encoding="utf-8")) == data


def test_there_are_seventy_one_templates() -> None:
    assert len(TEMPLATES) == 71
