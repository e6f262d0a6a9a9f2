"""Stage: analysis — self-verification: render assistant messages, parse them back, compare.

For each scenario the template renders an assistant message; the text the model would have
generated (the render minus the prompt with the generation prompt, minus the end-of-turn marker)
is parsed with the chat grammar and the content, reasoning and calls are compared (arguments as
parsed JSON, content and reasoning with surrounding white space ignored).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pegtool import dialects
from pegtool.analysis import probe as P
from pegtool.analysis.analyze import analyze
from pegtool.analysis.diff import first_marker, lcs, marker_safe_prefix
from pegtool.analysis.record import Analysis, ReasoningMode, ToolFormat
from pegtool.errors import AnalysisError, PegtoolError
from pegtool.template import Renderer, TemplateSource, load_template

STANDARD_TOOLS = Path(__file__).resolve().parents[1] / "data" / "tools.json"


def _call(name: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return name, args


SCENARIOS: dict[str, dict[str, Any]] = {
    "content": {"content": "Hello there, how can I help?"},
    "reasoning_content": {"reasoning": "The user greets me.\nI greet back.", "content": "Hi! Nice to meet you."},
    "one_call": {"calls": [_call("get_weather", {"location": "Paris", "unit": "celsius"})]},
    "two_calls": {"calls": [_call("get_weather", {"location": "Paris"}),
                            _call("search", {"query": "weather in Paris"})]},
    "content_call": {"content": "Let me check.", "calls": [_call("get_weather", {"location": "Tokyo"})]},
    "rich_args": {"calls": [_call("search", {
        "query": 'naïve "quoted" \\ back – 東京', "filters": {"lang": "fr", "max_results": 5},
        "tags": ["a", "b c"]})]},
    "code_arg": {"calls": [_call("python", {"code": "def f(x):\n    return {'a': x * 2}\n\nprint(f(3))\n"})]},
    "typed_args": {"calls": [_call("calculate", {"expression": "1 + 2.5", "precision": None}),
                             _call("set_alarm", {"time": "07:30", "repeat": True, "days": ["mon", "fri"]})]},
    "zero_args": {"calls": [_call("list_files", {})]},
}

IDS = ("aB3dE5gH9", "xY7wV5uT3")

_PLAIN = ("content", "reasoning_content")


def _name(tool: dict[str, Any]) -> str:
    return str(tool.get("function", tool).get("name", ""))


def scenarios_for(tools: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """The scenarios to round-trip with ``tools``: :data:`SCENARIOS` for the standard tool set (or
    None); for other tools, content and reasoning as usual, then one call of each tool (arguments
    made from its schema, every property filled), two calls in one message and content + a call.
    A tool no arguments can be made for gets a scenario that is skipped with the reason."""
    if tools is None or _canonical(tools) == _canonical(load_tools()):
        return SCENARIOS
    from pegtool.analysis.examples import example_arguments

    out = {name: SCENARIOS[name] for name in _PLAIN}
    calls: list[tuple[str, dict[str, Any]]] = []
    for tool in tools:
        name = _name(tool)
        args = example_arguments(tool.get("function", tool).get("parameters"))
        if args is None:
            out[f"call:{name}"] = {"calls": [], "skip": "no valid example arguments can be made from the schema"}
        else:
            out[f"call:{name}"] = {"calls": [_call(name, args)]}
            calls.append(_call(name, args))
    if calls:
        out["two_calls"] = {"calls": [calls[0], calls[1 if len(calls) > 1 else 0]]}
        out["content_call"] = {"content": "Let me check.", "calls": [calls[0]]}
    return out


def _canonical(tools: list[dict[str, Any]]) -> str:
    return json.dumps([t.get("function", t) for t in tools], sort_keys=True)


@dataclass
class Outcome:
    scenario: str
    status: str  # "pass" | "fail" | "skip"
    reason: str = ""  # one line (cut): the table's and the gallery's text
    detail: str = ""  # a failure in full: model text, expected and parsed message


@dataclass
class TemplateReport:
    name: str
    dialect: str
    outcomes: list[Outcome] = field(default_factory=list)
    entries: tuple[tuple[str, str, str], ...] = ()  # the dialect registry entries that fired

    @property
    def passed(self) -> int:
        return sum(o.status == "pass" for o in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(o.status == "fail" for o in self.outcomes)

    def row(self) -> dict[str, Any]:
        return {"template": self.name, "dialect": self.dialect, "pass": self.passed, "fail": self.failed,
                "skip": sum(o.status == "skip" for o in self.outcomes),
                "failures": {o.scenario: o.reason for o in self.outcomes if o.status == "fail"},
                "entries": [list(e) for e in self.entries]}


def load_tools() -> list[dict[str, Any]]:
    """The standard tool set (``pegtool/data/tools.json``) the default scenarios call."""
    return json.loads(STANDARD_TOOLS.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _message(a: Analysis, spec: dict[str, Any]) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": spec.get("content", "")}
    if "reasoning" in spec:
        msg[a.reasoning.field] = spec["reasoning"]
    calls = []
    for i, (name, args) in enumerate(spec.get("calls", [])):
        value: Any = json.dumps(args, ensure_ascii=False) if a.canary.args_as == "json" else args
        calls.append({"id": IDS[i], "type": "function", "function": {"name": name, "arguments": value}})
    if calls:
        msg["tool_calls"] = calls
    return msg


def _skip_reason(a: Analysis, spec: dict[str, Any]) -> str:
    if spec.get("skip"):
        return str(spec["skip"])
    calls = spec.get("calls", [])
    if calls and a.tools.format is ToolFormat.NONE:
        return "template shows no tool calls"
    if calls and a.tools.format is ToolFormat.NAMED:
        return "calls come from a named dialect, not from the template's renders"
    if len(calls) > 1 and not a.tools.parallel:
        return "template renders one call per message"
    if "reasoning" in spec and a.reasoning.mode is not ReasoningMode.TAG_BASED:
        return "template renders no reasoning next to content"
    return ""


def model_text(renderer: Renderer, a: Analysis, msg: dict[str, Any], tools: list[dict[str, Any]],
               user: list[dict[str, Any]]) -> tuple[str, str]:
    """(generation prompt, model text) for one assistant message."""
    extra: dict[str, Any] = {"functions": json.dumps([t["function"] for t in tools])} if a.canary.functions_var else {}
    tl = [t["function"] for t in tools] if a.canary.tools_form == "bare" else tools
    base = renderer.render(user, tools=tl, **extra)
    prompt = renderer.render(user, tools=tl, add_generation_prompt=True, **extra)
    full = renderer.render(user + [msg], tools=tl, **extra)
    gp = prompt[marker_safe_prefix(base, prompt):]
    if full.startswith(prompt):
        text = full[len(prompt):]
    else:
        start = marker_safe_prefix(base, full)
        start = next((start - k for k in range(min(len(gp), start) + 1) if full.startswith(gp, start - k)), start)
        text = full[start + len(gp):] if full.startswith(gp, start) else full[marker_safe_prefix(prompt, full):]
        text = _without_appended_turn(text, base, first_marker(gp.strip()))
    return gp, strip_end_of_turn(text, a.end_of_turn)


def _without_appended_turn(text: str, base: str, opener: str) -> str:
    """``text`` without a turn the template writes after every conversation (Command-R+ appends
    an instruction turn after the last message): the tail ``text`` shares with the render
    without the assistant message, from the turn opener on."""
    if not opener:
        return text
    tail = text[len(text) - lcs(text, base):]
    i = tail.find(opener)
    return text[:len(text) - len(tail) + i] if i >= 0 else text


def strip_end_of_turn(text: str, eot: tuple[str, ...]) -> str:
    for marker in eot:
        i = text.rfind(marker)
        if marker and i >= 0:
            return text[:i]
    return text


def _not_rendered(spec: dict[str, Any], text: str) -> str:
    """Why the model text cannot carry ``spec`` back (a part the template does not render)."""
    where = " next to tool calls" if spec.get("calls") else ""
    if spec.get("calls") and not any(name in text for name, _ in spec["calls"]):
        # calls known from a named dialect's evidence (the tool instructions), not from renders
        return "template does not render tool calls"
    content = (spec.get("content") or "").strip()
    if content and content not in text:
        return "template does not render the content" + where
    reasoning = (spec.get("reasoning") or "").strip()
    if reasoning and any(line not in text for line in reasoning.splitlines()):
        return "template does not render the reasoning of this turn" + where
    return ""


def _ambiguous(a: Analysis, spec: dict[str, Any], gp: str, text: str) -> str:
    """Content after a prompt that opens reasoning, rendered without closing it: the model's text
    would be reasoning (it never closed the block the prompt opened; a call may start inside it),
    the template's rendering of history says content."""
    r = a.reasoning
    if r.mode is not ReasoningMode.TAG_BASED:
        return ""
    if "reasoning" in spec:
        start, g = r.start.strip(), gp.rstrip()
        if start and start in g and r.end and r.end in g[g.rfind(start):] and r.end in text:
            # the prompt closed reasoning (thinking off); the template renders this turn's
            # reasoning after it anyway, which the model never writes: its output is content
            return "ambiguous: the generation prompt closes reasoning that the rendered turn still holds"
        return ""
    if not spec.get("content") or (r.end and r.end in text):
        return ""
    opened = gp.rstrip().endswith(r.start.strip()) if r.start.strip() else r.end not in gp
    return "ambiguous: the generation prompt opens reasoning that the rendered turn never closes" if opened else ""


