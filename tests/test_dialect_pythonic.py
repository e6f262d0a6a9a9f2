"""The pythonic call family (pegtool.dialects.pythonic): LFM2 / LFM2.5, Llama 3.2 / 3.3 / 4,
Gemma 3 and ToolACE pythonic lists, OLMo 3 ``<function_calls>``.

The outputs are the kinds of text those models write, as the peers' test suites record them
(vLLM's lfm2, olmo3, llama4_pythonic and pythonic parser tests; llama.cpp's test-chat), written
here as our own cases: each is read in every section shape of the family, streamed in small
chunks, and — where it is in the strict form — accepted by the family's GBNF.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pegtool.analysis.record import ToolFormat
from pegtool.dialects import pythonic
from pegtool.dialects.base import SPECIAL_TOKENS, TOOL_LIST
from pegtool.dialects.pythonic import BARE_LIST, LFM2, OLMO, Section, python_value_json
from pegtool.format import ChatFormat
from pegtool.gbnf import Recognizer, to_gbnf
from pegtool.grammar.chat import build_chat_grammar
from pegtool.messages import ChatMessage
from pegtool.template import TemplateSource

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


def _fn(name: str, props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": name, "parameters": {
        "type": "object", "properties": props, "required": required or []}}}


S = {"type": "string"}
TOOLS = [
    _fn("get_weather", {"city": S, "metric": S}, ["city"]),
    _fn("get_candidate_status", {"candidate_id": S}, ["candidate_id"]),
    _fn("register_user", {"name": S, "age": {"type": "integer"}, "address": {"type": "object"},
                          "role": {"type": ["string", "null"]}, "passed_test": {"type": "boolean"},
                          "aliases": {"type": "array", "items": S}}, ["name", "age"]),
    _fn("get_time", {}),
    _fn("do_something_cool", {"additional_data": {"type": "object"}, "steps": {"type": "array"}}),
    _fn("label", {"tags": {"type": "array", "items": S}}),
    _fn("set_date", {"month": {"type": "integer"}, "day": {"type": "integer"}}, ["month", "day"]),
    _fn("exec", {"command": S}, ["command"]),
    _fn("grocery.orderIngredients", {"ingredientList": {"type": "array"}, "deliveryAddress": S}),
]

# (id, pythonic call text, expected name, expected arguments)
CALLS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("simple", "get_candidate_status(candidate_id='12345')", "get_candidate_status", {"candidate_id": "12345"}),
    ("more_types", "register_user(name='John Doe', age=37, address={'city': 'San Francisco', 'state': 'CA'}, "
                   "role=None, passed_test=True, aliases=['John', 'Johnny'])", "register_user",
     {"name": "John Doe", "age": 37, "address": {"city": "San Francisco", "state": "CA"}, "role": None,
      "passed_test": True, "aliases": ["John", "Johnny"]}),
    ("json_literals", "register_user(name='Jo', age=9, role=null, passed_test=true)", "register_user",
     {"name": "Jo", "age": 9, "role": None, "passed_test": True}),
    ("parameterless", "get_time()", "get_time", {}),
    ("empty_dict", "do_something_cool(additional_data={})", "do_something_cool", {"additional_data": {}}),
    ("empty_list", "do_something_cool(steps=[])", "do_something_cool", {"steps": []}),
    ("escaped_string", r"get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')", "get_weather",
     {"city": "Martha's Vineyard", "metric": '"cool units"'}),
    ("double_quotes", 'get_weather(city="Paris", metric="celsius")', "get_weather",
     {"city": "Paris", "metric": "celsius"}),
    ("unicode", "get_weather(city='São Paulo — 東京 🌧')", "get_weather", {"city": "São Paulo — 東京 🌧"}),
    ("dotted_name", "grocery.orderIngredients(ingredientList=[{'name': 'Lasagna noodles', 'amount': 250, "
                    "'unit': 'g'}], deliveryAddress='845 Willow Lane, Springfield, IL 62704')",
     "grocery.orderIngredients", {"ingredientList": [{"name": "Lasagna noodles", "amount": 250, "unit": "g"}],
                                  "deliveryAddress": "845 Willow Lane, Springfield, IL 62704"}),
    ("bracket_in_string", "exec(command='grep -F \"]\" log.txt')", "exec", {"command": 'grep -F "]" log.txt'}),
    ("multiline_raw", "exec(command='cat > f.py << EOF\nimport csv\nprint(1)\nEOF')", "exec",
     {"command": "cat > f.py << EOF\nimport csv\nprint(1)\nEOF"}),
    ("multiline_escaped", "exec(command='line one\\nline two\\tend')", "exec", {"command": "line one\nline two\tend"}),
    ("set_arg", "label(tags={'urgent', 'bug'})", "label", {"tags": ["urgent", "bug"]}),
    ("leading_zero", "set_date(month=07, day=05)", "set_date", {"month": 7, "day": 5}),
    ("nested_quote", "exec(command='sed -n '360,450p' /testbed/sympy/matrices/common.py')", "exec",
     {"command": "sed -n '360,450p' /testbed/sympy/matrices/common.py"}),
    ("spaces", "get_weather( city = 'LA' , metric = 'C' )", "get_weather", {"city": "LA", "metric": "C"}),
    ("any_order", "set_date(day=5, month=7)", "set_date", {"month": 7, "day": 5}),
]


def _source(text: str, special: frozenset[str] = frozenset()) -> ChatFormat:
    return ChatFormat(TemplateSource(text=text, name="inline", special_tokens=special))


_TAIL = ("{%- for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor -%}"
         "{%- if add_generation_prompt %}<|assistant|>{% endif -%}")
DESCRIBED = ("{%- if tools %}<|system|>You are an expert in composing functions.\nIf you decide to invoke any of "
             "the function(s), you MUST put it in the format of [func_name1(params_name1=params_value1, "
             "params_name2=params_value2...), func_name2(params)]\nYou SHOULD NOT include any other text in the "
             "response.\nHere is a list of functions in JSON format that you can invoke.\n{{ tools | tojson }}"
             "<|end|>{% endif -%}" + _TAIL)
DESCRIBED_TAG = DESCRIBED.replace("the format of [func_name1", "the format of <tool>[func_name1").replace(
    "func_name2(params)]", "func_name2(params)]</tool>")
OLMO_TEMPLATE = ("{%- if tools %}<|system|>You may call functions.<functions>{{ tools | tojson }}</functions>"
                 "<|end|>{% endif -%}" + _TAIL)


@pytest.fixture(scope="module")
def formats() -> dict[str, ChatFormat]:
    return {
        "lfm2": ChatFormat.load(TEMPLATES / "LFM2-8B-A1B.jinja"),
        "lfm2.5": ChatFormat.load(TEMPLATES / "LFM2.5-Instruct.jinja"),
        "bare": _source(DESCRIBED),
        "olmo3": _source(OLMO_TEMPLATE, frozenset({"<function_calls>", "</function_calls>", "<functions>"})),
    }


SHAPES = {"lfm2": LFM2, "lfm2.5": LFM2, "bare": BARE_LIST, "olmo3": OLMO}


# --- evidence --------------------------------------------------------------------------------------


def test_evidence_of_each_template(formats: dict[str, ChatFormat]) -> None:
    for key, fmt in formats.items():
        a = fmt.analysis
        assert a.tools.format is ToolFormat.NAMED, key
        assert [d[0] for d in a.dialects] == ["pythonic"], key
        assert a.tools.section_start == SHAPES[key].start and a.tools.section_end == SHAPES[key].end
        assert a.capabilities.tool_calls
    assert formats["lfm2"].analysis.dialects[0][1] == TOOL_LIST
    assert formats["olmo3"].analysis.dialects[0][1] == SPECIAL_TOKENS


def test_declared_special_token_is_evidence() -> None:
    plain = ("{%- if tools %}<|system|>Tools: {{ tools | tojson }}<|end|>{% endif -%}" + _TAIL)
    assert _source(plain).analysis.tools.format is ToolFormat.NONE
    a = _source(plain + "{# lfm #}", frozenset({"<|tool_call_start|>", "<|tool_call_end|>"})).analysis
    assert a.dialects == (("pythonic", SPECIAL_TOKENS, "the template declares <|tool_call_start|>"),)
    assert a.tools.section_start == LFM2.start


def test_marker_named_by_the_instructions() -> None:
    a = _source(DESCRIBED_TAG).analysis
    assert (a.tools.section_start, a.tools.section_end) == ("<tool>[", "]</tool>")


def test_json_instructions_are_not_pythonic() -> None:
    """Llama 3.2's own template asks for JSON and renders JSON calls: the renders decide."""
    a = ChatFormat.load(TEMPLATES / "meta-llama-Llama-3.2-3B-Instruct.jinja").analysis
    assert a.tools.format is ToolFormat.JSON_NATIVE and a.dialects == ()


