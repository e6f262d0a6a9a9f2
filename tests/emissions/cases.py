"""What models of each family really write, as test data.

The shapes follow the outputs documented by the peers' public test suites (llama.cpp
``tests/test-chat.cpp``, vLLM ``tests/tool_parsers`` and ``tests/reasoning``, SGLang
``test/srt/test_function_call_parser.py``) and the models' own prompt instructions; the texts are
written here. Each :class:`Case` is one complete output (the text after the generation prompt)
with the message it must read as. ``strict`` marks the form generation is held to: the family's
GBNF must accept it. ``variant`` marks a form only reading accepts (a repair).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {
            "location": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit"}},
            "required": ["location"]}}},
    {"type": "function", "function": {
        "name": "special_function", "description": "A function with one integer",
        "parameters": {"type": "object", "properties": {"arg1": {"type": "integer", "description": "A number"}},
                       "required": ["arg1"]}}},
    {"type": "function", "function": {
        "name": "python", "description": "Run Python code",
        "parameters": {"type": "object", "properties": {"code": {"type": "string", "description": "The code"}},
                       "required": ["code"]}}},
]

CODE = "for c in 'héllo':\n    print(c, ord(c))  # \"quoted\" \\ tab\t東京"


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    content: str | None = None
    reasoning: str | None = None
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    strict: bool = False  # the form generation is held to: the GBNF accepts it
    variant: bool = False  # a form only reading accepts
    repair: str = ""  # part of the "repaired: …" diagnostic a variant is reported with


@dataclass(frozen=True)
class Family:
    template: str  # under templates/, or a path under tests/ (fixtures written for these tests)
    cases: tuple[Case, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)  # template keywords (enable_thinking, ...)
    dialect: str = ""  # the named dialect expected in Analysis.dialects ("" = found by the renders)


def _j(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


W_PARIS = ("get_weather", {"location": "Paris"})
W_TOKYO = ("get_weather", {"location": "Tōkyō 東京", "unit": "celsius"})
SPECIAL = ("special_function", {"arg1": 1})
PY = ("python", {"code": CODE})

# --- gpt-oss Harmony ------------------------------------------------------------------------------
_H = "<|channel|>commentary to=functions.{} <|constrain|>json<|message|>{}"
HARMONY = Family("openai-gpt-oss-120b.jinja", (
    Case("final_only", "<|channel|>final<|message|>Hello, world!\nWhat's up?<|return|>", content="Hello, world!\nWhat's up?"),
    Case("reasoning_final", "<|channel|>analysis<|message|>The user greets me.\nI greet back.<|end|>"
         "<|start|>assistant<|channel|>final<|message|>Hi there!<|return|>",
         content="Hi there!", reasoning="The user greets me.\nI greet back."),
    Case("one_call", _H.format("get_weather", '{"location": "Paris"}') + "<|call|>", calls=(W_PARIS,), strict=True),
    Case("reasoning_call", "<|channel|>analysis<|message|>Need the weather first.<|end|><|start|>assistant"
         + _H.format("special_function", '{"arg1": 1}') + "<|call|>",
         reasoning="Need the weather first.", calls=(SPECIAL,), strict=True),
    Case("preamble_call", "<|channel|>commentary<|message|>Let me look that up.<|end|><|start|>assistant"
         + _H.format("get_weather", '{"location": "Paris"}') + "<|call|>",
         content="Let me look that up.", calls=(W_PARIS,), strict=True),
    Case("unicode_multiline", _H.format("python", _j({"code": CODE})) + "<|call|>", calls=(PY,), strict=True),
    Case("no_call_token", _H.format("get_weather", _j(W_TOKYO[1])), calls=(W_TOKYO,), strict=True),
    Case("recipient_in_role_header", "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant to=functions.get_weather"
         "<|channel|>commentary json<|message|>{\"location\": \"Paris\"}<|call|>",
         reasoning="Think.", calls=(W_PARIS,), variant=True, repair="recipient before the channel"),
    Case("recipient_first", " to=functions.special_function<|channel|>commentary <|constrain|>json<|message|>{\"arg1\": 1}",
         calls=(SPECIAL,), variant=True, repair="recipient before the channel"),
    Case("no_constraint", "<|channel|>commentary to=functions.special_function<|message|>{\"arg1\": 1}<|call|>",
         calls=(SPECIAL,), variant=True, repair="without ' <|constrain|>json'"),
    Case("call_on_analysis", "<|channel|>analysis to=functions.special_function <|constrain|>json<|message|>{\"arg1\": 1}",
         calls=(SPECIAL,), variant=True, repair="on the analysis channel"),
    Case("parallel", _H.format("special_function", '{"arg1": 1}') + "<|call|><|start|>assistant"
         + _H.format("get_weather", _j(W_TOKYO[1])) + "<|call|>", calls=(SPECIAL, W_TOKYO), variant=True),
    Case("unknown_tool", _H.format("send_email", '{"to": "x"}') + "<|call|>",
         content=_H.format("send_email", '{"to": "x"}') + "<|call|>"),
))

# --- Cohere Command R7B and Cohere 2 ---------------------------------------------------------------
def _action(*calls: tuple[str, dict[str, Any]]) -> str:
    rows = ",\n".join("    " + _j({"tool_call_id": str(i), "tool_name": n, "parameters": a}) for i, (n, a) in enumerate(calls))
    return "<|START_ACTION|>[\n" + rows + "\n]<|END_ACTION|>"


COMMAND_R7B = Family("CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", (
    Case("content", "<|START_RESPONSE|>Hello, world!\nWhat's up?<|END_RESPONSE|>", content="Hello, world!\nWhat's up?"),
    Case("reasoning_call", "<|START_THINKING|>I will check the weather.<|END_THINKING|>" + _action(W_PARIS),
         reasoning="I will check the weather.", calls=(W_PARIS,), strict=True),
    Case("parallel", "<|START_THINKING|>Two things.<|END_THINKING|>" + _action(SPECIAL, W_TOKYO),
         reasoning="Two things.", calls=(SPECIAL, W_TOKYO), strict=True),
    Case("unicode_multiline", "<|START_THINKING|>Run it.<|END_THINKING|>" + _action(PY),
         reasoning="Run it.", calls=(PY,), strict=True),
    Case("reasoning_content", "<|START_THINKING|>Easy.<|END_THINKING|><|START_RESPONSE|>Paris.<|END_RESPONSE|>",
         reasoning="Easy.", content="Paris."),
    Case("unclosed_response", "<|START_RESPONSE|>Hello, wor", content="Hello, wor", variant=True, repair="content block not closed"),
    # the other Cohere content wrapper (vLLM's Command 3 / Command 4 parser tests carry both)
    Case("text_wrapper", "<|START_THINKING|>Easy.<|END_THINKING|><|START_TEXT|>Paris.<|END_TEXT|>",
         reasoning="Easy.", content="Paris.", variant=True, repair="content wrapped in <|START_TEXT|>"),
    Case("text_wrapper_only", "<|START_TEXT|>Hello, world!\nWhat's up?<|END_TEXT|>", content="Hello, world!\nWhat's up?",
         variant=True, repair="content wrapped in <|START_TEXT|>"),
    Case("spaced_action", "<|START_THINKING|> i will call get_weather<|END_THINKING|><|START_ACTION|>\n[\n    "
         + _j({"tool_call_id": "0", "tool_name": "get_weather", "parameters": W_PARIS[1]}) + "\n]\n<|END_ACTION|>",
         reasoning="i will call get_weather", calls=(W_PARIS,), variant=True),
))

COHERE2 = Family("Cohere2MoE.jinja", (
    Case("reasoning_call", "I will check the weather.<|END_THINKING|>" + _action(W_PARIS),
         reasoning="I will check the weather.", calls=(W_PARIS,), strict=True),
    Case("reasoning_text", "Simple greeting.<|END_THINKING|><|START_TEXT|>Hello!<|END_TEXT|>",
         reasoning="Simple greeting.", content="Hello!"),
    Case("parallel", "Two calls.<|END_THINKING|>" + _action(SPECIAL, PY),
         reasoning="Two calls.", calls=(SPECIAL, PY), strict=True),
    Case("unclosed_text", "Greeting.<|END_THINKING|><|START_TEXT|>Hel", reasoning="Greeting.", content="Hel",
         variant=True, repair="content block not closed"),
    # the other Cohere content wrapper; the thinking opener written again after the prompt's (vLLM cmd4 cases)
    Case("response_wrapper", "<|START_THINKING|>This is a rainbow emoji: 🌈<|END_THINKING|>\n"
         "<|START_RESPONSE|>foo bar<|END_RESPONSE|>", reasoning="This is a rainbow emoji: 🌈", content="foo bar",
         variant=True, repair="content wrapped in <|START_RESPONSE|>"),
    Case("unclosed_response", "Greeting.<|END_THINKING|><|START_RESPONSE|>Hel", reasoning="Greeting.", content="Hel",
         variant=True, repair="content wrapped in <|START_RESPONSE|>"),
    Case("reasoning_only", "just think, no response<|END_THINKING|>", reasoning="just think, no response"),
))

# --- Command-R+ ---------------------------------------------------------------------------------
def _r_plus(*calls: tuple[str, dict[str, Any]], lead: str = "\nAction:\n", close: str = "]```") -> str:
    import json

    rows = ",\n".join("    " + json.dumps({"tool_name": n, "parameters": a}, ensure_ascii=False, indent=4)
                      .replace("\n", "\n    ") for n, a in calls)
    return lead + "```json\n[\n" + rows + "\n" + close


COMMAND_R_PLUS = Family("CohereForAI-c4ai-command-r-plus-tool_use.jinja", (
    Case("content", "The capital of France is Paris.", content="The capital of France is Paris."),
    Case("one_call", _r_plus(W_PARIS), calls=(W_PARIS,), strict=True),
    Case("parallel", _r_plus(SPECIAL, W_TOKYO), calls=(SPECIAL, W_TOKYO), strict=True),
    Case("content_call", "I will look up the weather." + _r_plus(W_PARIS), content="I will look up the weather.",
         calls=(W_PARIS,), strict=True),
    Case("unicode_multiline", _r_plus(PY), calls=(PY,), strict=True),
    Case("same_line_fence", _r_plus(W_PARIS, lead="Action: ", close="]\n```"), calls=(W_PARIS,), variant=True, repair="white space before the section end"),
    Case("directly_answer_not_offered", _r_plus(("directly-answer", {})), content=_r_plus(("directly-answer", {}))),
))

# --- Firefunction v2 ----------------------------------------------------------------------------
def _ff(*calls: tuple[str, dict[str, Any]]) -> str:
    return "functools[" + ", ".join(_j({"name": n, "arguments": a}) for n, a in calls) + "]"


FIREFUNCTION = Family("fireworks-ai-llama-3-firefunction-v2.jinja", (
    Case("content", "Poland's capital is Warsaw.", content="Poland's capital is Warsaw."),
    Case("one_call", " " + _ff(W_PARIS), calls=(W_PARIS,), strict=True),
    Case("parallel", " " + _ff(SPECIAL, W_TOKYO), calls=(SPECIAL, W_TOKYO), strict=True),
    Case("unicode_multiline", " " + _ff(PY), calls=(PY,), strict=True),
    Case("content_call", "Checking. " + _ff(W_PARIS), content="Checking.", calls=(W_PARIS,), strict=True),
    Case("no_space", _ff(W_PARIS), calls=(W_PARIS,), strict=True),
))

# --- Ministral / Magistral ([THINK]) ----------------------------------------------------------------
MINISTRAL = Family("mistralai-Ministral-3-14B-Reasoning-2512.jinja", (
    Case("content", "Bonjour !", content="Bonjour !"),
    Case("reasoning_content", "[THINK]The user says hi.\nAnswer briefly.[/THINK]Hello!",
         reasoning="The user says hi.\nAnswer briefly.", content="Hello!"),
    Case("reasoning_call", '[THINK]Need weather.[/THINK][TOOL_CALLS]get_weather[ARGS]{"location": "Paris"}',
         reasoning="Need weather.", calls=(W_PARIS,), strict=True),
    Case("parallel", "[THINK]Both.[/THINK][TOOL_CALLS]special_function[ARGS]" + _j(SPECIAL[1])
         + "[TOOL_CALLS]python[ARGS]" + _j(PY[1]), reasoning="Both.", calls=(SPECIAL, PY), strict=True),
))

# --- Apriel 1.5 / 1.6 ([BEGIN FINAL RESPONSE]) -------------------------------------------------------
APRIEL_15 = Family("unsloth-Apriel-1.5.jinja", (
    Case("reasoning_content", "Here are my reasoning steps:\nThe user asks for a city.\n[BEGIN FINAL RESPONSE]\n"
         "Paris.\n[END FINAL RESPONSE]\n<|end|>",
         reasoning="Here are my reasoning steps:\nThe user asks for a city.", content="Paris."),
    Case("reasoning_call", "Here are my reasoning steps:\nNeed the weather.\n[BEGIN FINAL RESPONSE]\n<tool_calls>"
         + "[" + _j({"name": "get_weather", "arguments": W_PARIS[1]}) + "]</tool_calls>",
         reasoning="Here are my reasoning steps:\nNeed the weather.", calls=(W_PARIS,), strict=True),
    Case("parallel", "<tool_calls>[" + _j({"name": "special_function", "arguments": SPECIAL[1]}) + ", "
         + _j({"name": "python", "arguments": PY[1]}) + "]</tool_calls>", calls=(SPECIAL, PY), strict=True),
))

APRIEL_16 = Family("Apriel-1.6-15b-Thinker-fixed.jinja", (
    Case("reasoning_content", "The user asks for a city.\n[BEGIN FINAL RESPONSE]\nParis.",
         reasoning="The user asks for a city.", content="Paris."),
    Case("reasoning_call", "Need the weather.\n[BEGIN FINAL RESPONSE]\n<tool_calls>["
         + _j({"name": "get_weather", "arguments": W_TOKYO[1]}) + "]</tool_calls>",
         reasoning="Need the weather.", calls=(W_TOKYO,), strict=True),
))

# --- Kimi K3 response blocks -------------------------------------------------------------------------
def _k3_call(name: str, args: dict[str, str], index: int) -> str:
    inner = "".join(f'<|open|>argument key="{k}" type="string"<|sep|>{v}<|close|>argument<|sep|>' for k, v in args.items())
    return f'<|open|>call tool="{name}" index="{index}"<|sep|>{inner}<|close|>call<|sep|>'


KIMI_K3 = Family("Kimi-K3.jinja", (
    Case("reasoning_content", "The user greets.<|close|>think<|sep|><|open|>response<|sep|>Hello!<|close|>response<|sep|>"
         "<|close|>message<|sep|><|end_of_msg|>", reasoning="The user greets.", content="Hello!"),
    Case("content_call", "Weather.<|close|>think<|sep|><|open|>response<|sep|>Checking.<|close|>response<|sep|>"
         "<|open|>tools<|sep|>" + _k3_call("get_weather", {"location": "Paris"}, 1) + "<|close|>tools<|sep|>",
         reasoning="Weather.", content="Checking.", calls=(W_PARIS,), strict=True),
    Case("no_response_block", "Weather.<|close|>think<|sep|><|open|>tools<|sep|>"
         + _k3_call("get_weather", {"location": "Paris"}, 1) + "<|close|>tools<|sep|>",
         reasoning="Weather.", calls=(W_PARIS,), variant=True),
    Case("stop_token_dropped", "Hi.<|close|>think<|sep|><|open|>response<|sep|>Hello!<|close|>response<|sep|>"
         "<|close|>message<|sep|>", reasoning="Hi.", content="Hello!", variant=True, repair="end of turn without its stop token"),
    Case("unclosed_response", "Hi.<|close|>think<|sep|><|open|>response<|sep|>Hel", reasoning="Hi.", content="Hel",
         variant=True, repair="content block not closed"),
))

# --- SmolLM3 (<think>) --------------------------------------------------------------------------------
SMOLLM3 = Family("HuggingFaceTB-SmolLM3-3B.jinja", (
    Case("reasoning_content", "<think>\nThe user says hi.\n</think>\nHello!", reasoning="The user says hi.", content="Hello!"),
    Case("content", "Hello!", content="Hello!"),
))

# --- Granite 3.3 (<|tool_call|> JSON list) -----------------------------------------------------------
def _granite(*calls: tuple[str, dict[str, Any]]) -> str:
    return "<|tool_call|>[" + ", ".join(_j({"name": n, "arguments": a}) for n, a in calls) + "]"


GRANITE_33 = Family("ibm-granite-granite-3.3-2B-Instruct.jinja", (
    Case("content", "Hello, world!\nWhat's up?", content="Hello, world!\nWhat's up?"),
    Case("one_call", _granite(W_PARIS), calls=(W_PARIS,), strict=True),
    Case("parallel", _granite(SPECIAL, W_TOKYO), calls=(SPECIAL, W_TOKYO), strict=True),
    Case("unicode_multiline", _granite(PY), calls=(PY,), strict=True),
    Case("reasoning_call", "<think>I'm\nthinking</think>" + _granite(W_PARIS), reasoning="I'm\nthinking",
         calls=(W_PARIS,), variant=True),
    Case("reasoning_response", "<think>Easy.</think><response>Paris.</response>", reasoning="Easy.", content="Paris.",
         variant=True),
    Case("unknown_tool", '<|tool_call|>[{"name": "send_email", "arguments": {"to": "x"}}]',
         content='<|tool_call|>[{"name": "send_email", "arguments": {"to": "x"}}]'),
))

# --- Hermes-style calls described in the tool instructions only (SmolLM3's original template) ------
def _tagged(*calls: tuple[str, dict[str, Any]]) -> str:
    return "\n".join("<tool_call>\n" + _j({"name": n, "arguments": a}) + "\n</tool_call>" for n, a in calls)


INSTRUCTED_TOOL_CALL = Family("fixtures/families/instructed-tool-call.jinja", (
    Case("one_call", _tagged(W_PARIS), calls=(W_PARIS,), strict=True),
    Case("reasoning_parallel", "<think>\nTwo lookups.\n</think>\n" + _tagged(SPECIAL, W_TOKYO),
         reasoning="Two lookups.", calls=(SPECIAL, W_TOKYO), strict=True),
    Case("content_call", "Let me check.\n" + _tagged(PY), content="Let me check.", calls=(PY,), strict=True),
    Case("content", "<think>\nEasy.\n</think>\nParis.", reasoning="Easy.", content="Paris."),
))

# --- xLAM / Jamba-style bare JSON lists ---------------------------------------------------------------
def _bare(*calls: tuple[str, dict[str, Any]]) -> str:
    return "[" + ", ".join(_j({"name": n, "arguments": a}) for n, a in calls) + "]"


BARE_JSON_LIST = Family("fixtures/families/bare-json-list.jinja", (
    Case("content", "The answer is 42.", content="The answer is 42."),
    Case("one_call", _bare(W_PARIS), calls=(W_PARIS,), strict=True),
    Case("parallel", _bare(SPECIAL, W_TOKYO), calls=(SPECIAL, W_TOKYO), strict=True),
    Case("unicode_multiline", _bare(PY), calls=(PY,), strict=True),
    Case("pretty_printed", "[\n  " + _j({"name": "get_weather", "arguments": W_PARIS[1]}) + "\n]", calls=(W_PARIS,),
         strict=True),
    Case("prose_with_a_list", 'Use [{"name": "send_email"}] as a template.',
         content='Use [{"name": "send_email"}] as a template.'),
))

FAMILIES: dict[str, Family] = {
    "harmony": HARMONY,
    "command_r7b": COMMAND_R7B,
    "cohere2": COHERE2,
    "command_r_plus": COMMAND_R_PLUS,
    "firefunction_v2": FIREFUNCTION,
    "ministral_reasoning": MINISTRAL,
    "apriel_1_5": APRIEL_15,
    "apriel_1_6": APRIEL_16,
    "kimi_k3": KIMI_K3,
    "smollm3": SMOLLM3,
    "granite_3_3": GRANITE_33,
    "instructed_tool_call": INSTRUCTED_TOOL_CALL,
    "bare_json_list": BARE_JSON_LIST,
}


# --- real public templates (tests/fixtures/families/README.md) -----------------------------------------
def _listed(*calls: tuple[str, dict[str, Any]], sep: str = ", ") -> str:
    return "[" + sep.join(_j({"name": n, "arguments": a}) for n, a in calls) + "]"


_XLAM_CASES = (
    Case("content", "The capital of Poland is Warsaw.", content="The capital of Poland is Warsaw."),
    Case("one_call", _listed(W_PARIS), calls=(W_PARIS,), strict=True),
    Case("parallel", _listed(SPECIAL, W_TOKYO), calls=(SPECIAL, W_TOKYO), strict=True),
    Case("unicode_multiline", _listed(PY), calls=(PY,), strict=True),
    Case("content_call", "I'll help you with that." + _listed(W_PARIS), content="I'll help you with that.",
         calls=(W_PARIS,)),
    Case("unknown_tool", _listed(("send_email", {"to": "x"})), content=_listed(("send_email", {"to": "x"}))),
    Case("json_fence", "I'll help you with that.\n```json\n" + _listed(W_PARIS) + "\n```", content="I'll help you with that.",
         calls=(W_PARIS,), variant=True, repair="fenced as ```json"),
    Case("pretty_fence", "```json\n[\n  " + _j({"name": "special_function", "arguments": SPECIAL[1]}) + "\n]\n```",
         calls=(SPECIAL,), variant=True, repair="fenced as ```json"),
    # other families' markers around the list (vLLM's xLAM parser takes them)
    Case("tool_calls_marker", "[TOOL_CALLS]" + _listed(W_PARIS), calls=(W_PARIS,), variant=True,
         repair="written after [TOOL_CALLS]"),
    Case("content_tool_calls_marker", "I'll help you with that. [TOOL_CALLS] " + _listed(SPECIAL, W_TOKYO),
         content="I'll help you with that.", calls=(SPECIAL, W_TOKYO), variant=True, repair="written after [TOOL_CALLS]"),
    Case("tool_call_tags", "<tool_call>\n" + _listed(W_PARIS) + "\n</tool_call>", calls=(W_PARIS,), variant=True,
         repair="written after <tool_call>"),
    Case("content_tool_call_tags", "Checking.\n<tool_call>" + _listed(PY) + "</tool_call>", content="Checking.",
         calls=(PY,), variant=True, repair="written after <tool_call>"),
    Case("tags_in_prose", "I never write <tool_call> tags.", content="I never write <tool_call> tags."),
)
XLAM_LLAMA = Family("fixtures/families/vllm-xlam-llama.jinja", _XLAM_CASES)
XLAM_QWEN = Family("fixtures/families/vllm-xlam-qwen.jinja", _XLAM_CASES)


def _jamba(*calls: tuple[str, dict[str, Any]]) -> str:
    return "<tool_calls>[\n" + ",\n".join(_j({"name": n, "arguments": a}) for n, a in calls) + "\n]</tool_calls>"


JAMBA = Family("fixtures/families/ai21-Jamba-Mini-1.7.jinja", (
    Case("content", "This is a test", content="This is a test"),
    Case("one_call", _jamba(W_PARIS), calls=(W_PARIS,), strict=True),
    Case("parallel", _jamba(SPECIAL, W_TOKYO), calls=(SPECIAL, W_TOKYO), strict=True),
    Case("unicode_multiline", _jamba(PY), calls=(PY,), strict=True),
    Case("content_call", " Sure! let me call the tool for you." + _jamba(W_PARIS),
         content="Sure! let me call the tool for you.", calls=(W_PARIS,), strict=True),
    Case("indented_list", "<tool_calls>[\n    " + _j({"name": "get_weather", "arguments": W_TOKYO[1]}) + "\n]</tool_calls>",
         calls=(W_TOKYO,)),
))


def _olmo(*calls: str) -> str:
    return "<function_calls>\n" + "\n".join(calls) + "\n</function_calls>"


OLMO3 = Family("fixtures/families/vllm-olmo3.jinja", (
    Case("content", "Hello! How can I help?", content="Hello! How can I help?"),
    Case("one_call", _olmo("get_weather(location='Paris')"), calls=(W_PARIS,), strict=True),
    Case("parallel", _olmo("special_function(arg1=1)", "get_weather(location='Tōkyō 東京', unit='celsius')"),
         calls=(SPECIAL, W_TOKYO), strict=True),
    Case("unicode_multiline", _olmo("python(code='" + CODE + "')"), calls=(PY,), strict=True),  # raw, as rendered
    Case("double_quotes", _olmo('get_weather(location="Paris")'), calls=(W_PARIS,), variant=True),
    Case("content_call", "Let me check.\n" + _olmo("get_weather(location='Paris')"), content="Let me check.",
         calls=(W_PARIS,)),
    # Python escapes in a quoted string: read as Python reads them (vLLM's olmo3 parser: ast)
    Case("escaped_quote", _olmo("get_weather(location='it\\'s', unit='celsius')"),
         calls=(("get_weather", {"location": "it's", "unit": "celsius"}),)),
    Case("escaped_double_quote", _olmo('get_weather(location="a\\"b")'), calls=(("get_weather", {"location": 'a"b'}),),
         variant=True),
    Case("escaped_newline", _olmo("python(code='a\\nb\\\\c')"), calls=(("python", {"code": "a\nb\\c"}),)),
    Case("escaped_parallel", _olmo("python(code='print(\\'x\\')')", "special_function(arg1=1)"),
         calls=(("python", {"code": "print('x')"}), SPECIAL)),
))


def _py_list(*calls: str) -> str:
    return "[" + ", ".join(calls) + "]"


LLAMA4_PYTHONIC = Family("fixtures/families/vllm-llama4-pythonic.jinja", (
    Case("content", "I don't have access to [Unavailable service] information",
         content="I don't have access to [Unavailable service] information"),
    Case("one_call", _py_list("get_weather(location='Paris')"), calls=(W_PARIS,), strict=True),
    Case("double_quotes", _py_list('get_weather(location="Paris")'), calls=(W_PARIS,)),
    Case("parallel", _py_list("special_function(arg1=1)", "get_weather(location='Tōkyō 東京', unit='celsius')"),
         calls=(SPECIAL, W_TOKYO), strict=True),
    Case("python_tokens", "<|python_start|>" + _py_list("get_weather(location='Paris')") + "<|python_end|>",
         calls=(W_PARIS,), variant=True, repair="wrapped in <|python_start|>"),
    Case("unicode_multiline", _py_list("python(code=" + repr(CODE) + ")"), calls=(PY,), strict=True),
    Case("unknown_tool", _py_list("send_email(to='x')"), content=_py_list("send_email(to='x')")),
))


def _llama_json(name: str, args: dict[str, Any]) -> str:
    return _j({"name": name, "parameters": args})


LLAMA4_JSON = Family("fixtures/families/vllm-llama4-json.jinja", (
    Case("content", "Paris is the capital of France.", content="Paris is the capital of France."),
    Case("one_call", _llama_json(*W_PARIS), calls=(W_PARIS,), strict=True),
    Case("unicode_multiline", _llama_json(*PY), calls=(PY,), strict=True),
    Case("arguments_key", _j({"name": "get_weather", "arguments": W_TOKYO[1]}), calls=(W_TOKYO,), variant=True),
    # Llama 4's python tokens around the call (vLLM's Llama 4 pythonic tests carry them)
    Case("python_tokens", "<|python_start|>" + _llama_json(*W_PARIS) + "<|python_end|>", calls=(W_PARIS,),
         variant=True, repair="wrapped in <|python_start|>"),
    Case("python_tokens_content", "Let me check.<|python_start|>" + _llama_json(*W_TOKYO) + "<|python_end|>",
         content="Let me check.", calls=(W_TOKYO,), variant=True, repair="wrapped in <|python_start|>"),
    Case("python_start_only", "<|python_start|>" + _llama_json(*SPECIAL), calls=(SPECIAL,), variant=True,
         repair="wrapped in <|python_start|>"),
))


def _functools(*calls: tuple[str, dict[str, Any]], sep: str = ", ") -> str:
    return "functools" + _listed(*calls, sep=sep)


PHI4_MINI = Family("microsoft-Phi-4-mini-instruct.jinja", (
    Case("content", "This is a regular response without any tool calls.",
         content="This is a regular response without any tool calls."),
    Case("one_call", _functools(W_PARIS), calls=(W_PARIS,), strict=True),
    Case("parallel", _functools(SPECIAL, W_TOKYO), calls=(SPECIAL, W_TOKYO), strict=True),
    Case("unicode_multiline", _functools(PY), calls=(PY,), strict=True),
    Case("content_call", "Let me check the weather for you.\n" + _functools(W_PARIS),
         content="Let me check the weather for you.", calls=(W_PARIS,), strict=True),
    Case("pretty_parallel", "functools[\n  " + _j({"name": "get_weather", "arguments": W_PARIS[1]}) + ",\n  "
         + _j({"name": "special_function", "arguments": SPECIAL[1]}) + "\n]", calls=(W_PARIS, SPECIAL)),
    Case("empty_list", "functools[] This is just text", content="functools[] This is just text"),
    Case("unknown_tool", _functools(("send_email", {"to": "x"})), content=_functools(("send_email", {"to": "x"}))),
))

FAMILIES.update({
    "xlam_llama": XLAM_LLAMA,
    "xlam_qwen": XLAM_QWEN,
    "jamba": JAMBA,
    "olmo3": OLMO3,
    "llama4_pythonic": LLAMA4_PYTHONIC,
    "llama4_json": LLAMA4_JSON,
    "phi4_mini": PHI4_MINI,
})
