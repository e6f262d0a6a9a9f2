"""``pegtool serve`` as a command: the progress line while the model loads, the startup banner
(dialect, trigger kind, URL), ``--log-requests``, and a clean stop on SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from serve_support import free_port, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")


def test_serve_needs_a_model_or_an_upstream_template() -> None:
    from pegtool.cli import EXIT_USAGE, main

    assert main(["serve"]) == EXIT_USAGE


def test_serve_command_banner_log_and_stop(gemma_model_path: str) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pegtool", "serve", gemma_model_path, "--template", str(TEMPLATE),
         "--port", str(port), "--n-ctx", "1024", "--log-requests"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, url, "the server")
        resp = httpx.post(url + "/v1/chat/completions", timeout=120, json={
            "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 4, "temperature": 0})
        assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["role"] == "assistant"
        bad = httpx.post(url + "/v1/chat/completions", timeout=30, json={"messages": []})
        assert bad.status_code == 400
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert f"loading {gemma_model_path}" in err and "done in" in err  # the progress line
    assert "dialect    Qwen-Qwen2.5-7B-Instruct: tool calls json_native" in err
    assert "trigger    word '<tool_call>'" in err
    assert f"{url}/v1/chat/completions" in err
    assert err.rstrip().endswith("pegtool serve: stopped")
    logged = [json.loads(line.split("pegtool serve: ", 1)[1]) for line in err.splitlines()
              if line.startswith("pegtool serve: {")]
    assert [r["status"] for r in logged] == [200, 400]
    assert logged[0]["usage"]["completion_tokens"] <= 4 and "raw_text" in logged[0]
    assert logged[1]["error"]["param"] == "messages"
