"""Stage: serve — the ASGI app (Starlette): ``/v1/chat/completions``, ``/v1/models``, ``/health``.

A request is checked (:func:`~pegtool.serve.protocol.check_chat_request`), prepared on the
prepare thread (a client mistake -> 400 before the model is touched), then generated on the
host's worker threads: one for a local model, so concurrent requests queue instead of sharing a
context. A streamed request's chunks travel from the worker thread to the event loop through an
``asyncio.Queue``; when the client disconnects, Starlette cancels the response, the cancel flag
is set, and the worker stops before its next token and takes the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

from pegtool.serve.protocol import check_chat_request, error_body, sse

__all__ = ["create_app"]

_END = object()


class _Log:
    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled, self.stream = enabled, stream

    def __call__(self, record: dict[str, Any]) -> None:
        if self.enabled:
            out = self.stream or sys.stderr
            out.write("pegtool serve: " + json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()


def _summary(req: dict[str, Any]) -> dict[str, Any]:
    tools = req.get("tools") or []
    return {"stream": bool(req.get("stream")), "messages": len(req.get("messages") or []),
            "tools": len(tools) if isinstance(tools, list) else "?", "tool_choice": req.get("tool_choice"),
            "response_format": (req.get("response_format") or {}).get("type"), "max_tokens": req.get("max_tokens")}


def create_app(host: Any, *, log_requests: bool = False, log_stream: TextIO | None = None) -> Any:
    """The Starlette app serving ``host`` (:class:`~pegtool.serve.host.LocalHost` or
    :class:`~pegtool.serve.host.UpstreamHost`). ``app.state.host`` is the host."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse

    class _EventStream(StreamingResponse):
        """SSE whose ``on_close`` runs however the response ends (done, disconnect, error)."""

        def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], None]) -> None:
            super().__init__(content, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            self.on_close = on_close

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            try:
                await super().__call__(scope, receive, send)
            finally:
                self.on_close()
    from starlette.routing import Route

    log = _Log(log_requests, log_stream)
    workers = ThreadPoolExecutor(max_workers=host.workers, thread_name_prefix="pegtool-generate")
    preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pegtool-prepare")
    created = int(time.time())

    def fail(exc: BaseException, started: float, req: dict[str, Any] | None = None) -> Response:
        status, body = error_body(exc)
        log({"status": status, "seconds": round(time.perf_counter() - started, 3),
             **(_summary(req) if req else {}), "error": body["error"]})
        return JSONResponse(body, status_code=status)

    async def chat(request: Request) -> Response:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            from pegtool.errors import RequestError

            return fail(RequestError(f"the request body is not JSON ({exc})"), started)
        req: dict[str, Any] | None = None
        try:
            req = check_chat_request(body)
            prep = await loop.run_in_executor(preparer, host.prepare, req)
        except Exception as exc:  # noqa: BLE001 - mapped to 400 / 500 by error_body
            return fail(exc, started, req)
        cancel = threading.Event()
        if not req.get("stream"):
            return await _complete(request, req, prep, cancel, started)
        return await _stream(request, req, prep, cancel, started)

    async def _complete(request: Request, req: dict[str, Any], prep: Any, cancel: threading.Event,
                        started: float) -> Response:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(workers, host.complete, prep, req, cancel.is_set)
        while True:  # a client that went away stops its generation
            done, _ = await asyncio.wait({future}, timeout=0.5)
            if done:
                break
            if await request.is_disconnected():
                cancel.set()
        try:
            out, extra = future.result()
        except Exception as exc:  # noqa: BLE001
            return fail(exc, started, req)
        choice = out["choices"][0]
        log({"status": 200, "seconds": round(time.perf_counter() - started, 3), **_summary(req),
             "finish_reason": choice["finish_reason"], "usage": out.get("usage"),
             "cancelled": extra.get("cancelled", False), "raw_text": extra.get("raw_text"),
             "diagnostics": extra.get("diagnostics")})
        return JSONResponse(out)

    async def _stream(request: Request, req: dict[str, Any], prep: Any, cancel: threading.Event,
                      started: float) -> Response:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def produce() -> None:
            try:
                chunks: Iterator[dict[str, Any]] = host.stream(prep, req, cancel.is_set)
                first = next(chunks, None)
            except BaseException as exc:  # noqa: BLE001 - reported to the event loop
                put(exc)
                return
            put(first)
            try:
                for chunk in chunks:  # the host stops soon after cancel is set (local: before the next token)
                    put(chunk)
            except BaseException as exc:  # noqa: BLE001
                put(exc)
            finally:
                close: Callable[[], None] | None = getattr(chunks, "close", None)
                if close is not None:
                    close()
                put(_END)

        loop.run_in_executor(workers, produce)
        while True:  # queued behind another generation: a client that leaves meanwhile cancels its turn
            try:
                first = await asyncio.wait_for(queue.get(), timeout=0.5)
                break
            except asyncio.TimeoutError:
                if await request.is_disconnected():
                    cancel.set()
        if isinstance(first, BaseException):
            return fail(first, started, req)

        async def events() -> AsyncIterator[bytes]:
            usage: Any = None
            finish: Any = None
            extra: dict[str, Any] = {}
            error: Any = None
            try:
                item = first
                while item is not _END and item is not None:
                    if isinstance(item, BaseException):
                        status, body = error_body(item)
                        error = body["error"]
                        yield sse(body)
                        break
                    extra = item.pop("pegtool", None) or extra
                    usage = extra.get("usage", usage)
                    finish = item["choices"][0]["finish_reason"] or finish
                    yield sse(item)
                    item = await queue.get()
                if error is None and req.get("include_usage") and usage is not None:
                    yield sse({"id": first["id"], "object": "chat.completion.chunk", "created": first["created"],
                               "model": first["model"], "choices": [], "usage": usage})
                yield sse("[DONE]")
            finally:
                cancel.set()  # a disconnect (cancellation) or the end: the worker stops either way
                log({"status": 200, "seconds": round(time.perf_counter() - started, 3), **_summary(req),
                     "finish_reason": finish, "usage": usage, "raw_text": extra.get("raw_text"),
                     "disconnected": finish is None and error is None, **({"error": error} if error else {})})

        return _EventStream(events(), cancel.set)

    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": host.model_id, "object": "model", "created": created, "owned_by": "pegtool"}]})

    async def health(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        info = await loop.run_in_executor(None, host.health)
        return JSONResponse(info, status_code=200 if info.get("status") == "ok" else 503)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        message = getattr(exc, "detail", str(exc))
        kind = "invalid_request_error" if status < 500 else "server_error"
        return JSONResponse({"error": {"message": f"{request.method} {request.url.path}: {message}",
                                       "type": kind, "param": None, "code": None}}, status_code=status)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            workers.shutdown(wait=False, cancel_futures=True)
            preparer.shutdown(wait=False, cancel_futures=True)

    app = Starlette(routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/models", models, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ], exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.state.host = host
    return app
