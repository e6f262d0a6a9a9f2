"""Tool-call ids: unique per response by default, the model's own ids kept, reproducible on
request, and one stream's deltas and finish() agreeing on them (pegtool.parser.ids)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pegtool.format import ChatFormat
from pegtool.messages import apply_deltas
from pegtool.parser.chat import ChatParser
from pegtool.parser.ids import CallIds

ROOT = Path(__file__).resolve().parents[1]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
USER = [{"role": "user", "content": "Weather?"}]
HERMES = ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
          '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>')
MISTRAL = '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}]'


def _prep(stem: str, **kw: object):  # type: ignore[no-untyped-def]
    return ChatFormat.load(ROOT / "templates" / f"{stem}.jinja").prepare(USER, TOOLS, **kw)


def _ids(msg) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.id for c in msg.tool_calls]


def test_identical_outputs_parsed_twice_get_different_ids() -> None:
    parser = _prep("Qwen-Qwen2.5-7B-Instruct").parser
    first, second = parser.parse(HERMES), parser.parse(HERMES)
    assert len(first.tool_calls) == 2
    ids = _ids(first) + _ids(second)
    assert len(set(ids)) == 4
    assert all(re.fullmatch(r"call_[A-Za-z0-9]{24}", i) for i in ids)


def test_two_streams_of_one_output_get_different_ids() -> None:
    parser = _prep("Qwen-Qwen2.5-7B-Instruct").parser
    finals = []
    for _ in range(2):
        s = parser.stream()
        for ch in HERMES:
            s.feed(ch)
        finals.append(s.finish())
    assert set(_ids(finals[0])).isdisjoint(_ids(finals[1]))


def test_stream_deltas_and_finish_agree_on_ids() -> None:
    parser = _prep("Qwen-Qwen2.5-7B-Instruct").parser
    s = parser.stream()
    for i in range(0, len(HERMES), 3):
        s.feed(HERMES[i:i + 3])
    final = s.finish()
    heads = [tc["id"] for d in s.deltas for tc in d.get("tool_calls", []) if "id" in tc]
    assert heads == _ids(final) == _ids(apply_deltas(s.deltas))


def test_seeded_ids_are_fixed() -> None:
    a = _prep("Qwen-Qwen2.5-7B-Instruct", call_id_seed=42).parser
    b = _prep("Qwen-Qwen2.5-7B-Instruct", call_id_seed=42).parser
    assert _ids(a.parse(HERMES)) == _ids(a.parse(HERMES)) == _ids(b.parse(HERMES))
    assert _ids(a.parse(HERMES)) == [CallIds(seed=42).get(0, ""), CallIds(seed=42).get(1, "")]
    assert _ids(a.parse(HERMES)) != _ids(_prep("Qwen-Qwen2.5-7B-Instruct", call_id_seed=43).parser.parse(HERMES))


def test_id_factory_chooses_the_ids() -> None:
    parser = _prep("Qwen-Qwen2.5-7B-Instruct", call_id_factory=lambda i, name: f"{name}-{i}").parser
    assert _ids(parser.parse(HERMES)) == ["get_weather-0", "get_weather-1"]
    s = parser.stream()
    for ch in HERMES:
        s.feed(ch)
    assert _ids(s.finish()) == ["get_weather-0", "get_weather-1"]


def test_alnum9_dialect_gets_nine_alphanumerics() -> None:
    """Mistral's templates insist on 9-alphanumeric ids; its grammar makes the model write one,
    and a call read without one (the same parser over a grammar whose calls carry none) gets one."""
    assert _prep("mistralai-Mistral-Nemo-Instruct-2407").parser.id_style == "alnum9"
    qwen = _prep("Qwen-Qwen2.5-7B-Instruct").parser
    parser = ChatParser(qwen.grammar, id_style="alnum9")
    ids = _ids(parser.parse(HERMES)) + _ids(parser.parse(HERMES))
    assert len(set(ids)) == 4
    assert all(re.fullmatch(r"[A-Za-z0-9]{9}", i) for i in ids)


def test_ids_written_by_the_model_are_kept() -> None:
    """An id the model writes before the arguments is the call's id, streamed or not."""
    small = _prep("Mistral-Small-3.2-24B-Instruct-2506")
    text = '[TOOL_CALLS]get_weather[CALL_ID]aB3dE5gH7[ARGS]{"city": "Paris"}'
    assert _ids(small.parser.parse(text)) == ["aB3dE5gH7"]
    s = small.parser.stream()
    for ch in text:
        s.feed(ch)
    assert _ids(s.finish()) == ["aB3dE5gH7"] == _ids(apply_deltas(s.deltas))


def test_an_id_written_after_the_arguments_streams_as_a_dialect_id() -> None:
    """Mistral Nemo writes a call's id after its arguments; a stream sends the call (name, then
    arguments) once the arguments begin, before that id exists, so it carries an id of the
    dialect's style and keeps it. (It waits until then: a Mistral call may also carry its id
    before the arguments, ``[CALL_ID]``.) A one-shot parse gives the call the same id (the
    response's, not the model's late one): streamed or not, the client sees one message."""
    prep = _prep("mistralai-Mistral-Nemo-Instruct-2407", call_id_seed=5)
    text = '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "aB3dE5gH7"}]'
    s = prep.parser.stream()
    seen_at = None
    for i, ch in enumerate(text):
        if any("tool_calls" in d for d in s.feed(ch)) and seen_at is None:
            seen_at = i
    final = s.finish()
    assert seen_at is not None and seen_at < text.index('"city"')
    assert _ids(final) == _ids(apply_deltas(s.deltas))
    assert re.fullmatch(r"[A-Za-z0-9]{9}", final.tool_calls[0].id)
    assert json.loads(final.tool_calls[0].arguments) == {"city": "Paris"}
    parsed = prep.parser.parse(text)
    assert parsed.tool_calls == final.tool_calls
    assert _ids(parsed) == [CallIds("alnum9", seed=5).get(0, "get_weather")] != ["aB3dE5gH7"]


def test_a_marked_id_is_optional_when_generating() -> None:
    """Mistral Small 3.2's template renders ``[CALL_ID]`` in history, but models write the call
    with or without it: the grammar accepts both, and a call without one gets pegtool's id."""
    from pegtool.gallery.runner import standard_tools
    from pegtool.gbnf.recognizer import gbnf_accepts

    fmt = ChatFormat.load(ROOT / "templates" / "Mistral-Small-3.2-24B-Instruct-2506.jinja")
    prep = fmt.prepare(USER, standard_tools(), tool_choice="required", call_id_seed=0)
    bare = '[TOOL_CALLS]get_weather[ARGS]{"location": "Paris"}'
    with_id = '[TOOL_CALLS]get_weather[CALL_ID]abcdefghi[ARGS]{"location": "Paris"}'
    assert gbnf_accepts(prep.grammar, bare) and gbnf_accepts(prep.grammar, with_id)
    assert not gbnf_accepts(prep.grammar, '[TOOL_CALLS]get_weather[CALL_ID]abc[ARGS]{"location": "Paris"}')
    assert prep.parser.parse(with_id).tool_calls[0].id == "abcdefghi"
    assert len(prep.parser.parse(bare).tool_calls[0].id) == 9