def test_no_other_bundled_template_fires() -> None:
    fired = []
    for path in sorted(TEMPLATES.glob("*.jinja")):
        a = ChatFormat.load(path).analysis
        if any(d[0] == "pythonic" for d in a.dialects):
            fired.append(path.stem)
    assert fired == ["LFM2-8B-A1B", "LFM2.5-Instruct"]


# --- reading ---------------------------------------------------------------------------------------


def _wrap(sec: Section, calls: list[str]) -> str:
    return sec.start + sec.separator.join(calls) + sec.end


def _prep(fmt: ChatFormat) -> Any:
    return fmt.prepare([{"role": "user", "content": "Help me."}], tools=TOOLS, call_id_seed=0)


def _calls(msg: ChatMessage) -> list[tuple[str, Any]]:
    return [(c.name, json.loads(c.arguments)) for c in msg.tool_calls]


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize(("case", "text", "name", "args"), CALLS, ids=[c[0] for c in CALLS])
def test_one_call(formats: dict[str, ChatFormat], shape: str, case: str, text: str, name: str,
                  args: dict[str, Any]) -> None:
    out = _wrap(SHAPES[shape], [text])
    msg = _prep(formats[shape]).parser.parse(out)
    assert _calls(msg) == [(name, args)], case
    assert msg.content == ""


