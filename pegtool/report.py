"""Stage: command line — human-readable reports: a dialect summary and the round-trip table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEMPLATE_SUFFIXES = (".jinja", ".gguf")
TEMPLATE_NAMES = ("tokenizer_config.json", "chat_template.json")


def template_paths(path: str | Path) -> list[Path]:
    """A template file itself, or every template file directly inside a directory (sorted)."""
    p = Path(path)
    if not p.is_dir():
        return [p]
    return sorted(f for f in p.iterdir() if f.suffix in TEMPLATE_SUFFIXES or f.name in TEMPLATE_NAMES)


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


def doctor_table(path: str | Path, tools: list[dict[str, Any]] | None = None,
                 variant: str | None = None) -> tuple[bool, str]:
    """(all passed, the round-trip table as text) for a template file or directory."""
    from pegtool.analysis.roundtrip import roundtrip_table

    rows = roundtrip_table(list(template_paths(path)), tools, variant)
    width = max([len(r["template"]) for r in rows] + [8])
    out = [f"{'template':<{width}}  {'dialect':<18} pass fail skip  first failure"]
    for r in rows:
        first = next(iter((r.get("failures") or {}).items()), None)
        why = f"{first[0]}: {first[1]}"[:90] if first else ""
        out.append(f"{r['template']:<{width}}  {r['dialect']:<18} {r['pass']:>4} {r['fail']:>4} {r['skip']:>4}  {why}")
    total = [sum(r[k] for r in rows) for k in ("pass", "fail", "skip")]
    out.append(f"{'total':<{width}}  {'':<18} {total[0]:>4} {total[1]:>4} {total[2]:>4}")
    fired = [(r["template"], entries_text(r.get("entries") or [])) for r in rows if r.get("entries")]
    if fired:
        out.append("")
        out.append("dialect entries that fired (pegtool.dialects), on what evidence:")
        out += [f"  {name:<{width}}  {text}" for name, text in fired]
    return total[1] == 0, "\n".join(out)
