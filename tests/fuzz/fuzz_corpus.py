"""Fuzz support: one parser per bundled template, the texts its renders give, and the checks.

Each template's analysis is read from the gallery (``templates/<name>/analysis.json``, kept equal
to a fresh analysis by ``pegtool regen --check``), so building the 70 parsers takes seconds,
not the minutes seventy analyses would. Seeds are the round-trip scenario renders
(:mod:`pegtool.analysis.roundtrip`): valid model outputs to mutate and truncate.

The checks (:func:`check_output`) are the properties the fuzz tests enforce on every text:

* lenient parse never raises; strict parse raises nothing but :class:`ParseError`;
* no character lost: every letter and digit of the text outside markup (the grammar's literals
  and markers) is found in the message (content, reasoning, call names, arguments, ids);
* streaming gives what the one-shot parse gives, for the chunkings asked;
* no call names a tool that was not offered.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pegtool.analysis import roundtrip as R
from pegtool.analysis.record import Analysis
from pegtool.errors import ParseError
from pegtool.grammar.chat import build_chat_grammar
from pegtool.grammar.ir import Literal, Until, walk
from pegtool.messages import ChatMessage, apply_deltas
from pegtool.parser.chat import ChatParser
from pegtool.template import Renderer, load_template
from pegtool.template.render import normalize_tools

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
USER = [{"role": "user", "content": "Please help me."}]

#: Examples per property and template group; FUZZ_EXAMPLES=5000 (say) for a long run.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0") or 0)


def examples(ci_default: int) -> int:
    return EXAMPLES or ci_default


@dataclass(frozen=True)
class Case:
    """One template: its parser (the standard tools offered), seeds and markup."""

    name: str
    parser: ChatParser
    seeds: tuple[str, ...]
    markup: tuple[str, ...]  # literals and markers of the grammar, longest first
    offered: frozenset[str]


def _tools() -> list[dict[str, Any]]:
    return normalize_tools(json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text(encoding="utf-8")))


def _markup(parser: ChatParser) -> tuple[str, ...]:
    found: set[str] = set(parser.markers)
    for _, rule in parser.engine.grammar.rules:
        for node in walk(rule):
            if isinstance(node, Literal) and node.text.strip():
                found.add(node.text.strip())
            elif isinstance(node, Until):
                found.update(d.strip() for d in node.delimiters if d.strip())
    return tuple(sorted(found, key=lambda m: (-len(m), m)))


def _seeds(name: str, a: Analysis, tools: list[dict[str, Any]]) -> tuple[str, tuple[str, ...]]:
    """(generation prompt, model texts of every scenario the template renders)."""
    path = next((p for p in TEMPLATES.glob(name + ".*") if p.is_file()), None)
    if path is None:
        return "", ()
    renderer = Renderer(load_template(path))
    gp, texts = "", []
    for spec in R.SCENARIOS.values():
        if R._skip_reason(a, spec):
            continue
        try:
            gp, text = R.model_text(renderer, a, R._message(a, spec), tools, USER)
        except Exception:  # noqa: BLE001 - a scenario the template refuses has no seed
            continue
        texts.append(text)
    return gp, tuple(texts)


@functools.cache
def cases() -> tuple[Case, ...]:
    """Every bundled template the gallery analysed without error."""
    tools = _tools()
    offered = frozenset(t["function"]["name"] for t in tools)
    out = []
    for folder in sorted(p for p in TEMPLATES.iterdir() if p.is_dir()):
        record = folder / "analysis.json"
        if not record.is_file():
            continue
        data = json.loads(record.read_text(encoding="utf-8"))
        if "error" in data:
            continue
        a = Analysis.from_dict(data)
        gp, seeds = _seeds(folder.name, a, tools)
        parser = ChatParser(build_chat_grammar(a, tools, generation_prompt=gp), id_seed=0)
        out.append(Case(folder.name, parser, seeds or ("Hello.",), _markup(parser), offered))
    return tuple(out)


def case_names() -> list[str]:
    return [c.name for c in cases()]


def case(name: str) -> Case:
    return next(c for c in cases() if c.name == name)


_WORD = re.compile(r"[^\W_]", re.UNICODE)


def _letters(text: str) -> Counter[str]:
    return Counter(ch.casefold() for ch in _WORD.findall(text))


def _cut_marker(text: str, markup: tuple[str, ...]) -> str:
    cut = max((k for m in markup for k in range(1, len(m)) if text.endswith(m[:k])), default=0)
    return text[: len(text) - cut]


def _replace_markup(text: str, markup: tuple[str, ...]) -> str:
    for m in markup:
        text = text.replace(m, " ")
    return text


def message_text(msg: ChatMessage) -> str:
    parts = [msg.content, msg.reasoning_content]
    for c in msg.tool_calls:
        parts += [c.name, c.arguments, c.id or ""]
    return "\n".join(parts)


def lost_characters(c: Case, text: str, msg: ChatMessage) -> Counter[str]:
    """Letters and digits of ``text`` (markup aside) that the message does not hold."""
    kept = _letters(message_text(msg))
    # markup removed, and a marker cut off by the end of the text (looked for before and after
    # removing the whole markers, since markers overlap): a letter is lost when lost both ways
    one = _letters(_replace_markup(_cut_marker(text, c.markup), c.markup)) - kept
    two = _letters(_cut_marker(_replace_markup(text, c.markup), c.markup)) - kept
    return one & two


def key(msg: ChatMessage) -> tuple[Any, ...]:
    return (msg.content, msg.reasoning_content,
            tuple((t.name, t.id, t.arguments, t.incomplete) for t in msg.tool_calls))


def stream(parser: ChatParser, text: str, cuts: list[int]) -> ChatMessage:
    """The final message of a stream fed ``text`` cut at ``cuts``; its deltas must add up to it."""
    s = parser.stream()
    last = 0
    for cut in sorted(set(cuts)) + [len(text)]:
        if cut > last:
            s.feed(text[last:cut])
            last = cut
    final = s.finish()
    assert key(apply_deltas(s.deltas))[:2] == key(final)[:2] and [c[:3] for c in key(apply_deltas(s.deltas))[2]] == [
        c[:3] for c in key(final)[2]], "the deltas do not add up to the final message"
    return final


@functools.cache
def by_design(name: str, seed: str) -> Counter[str]:
    """Letters a *valid* seed's own parse leaves out (markup the grammar reads loosely, such as
    Kimi K3's ``type="object"`` annotation): a text made from the seed may leave them out too."""
    c = case(name)
    return lost_characters(c, seed, c.parser.parse(seed))


def check_output(c: Case, text: str, chunkings: list[list[int]] = (),  # type: ignore[assignment]
                 seed: str = "") -> ChatMessage:
    """Assert every fuzzed property on ``text`` (made from ``seed``, if any); the lenient message."""
    msg = c.parser.parse(text)
    try:
        c.parser.parse(text, strict=True)
    except ParseError:
        pass
    lost = lost_characters(c, text, msg) - (by_design(c.name, seed) if seed else Counter())
    assert not lost, f"{c.name}: characters lost {dict(lost)} from {text!r} -> {msg!r}"
    for call in msg.tool_calls:
        assert call.name in c.offered, f"{c.name}: a call to {call.name!r}, which was not offered"
    for cuts in chunkings:
        got = stream(c.parser, text, cuts)
        assert key(got) == key(msg), f"{c.name}: stream {key(got)} != parse {key(msg)} for {text!r} cut at {cuts}"
    return msg