@pytest.mark.parametrize("shape", list(SHAPES))
def test_parallel_calls(formats: dict[str, ChatFormat], shape: str) -> None:
    picked = [CALLS[0], CALLS[1], CALLS[3], CALLS[8]]
    out = _wrap(SHAPES[shape], [c[1] for c in picked])
    msg = _prep(formats[shape]).parser.parse(out)
    assert _calls(msg) == [(c[2], c[3]) for c in picked]
    assert len({c.id for c in msg.tool_calls}) == 4


@pytest.mark.parametrize("shape", ["lfm2", "lfm2.5", "olmo3"])
def test_content_around_calls(formats: dict[str, ChatFormat], shape: str) -> None:
    sec = SHAPES[shape]
    out = "Let me check that.\n" + _wrap(sec, [CALLS[0][1]]) + "\nChecking the status of candidate 12345."
    msg = _prep(formats[shape]).parser.parse(out)
    assert _calls(msg) == [(CALLS[0][2], CALLS[0][3])]
    assert "Let me check that." in msg.content and "Checking the status of candidate 12345." in msg.content
    assert "tool_call" not in msg.content and "function_calls" not in msg.content


def test_loose_separators(formats: dict[str, ChatFormat]) -> None:
    p = _prep(formats["lfm2"]).parser
    msg = p.parse("<|tool_call_start|> [get_weather(city='LA',metric='C'),get_time() ,]<|tool_call_end|>")
    assert _calls(msg) == [("get_weather", {"city": "LA", "metric": "C"}), ("get_time", {})]
    olmo = _prep(formats["olmo3"]).parser
    assert len(olmo.parse("<function_calls>get_time(), get_time()</function_calls>").tool_calls) == 2