def _without_unrendered_nulls(spec: dict[str, Any], text: str) -> dict[str, Any]:
    """``spec`` less the null arguments whose name the rendered text lacks: a template that leaves
    null arguments out (MiniMax-M3) renders nothing to read them back from."""
    if not spec.get("calls"):
        return spec
    calls = [(n, {k: v for k, v in args.items() if v is not None or k in text}) for n, args in spec["calls"]]
    return {**spec, "calls": calls}


def _compare(spec: dict[str, Any], msg: Any, history_form: bool = False) -> str:
    want_content = (spec.get("content") or "").strip()
    if msg.content.strip() != want_content:
        return f"content {msg.content.strip()[:80]!r} != {want_content[:80]!r}"
    if msg.reasoning_content.strip() != (spec.get("reasoning") or "").strip():
        return f"reasoning {msg.reasoning_content.strip()[:80]!r}"
    want = [(n, a) for n, a in spec.get("calls", [])]
    got = []
    for c in msg.tool_calls:
        try:
            got.append((c.name, json.loads(c.arguments or "{}")))
        except ValueError:
            return f"bad arguments JSON {c.arguments[:80]!r}"
    if got != want:
        return f"calls {got!r}"[:200]
    # a dialect whose template renders the history form (gpt-oss Harmony) reads it back as a repair
    diagnostics = [d for d in msg.diagnostics if not (history_form and d.message.startswith("repaired: "))]
    if diagnostics:
        return "diagnostic: " + str(diagnostics[0])[:160]
    return ""


