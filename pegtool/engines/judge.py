"""Stage: engines — llguidance's and xgrammar's own engines as judges over a real vocabulary.

Test and benchmark support (optional packages): each judge compiles a grammar with the engine's
compiler and feeds it the tokens of a text, as a server's sampler would, over the vocabulary of
the GGUF model llama.cpp's judge (:class:`pegtool.gbnf.llama.LlamaGrammarJudge`) loaded — the
same token ids for all three engines. A text is accepted when every token is allowed and the
end-of-generation token is allowed after the last one.

xgrammar's wheel declares torch, transformers and triton as dependencies but its grammar compiler
and matcher are C++ and run without them: :func:`import_xgrammar` imports it with placeholder
``torch`` / ``transformers`` modules when those are not installed (only the tensor helpers, which
pegtool does not call, need the real ones; token bitmasks are numpy arrays here).
"""

from __future__ import annotations

import sys
import time
import types
from collections import OrderedDict
from typing import Any

from pegtool.errors import GrammarError

_STUBS = ("torch", "transformers")


def import_xgrammar() -> Any:
    """The ``xgrammar`` module; raises ImportError when it (or ``tvm_ffi``) is not installed."""
    if "xgrammar" in sys.modules:
        return sys.modules["xgrammar"]
    import tvm_ffi  # noqa: F401 - loaded before the placeholders: it probes for a real torch

    added = [name for name in _STUBS if _missing(name)]
    for name in added:
        sys.modules[name] = _placeholder(name)
    try:
        import xgrammar
    finally:
        for name in added:
            sys.modules.pop(name, None)
    return xgrammar


def _missing(name: str) -> bool:
    import importlib.util

    return name not in sys.modules and importlib.util.find_spec(name) is None


class _Anything:
    """What every attribute of a placeholder module is: a class that takes any arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


def _placeholder(name: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__getattr__ = lambda attr: _Anything  # type: ignore[method-assign]
    return mod


class _Cache(OrderedDict[str, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: str, value: Any) -> Any:
        self[key] = value
        while len(self) > self.size:
            self.popitem(last=False)
        return value


class LlguidanceJudge:
    """llguidance's matcher over the vocabulary of a llama.cpp judge."""

    #: Earley items per mask step; None keeps llguidance's default (50 000), as a server runs it.
    STEP_MAX_ITEMS: int | None = None

    def __init__(self, llama_judge: Any, step_max_items: int | None = STEP_MAX_ITEMS) -> None:
        import llguidance

        self.llg = llguidance
        self.limits = llguidance.LLParserLimits(step_max_items=step_max_items)
        self.eog = llama_judge.eog_token
        self.tokenizer = _lltokenizer(llguidance, llama_judge)
        self._specs = _Cache(64)
        self.compile_seconds = 0.0

    def check(self, lark: str) -> str:
        """"" when llguidance compiles the grammar for this vocabulary, else its error."""
        try:
            spec = self.llg.LLMatcher.grammar_from_lark(lark)
        except ValueError as exc:
            return str(exc)
        return str(self.llg.LLMatcher.validate_grammar(spec, self.tokenizer, limits=self.limits))

    def matcher(self, lark: str) -> Any:
        spec = self._specs.get(lark)
        if spec is None:
            spec = self._specs.remember(lark, self.llg.LLMatcher.grammar_from_lark(lark))
        start = time.perf_counter()
        m = self.llg.LLMatcher(self.tokenizer, spec, log_level=0, limits=self.limits)
        self.compile_seconds = time.perf_counter() - start
        if m.is_error():
            raise GrammarError(f"llguidance rejects the grammar: {m.get_error()[:300]}")
        return m

    def accepts_tokens(self, lark: str, tokens: list[int]) -> bool:
        m = self.matcher(lark)
        if m.try_consume_tokens(tokens) != len(tokens) or m.is_error():
            return False
        return bool(m.is_accepting()) and not m.is_error()