@pytest.mark.parametrize("shape", list(SHAPES))
def test_prose_and_unknown_tools_stay_content(formats: dict[str, ChatFormat], shape: str) -> None:
    p = _prep(formats[shape]).parser
    for text in ("How can I help you today?", "Lists look like [1, 2] and calls like f(x=1).",
                 _wrap(SHAPES[shape], ["delete_everything(confirm=True)"])):
        msg = p.parse(text)
        assert msg.tool_calls == () and msg.content == text


def test_llama4_python_tokens_around_a_list(formats: dict[str, ChatFormat]) -> None:
    p = _prep(formats["bare"]).parser
    msg = p.parse("<|python_start|>[get_weather(city='LA', metric='C'), get_time()]<|python_end|>")
    assert _calls(msg) == [("get_weather", {"city": "LA", "metric": "C"}), ("get_time", {})]
    assert msg.content == ""
    assert [d.message for d in msg.diagnostics] == ["repaired: the list was wrapped in <|python_start|>"]


REPAIRED = {
    "json_literals": "a JSON literal",
    "leading_zero": "leading zeros",
    "set_arg": "a set where a list was due",
    "nested_quote": "unescaped inner quotes",
    "multiline_raw": "raw new lines",
    "any_order": "arguments not in the generated form",
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_variants_are_reported_as_repairs(formats: dict[str, ChatFormat], shape: str) -> None:
    p = _prep(formats[shape]).parser
    for case, text, name, args in CALLS:
        msg = p.parse(_wrap(SHAPES[shape], [text]))
        assert _calls(msg) == [(name, args)]
        notes = [d.message for d in msg.diagnostics]
        if case in REPAIRED:
            assert notes and all(n.startswith("repaired: ") and REPAIRED[case] in n for n in notes), (case, notes)
        elif case in ("spaces", "double_quotes", "escaped_string", "unicode", "simple", "parameterless"):
            assert notes == [], (case, notes)


def test_an_empty_list_is_no_call(formats: dict[str, ChatFormat]) -> None:
    msg = _prep(formats["lfm2"]).parser.parse("<|tool_call_start|>[]<|tool_call_end|>")
    assert msg.tool_calls == ()


# --- streaming -------------------------------------------------------------------------------------


def _stream(parser: Any, text: str, size: int) -> tuple[ChatMessage, str]:
    stream = parser.stream()
    deltas: list[dict[str, Any]] = []
    for i in range(0, len(text), size):
        deltas += stream.feed(text[i:i + size])
    final = stream.finish()
    deltas += stream.finish_deltas
    sent = "".join(tc["function"].get("arguments", "") for d in deltas for tc in d.get("tool_calls", []))
    return final, sent


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("size", [1, 3, 7])
def test_streaming_equals_one_shot(formats: dict[str, ChatFormat], shape: str, size: int) -> None:
    p = _prep(formats[shape]).parser
    text = "Sure.\n" + _wrap(SHAPES[shape], [c[1] for c in CALLS[:12]])
    if shape == "bare":
        text = _wrap(SHAPES[shape], [c[1] for c in CALLS[:12]])
    final, sent = _stream(p, text, size)
    one_shot = p.parse(text)
    assert final == one_shot
    assert sent == "".join(c.arguments for c in one_shot.tool_calls)
    assert len(one_shot.tool_calls) == 12


# --- generation: the strict form ---------------------------------------------------------------------


def _strict(name: str, args: dict[str, Any]) -> str:
    """A call as generation writes it: declared arguments, required first then the declared order,
    each value Python's repr."""
    fn = next(t["function"] for t in TOOLS if t["function"]["name"] == name)
    props, required = fn["parameters"]["properties"], fn["parameters"]["required"]
    order = [k for k in required if k in args] + [k for k in props if k in args and k not in required]
    return f"{name}(" + ", ".join(f"{k}={args[k]!r}" for k in order) + ")"


STRICT_CASES = [c for c in CALLS if c[0] not in ("set_arg", "nested_quote", "multiline_raw", "json_literals",
                                                   "leading_zero")]


def _gbnf(fmt: ChatFormat, choice: str = "required") -> str:
    a = fmt.analysis
    return str(to_gbnf(build_chat_grammar(a, TOOLS, tool_choice=choice), check=False))


@pytest.mark.parametrize("shape", list(SHAPES))
def test_gbnf_accepts_every_strict_output(formats: dict[str, ChatFormat], shape: str) -> None:
    rec = Recognizer(_gbnf(formats[shape]))
    sec = SHAPES[shape]
    for case, _, name, args in STRICT_CASES:
        out = _wrap(sec, [_strict(name, args)])
        assert rec.accepts(out), (case, out)
        # what the grammar accepts reads back to the same call, with nothing repaired
        msg = _prep(formats[shape]).parser.parse(out)
        assert _calls(msg) == [(name, args)] and msg.diagnostics == (), (case, msg.diagnostics)
    together = _wrap(sec, [_strict(n, a) for _, _, n, a in STRICT_CASES[:4]])
    assert rec.accepts(together)
    assert not rec.accepts(_wrap(sec, ["get_weather(metric='C')"]))  # a required argument missing
    assert not rec.accepts(_wrap(sec, ["get_weather(city='LA', city='LA')"]))
    assert not rec.accepts(_wrap(sec, ["set_date(month='7', day=5)"]))  # a string where an integer is due


def test_llama_cpp_accepts_strict_outputs(formats: dict[str, ChatFormat], llama_judge: Any) -> None:
    for shape in ("lfm2", "bare", "olmo3"):
        gbnf = _gbnf(formats[shape])
        for case, _, name, args in STRICT_CASES:
            assert llama_judge.accepts(gbnf, _wrap(SHAPES[shape], [_strict(name, args)])), case
        assert not llama_judge.accepts(gbnf, _wrap(SHAPES[shape], ["get_weather(metric='C')"]))


def test_lazy_triggers(formats: dict[str, ChatFormat]) -> None:
    lfm = _prep(formats["lfm2"])
    assert lfm.grammar_lazy and [t["value"] for t in lfm.grammar_triggers] == ["<|tool_call_start|>"]
    assert "<|tool_call_start|>" in lfm.preserved_tokens and "<|tool_call_end|>" in lfm.preserved_tokens
    bare = _prep(formats["bare"])
    assert all(t["value"].startswith("^(\\[") for t in bare.grammar_triggers)


# --- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("None", None), ("True", True), ("false", False), ("-1.5e3", -1500.0), ("007", 7),
    ("'a\\'b'", "a'b"), ('"\\u00e9\\x41"', "éA"), ("(1, 'x')", [1, "x"]), ("{'a': {'b': [None]}}", {"a": {"b": [None]}}),
    ("{1, 2}", [1, 2]),
])
def test_value_reader(text: str, value: Any) -> None:
    assert json.loads(python_value_json(text)) == value


