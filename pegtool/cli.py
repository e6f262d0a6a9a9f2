"""Stage: command line — ``pegtool detect | parse | doctor | schema | grammar | request | regen``.

Exit codes: 0 success; 1 a check failed (``doctor`` found a failing round trip, ``regen --check``
found stale files, ``parse --strict`` met output that does not match); 2 usage error; 3 the input
could not be used (missing file, template or schema error).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pegtool.errors import ParseError, PegtoolError

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3


def _read_json(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PegtoolError(f"{path}: not valid JSON: {exc}") from exc


def _tools(path: str | None) -> list[dict[str, Any]] | None:
    if not path:
        return None
    data = _read_json(path)
    return data["tools"] if isinstance(data, dict) and "tools" in data else data


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _format(args: argparse.Namespace) -> Any:
    from pegtool.format import ChatFormat

    return ChatFormat.load(args.path, variant=getattr(args, "variant", None))


def cmd_detect(args: argparse.Namespace) -> int:
    fmt = _format(args)
    data = fmt.analysis.to_dict()
    if args.json:
        _emit(data)
    else:
        from pegtool.report import summarize

        sys.stdout.write(summarize(data) + "\n")
    return EXIT_OK


def _prepare(args: argparse.Namespace, messages: list[dict[str, Any]] | None = None) -> Any:
    fmt = _format(args)
    # parse / grammar take no conversation: a placeholder user turn renders the generation prompt;
    # `request` passes the client's messages as they are (an empty list is a RequestError)
    msgs = [{"role": "user", "content": "Hello"}] if messages is None else messages
    return fmt.prepare(
        msgs,
        _tools(args.tools),
        tool_choice=_tool_choice(getattr(args, "tool_choice", "auto")),
        enable_thinking=getattr(args, "thinking", None),
    )


def _tool_choice(value: str) -> Any:
    if value in ("auto", "required", "none"):
        return value
    return {"type": "function", "function": {"name": value}}


def cmd_parse(args: argparse.Namespace) -> int:
    prep = _prepare(args)
    text = sys.stdin.read()
    if args.stream:
        from pegtool.integrations.openai_shapes import stream_chunks

        size = max(1, args.chunk)
        pieces = (text[i : i + size] for i in range(0, len(text), size))
        for chunk in stream_chunks(prep.parser, pieces, lambda: None, model=args.model):
            sys.stdout.write(json.dumps(chunk, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        return EXIT_OK
    try:
        msg = prep.parser.parse(text, strict=args.strict)
    except ParseError as exc:
        sys.stderr.write(str(exc) + "\n")
        return EXIT_CHECK_FAILED
    out = msg.to_openai()
    if msg.diagnostics:
        out["diagnostics"] = [d.to_dict() for d in msg.diagnostics]
    _emit(out)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from pegtool.gbnf import json_schema_to_gbnf

    sys.stdout.write(json_schema_to_gbnf(_read_json(args.file)))
    return EXIT_OK


def cmd_grammar(args: argparse.Namespace) -> int:
    prep = _prepare(args)
    if args.json:
        body = prep.to_llama_server()
        body.pop("prompt", None)
        _emit(body)
    else:
        sys.stdout.write((prep.grammar or "") + ("" if (prep.grammar or "").endswith("\n") else "\n"))
    return EXIT_OK


def cmd_request(args: argparse.Namespace) -> int:
    messages = _read_json(args.messages)
    if isinstance(messages, dict) and "messages" in messages:
        messages = messages["messages"]
    _emit(_prepare(args, messages).to_llama_server())
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from pegtool.report import doctor_table

    ok, table = doctor_table(args.path, _tools(args.tools), args.variant)
    sys.stdout.write(table + "\n")
    return EXIT_OK if ok else EXIT_CHECK_FAILED


def cmd_regen(args: argparse.Namespace) -> int:
    from pegtool.gallery import regen

    return EXIT_OK if regen(args.dir, tools_path=args.tools, check=args.check) else EXIT_CHECK_FAILED


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pegtool", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        sp.set_defaults(func=fn)
        return sp

    d = add("detect", cmd_detect, "print a template's dialect")
    d.add_argument("path")
    d.add_argument("--json", action="store_true")
    d.add_argument("--variant")
    for name, fn, help_ in (
        ("parse", cmd_parse, "parse model output from stdin into an OpenAI message"),
        ("grammar", cmd_grammar, "print the GBNF (or all llama-server fields with --json)"),
        ("request", cmd_request, "print a ready llama-server /completion body"),
    ):
        sp = add(name, fn, help_)
        sp.add_argument("path")
        sp.add_argument("--tools")
        sp.add_argument("--variant")
        sp.add_argument("--tool-choice", default="auto")
        sp.add_argument("--thinking", action=argparse.BooleanOptionalAction, default=None)
        if name == "parse":
            sp.add_argument("--strict", action="store_true")
            sp.add_argument("--stream", action="store_true",
                            help="print the chat.completion.chunk objects a server would send, one per line")
            sp.add_argument("--chunk", type=int, default=1, help="characters per fed chunk with --stream")
            sp.add_argument("--model", default="", help="the model name the chunks carry")
        if name == "grammar":
            sp.add_argument("--json", action="store_true")
        if name == "request":
            sp.add_argument("--messages", required=True)
    s = add("schema", cmd_schema, "print the GBNF for a JSON Schema file ('-' reads stdin)")
    s.add_argument("file")
    doc = add("doctor", cmd_doctor, "round-trip table for a template file or a directory of them")
    doc.add_argument("path")
    doc.add_argument("--tools")
    doc.add_argument("--variant", help="the named template of a tokenizer_config.json / GGUF to check")
    r = add("regen", cmd_regen, "regenerate the gallery artefacts in DIR")
    r.add_argument("dir")
    r.add_argument("--tools")
    r.add_argument("--check", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except (PegtoolError, OSError) as exc:
        sys.stderr.write(f"pegtool: {exc}\n")
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
