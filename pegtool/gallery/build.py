"""Stage: gallery — build every artefact of one template in memory (no file is written here).

Each stage (load, analysis, grammar for tool_choice auto, grammar for required, round trip) is
guarded: a stage that raises records its error in the artefacts and the others carry on. Output
is deterministic: the clock seen by ``strftime_now`` is fixed, error texts lose absolute paths and
object addresses, and every JSON file has sorted keys.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pegtool.gallery.discover import Entry

DEFAULT_STAGE_TIMEOUT_S = 60.0
FIXED_NOW = datetime(2025, 1, 15, 12, 0, 0)
MESSAGES: tuple[dict[str, str], ...] = ({"role": "user", "content": "Hello"},)
ARTEFACTS = ("SUMMARY.md", "analysis.json", "grammar-required.gbnf", "grammar.gbnf", "server.json")
SERVER_DROP = ("prompt", "grammar")
TRIGGER_KINDS = {0: "token", 1: "word", 2: "pattern", 3: "pattern_full"}

T = TypeVar("T")


@dataclass
class Built:
    """Everything generated for one template: artefact texts and the facts the index needs."""

    entry: Entry
    files: dict[str, str] = field(default_factory=dict)
    analysis: dict[str, Any] | None = None
    server: dict[str, Any] | None = None
    grammar_rules: dict[str, int] = field(default_factory=dict)
    roundtrip: dict[str, Any] | None = None
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # sorted, deduplicated

    @property
    def trigger_kind(self) -> str:
        return trigger_kind(self.server)


def dumps(obj: Any) -> str:
    """Canonical JSON text of an artefact: sorted keys, two-space indent, UTF-8, final newline."""
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def trigger_kind(server: dict[str, Any] | None) -> str:
    """``word``, ``pattern_full``, ... (sorted, comma-separated), ``eager``/``none`` without triggers."""
    if server is None:
        return "error"
    kinds = sorted({_kind_name(t.get("type")) for t in server.get("grammar_triggers") or ()})
    if kinds:
        return ", ".join(kinds)
    return "none" if server.get("grammar_file") is None else "eager"


def _kind_name(value: Any) -> str:
    return TRIGGER_KINDS.get(value, str(value)) if isinstance(value, int) else str(value)


@contextlib.contextmanager
def fixed_clock(now: datetime = FIXED_NOW) -> Iterator[None]:
    """Make the template global ``strftime_now`` return ``now`` while the block runs.

    The renderer's ``now=`` parameter would be the clean way, but the analysis and the front door
    build their own renderers; the sandbox reads ``datetime.now()`` from its module namespace.
    """
    from pegtool.template import sandbox

    real = sandbox.datetime

    class _Frozen(real):  # type: ignore[valid-type, misc]
        @classmethod
        def now(cls, tz: Any = None) -> datetime:
            return now.replace(tzinfo=tz) if tz is not None else now

    sandbox.datetime = _Frozen  # type: ignore[misc]
    try:
        yield
    finally:
        sandbox.datetime = real  # type: ignore[misc]


_ADDR = re.compile(r" at 0x[0-9a-fA-F]+")


def clean_error(exc: BaseException, directory: Path) -> str:
    """A one-line, machine-independent text of ``exc``: no absolute paths, no object addresses."""
    text = f"{type(exc).__name__}: {exc}"
    for prefix in sorted({str(directory.resolve()), str(directory)}, key=len, reverse=True):
        if prefix not in ("", "."):
            text = text.replace(prefix + "/", "").replace(prefix, ".")
    text = _ADDR.sub("", text)
    return " ".join(text.split())[:500]


class StageTimeout(BaseException):
    """A stage ran past its time budget (a BaseException, so that ``except Exception`` in the
    stage's own code cannot swallow it)."""


def stage_timeout() -> float:
    """Seconds one stage may take (``PEGTOOL_REGEN_TIMEOUT``, default 60; 0 disables the limit)."""
    try:
        return float(os.environ.get("PEGTOOL_REGEN_TIMEOUT", "") or DEFAULT_STAGE_TIMEOUT_S)
    except ValueError:
        return DEFAULT_STAGE_TIMEOUT_S


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`StageTimeout` in the block after ``seconds`` (POSIX main thread only)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if seconds <= 0 or not usable:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise StageTimeout(f"took longer than {seconds:g}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class _Stages:
    """Runs guarded, time-limited stages for one template, collecting their errors."""

    def __init__(self, built: Built, directory: Path) -> None:
        self.built, self.directory, self.timeout = built, directory, stage_timeout()

    def run(self, stage: str, fn: Callable[[], T]) -> T | None:
        try:
            with time_limit(self.timeout):
                return fn()
        except (Exception, StageTimeout) as exc:  # noqa: BLE001 - one template must not stop the gallery
            self.built.errors[stage] = clean_error(exc, self.directory)
            return None


def build_template(directory: Path, entry: Entry, tools: list[dict[str, Any]],
                   standard_tools: list[dict[str, Any]]) -> Built:
    """All artefacts of ``entry`` (a template file in ``directory``), errors recorded, never raised."""
    built = Built(entry)
    _forget_cached_analyses()
    with fixed_clock(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _fill(built, _Stages(built, directory), directory / entry.filename, tools, standard_tools)
    built.warnings = sorted({" ".join(f"{w.category.__name__}: {w.message}".split()) for w in caught})
    from pegtool.gallery.markdown import summary_md

    built.files["SUMMARY.md"] = summary_md(built)
    return built


def _fill(built: Built, st: _Stages, path: Path, tools: list[dict[str, Any]],
          standard_tools: list[dict[str, Any]]) -> None:
    del standard_tools  # the round trip calls the gallery's tools (scenarios_for picks the scenarios)
    source = st.run("load", lambda: _load(path, built.entry))
    fmt = st.run("load", lambda: _chat_format(source)) if source is not None else None
    if fmt is not None:
        built.analysis = st.run("analysis", lambda: _analysis_dict(fmt))
    grammar = st.run("grammar", lambda: _prepare(fmt, tools, "auto")) if built.analysis else None
    required = st.run("grammar-required", lambda: _prepare(fmt, tools, "required")) if built.analysis else None
    if grammar is not None:
        built.server = _server_fields(grammar)  # computed by _prepare, within the stage's limits
    if built.analysis is not None and roundtrip_available():
        built.roundtrip = st.run("roundtrip", lambda: _roundtrip(source, tools))
    built.files["analysis.json"] = dumps(built.analysis if built.analysis is not None
                                         else {"error": _first_error(built)})
    built.files["grammar.gbnf"] = _gbnf_text(built, grammar, "grammar", "auto")
    built.files["grammar-required.gbnf"] = _gbnf_text(built, required, "grammar-required", "required")
    built.files["server.json"] = dumps(built.server if built.server is not None
                                       else {"error": _first_error(built)})


def _forget_cached_analyses() -> None:
    """Analyse every template from scratch: the analysis cache is keyed by template text, and a
    record cached for an identical template under another file name (probe errors name the file)
    must not leak into this one — else the output would depend on which worker saw what first."""
    import importlib

    try:
        analyze_module = importlib.import_module("pegtool.analysis.analyze")
    except ImportError:
        return
    cache = getattr(analyze_module, "_CACHE", None)
    if isinstance(cache, dict):
        cache.clear()


def _first_error(built: Built) -> str:
    return next(iter(built.errors.values()), "not generated")


def _load(path: Path, entry: Entry) -> Any:
    from pegtool.template import load_template

    source = load_template(path)
    name = entry.stem + (f"/{source.variant}" if source.variant and source.variant != "default" else "")
    return dataclasses.replace(source, name=name, origin=entry.filename)


def _chat_format(source: Any) -> Any:
    from pegtool.format import ChatFormat

    return ChatFormat(source)


def _analysis_dict(fmt: Any) -> dict[str, Any]:
    data = fmt.analysis.to_dict()
    json.dumps(data)  # fail here, as an analysis error, when the record is not JSON data
    return data  # type: ignore[no-any-return]


def _prepare(fmt: Any, tools: list[dict[str, Any]], tool_choice: str) -> Any:
    prep = fmt.prepare([dict(m) for m in MESSAGES], tools, tool_choice=tool_choice)
    _ = prep.grammar  # build the GBNF, triggers and body now, so a failure is recorded against this stage
    _ = prep.to_llama_server()
    return prep


def _server_fields(prep: Any) -> dict[str, Any]:
    body = {k: v for k, v in prep.to_llama_server().items() if k not in SERVER_DROP}
    body["grammar_file"] = "grammar.gbnf" if prep.grammar is not None else None
    body["tool_choice"] = "auto"
    return body


def _gbnf_text(built: Built, prep: Any, stage: str, tool_choice: str) -> str:
    if prep is None:
        why = built.errors.get(stage) or _first_error(built)
        return f"# pegtool regen: no grammar for tool_choice {tool_choice}: {why}\n"
    text: str | None = prep.grammar
    if text is None:
        return f"# pegtool regen: no grammar for tool_choice {tool_choice}: output is unconstrained\n"
    built.grammar_rules[tool_choice] = sum(1 for line in text.splitlines() if "::=" in line)
    return text if text.endswith("\n") else text + "\n"


def roundtrip_available() -> bool:
    """True when the analysis package ships its round-trip self-check."""
    import importlib.util

    try:
        return importlib.util.find_spec("pegtool.analysis.roundtrip") is not None
    except ImportError:
        return False


def _roundtrip(source: Any, tools: list[dict[str, Any]]) -> dict[str, Any]:
    from pegtool.analysis.roundtrip import roundtrip_source

    row: dict[str, Any] = roundtrip_source(source, tools).row()
    return row
