"""Stage: serve — where generation happens: the model in this process, or an upstream llama-server.

Both hosts turn a checked request into a :class:`~pegtool.format.Prepared` (:meth:`prepare`)
and then into a ``chat.completion`` dict (:meth:`complete`) or an iterator of
``chat.completion.chunk`` dicts (:meth:`stream`). These are blocking calls: the app runs
``prepare`` on its own thread and generation on the host's worker threads. ``cancel`` is asked
between tokens (local) or chunks (upstream) and stops generation when the client went away.

* :class:`LocalHost` — one ``llama_cpp.Llama``, one context: ``workers == 1``, so requests
  queue. Generation is :func:`pegtool.integrations.llama_cpp.complete`.
* :class:`UpstreamHost` — llama-server's ``POST /completion`` with pegtool's prompt, lazy
  grammar, triggers and preserved tokens (:func:`~pegtool.integrations.llama_server.completion_body`),
  its JSON or SSE answer parsed by pegtool (:func:`~pegtool.integrations.llama_server.parse_sse_stream`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pegtool.errors import PegtoolError, RequestError
from pegtool.format import ChatFormat, Prepared
from pegtool.serve.protocol import ServeError

__all__ = ["LocalHost", "UpstreamHost", "load_llama", "probe_triggers"]

Cancel = Callable[[], bool]
TRIGGER_KINDS = {0: "token", 1: "word", 2: "pattern", 3: "full-output pattern"}


def load_llama(path: str, *, n_ctx: int = 4096, n_threads: int | None = None, extra_bufts: bool = False) -> Any:
    """A ``llama_cpp.Llama`` for the GGUF at ``path``.

    ``extra_bufts=False`` loads without llama.cpp's extra CPU buffer types (AMX / repacked
    weights): with llama-cpp-python 0.3.36 their kernels crash the first decode on some CPUs
    (this project's test machines among them); the results are the same.
    """
    from pegtool.integrations.llama_cpp import load_model

    return load_model(str(path), extra_bufts=extra_bufts, n_ctx=n_ctx, n_threads=n_threads, n_batch=512,
                      verbose=False)


def probe_triggers(fmt: ChatFormat) -> str:
    """How tool calls start for ``tool_choice="auto"``: e.g. ``word '<tool_call>'`` (for the banner)."""
    tool = {"type": "function", "function": {"name": "probe", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}}}}}
    try:
        prep = fmt.prepare([{"role": "user", "content": "hi"}], [tool], tool_choice="auto")
    except PegtoolError as exc:
        return f"unavailable ({exc})"
    if not prep.grammar_lazy or not prep.grammar_triggers:
        return "none (no tool-call grammar)"
    return ", ".join(f"{TRIGGER_KINDS.get(t['type'], t['type'])} {t['value']!r}" for t in prep.grammar_triggers)


def _prepare(fmt: ChatFormat, request: dict[str, Any]) -> Prepared:
    from pegtool.integrations.llama_cpp import prepare_request

    return prepare_request(fmt, request)


def _without_extra(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    extra = obj.pop("pegtool", None) or {}
    return obj, extra


class LocalHost:
    """The model in this process (llama-cpp-python): one context, so one generation at a time."""

    workers = 1

    def __init__(self, llama: Any, fmt: ChatFormat, model_id: str) -> None:
        self.llama, self.fmt, self.model_id = llama, fmt, model_id
        self.kind = "llama-cpp-python"
        self.generations = 0  # finished or cancelled, for /health
        self.finished: deque[dict[str, Any]] = deque(maxlen=64)  # each generation's raw text, usage, cancelled
        from pegtool.integrations.llama_cpp import _end_of_turn

        self.soft_stop = _end_of_turn(fmt)

    def prepare(self, request: dict[str, Any]) -> Prepared:
        return _prepare(self.fmt, request)

    def _check_fits(self, prep: Prepared, request: dict[str, Any]) -> None:
        from pegtool.integrations.generate import prompt_tokens

        n = len(prompt_tokens(self.llama, prep.prompt, prep.bos_token))
        if n >= self.llama.n_ctx():
            raise RequestError(f"the prompt is {n} tokens, the context holds {self.llama.n_ctx()}: "
                               "shorten the conversation or start the server with a larger --n-ctx",
                               "messages")

    def _request(self, request: dict[str, Any]) -> dict[str, Any]:
        return {**request, "model": self.model_id}

    def complete(self, prep: Prepared, request: dict[str, Any], cancel: Cancel) -> tuple[dict[str, Any], dict[str, Any]]:
        from pegtool.integrations.llama_cpp import complete

        self._check_fits(prep, request)
        try:
            out = complete(self.llama, prep, {**self._request(request), "stream": False},
                           soft_stop=self.soft_stop, cancel=cancel)
        except PegtoolError:
            raise
        except Exception as exc:  # noqa: BLE001 - llama.cpp failed: the engine's fault, a 500
            raise ServeError(f"generation failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self.generations += 1
        out, extra = _without_extra(out)
        self.finished.append(extra)
        return out, extra

    def stream(self, prep: Prepared, request: dict[str, Any], cancel: Cancel) -> Iterator[dict[str, Any]]:
        """Chunks (the request was checked before this returns: a RequestError here is a 400).
        After ``cancel`` says True generation stops before its next token and the last chunk follows."""
        from pegtool.integrations.llama_cpp import complete

        self._check_fits(prep, request)
        chunks = complete(self.llama, prep, {**self._request(request), "stream": True},
                          soft_stop=self.soft_stop, cancel=cancel)
        return self._counted(chunks)

    def _counted(self, chunks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        try:
            for chunk in chunks:
                if "pegtool" in chunk:
                    self.finished.append(chunk["pegtool"])
                yield chunk
        except PegtoolError:
            raise
        except Exception as exc:  # noqa: BLE001 - the engine's fault
            raise ServeError(f"generation failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self.generations += 1

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "engine": self.kind, "model": self.model_id, "generations": self.generations}

    def close(self) -> None:
        close = getattr(self.llama, "close", None)
        if callable(close):
            close()


class UpstreamHost:
    """A running llama-server: pegtool renders, constrains and parses; llama-server samples."""

    workers = 8  # llama-server queues or runs them in parallel slots itself

    def __init__(self, url: str, fmt: ChatFormat, model_id: str, *, timeout: float = 600.0,
                 bos_token: str | None = None) -> None:
        import httpx

        self.url, self.fmt, self.model_id, self.bos_token = url.rstrip("/"), fmt, model_id, bos_token
        self.kind = f"llama-server at {self.url}"
        self.client = httpx.Client(base_url=self.url, timeout=httpx.Timeout(timeout, connect=10.0))
        self.generations = 0
        self.finished: deque[dict[str, Any]] = deque(maxlen=64)
        self._lock = threading.Lock()  # prepare's build cache is shared by the worker threads

    def prepare(self, request: dict[str, Any]) -> Prepared:
        with self._lock:
            return _prepare(self.fmt, request)

    def _body(self, prep: Prepared, request: dict[str, Any], stream: bool) -> dict[str, Any]:
        from pegtool.integrations.llama_server import SAMPLING_FIELDS, completion_body

        sampling = {k: request[k] for k in SAMPLING_FIELDS if request.get(k) is not None}
        if "stop" in sampling and isinstance(sampling["stop"], str):
            sampling["stop"] = [sampling["stop"]]
        sampling.setdefault("cache_prompt", True)
        return completion_body(prep, n_predict=request.get("max_tokens"), stream=stream,
                               bos_token=self.bos_token, **sampling)

    def _fail(self, what: str, exc: BaseException | None = None, status: int | None = None,
              text: str = "") -> ServeError:
        detail = f"answered {status}: {text[:300]}" if status is not None else f"failed: {exc}"
        return ServeError(f"upstream llama-server {self.url} {what} {detail}", status=502, code="upstream_error")

    def complete(self, prep: Prepared, request: dict[str, Any], cancel: Cancel) -> tuple[dict[str, Any], dict[str, Any]]:
        import httpx

        from pegtool.integrations.llama_server import completion_from_response

        try:
            resp = self.client.post("/completion", json=self._body(prep, request, False))
        except httpx.HTTPError as exc:
            raise self._fail("/completion", exc) from exc
        finally:
            self.generations += 1
        if resp.status_code != 200:
            raise self._fail("/completion", status=resp.status_code, text=resp.text)
        try:
            data = resp.json()
        except ValueError as exc:
            raise self._fail("/completion", exc) from exc
        out, extra = _without_extra(completion_from_response(prep, data, model=self.model_id))
        self.finished.append(extra)
        return out, extra

    def stream(self, prep: Prepared, request: dict[str, Any], cancel: Cancel) -> Iterator[dict[str, Any]]:
        import httpx

        body = self._body(prep, request, True)
        try:
            ctx = self.client.stream("POST", "/completion", json=body)
            resp = ctx.__enter__()
        except httpx.HTTPError as exc:
            raise self._fail("/completion", exc) from exc
        if resp.status_code != 200:
            text = resp.read().decode("utf-8", "replace")
            ctx.__exit__(None, None, None)
            raise self._fail("/completion", status=resp.status_code, text=text)
        return self._chunks(prep, ctx, resp, cancel)

    def _chunks(self, prep: Prepared, ctx: Any, resp: Any, cancel: Cancel) -> Iterator[dict[str, Any]]:
        import httpx

        from pegtool.integrations.llama_server import parse_sse_stream

        try:
            for chunk in parse_sse_stream(prep, resp.iter_lines(), model=self.model_id):
                if "pegtool" in chunk:
                    self.finished.append(chunk["pegtool"])
                yield chunk
                if cancel():
                    return  # closing the connection stops llama-server's generation
        except httpx.HTTPError as exc:
            raise self._fail("stream", exc) from exc
        finally:
            ctx.__exit__(None, None, None)
            self.generations += 1

    def health(self) -> dict[str, Any]:
        import httpx

        try:
            resp = self.client.get("/health", timeout=5.0)
            upstream = resp.json() if resp.status_code == 200 else {"status": f"http {resp.status_code}"}
        except (httpx.HTTPError, ValueError) as exc:
            upstream = {"status": "unreachable", "error": str(exc)}
        ok = upstream.get("status") == "ok"
        return {"status": "ok" if ok else "error", "engine": self.kind, "model": self.model_id,
                "upstream": upstream, "generations": self.generations}

    def close(self) -> None:
        self.client.close()


def model_id_of(path: str | Path) -> str:
    return Path(str(path)).name
