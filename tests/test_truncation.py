"""Truncated model output: an unfinished call is kept and marked, its arguments closed into
valid JSON in ``to_openai()`` when no content has to be invented, a diagnostic says the output
was cut, and no text is lost (pegtool.messages.close_json, ChatParser._truncated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pegtool.format import ChatFormat
from pegtool.messages import close_json

ROOT = Path(__file__).resolve().parents[1]
TOOLS = json.loads((ROOT / "pegtool" / "data" / "tools.json").read_text())
USER = [{"role": "user", "content": "x"}]
CALLS = {
    "Qwen-Qwen2.5-7B-Instruct": 'Hi <tool_call>\n{"name": "get_weather", "arguments": {"location": "Paris", '
                                '"unit": "celsius"}}\n</tool_call>',
    "mistralai-Mistral-Nemo-Instruct-2407": '[TOOL_CALLS][{"name": "python", "arguments": {"code": "print(\\"a\\")"}, '
                                            '"id": "abcdefghi"}]',
    "Qwen3-Coder": 'Hi <tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n</parameter>\n'
                   '</function>\n</tool_call>',
}


@pytest.mark.parametrize(("prefix", "closed"), [
    ('{"a": [1, "x', '{"a": [1, "x"]}'),
    ('{"a": 1, ', '{"a": 1}'),
    ('{"a": {"b": [true, null', '{"a": {"b": [true, null]}}'),
    ('{"a": "\\u00e9', '{"a": "\\u00e9"}'),
    ('{', '{}'),
    ('{"a": 12', '{"a": 12}'),
    ('{"a": ', None),        # a key without its value
    ('{"a"', None),
    ('{"a": tr', None),      # a cut literal
    ('{"a": 1.', None),      # a cut number
    ('{"a": "x\\', None),    # a cut escape
    ('{"a": "x\\u00', None),
    ('', None),
    ('{"a": 1}}', None),     # not a JSON prefix
])
def test_close_json(prefix: str, closed: str | None) -> None:
    assert close_json(prefix) == closed
    if closed is not None:
        json.loads(closed)


def _parser(stem: str):  # type: ignore[no-untyped-def]
    return ChatFormat.load(ROOT / "templates" / f"{stem}.jinja").prepare(USER, TOOLS, call_id_seed=0).parser


@pytest.mark.parametrize("stem", sorted(CALLS))
def test_every_cut_keeps_its_text_and_says_so(stem: str) -> None:
    """Cut the output at every position inside the call: either an incomplete call (marked in
    to_openai, arguments valid JSON or left as written) with a diagnostic, or no call and the
    call's text in content with a diagnostic; the stream ends in the same message."""
    parser, text = _parser(stem), CALLS[stem]
    whole = parser.parse(text)
    assert whole.tool_calls and not whole.diagnostics
    start = text.index(whole.tool_calls[0].name) - 10
    for cut in range(max(start, 1), len(text) - 1):
        part = text[:cut]
        msg = parser.parse(part)
        out = msg.to_openai()
        if msg.tool_calls:
            call = msg.tool_calls[-1]
            assert call.incomplete and out["tool_calls"][-1]["incomplete"] is True, part
            args = out["tool_calls"][-1]["function"]["arguments"]
            if close_json(call.arguments) is not None:
                json.loads(args)
            assert any("ended inside tool call" in d.message for d in msg.diagnostics), part
        elif msg.diagnostics:
            assert "ended inside" in msg.diagnostics[-1].message
            assert msg.content.endswith(part[-3:]), part
        s = parser.stream()
        for ch in part:
            s.feed(ch)
        final = s.finish()
        assert final.content == msg.content, part
        assert [(c.name, c.arguments, c.incomplete, c.id) for c in final.tool_calls] == \
            [(c.name, c.arguments, c.incomplete, c.id) for c in msg.tool_calls], part


def test_truncated_mistral_call_does_not_vanish() -> None:
    """The reproducer of issue 13: cut inside the id, the call stays (incomplete), with a
    diagnostic. Its id is the response's (the model writes it after the arguments, too late for
    a stream's first delta), so parsing and streaming agree on it."""
    text = '[TOOL_CALLS][{"name": "python", "arguments": {"code": "hello world"}, "id": "a'
    parser = _parser("mistralai-Mistral-Nemo-Instruct-2407")
    msg = parser.parse(text)
    assert [(c.name, json.loads(c.arguments), c.id, c.incomplete) for c in msg.tool_calls] == \
        [("python", {"code": "hello world"}, parser.new_ids().get(0, "python"), True)]
    assert msg.diagnostics and "ended inside tool call 0 (python)" in msg.diagnostics[0].message


def test_complete_calls_are_not_marked() -> None:
    out = _parser("Qwen-Qwen2.5-7B-Instruct").parse(CALLS["Qwen-Qwen2.5-7B-Instruct"]).to_openai()
    assert "incomplete" not in out["tool_calls"][0]
