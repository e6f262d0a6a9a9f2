"""Stage: command line — ``pegtool detect | parse | grammar | request | schema | doctor | serve | regen``.

One argparse parser; every option carries help text, and the README's command table is made from
the same definitions (:func:`command_table`, checked by tests/test_cli_process.py). Output: the
result (JSON, GBNF, a table, a diff) on stdout; warnings, errors and progress on stderr. Exit codes
are :data:`EXIT_OK` .. :data:`EXIT_INPUT` (see ``EXIT_CODES``).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from pegtool import __version__
from pegtool.errors import ParseError, PegtoolError, PegtoolWarning, RequestError, caret_context, line_col

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3
EXIT_CODES = (
    "exit codes: 0 success; 1 a check failed (doctor found a failing round trip, regen --check "
    "found stale files, parse --strict met output that does not match); 2 usage error; "
    "3 unusable input (missing file, not a template, invalid JSON or schema)"
)
DESCRIPTION = (
    "Read a model's chat template, work out how it writes reasoning and tool calls, and turn that "
    "into a parser for its output and a lazy GBNF grammar for llama.cpp."
)
TOOLS_HELP = "JSON file of OpenAI tools: a list, or an object with a 'tools' list"
COMMON_NOTE = ("Every command also takes `-q`/`--quiet` (no warnings, no progress) and "
               "`-W error|ignore|default` (warnings: as errors, hidden, or shown once each on stderr).")


class UsageError(Exception):
    """A command line that cannot be run as given (exit 2, with the command's usage)."""


# --- input ---------------------------------------------------------------------------------------

def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PegtoolError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PegtoolError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise PegtoolError(f"{path}: not UTF-8 text ({exc.reason})") from None


def _read_json(path: str, what: str = "") -> Any:
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        name = "stdin" if path == "-" else path
        raise PegtoolError(f"{name}: not valid JSON{what}: {exc}") from exc


def _tools(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    path = getattr(args, "tools", None)
    if not path:
        return None
    from pegtool.gallery.runner import load_tools

    return load_tools(path)


def _tool_names(tools: list[dict[str, Any]] | None) -> list[str]:
    return [str(t.get("function", t).get("name", "")) for t in tools or []]


def _tool_choice(args: argparse.Namespace, tools: list[dict[str, Any]] | None) -> Any:
    value = getattr(args, "tool_choice", "auto")
    if value in ("auto", "required", "none"):
        return value
    names = _tool_names(tools)
    if not tools:
        raise UsageError(f"--tool-choice {value}: a tool name needs --tools")
    if value not in names:
        raise UsageError(f"--tool-choice {value}: no tool of that name in --tools (tools: {', '.join(names)})")
    return {"type": "function", "function": {"name": value}}


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _note(text: str) -> None:
    sys.stderr.write(f"pegtool: {text}\n")


def _format(args: argparse.Namespace) -> Any:
    from pegtool.format import ChatFormat

    return ChatFormat.load(args.template, variant=getattr(args, "variant", None))


def _prepare(args: argparse.Namespace, messages: list[dict[str, Any]] | None = None,
             fmt: Any = None) -> Any:
    tools = _tools(args)
    choice = _tool_choice(args, tools)
    fmt = fmt or _format(args)
    # parse / grammar take no conversation: a placeholder user turn renders the generation prompt;
    # `request` passes the client's messages as they are
    msgs = [{"role": "user", "content": "Hello"}] if messages is None else messages
    return fmt.prepare(msgs, tools, tool_choice=choice, enable_thinking=getattr(args, "thinking", None),
                       call_id_seed=getattr(args, "id_seed", None))


# --- commands ------------------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace) -> int:
    if not args.model and not (args.upstream and args.template):
        raise UsageError("give MODEL.gguf (or, with --upstream, --template)")
    from pegtool.serve.main import run

    return run(args)


def cmd_detect(args: argparse.Namespace) -> int:
    data = _format(args).analysis.to_dict()
    if args.json:
        _emit(data)
    else:
        from pegtool.report import summarize

        sys.stdout.write(summarize(data) + "\n")
    return EXIT_OK


def _markup_without_tools(fmt: Any, text: str) -> tuple[int, str] | None:
    """(position, marker) of the first tool-call marker in ``text`` when the template has one."""
    t = fmt.analysis.tools
    if t.format.value == "none":
        return None
    hits = [(text.find(m), m) for m in {t.section_start.strip(), t.call_start.strip()} if m and m in text]
    return min(hits) if hits else None


def cmd_parse(args: argparse.Namespace) -> int:
    fmt = _format(args)
    prep = _prepare(args, fmt=fmt)
    if args.output == "-" and sys.stdin.isatty() and not args.quiet:
        _note("reading the model output from stdin (end it with Ctrl-D)")
    text = _read_text(args.output)
    if args.stream:
        _print_stream(prep, text, args.chunk, args.model)
        return EXIT_OK
    markup = None if args.tools else _markup_without_tools(fmt, text)
    if markup is not None and args.strict:
        pos, marker = markup
        line, col = line_col(text, pos)
        sys.stderr.write(f"pegtool: tool-call markup {marker!r} at line {line}, column {col}, but no --tools "
                         f"were given (pass the tools the model was offered)\n{caret_context(text, pos)}\n")
        return EXIT_CHECK_FAILED
    try:
        msg = prep.parser.parse(text, strict=args.strict)
    except ParseError as exc:
        sys.stderr.write(f"pegtool: {exc}\n")
        return EXIT_CHECK_FAILED
    if markup is not None:
        warnings.warn(PegtoolWarning(f"the output holds tool-call markup {markup[1]!r} but no --tools were "
                                     "given: it is returned as content"), stacklevel=1)
    out = msg.to_openai()
    if msg.diagnostics:
        out["diagnostics"] = [d.to_dict() for d in msg.diagnostics]
    _emit(out)
    return EXIT_OK


def _print_stream(prep: Any, text: str, chunk: int = 1, model: str = "") -> None:
    """``parse --stream``: the ``chat.completion.chunk`` objects a server would send for the
    output fed ``chunk`` characters at a time (role first, every delta including those
    ``finish()`` releases, then the finish reason), one JSON line each."""
    from pegtool.integrations.openai_shapes import stream_chunks

    size = max(1, chunk)
    pieces = (text[i : i + size] for i in range(0, len(text), size))
    for obj in stream_chunks(prep.parser, pieces, lambda: None, model=model):
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def cmd_grammar(args: argparse.Namespace) -> int:
    if not args.tools:
        raise UsageError("--tools is required: the grammar constrains tool calls to the tools you offer "
                         "(a JSON list of OpenAI tools; pegtool/data/tools.json is an example)")
    prep = _prepare(args)
    if args.json:
        from pegtool.engines.requests import engine_fields

        body = prep.to_llama_server() if args.engine == "llama.cpp" else engine_fields(prep, args.engine)
        body.pop("prompt", None)
        _emit(body)
        return EXIT_OK
    text = prep.grammar_for(args.engine)
    if text is None:
        _note("no grammar: with --tool-choice none the output is not constrained")
        return EXIT_OK
    sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    return EXIT_OK


def cmd_request(args: argparse.Namespace) -> int:
    messages = _read_json(args.messages, " (messages)")
    if isinstance(messages, dict):
        messages = messages.get("messages", messages)
    try:  # the request layer names what is wrong (an empty list, a message without a role, ...)
        prep = _prepare(args, messages)
    except RequestError as exc:
        if not exc.field.startswith("messages"):
            raise
        raise PegtoolError(f"{args.messages}: {exc}") from exc
    _emit(prep.to_llama_server())
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from pegtool.gbnf import json_schema_to_gbnf

    text = json_schema_to_gbnf(_read_json(args.schema))
    if args.json:
        _emit({"grammar": str(text), "warnings": list(text.warnings)})
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def _progress(total: int, label: str, quiet: bool) -> Any:
    """A progress bar on stderr when it is an interactive terminal; else nothing."""
    from pegtool.gallery.progress import Progress, is_interactive

    if quiet or not is_interactive(sys.stderr):
        return None
    return Progress(total, sys.stderr, bar=True, label=label)


def cmd_doctor(args: argparse.Namespace) -> int:
    from pegtool.report import doctor_rows, doctor_table, template_paths

    paths = template_paths(args.path)
    if not paths:
        raise PegtoolError(f"{args.path}: no chat templates in this directory (*.jinja, *.gguf, "
                           "tokenizer_config.json, chat_template.json)")
    tools = _tools(args)
    progress = _progress(len(paths), "doctor", args.quiet)
    try:
        rows = doctor_rows(paths, tools, step=(lambda name: progress.step(name, 0.0)) if progress else None,
                           variant=args.variant)
    finally:
        if progress is not None:
            progress.close()
    failed = any(r.failures or r.error for r in rows) or (args.strict and any(r.expected_failures for r in rows))
    if args.json:
        total = {k: sum(r.to_dict()[k] for r in rows) for k in ("pass", "fail", "expected_fail", "skip")}
        total["fail"] += sum(bool(r.error) for r in rows)
        from pegtool.analysis.roundtrip import SCENARIOS, scenarios_for

        standard = scenarios_for(tools) is SCENARIOS
        _emit({"ok": not failed, "strict": args.strict, "tools": "standard" if standard else "custom",
               "total": total, "templates": [r.to_dict() for r in rows]})
    else:
        sys.stdout.write(doctor_table(rows, full=args.full) + "\n")
        if not args.full and any(r.failures or r.expected_failures for r in rows):
            _note("run with --full to see each failure in full")
    return EXIT_CHECK_FAILED if failed else EXIT_OK


def cmd_regen(args: argparse.Namespace) -> int:
    from pegtool.gallery import run_regen

    result = run_regen(args.dir, tools_path=args.tools, check=args.check, quiet=args.quiet)
    if args.json:
        _emit(result.to_dict())
    else:
        sys.stdout.write(result.diff())
        sys.stdout.write(result.report() + "\n")
    return EXIT_OK if result.ok else EXIT_CHECK_FAILED


# --- the parser ----------------------------------------------------------------------------------

class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("output")
    g.add_argument("-q", "--quiet", action="store_true", help="print no warnings and no progress")
    g.add_argument("-W", "--warnings", choices=("default", "ignore", "error"), default="default",
                   metavar="{default,ignore,error}",
                   help="pegtool warnings (schema keywords not enforced, ...): shown once each on stderr "
                        "(default), hidden, or treated as errors (exit 3)")
    return p


def _add_template(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("template", metavar="TEMPLATE",
                    help="chat template: .jinja, tokenizer_config.json, chat_template.json or .gguf")
    sp.add_argument("--variant", metavar="NAME",
                    help="named template of a file that holds several (e.g. 'tool_use')")


def _add_request(sp: argparse.ArgumentParser, tools_required: bool) -> None:
    tools = sp.add_argument("--tools", metavar="FILE", help=TOOLS_HELP + (" (required)" if tools_required else ""))
    tools.required_by_command = tools_required  # type: ignore[attr-defined] # checked by the command
    sp.add_argument("--tool-choice", default="auto", metavar="{auto,required,none,NAME}",
                    help="auto (default): free text until the model starts a call; required: a call is "
                         "forced; none: no calls; NAME: a call of that tool is forced")
    sp.add_argument("--thinking", action=argparse.BooleanOptionalAction, default=None,
                    help="render with enable_thinking on / off (default: the template's own default)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pegtool", description=DESCRIPTION, epilog=EXIT_CODES,
                                formatter_class=_Formatter)
    p.add_argument("--version", action="version", version=f"pegtool {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    common = _common()

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".",
                            epilog=EXIT_CODES, parents=[common], formatter_class=_Formatter)
        sp.set_defaults(func=fn, subparser=sp)
        return sp

    sp = add("detect", cmd_detect, "the dialect: markers, generation prompt, preserved tokens, overrides applied")
    _add_template(sp)
    sp.add_argument("--json", action="store_true", help="print the full analysis as JSON")

    sp = add("parse", cmd_parse, "the OpenAI message parsed from model output (or, with --stream, the chunks a server would send)")
    _add_template(sp)
    sp.add_argument("output", metavar="OUTPUT", nargs="?", default="-",
                    help="file holding the model's output ('-' or absent: stdin)")
    _add_request(sp, tools_required=False)
    sp.add_argument("--strict", action="store_true",
                    help="fail (exit 1) on output that does not match the grammar, or that holds tool-call "
                         "markup when no --tools were given")
    sp.add_argument("--stream", action="store_true",
                    help="print the chat.completion.chunk objects a server would send, one JSON line each "
                         "(role first, every delta, then the finish reason)")
    sp.add_argument("--chunk", type=int, default=1, metavar="N",
                    help="characters fed per chunk with --stream (default 1)")
    sp.add_argument("--model", default="", metavar="NAME", help="the model name the --stream chunks carry")
    sp.add_argument("--id-seed", type=int, default=None, metavar="N",
                    help="make the call ids pegtool generates reproducible (default: random, unique per response)")

    sp = add("grammar", cmd_grammar, "the grammar for the tools (llama.cpp GBNF, llguidance Lark, "
                                     "xgrammar EBNF), or all llama-server fields")
    _add_template(sp)
    _add_request(sp, tools_required=True)
    sp.add_argument("--json", action="store_true",
                    help="print the llama-server fields (grammar, grammar_lazy, grammar_triggers, "
                         "preserved_tokens, generation_prompt) as JSON; with another --engine: its "
                         "grammar, warnings (and xgrammar's structural tag)")
    sp.add_argument("--engine", choices=("llama.cpp", "llguidance", "xgrammar"), default="llama.cpp",
                    metavar="{llama.cpp,llguidance,xgrammar}",
                    help="grammar language: llama.cpp GBNF (lazy, default), llguidance Lark or xgrammar "
                         "EBNF (whole-output grammar)")

    sp = add("request", cmd_request, "a ready llama-server /completion body")
    _add_template(sp)
    sp.add_argument("--messages", metavar="FILE", required=True,
                    help="JSON file of chat messages: a list, or an object with a 'messages' list")
    _add_request(sp, tools_required=False)

    sp = add("schema", cmd_schema, "the GBNF for a JSON Schema")
    sp.add_argument("schema", metavar="SCHEMA", help="JSON Schema file ('-' reads stdin)")
    sp.add_argument("--json", action="store_true", help="print {grammar, warnings} as JSON")

    sp = add("doctor", cmd_doctor, "the round-trip table of one template or a directory of them")
    sp.add_argument("path", metavar="PATH", help="a chat template, or a directory of chat templates")
    sp.add_argument("--tools", metavar="FILE",
                    help=TOOLS_HELP + "; the scenarios call these tools (default: the standard set)")
    sp.add_argument("--strict", action="store_true",
                    help="also fail (exit 1) on the known exceptions listed in the README")
    sp.add_argument("--json", action="store_true", help="print every scenario's outcome as JSON")
    sp.add_argument("--full", action="store_true",
                    help="print each failure in full: model text, expected and parsed message")
    sp.add_argument("--variant", metavar="NAME",
                    help="named template of each file that holds several (e.g. 'tool_use')")

    sp = add("serve", cmd_serve, "an OpenAI-compatible chat endpoint for a GGUF model (needs the serve extra)")
    sp.add_argument("model", metavar="MODEL", nargs="?",
                    help="the model's GGUF file (its chat template too, unless --template); "
                         "with --upstream only the template is read from it")
    sp.add_argument("--host", default="127.0.0.1", metavar="ADDR", help="address to listen on (default 127.0.0.1)")
    sp.add_argument("--port", type=int, default=8000, metavar="N", help="port to listen on (default 8000)")
    sp.add_argument("--template", metavar="TEMPLATE",
                    help="chat template to use instead of the GGUF's own (.jinja, tokenizer_config.json, ...)")
    sp.add_argument("--n-ctx", type=int, default=4096, metavar="N", help="context size in tokens (default 4096)")
    sp.add_argument("--upstream", metavar="URL",
                    help="generate on a running llama-server (its /completion) instead of loading the model")
    sp.add_argument("--log-requests", action="store_true",
                    help="log each request on stderr: options, status, finish reason, usage, raw model text")

    sp = add("regen", cmd_regen, "regenerate the gallery artefacts of a directory of templates")
    sp.add_argument("dir", metavar="DIR", help="directory of chat templates (the gallery)")
    sp.add_argument("--tools", metavar="FILE",
                    help=TOOLS_HELP + "; the grammars and the round trip use them (default: the standard set)")
    sp.add_argument("--check", action="store_true",
                    help="write nothing; print a diff of stale files and fail (exit 1) if any")
    sp.add_argument("--json", action="store_true",
                    help="print a JSON summary (templates, errors, changed files, the diff)")
    return p


# --- README table ----------------------------------------------------------------------------------

_COMMON_DESTS = {"help", "quiet", "warnings"}


def _synopsis(name: str, sp: argparse.ArgumentParser) -> str:
    parts = [f"pegtool {name}"]
    actions = [a for a in sp._actions if a.dest not in _COMMON_DESTS]  # noqa: SLF001 - no public list
    for a in actions:
        if not a.option_strings:
            parts.append(f"[{a.metavar}]" if a.nargs == "?" else str(a.metavar))
    for a in actions:
        if not a.option_strings:
            continue
        if isinstance(a, argparse.BooleanOptionalAction):
            text = "|".join(a.option_strings)
        elif a.nargs == 0:
            text = a.option_strings[0]
        else:
            text = f"{a.option_strings[-1]} {a.metavar}"
        required = a.required or getattr(a, "required_by_command", False)
        parts.append(text if required else f"[{text}]")
    return " ".join(parts)


def subcommands(parser: argparse.ArgumentParser | None = None) -> dict[str, argparse.ArgumentParser]:
    parser = parser or _parser()
    for a in parser._actions:  # noqa: SLF001
        if isinstance(a, argparse._SubParsersAction):  # noqa: SLF001
            return dict(a.choices)
    return {}


def command_table() -> str:
    """The README's command table, made from the parser (tests/test_cli_process.py compares)."""
    parser = _parser()
    helps = {c.dest: c.help for a in parser._actions if isinstance(a, argparse._SubParsersAction)  # noqa: SLF001
             for c in a._choices_actions}  # noqa: SLF001
    rows = ["| command | what it does |", "| --- | --- |"]
    for name, sp in subcommands(parser).items():
        syn = _synopsis(name, sp).replace("|", "\\|")
        rows.append(f"| `{syn}` | {helps[name]} |")
    return "\n".join(rows) + "\n\n" + COMMON_NOTE


# --- main ------------------------------------------------------------------------------------------

class _WarningPrinter:
    """Pegtool warnings as ``pegtool: warning: ...`` lines on stderr, each text once."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.seen = stream, set[str]()
        self.previous = warnings.showwarning

    def __call__(self, message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
        if not issubclass(category, PegtoolWarning):
            self.previous(message, category, filename, lineno, file, line)
            return
        text = str(message)
        if text not in self.seen:
            self.seen.add(text)
            self.stream.write(f"pegtool: warning: {text}\n")


def _run(args: argparse.Namespace) -> int:
    mode = "ignore" if args.quiet else args.warnings
    with warnings.catch_warnings():
        if mode == "ignore":
            warnings.simplefilter("ignore", PegtoolWarning)
        elif mode == "error":
            warnings.simplefilter("error", PegtoolWarning)
        else:
            warnings.simplefilter("always", PegtoolWarning)  # the printer shows each text once
        warnings.showwarning = _WarningPrinter(sys.stderr)
        return int(args.func(args))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help / --version
        return int(exc.code or 0)
    try:
        return _run(args)
    except UsageError as exc:
        try:
            args.subparser.error(str(exc))
        except SystemExit as stop:
            return int(stop.code or EXIT_USAGE)
        return EXIT_USAGE  # pragma: no cover - error() always exits
    except PegtoolWarning as exc:  # -W error
        _note(f"error (a warning, with -W error): {exc}")
        return EXIT_INPUT
    except (PegtoolError, OSError) as exc:
        _note(f"error: {exc}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        _note("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
