"""Stage: serve — the ``pegtool serve`` command: load, print a banner, run uvicorn.

:func:`build_host` loads the chat template (``--template``, or the GGUF's own) and the model
(with a progress line on stderr), or connects to ``--upstream``; :func:`run` prints the banner
(dialect, trigger kind, URL) and serves until interrupted.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from pegtool.errors import PegtoolError

__all__ = ["banner", "build_host", "run"]


class _Progress:
    """``loading MODEL (253 MB) ... 1.8 s`` on one line of stderr, redrawn while a load runs."""

    def __init__(self, label: str, stream: TextIO, quiet: bool = False) -> None:
        self.label, self.stream, self.quiet = label, stream, quiet
        self.done = threading.Event()
        self.start = time.perf_counter()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.thread = threading.Thread(target=self._draw, daemon=True)

    def _draw(self) -> None:
        while not self.done.wait(0.25):
            if self.tty:
                self.stream.write(f"\r{self.label} ... {time.perf_counter() - self.start:.1f} s")
                self.stream.flush()

    def __enter__(self) -> _Progress:
        if not self.quiet:
            self.stream.write(f"{self.label} ..." if self.tty else f"{self.label} ...\n")
            self.stream.flush()
            self.thread.start()
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self.done.set()
        if self.quiet:
            return
        self.thread.join()
        outcome = "failed" if kind else "done"
        prefix = "\r" if self.tty else ""
        self.stream.write(f"{prefix}{self.label} ... {outcome} in {time.perf_counter() - self.start:.1f} s\n")
        self.stream.flush()


def _size(path: Path) -> str:
    try:
        return f"{path.stat().st_size / 1e6:.0f} MB"
    except OSError:
        return "?"


def build_host(model: str | None, *, template: str | None = None, n_ctx: int = 4096,
               upstream: str | None = None, n_threads: int | None = None,
               stream: TextIO | None = None, quiet: bool = False) -> Any:
    """The host ``pegtool serve`` serves: a loaded model, or the ``upstream`` llama-server."""
    from pegtool.format import ChatFormat
    from pegtool.serve.host import LocalHost, UpstreamHost, load_llama, model_id_of

    err = stream or sys.stderr
    source = template or model
    if not source:
        raise PegtoolError("give MODEL.gguf, or --template with --upstream")
    if model and not Path(model).exists():
        raise PegtoolError(f"{model}: no such file")
    with _Progress(f"pegtool serve: reading the chat template of {source}", err, quiet):
        fmt = ChatFormat.load(source)
    model_id = model_id_of(model or source)
    if upstream:
        return UpstreamHost(upstream, fmt, model_id)
    assert model is not None
    with _Progress(f"pegtool serve: loading {model} ({_size(Path(model))})", err, quiet):
        llama = load_llama(model, n_ctx=n_ctx, n_threads=n_threads)
    return LocalHost(llama, fmt, model_id)


def banner(host: Any, url: str) -> str:
    """What the server says when it is ready: model, engine, dialect, trigger kind, URL."""
    from pegtool.serve.host import probe_triggers

    a = host.fmt.analysis
    reasoning = a.reasoning.mode.value if hasattr(a.reasoning.mode, "value") else str(a.reasoning.mode)
    tools = a.tools.format.value if hasattr(a.tools.format, "value") else str(a.tools.format)
    return "\n".join([
        f"pegtool serve: {host.model_id} on {host.kind}",
        f"  dialect    {a.name}: tool calls {tools}, reasoning {reasoning}",
        f"  trigger    {probe_triggers(host.fmt)}",
        f"  endpoint   {url}/v1/chat/completions  (also {url}/v1/models, {url}/health)",
    ])


def run(args: Any) -> int:
    """``pegtool serve``: serve until interrupted (Ctrl-C)."""
    try:
        import uvicorn

        from pegtool.serve.app import create_app
    except ImportError as exc:
        raise PegtoolError(f"pegtool serve needs the serve extra: pip install 'pegtool[serve]' ({exc})") from exc
    host = build_host(args.model, template=args.template, n_ctx=args.n_ctx, upstream=args.upstream,
                      quiet=args.quiet)
    try:
        app = create_app(host, log_requests=args.log_requests)
        url = f"http://{args.host}:{args.port}"
        sys.stderr.write(banner(host, url) + "\n")
        sys.stderr.flush()
        config = uvicorn.Config(app, host=args.host, port=args.port, log_level="info" if args.log_requests else "warning",
                                timeout_graceful_shutdown=5)
        try:
            uvicorn.Server(config).run()
        except KeyboardInterrupt:  # uvicorn shut down cleanly, then passes Ctrl-C on
            pass
        sys.stderr.write("pegtool serve: stopped\n")
    finally:
        host.close()
    return 0
