"""Streaming a tagged value whose end marker is read back (a closing tag only ends the value when
the next argument or the call's end follows): the stream must not send the closing tag as part of
the value before that is decided, and must equal the one-shot parse for every chunking."""

from pathlib import Path

import pytest

from pegtool import ChatFormat

ROOT = Path(__file__).resolve().parent.parent
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"},
                                     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["location"]}}}]
USER = [{"role": "user", "content": "Weather in Paris?"}]
GLM = ("<tool_call>get_weather <arg_key>location</arg_key>  <arg_value>Paris, France </arg_value>\n\n"
       "<arg_key>unit</arg_key>   <arg_value>celsius</arg_value> \n</tool_call>")  # a real Gemma-270M output


def _stream(parser, text: str, size: int):
    st = parser.stream()
    for i in range(0, len(text), size):
        st.feed(text[i:i + size])
    return st.finish(), st.deltas


@pytest.mark.parametrize("text", [
    GLM,
    GLM.replace("</arg_value> \n</tool_call>", "</arg_value>\n</tool_call>"),
    GLM.replace("Paris, France ", "Paris </arg_value> France "),  # a closing tag inside a value
])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 16, 10_000])
def test_glm_read_back_values_stream_as_parsed(text: str, size: int) -> None:
    parser = ChatFormat.load(ROOT / "templates" / "GLM-4.6.jinja").prepare(USER, TOOLS, call_id_seed=0).parser
    parsed = parser.parse(text)
    final, _ = _stream(parser, text, size)
    assert (final.content, final.tool_calls) == (parsed.content, parsed.tool_calls)
    assert not final.diagnostics


def test_an_argument_name_is_settled_by_the_markup_after_it() -> None:
    """``<parameter=time`` may still grow (``timeter=``) and break: the stream sends the name
    once the ``>`` after it is read, so streamed and parsed messages agree (found by fuzzing)."""
    from pegtool.gallery.runner import standard_tools

    fmt = ChatFormat.load(ROOT / "templates" / "ByteDance-Seed-OSS.jinja")
    parser = fmt.prepare(USER, standard_tools(), call_id_seed=0).parser
    good = "<seed:tool_call>\n<function=set_alarm>\n<parameter=time>07:30</parameter>\n</function>\n</seed:tool_call>"
    bad = good.replace("<parameter=time>", "<parameter=timeter=time>")
    for text in (good, bad):
        parsed = parser.parse(text)
        final, deltas = _stream(parser, text, 1)
        assert (final.content, final.tool_calls) == (parsed.content, parsed.tool_calls)
    assert parser.parse(good).tool_calls[0].arguments == '{"time": "07:30"}'


def test_an_argument_written_twice_keeps_both_values() -> None:
    """No character is dropped: the repeat appears in order, a JSON reader takes the last value
    (as a dict built from the output would), and the stream (which sent the first) agrees."""
    import json

    from pegtool.gallery.runner import standard_tools

    fmt = ChatFormat.load(ROOT / "templates" / "Qwen3-Coder.jinja")
    parser = fmt.prepare(USER, standard_tools(), call_id_seed=0).parser
    text = ("<tool_call>\n<function=search>\n<parameter=query>\nfirst\n</parameter>\n"
            "<parameter=query>\nsecond\n</parameter>\n</function>\n</tool_call>")
    parsed = parser.parse(text)
    (call,) = parsed.tool_calls
    assert "first" in call.arguments and "second" in call.arguments
    assert json.loads(call.arguments) == {"query": "second"}
    for size in (1, 4, 1000):
        final, _ = _stream(parser, text, size)
        assert final.tool_calls == parsed.tool_calls