def test_unreadable_values_stay_text() -> None:
    assert json.loads(python_value_json("1e999")) == "1e999"
    assert json.loads(python_value_json("os.environ")) == "os.environ"


def test_notation_is_registered_for_its_capture() -> None:
    from pegtool import dialects
    from pegtool.grammar.ir import Tag

    assert dialects.notation_for_tag(Tag.ARG_PY) is pythonic.NOTATION
    assert pythonic.DIALECT in dialects.NAMED


# --- reasoning + calls ------------------------------------------------------------------------------


def test_reasoning_then_calls() -> None:
    """A thinking LFM2.5 template that does not render its calls: the reasoning markers come from
    the renders, the calls from the pythonic dialect."""
    text = (TEMPLATES / "LFM2.5-8B-A1B.jinja").read_text(encoding="utf-8")
    assert "{{- render_tool_calls(message.tool_calls) -}}" in text
    fmt = _source(text.replace("{{- render_tool_calls(message.tool_calls) -}}", ""))
    a = fmt.analysis
    assert a.reasoning.start == "<think>" and a.tools.format is ToolFormat.NAMED
    p = _prep(fmt).parser
    out = ("<think>The user wants the weather; I will call get_weather.</think>"
           "<|tool_call_start|>[get_weather(city='Paris', metric='celsius'), get_time()]<|tool_call_end|>")
    msg = p.parse(out)
    assert msg.reasoning_content == "The user wants the weather; I will call get_weather."
    assert _calls(msg) == [("get_weather", {"city": "Paris", "metric": "celsius"}), ("get_time", {})]
    assert msg.content == "" and msg.diagnostics == ()
    final, sent = _stream(p, out, 2)
    assert final == msg and sent == "".join(c.arguments for c in msg.tool_calls)


