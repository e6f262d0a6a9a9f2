"""Stage: serve — ``pegtool serve``: an OpenAI-compatible chat endpoint (Starlette + uvicorn).

:func:`~pegtool.serve.app.create_app` builds the ASGI app around a host — the model in this
process (:class:`~pegtool.serve.host.LocalHost`, llama-cpp-python) or a running llama-server
(:class:`~pegtool.serve.host.UpstreamHost`); :func:`~pegtool.serve.main.run` is the command.
Needs the ``serve`` extra (``pip install 'pegtool[serve]'``).
"""

from __future__ import annotations

from pegtool.serve.app import create_app
from pegtool.serve.host import LocalHost, UpstreamHost, load_llama
from pegtool.serve.main import build_host, run

__all__ = ["LocalHost", "UpstreamHost", "build_host", "create_app", "load_llama", "run"]