def _called_tools(spec: dict[str, Any], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {name for name, _ in spec.get("calls", [])}
    return [t for t in tools if t.get("function", t).get("name") in names]


def check_scenario(renderer: Renderer, a: Analysis, name: str, tools: list[dict[str, Any]],
                   spec: dict[str, Any] | None = None) -> Outcome:
    """Round-trip one scenario (``spec``, by default ``SCENARIOS[name]``)."""

    spec = SCENARIOS[name] if spec is None else spec
    skip = _skip_reason(a, spec)
    if skip:
        return Outcome(name, "skip", skip)
    user = [{"role": "user", "content": "Please help me."}]
    try:
        gp, text = model_text(renderer, a, _message(a, spec), tools, user)
    except PegtoolError as exc:
        # a template may break on one tool of the set (Hermes' type macro recurses on
        # ["integer", "null"]): retry with only the tools this scenario calls
        tools = _called_tools(spec, tools)
        if not tools:
            return Outcome(name, "skip", f"render failed: {getattr(exc, 'detail', exc)}"[:200])
        try:
            gp, text = model_text(renderer, a, _message(a, spec), tools, user)
        except PegtoolError:
            return Outcome(name, "skip", f"render failed: {getattr(exc, 'detail', exc)}"[:200])
    if not spec.get("content") and "reasoning" not in spec and not spec.get("calls"):
        return Outcome(name, "skip", "nothing to check")
    lost = _not_rendered(spec, text) or _ambiguous(a, spec, gp, text)
    if lost:
        return Outcome(name, "skip", lost)
    try:
        msg = _parser_for(a, tools, gp).parse(text)
    except Exception as exc:  # noqa: BLE001 - a broken stage is reported in the table, not raised
        return Outcome(name, "fail", f"{type(exc).__name__}: {exc}"[:200], f"{type(exc).__name__}: {exc}")
    problem = _compare(_without_unrendered_nulls(spec, text), msg, dialects.renders_history_form(a))
    if not problem:
        return Outcome(name, "pass")
    return Outcome(name, "fail", f"{problem} | text={text[:120]!r}", _explain(spec, msg, text))


#: the parsers of the last few (analysis, tools, generation prompt): a template's scenarios share one
_PARSERS: dict[tuple[int, str, str], tuple[Analysis, Any]] = {}


def _parser_for(a: Analysis, tools: list[dict[str, Any]], gp: str) -> Any:
    from pegtool.grammar.chat import build_chat_grammar
    from pegtool.parser.chat import ChatParser

    key = (id(a), json.dumps(tools, sort_keys=False, default=str), gp)
    hit = _PARSERS.get(key)
    if hit is not None and hit[0] is a:
        return hit[1]
    parser = ChatParser(build_chat_grammar(a, tools, generation_prompt=gp))
    if len(_PARSERS) >= 16:
        _PARSERS.pop(next(iter(_PARSERS)))
    _PARSERS[key] = (a, parser)
    return parser


def _explain(spec: dict[str, Any], msg: Any, text: str) -> str:
    """The whole story of a failed scenario: what was rendered, expected and parsed back."""
    want = {"content": spec.get("content", ""), "reasoning": spec.get("reasoning", ""),
            "calls": [{"name": n, "arguments": a} for n, a in spec.get("calls", [])]}
    got = msg.to_openai()
    lines = [f"model text: {text!r}", f"expected:   {json.dumps(want, ensure_ascii=False)}",
             f"parsed:     {json.dumps(got, ensure_ascii=False)}"]
    lines += [f"diagnostic: {d}" for d in msg.diagnostics]
    return "\n".join(lines)


def roundtrip_source(source: TemplateSource, tools: list[dict[str, Any]] | None = None) -> TemplateReport:
    """Every scenario of :func:`scenarios_for` ``tools`` (the standard set by default)."""
    scenarios = scenarios_for(tools)
    tools = tools if tools is not None else load_tools()
    try:
        a = analyze(source)
    except AnalysisError as exc:  # every render fails: nothing can be checked
        reason = f"the template cannot be analysed: {str(exc)[:120]}"
        return TemplateReport(source.name, ToolFormat.NONE.value, [Outcome(n, "skip", reason) for n in SCENARIOS])
    report = TemplateReport(source.name, a.tools.format.value, entries=a.dialects)
    renderer = Renderer(source)
    for name, spec in scenarios.items():
        report.outcomes.append(check_scenario(renderer, a, name, tools, spec))
    return report


def roundtrip_table(paths: list[str | Path], tools: list[dict[str, Any]] | None = None,
                    variant: str | None = None) -> list[dict[str, Any]]:
    """One row per template: dialect, counts of passed/failed/skipped scenarios, failure reasons
    (``variant``: the named template of each file to check)."""
    rows = []
    for p in paths:
        try:
            rows.append(roundtrip_source(load_template(p, variant=variant), tools).row())
        except PegtoolError as exc:
            rows.append({"template": Path(p).name, "dialect": "error", "pass": 0, "fail": 1, "skip": 0,
                         "failures": {"load": str(exc)[:200]}})
    return rows


__all__ = ["SCENARIOS", "Outcome", "TemplateReport", "check_scenario", "model_text", "roundtrip_source",
           "roundtrip_table", "scenarios_for", "strip_end_of_turn"]

_ = P  # canary constants are shared with the probes