# --- llama.cpp's LFM2 cases (test-chat), on the bundled LFM2-8B-A1B template ----------------------------

LCPP_TOOLS = [
    _fn("special_function", {"arg1": {"type": "integer"}}, ["arg1"]),
    _fn("set_config", {"config": {"type": "object"}}, ["config"]),
    _fn("Calendar.create_event", {"title": S, "participants": {"type": "array", "items": S},
                                  "metadata": {"type": "object"}}, ["title"]),
    _fn("python", {"code": S}, ["code"]),
    _fn("get_time", {"city": S}, ["city"]),
]


@pytest.mark.parametrize(("out", "content", "calls", "repaired"), [
    ("<|tool_call_start|>[special_function(arg1=1)]<|tool_call_end|>", "", [("special_function", {"arg1": 1})], 0),
    ('<|tool_call_start|>[set_config(config={"enabled": True, "count": 3})]<|tool_call_end|>', "",
     [("set_config", {"config": {"enabled": True, "count": 3}})], 0),
    ('<|tool_call_start|>[set_config(config={"enabled": true, "note": null})]<|tool_call_end|>', "",
     [("set_config", {"config": {"enabled": True, "note": None}})], 2),
    ('<|tool_call_start|>[Calendar.create_event(title="demo", participants=["Alice", "Bob"], '
     'metadata={"priority": "high", "reminder": True})]<|tool_call_end|>', "",
     [("Calendar.create_event", {"title": "demo", "participants": ["Alice", "Bob"],
                                 "metadata": {"priority": "high", "reminder": True}})], 0),
    ("Use this format: [link text](url). Example: [Wikipedia](https://www.wikipedia.org).",
     "Use this format: [link text](url). Example: [Wikipedia](https://www.wikipedia.org).", [], 0),
    ('<|tool_call_start|>[python(code="def hello():\\n    print(\'hey\')")]<|tool_call_end|>', "",
     [("python", {"code": "def hello():\n    print('hey')"})], 0),
    ('<|tool_call_start|>[python(code="print(\\"hi\\")")]<|tool_call_end|>', "", [("python", {"code": 'print("hi")'})], 0),
    ('Let me check the time.<|tool_call_start|>[get_time(city="Paris")]<|tool_call_end|>', "Let me check the time.",
     [("get_time", {"city": "Paris"})], 0),
])
def test_llama_cpp_lfm2_cases(formats: dict[str, ChatFormat], out: str, content: str,
                              calls: list[tuple[str, Any]], repaired: int) -> None:
    prep = formats["lfm2"].prepare([{"role": "user", "content": "Help me."}], tools=LCPP_TOOLS)
    msg = prep.parser.parse(out)
    assert (msg.content, _calls(msg)) == (content, calls)
    assert len(msg.diagnostics) == repaired


def test_partial_call_while_streaming(formats: dict[str, ChatFormat]) -> None:
    prep = formats["lfm2"].prepare([{"role": "user", "content": "Help me."}], tools=LCPP_TOOLS)
    stream = prep.parser.stream()
    deltas = stream.feed("<|tool_call_start|>[special_function(arg1=")
    assert [tc["function"]["name"] for d in deltas for tc in d.get("tool_calls", []) if "name" in tc["function"]] \
        == ["special_function"]
    msg = stream.finish()
    assert msg.tool_calls and msg.tool_calls[0].incomplete and stream.finish_reason == "length"
