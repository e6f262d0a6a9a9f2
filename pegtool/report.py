"""Stage: command line — human-readable reports: a dialect summary and the doctor's round-trip table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def template_paths(path: str | Path) -> list[Path]:
    """A template file itself, or every chat template directly inside a directory (as ``regen``
    finds them, sorted by name). A path that does not exist is a :class:`PegtoolError`."""
    from pegtool.errors import PegtoolError
    from pegtool.gallery.discover import find_templates

    p = Path(path)
    if not p.exists():
        raise PegtoolError(f"{p}: no such file or directory")
    if not p.is_dir():
        return [p]
    return [p / e.filename for e in find_templates(p)]


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def summarize(data: dict[str, Any]) -> str:
    """A few lines a person can read: dialect, markers, generation prompt, preserved tokens.

    >>> print(summarize({"name": "t", "generation_prompt": "A:", "reasoning": {"mode": "none"},
    ...                  "tools": {"format": "none"}, "preserved_tokens": [], "overrides": []}))
    template           t
    generation prompt  "A:"
    reasoning          none
    tool calls         none
    preserved tokens   -
    overrides applied  -
    dialect entries    -
    """
    tools = data.get("tools") or {}
    reasoning = data.get("reasoning") or {}
    lines = [("template", data.get("name", "?")), ("generation prompt", _show(data.get("generation_prompt", "")))]
    r_mode = reasoning.get("mode", "none")
    if r_mode != "none":
        r_mode += f"  {_show(reasoning.get('start', ''))} … {_show(reasoning.get('end', ''))}"
    lines.append(("reasoning", r_mode))
    t_fmt = tools.get("format", "none")
    markers = [tools.get(k) for k in ("section_start", "call_start", "name_suffix", "call_end", "section_end")]
    if t_fmt == "named":
        t_fmt += ": " + ", ".join(r[0] for r in data.get("dialects") or [] if _is_named(r[0]))
    if t_fmt != "none":
        t_fmt += "  " + " … ".join(_show(m) for m in markers if m)
    lines.append(("tool calls", t_fmt))
    lines.append(("preserved tokens", " ".join(data.get("preserved_tokens") or []) or "-"))
    lines.append(("overrides applied", ", ".join(str(o) for o in data.get("overrides") or []) or "-"))
    lines.append(("dialect entries", entries_text(data.get("dialects") or []) or "-"))
    return "\n".join(f"{k:<18} {v}" for k, v in lines)


def _is_named(entry: str) -> bool:
    from pegtool import dialects

    return dialects.named(entry) is not None


def entries_text(rows: list[Any]) -> str:
    """The :mod:`pegtool.dialects` entries that fired and on what evidence, one phrase each.

    >>> entries_text([["xml_elements", "render", "nested elements"], ["x", "special_tokens", "<|a|>"]])
    'xml_elements (render: nested elements); x (special_tokens: <|a|>)'
    """
    return "; ".join(f"{name} ({source}: {detail})" for name, source, detail in rows)


@dataclass
class DoctorRow:
    """One template's round trip: outcomes, or the error that stopped it."""

    template: str
    dialect: str
    outcomes: list[Any] = field(default_factory=list)
    error: str = ""
    expected: dict[str, str] = field(default_factory=dict)  # known exceptions of this template
    entries: list[Any] = field(default_factory=list)  # pegtool.dialects entries that fired, and why

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failures(self) -> list[Any]:
        """Failed scenarios that are not known exceptions."""
        return [o for o in self.outcomes if o.status == "fail" and o.scenario not in self.expected]

    @property
    def expected_failures(self) -> list[Any]:
        return [o for o in self.outcomes if o.status == "fail" and o.scenario in self.expected]

    @property
    def now_passing(self) -> list[str]:
        """Known exceptions that passed this time."""
        return [o.scenario for o in self.outcomes if o.status == "pass" and o.scenario in self.expected]

    def to_dict(self) -> dict[str, Any]:
        return {
            "template": self.template, "dialect": self.dialect, "error": self.error or None,
            "pass": self.count("pass"), "fail": len(self.failures), "expected_fail": len(self.expected_failures),
            "skip": self.count("skip"), "entries": [list(e) for e in self.entries],
            "scenarios": [{"scenario": o.scenario, "status": self._status(o), "reason": o.detail or o.reason,
                           **({"known_exception": self.expected[o.scenario]} if o.scenario in self.expected
                              and o.status == "fail" else {})} for o in self.outcomes],
        }

    def _status(self, o: Any) -> str:
        return "expected_fail" if o.status == "fail" and o.scenario in self.expected else o.status


def doctor_rows(paths: list[Path], tools: list[dict[str, Any]] | None = None,
                step: Any = None, variant: str | None = None) -> list[DoctorRow]:
    """Round-trip every template (``step(name)`` after each); known exceptions are marked."""
    from pegtool.analysis.exceptions import expected_failures
    from pegtool.analysis.roundtrip import roundtrip_source
    from pegtool.errors import PegtoolError
    from pegtool.template import load_template

    known = expected_failures()
    rows = []
    for p in paths:
        try:
            report = roundtrip_source(load_template(p, variant=variant), tools)
        except PegtoolError as exc:
            row = DoctorRow(Path(p).name, "error", error=str(getattr(exc, "detail", exc)))
        else:
            row = DoctorRow(report.name, report.dialect, report.outcomes,
                            expected={s: r for (t, s), r in known.items() if t == report.name},
                            entries=list(report.entries))
        rows.append(row)
        if step is not None:
            step(row.template)
    return rows


def doctor_table(rows: list[DoctorRow], *, full: bool = False) -> str:
    """The round-trip table; with ``full`` every failure follows it in full."""
    width = max([len(r.template) for r in rows] + [8])
    out = [f"{'template':<{width}}  {'dialect':<18} pass fail  exp skip  first failure"]
    for r in rows:
        first = r.failures[0] if r.failures else None
        why = f"error: {r.error}" if r.error else f"{first.scenario}: {first.reason}" if first else ""
        fail = len(r.failures) + bool(r.error)
        out.append(f"{r.template:<{width}}  {r.dialect:<18} {r.count('pass'):>4} {fail:>4} "
                   f"{len(r.expected_failures):>4} {r.count('skip'):>4}  {why if full else why[:100]}")
    total = [sum(r.count("pass") for r in rows), sum(len(r.failures) + bool(r.error) for r in rows),
             sum(len(r.expected_failures) for r in rows), sum(r.count("skip") for r in rows)]
    out.append(f"{'total':<{width}}  {'':<18} {total[0]:>4} {total[1]:>4} {total[2]:>4} {total[3]:>4}")
    notes = [f"expected failure: {r.template} {o.scenario}: {r.expected[o.scenario]}"
             for r in rows for o in r.expected_failures]
    notes += [f"known exception now passes: {r.template} {s} (remove it from pegtool/analysis/exceptions.py)"
              for r in rows for s in r.now_passing]
    if notes:
        out += [""] + notes
    fired = [(r.template, entries_text(r.entries)) for r in rows if r.entries]
    if fired:
        out += ["", "dialect entries that fired (pegtool.dialects), on what evidence:"]
        out += [f"  {name:<{width}}  {text}" for name, text in fired]
    if full:
        for r in rows:
            for o in r.failures + r.expected_failures:
                out += ["", f"--- {r.template} / {o.scenario}" + (" (expected)" if o in r.expected_failures else "")]
                out.append(o.detail or o.reason)
    return "\n".join(out)