def _lltokenizer(llguidance: Any, judge: Any) -> Any:
    """An llguidance tokenizer over the judge's vocabulary and llama.cpp's own tokenizer.

    Control tokens are special (llguidance marks them with a leading 0xFF byte: grammar text never
    matches them); user-defined tokens are text, as llama.cpp's grammar sees them. (llguidance's
    ``lltokenizer_from_vocab`` also makes user-defined tokens that look like ``<...>`` special:
    Gemma's ``<code>`` is one, so a grammar literal ``<code>`` could not match the token llama.cpp's
    tokenizer produces for that text.)"""
    import ctypes

    ll, vocab = judge._ll, judge._vocab  # noqa: SLF001
    control = ll.LLAMA_TOKEN_ATTR_CONTROL
    tokens = []
    for tok in range(ll.llama_vocab_n_tokens(vocab)):
        piece = judge.piece(tok)
        tokens.append(b"\xff" + piece if ll.llama_vocab_get_attr(vocab, tok) & control else piece)
    fptr = ctypes.cast(ll.llama_cpp._lib.llama_tokenize, ctypes.c_void_p).value
    return llguidance.LLTokenizer.from_llamacpp(tokens=tokens, vocab_ptr=vocab, tokenize_fptr=fptr,  # type: ignore[attr-defined]
                                                eos_token=judge.eog_token, slices=None)  # fmt: skip


class XgrammarJudge:
    """xgrammar's compiler and matcher over the vocabulary of a llama.cpp judge."""

    def __init__(self, llama_judge: Any) -> None:
        ll, vocab = llama_judge._ll, llama_judge._vocab  # noqa: SLF001
        self._setup([llama_judge.piece(t) for t in range(ll.llama_vocab_n_tokens(vocab))], llama_judge.eog_token)

    def _setup(self, pieces: list[bytes], eog: int) -> None:
        self.xgr = import_xgrammar()
        self.eog = eog
        self.info = self.xgr.TokenizerInfo(pieces, self.xgr.VocabType.RAW, stop_token_ids=[eog])
        self.compiler = self.xgr.GrammarCompiler(self.info, max_threads=1, cache_enabled=False)
        self._compiled = _Cache(64)
        self.compile_seconds = 0.0

    def compile(self, ebnf: str) -> Any:
        got = self._compiled.get(ebnf)
        if got is None:
            start = time.perf_counter()
            try:
                got = self.compiler.compile_grammar(ebnf)
            except RuntimeError as exc:
                raise GrammarError(f"xgrammar rejects the grammar: {str(exc)[:300]}") from exc
            self.compile_seconds = time.perf_counter() - start
            self._compiled.remember(ebnf, got)
        return got

    def compile_structural_tag(self, tag_json: str) -> Any:
        got = self._compiled.get(tag_json)
        if got is None:
            got = self._compiled.remember(tag_json, self.compiler.compile_structural_tag(tag_json))
        return got

    def accepts_tokens(self, ebnf: str, tokens: list[int], *, tag: bool = False) -> bool:
        compiled = self.compile_structural_tag(ebnf) if tag else self.compile(ebnf)
        m = self.xgr.GrammarMatcher(compiled)
        return all(m.accept_token(t) for t in tokens) and bool(m.accept_token(self.eog))


class XgrammarByteJudge(XgrammarJudge):
    """xgrammar's compiler and matcher over a byte vocabulary (256 one-byte tokens and an end
    token): the same EBNF judged on the UTF-8 bytes of a text. Compiling over the GGUF's 262k
    tokens takes seconds per grammar, over 257 it takes a millisecond, so this judges the whole
    corpus while :class:`XgrammarJudge` judges a sample on the real vocabulary."""

    def __init__(self) -> None:
        self._setup([bytes([i]) for i in range(256)] + [b"<end>"], 256)

    def accepts_text(self, ebnf: str, text: str) -> bool:
        return self.accepts_tokens(ebnf, list(text.encode("utf-8", "surrogatepass")))
