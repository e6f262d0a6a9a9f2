"""Tests of pegtool.gbnf.llama: llama.cpp's own grammar engine as the judge of GBNF text."""

from __future__ import annotations

from typing import Any

import pytest

from pegtool.errors import GrammarError
from pegtool.gbnf.llama import LlamaGrammarJudge, llama_available

HELLO = 'root ::= "hello " [a-z]+ "!"'


def test_llama_available_is_a_bool() -> None:
    assert isinstance(llama_available(), bool)


def test_accepts_complete_strings_only(llama_judge: Any) -> None:
    assert llama_judge.accepts(HELLO, "hello world!")
    assert not llama_judge.accepts(HELLO, "hello world")  # a prefix: end-of-generation refused
    assert not llama_judge.accepts(HELLO, "hello World!")
    assert not llama_judge.accepts(HELLO, "hello world!!")


def test_accepts_prefix(llama_judge: Any) -> None:
    assert llama_judge.accepts_prefix(HELLO, "hello wor")
    assert llama_judge.accepts_prefix(HELLO, "")
    assert not llama_judge.accepts_prefix(HELLO, "help")


@pytest.mark.parametrize(
    ("gbnf", "message"),
    [
        ("root ::= foo", "Undefined rule identifier 'foo'"),
        ('root ::= root "a" | "b"', "left recursion"),
        ('start ::= "a"', "does not contain a 'root' symbol"),
        ("root ::= [a", "unexpected end of input"),
        ("", "empty grammar"),
    ],
)
def test_invalid_grammars_report_llama_cpp_message(llama_judge: Any, gbnf: str, message: str) -> None:
    assert not llama_judge.is_valid(gbnf)
    assert message in llama_judge.last_error
    with pytest.raises(GrammarError, match="llama.cpp rejects the grammar"):
        llama_judge.validate(gbnf)


def test_invalid_grammar_log_is_captured_not_printed(llama_judge: Any, capfd: Any) -> None:
    assert not llama_judge.is_valid("root ::= undefined-rule-xyz")
    out, err = capfd.readouterr()
    assert "undefined-rule-xyz" not in out + err
    assert "undefined-rule-xyz" in llama_judge.last_error


def test_accepts_raises_on_invalid_grammar(llama_judge: Any) -> None:
    with pytest.raises(GrammarError):
        llama_judge.accepts("root ::= nope", "x")


def test_other_root_name(llama_judge: Any) -> None:
    assert llama_judge.accepts('start ::= "x"', "x", root="start")


def test_chat_markers_are_fed_as_plain_text(llama_judge: Any) -> None:
    gbnf = 'root ::= "<start_of_turn>model\\n" [^<]* "<end_of_turn>"'
    assert llama_judge.accepts(gbnf, "<start_of_turn>model\nhi there<end_of_turn>")
    assert len(llama_judge.tokenize("<start_of_turn>")) > 1  # not the special token


@pytest.mark.parametrize("text", ["😀中文", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ", "🎉🎉 한국어 ü"])
def test_multibyte_characters_split_over_byte_tokens(llama_judge: Any, text: str) -> None:
    gbnf = 'root ::= [^\\x00-\\x7f] ([^\\x00-\\x7f] | " ")*'
    assert llama_judge.accepts(gbnf, text)
    assert not llama_judge.accepts(gbnf, text + "a")
    exact = 'root ::= "' + text + '"'
    assert llama_judge.accepts(exact, text)
    assert not llama_judge.accepts(exact, text[:-1])


def test_byte_fallback_tokens_use_partial_utf8(llama_judge: Any) -> None:
    tokens = llama_judge.tokenize("ꙮ")  # three byte-fallback tokens in Gemma's vocabulary
    assert len(tokens) == 3 and all(len(llama_judge.piece(t)) == 1 for t in tokens)
    assert llama_judge.accepts_tokens('root ::= "ꙮ"', tokens[:2], complete=False)
    assert not llama_judge.accepts_tokens('root ::= "ꙮ"', tokens[:2], complete=True)
    other = llama_judge.tokenize("𝔘")[:1]  # a 4-byte lead byte cannot start "ꙮ"
    assert not llama_judge.accepts_tokens('root ::= "ꙮ"', other, complete=False)


def test_any_tokenisation_is_a_valid_route(llama_judge: Any) -> None:
    text = "abc"
    pieces = [t for c in text for t in llama_judge.tokenize(c)]
    assert llama_judge.accepts_tokens('root ::= "abc"', pieces)
    assert llama_judge.accepts_tokens('root ::= "abc"', llama_judge.tokenize(text))


def test_lazy_grammar_with_trigger_pattern(llama_judge: Any) -> None:
    gbnf = 'root ::= "<tool_call>" [a-z]+ "</tool_call>"'
    pattern = [r"[\s\S]*?(<tool_call>)[\s\S]*"]
    assert llama_judge.lazy_accepts(gbnf, "free text, never triggered", pattern)
    assert llama_judge.lazy_accepts(gbnf, "hi <tool_call>abc</tool_call>", pattern)
    assert not llama_judge.lazy_accepts(gbnf, "hi <tool_call>ABC</tool_call>", pattern)
    assert not llama_judge.lazy_accepts(gbnf, "hi <tool_call>abc", pattern)


def test_lazy_grammar_abort_is_contained(llama_judge: Any) -> None:
    """An invalid ECMAScript regex makes llama.cpp abort; the forked check survives it."""
    assert not llama_judge.lazy_accepts('root ::= "x"', "x", ["(unclosed"])
    assert "aborted" in llama_judge.last_error


def test_many_checks_reuse_the_parsed_grammar(llama_judge: Any) -> None:
    words = [f"hello {'abcdefghij'[: 1 + i % 10]}!" for i in range(500)]
    assert all(llama_judge.accepts(HELLO, w) for w in words)
    assert not any(llama_judge.accepts(HELLO, w.upper()) for w in words)


def test_small_cache_evicts_and_frees(gemma_model_path: str) -> None:
    if not llama_available():
        pytest.skip("llama-cpp-python missing")
    with LlamaGrammarJudge(gemma_model_path, cache_size=2) as judge:
        for i in range(5):
            assert judge.accepts(f'root ::= "{i}"', str(i))
        assert judge.is_valid(HELLO)


def test_missing_model_file_is_a_grammar_error() -> None:
    if not llama_available():
        pytest.skip("llama-cpp-python missing")
    with pytest.raises(GrammarError, match="not found"):
        LlamaGrammarJudge("/nonexistent/model.gguf")
