"""Stage: integration — pegtool's GBNF and triggers turned into a llama.cpp sampler chain.

The chat grammar's GBNF (eager, or lazy with llama-server style triggers) becomes a
``llama_cpp._internals.LlamaSampler`` chain: the grammar sampler first, then the sampling
steps (logit bias, top-k, top-p, min-p, temperature, then greedy or a seeded draw).

Triggers arrive as llama-server dicts ``{"type": 0..3, "value": str, "token"?: int}``;
llama.cpp's lazy grammar sampler only takes regex patterns and token ids, so WORD and
PATTERN_FULL triggers are converted here (the same rules llama-server applies). The grammar
and the patterns are checked before llama.cpp sees them: a NULL sampler or a regex that
``std::regex`` would throw on become :class:`~pegtool.errors.GrammarError` instead of a crash.
"""

from __future__ import annotations

import ctypes
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pegtool.errors import GrammarError

__all__ = [
    "TOKEN",
    "WORD",
    "PATTERN",
    "PATTERN_FULL",
    "ConstrainedSampler",
    "LazyTriggers",
    "build_sampler",
    "new_grammar_sampler",
    "ecma_escape",
    "resolve_triggers",
    "token_piece",
]

TOKEN, WORD, PATTERN, PATTERN_FULL = 0, 1, 2, 3
_ECMA_SPECIAL = re.compile(r"[.^$|()*+?\[\]{}\\]")


def ecma_escape(text: str) -> str:
    """``text`` as a literal inside an ECMAScript regex."""
    return _ECMA_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def _anchor_full(pattern: str) -> str:
    if not pattern:
        return "^$"
    return ("" if pattern.startswith("^") else "^") + pattern + ("" if pattern.endswith("$") else "$")


@dataclass
class LazyTriggers:
    """What llama.cpp's lazy grammar sampler takes: regex patterns and token ids."""

    patterns: list[str] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.patterns or self.tokens)


def token_piece(vocab: Any, token: int, special: bool = True) -> bytes:
    """The bytes of one token (``special`` keeps control-token text such as ``<tool_call>``)."""
    import llama_cpp

    buf = ctypes.create_string_buffer(64)
    n = llama_cpp.llama_token_to_piece(vocab, token, buf, 64, 0, special)
    if n < 0:
        buf = ctypes.create_string_buffer(-n)
        n = llama_cpp.llama_token_to_piece(vocab, token, buf, -n, 0, special)
    return buf.raw[:n]


def _single_token(llama: Any, text: str) -> int | None:
    """The id of ``text`` when the vocabulary holds it as one (special) token."""
    toks = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    return toks[0] if len(toks) == 1 else None


def resolve_triggers(triggers: Iterable[dict[str, Any]], llama: Any | None = None) -> LazyTriggers:
    """Convert llama-server trigger dicts to patterns and token ids for ``llama`` (if given)."""
    out = LazyTriggers()
    for trig in triggers:
        kind, value = int(trig.get("type", WORD)), str(trig.get("value", ""))
        if kind == TOKEN:
            tok = trig.get("token")
            if tok is None and llama is not None:
                tok = _single_token(llama, value)
            if tok is not None:
                out.tokens.append(int(tok))
                continue
            out.notes.append(f"token trigger {value!r} is not one token here; matched as text")
            kind = WORD
        if value:
            out.patterns.append(trigger_pattern(kind, value))
    for pat in out.patterns:
        check_pattern(pat)
    return out


def trigger_pattern(kind: int, value: str) -> str:
    """The regex llama.cpp's lazy sampler takes for a WORD / PATTERN / PATTERN_FULL trigger."""
    if kind not in (WORD, PATTERN, PATTERN_FULL):
        raise GrammarError(f"unknown grammar trigger type {kind!r}")
    try:
        from pegtool.gbnf.triggers import GrammarTrigger, trigger_regex
    except ImportError:  # pragma: no cover - the GBNF back-end is optional here
        pass
    else:
        return trigger_regex(GrammarTrigger(kind, value))
    if kind == WORD:
        return "(" + ecma_escape(value) + ")"
    return value if kind == PATTERN else _anchor_full(value)


def check_pattern(pattern: str) -> None:
    """Reject regex syntax ``std::regex`` (ECMAScript) would throw on, before llama.cpp sees it."""
    if re.search(r"\(\?(<[=!]|<\w|P<|[aiLmsux-]+[):])", pattern):
        raise GrammarError(f"trigger pattern uses syntax ECMAScript regexes lack: {pattern!r}")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise GrammarError(f"invalid trigger pattern {pattern!r}: {exc}") from exc


def _check_gbnf_text(gbnf: str) -> None:
    try:
        from pegtool.gbnf.validate import check_gbnf
    except ImportError:  # pragma: no cover - the validator is optional here
        return
    problems = check_gbnf(gbnf)
    if problems:
        raise GrammarError("invalid GBNF: " + "; ".join(problems[:3]))


def _grammar_sampler(llama: Any, gbnf: str, lazy: bool, trig: LazyTriggers) -> Any:
    import llama_cpp

    vocab, text, root = llama._model.vocab, gbnf.encode("utf-8"), b"root"
    if not lazy:
        return llama_cpp.llama_sampler_init_grammar(vocab, text, root)
    pats = (ctypes.c_char_p * max(1, len(trig.patterns)))(*[p.encode("utf-8") for p in trig.patterns])
    toks = (llama_cpp.llama_token * max(1, len(trig.tokens)))(*trig.tokens)
    return llama_cpp.llama_sampler_init_grammar_lazy_patterns(
        vocab, text, root, pats, len(trig.patterns), toks, len(trig.tokens)
    )


def new_grammar_sampler(llama: Any, gbnf: str, *, lazy: bool = False,
                        triggers: LazyTriggers | None = None) -> Any:
    """A raw llama.cpp grammar sampler (caller frees it); :class:`GrammarError` if refused."""
    trig = triggers or LazyTriggers()
    if lazy and not trig:
        raise GrammarError("a lazy grammar needs at least one trigger")
    if "\x00" in gbnf:
        raise GrammarError("grammar text contains a NUL character")
    _check_gbnf_text(gbnf)
    smpl = _grammar_sampler(llama, gbnf, lazy, trig)
    if not smpl:
        raise GrammarError("llama.cpp rejected the grammar (see its log for the position)")
    return smpl


class ConstrainedSampler:
    """A sampling chain plus a grammar checked after sampling, as llama.cpp's common sampler does.

    The chain samples from the raw logits; only when the grammar rejects that token are the
    logits masked by the grammar and sampled again. Masking a large vocabulary (Gemma 3: 262k
    tokens) every step is what makes grammar-first chains slow, and one such pass costs as much
    as several decoding steps of a small model. So a greedy chain resamples from the
    :attr:`SHORTLIST` highest final logits first (see :meth:`_resample`): exactly the token a
    whole-vocabulary pass would pick, or that pass when it cannot be sure. Non-greedy chains
    always mask the whole vocabulary.
    :meth:`sample` accepts the chosen token into the chain and the grammar; :attr:`resamples`
    counts rejected samples, :attr:`full_passes` the whole-vocabulary passes.
    """

    SHORTLIST = 256

    def __init__(self, llama: Any, chain: Any, grammar: Any | None,
                 guard: TriggerGuard | None = None, greedy: bool = False) -> None:
        import llama_cpp
        import numpy as np

        self._ll, self.chain, self.grammar, self.guard = llama_cpp, chain, grammar, guard
        n = llama.n_vocab()
        self._data = (llama_cpp.llama_token_data * n)()
        self._view = np.ctypeslib.as_array(self._data)
        self._ids = np.arange(n, dtype=np.int32)
        self._cur = llama_cpp.llama_token_data_array(self._data, n, -1, False)
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_arr = llama_cpp.llama_token_data_array(self._one, 1, -1, False)
        self.resamples = 0
        self.full_passes = 0
        self.greedy = greedy
        self._ids_in_place = False
        k = min(self.SHORTLIST, n)
        self._short = (llama_cpp.llama_token_data * k)()
        self._short_view = np.ctypeslib.as_array(self._short)
        self._short_arr = llama_cpp.llama_token_data_array(self._short, k, -1, False)

    def _fill(self, ctx: Any, idx: int) -> None:
        import numpy as np

        ptr = self._ll.llama_get_logits_ith(ctx, idx)
        if not self.greedy or not self._ids_in_place:  # other chains sort / rewrite the array
            self._view["id"] = self._ids
            self._view["p"] = 0.0
            self._ids_in_place = self.greedy
        self._view["logit"] = np.ctypeslib.as_array(ptr, shape=(len(self._ids),))
        self._cur.size, self._cur.selected, self._cur.sorted = len(self._ids), -1, False

    def _pick(self, ctx: Any, idx: int, masked: bool, banned: set[int] | None = None) -> int:
        ll = self._ll
        self._fill(ctx, idx)
        for tok in banned or ():
            self._view["logit"][tok] = -math.inf
        if masked:
            ll.llama_sampler_apply(self.grammar, ctypes.byref(self._cur))
        ll.llama_sampler_apply(self.chain.sampler, ctypes.byref(self._cur))
        chosen = self._cur.data[self._cur.selected]
        if masked and chosen.logit == -math.inf:
            raise GrammarError("the grammar allows no token here (dead end)")
        return int(chosen.id)

    def _resample(self, ctx: Any, idx: int) -> int:
        """The token a grammar-masked pass would pick, from a shortlist when that is provably the same.

        Right after an unmasked greedy pick, the candidate array holds the chain's final logits
        in token order (bias and penalties applied; a greedy chain neither sorts nor drops).
        The grammar then only checks the :attr:`SHORTLIST` best of them; the best allowed one is
        the greedy pick over the masked vocabulary when its logit is above every logit left out."""
        import numpy as np

        k = len(self._short_view)
        n = len(self._ids)
        if self.greedy and k < n and self._cur.size == n and not self._cur.sorted:
            final = self._view["logit"]
            top = np.sort(np.argpartition(final, -k)[-k:])  # ascending ids: ties resolve as greedy does
            self._short_view["id"] = top
            self._short_view["logit"] = final[top]
            floor = float(self._short_view["logit"].min())  # no logit left out is above it
            arr = self._short_arr
            arr.size, arr.selected, arr.sorted = k, -1, False
            self._ll.llama_sampler_apply(self.grammar, ctypes.byref(arr))
            vals = self._short_view["logit"]
            best = int(np.argmax(vals))
            if vals[best] != -math.inf and vals[best] > floor:
                return int(self._short_view["id"][best])
        self.full_passes += 1
        return self._pick(ctx, idx, masked=True)

    def _allowed(self, token: int) -> bool:
        self._one[0].id, self._one[0].logit, self._one[0].p = token, 1.0, 0.0  # type: ignore[assignment]
        self._one_arr.size, self._one_arr.selected, self._one_arr.sorted = 1, -1, False
        self._ll.llama_sampler_apply(self.grammar, ctypes.byref(self._one_arr))
        return bool(self._one[0].logit != -math.inf)

    def sample(self, ctx: Any, idx: int = -1) -> int:
        ctx_ptr = getattr(ctx, "ctx", ctx)
        token = self._pick(ctx_ptr, idx, masked=False)
        if self.grammar is not None:
            if not self._allowed(token):
                self.resamples += 1
                token = self._resample(ctx_ptr, idx)
            banned: set[int] = set()
            while self.guard is not None and not self.guard.safe(token):
                banned.add(token)  # this token would start the grammar mid-token and abort llama.cpp
                token = self._pick(ctx_ptr, idx, masked=False, banned=banned)
            if self.guard is not None:
                self.guard.accept(token)
            self._ll.llama_sampler_accept(self.grammar, token)
        self._ll.llama_sampler_accept(self.chain.sampler, token)
        return token

    def close(self) -> None:
        if self.guard is not None:
            self.guard.close()
        if self.grammar is not None:
            self._ll.llama_sampler_free(self.grammar)
            self.grammar = None
        self.chain.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class TriggerGuard:
    """Mirrors llama.cpp's lazy trigger search in Python so a token that would fire a trigger
    and replay text the grammar rejects (which aborts the process inside llama.cpp) is caught
    before it is accepted: such a token is banned and sampling repeated."""

    def __init__(self, llama: Any, gbnf: str, patterns: Sequence[str]) -> None:
        import llama_cpp

        self._ll, self._llama = llama_cpp, llama
        self._regexes = [re.compile(p) for p in patterns]
        self._checker = llama_cpp.llama_sampler_init_grammar(llama._model.vocab, gbnf.encode(), b"root")
        self._buffer = b""
        self.triggered = False
        self._one = (llama_cpp.llama_token_data * 1)()
        self._arr = llama_cpp.llama_token_data_array(self._one, 1, -1, False)

    def _start(self, text: str) -> int | None:
        for rx in self._regexes:
            m = rx.search(text)
            if m:
                groups = [m.start(i) for i in range(1, (m.re.groups or 0) + 1) if m.group(i)]
                return groups[0] if groups else m.start()
        return None

    def safe(self, token: int) -> bool:
        if self.triggered or not self._checker:
            return True
        text = (self._buffer + token_piece(self._llama._model.vocab, token)).decode("utf-8", "replace")
        start = self._start(text)
        return start is None or self._viable(text[start:])

    def _viable(self, text: str) -> bool:
        ll = self._ll
        smpl = ll.llama_sampler_clone(self._checker)
        try:
            for tok in self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False):
                self._one[0].id, self._one[0].logit = tok, 1.0
                self._arr.size, self._arr.selected = 1, -1
                ll.llama_sampler_apply(smpl, ctypes.byref(self._arr))
                if self._one[0].logit == -math.inf:
                    return False
                ll.llama_sampler_accept(smpl, tok)
            return True
        finally:
            ll.llama_sampler_free(smpl)

    def accept(self, token: int) -> None:
        if self.triggered:
            return
        self._buffer += token_piece(self._llama._model.vocab, token)
        self.triggered = self._start(self._buffer.decode("utf-8", "replace")) is not None

    def close(self) -> None:
        if self._checker:
            self._ll.llama_sampler_free(self._checker)
            self._checker = None


def _add_steps(chain: Any, llama: Any, temperature: float, top_k: int, top_p: float, min_p: float,
               seed: int | None, logit_bias: dict[int, float] | None,
               penalties: tuple[float, float, float]) -> None:
    if logit_bias:
        chain.add_logit_bias(llama.n_vocab(), logit_bias)
    repeat, freq, present = penalties
    if repeat != 1.0 or freq or present:
        chain.add_penalties(llama.n_vocab(), 64, repeat, freq, present)
    if temperature <= 0:
        chain.add_greedy()
        return
    if top_k > 0:
        chain.add_top_k(top_k)
    if 0 < top_p < 1:
        chain.add_top_p(top_p, 1)
    if 0 < min_p < 1:
        chain.add_min_p(min_p, 1)
    chain.add_temp(temperature)
    chain.add_dist(0xFFFFFFFF if seed is None else seed & 0xFFFFFFFF)


def build_sampler(
    llama: Any,
    gbnf: str | None,
    *,
    lazy: bool = False,
    trigger_patterns: Sequence[str] = (),
    trigger_tokens: Sequence[int] = (),
    temperature: float = 0.0,
    top_k: int = 40,
    top_p: float = 0.95,
    min_p: float = 0.05,
    seed: int | None = None,
    logit_bias: dict[int, float] | None = None,
    repeat_penalty: float = 1.0,
    frequency_penalty: float = 0.0,
    presence_penalty: float = 0.0,
    grammar_first: bool = False,
) -> Any:
    """A sampler with ``.sample(ctx, idx)`` that constrains generation by ``gbnf`` (if any).

    ``temperature <= 0`` samples greedily. By default a :class:`ConstrainedSampler` (grammar
    checked after sampling, resampled on rejection); ``grammar_first=True`` gives a plain
    ``LlamaSampler`` chain with the grammar sampler first. Either way ``sample()`` accepts the
    token it returns (grammar included): never call ``accept`` on it again.
    """
    import llama_cpp
    from llama_cpp._internals import LlamaSampler

    for pat in trigger_patterns:
        check_pattern(pat)
    trig = LazyTriggers(list(trigger_patterns), [int(t) for t in trigger_tokens])
    grammar = new_grammar_sampler(llama, gbnf, lazy=lazy, triggers=trig) if gbnf else None
    chain = LlamaSampler()
    if grammar is not None and grammar_first:
        llama_cpp.llama_sampler_chain_add(chain.sampler, grammar)  # the chain owns it now
    _add_steps(chain, llama, temperature, top_k, top_p, min_p, seed, logit_bias,
               (repeat_penalty, frequency_penalty, presence_penalty))
    if grammar_first or grammar is None:
        return chain
    guard = TriggerGuard(llama, gbnf, trigger_patterns) if lazy and gbnf and trigger_patterns else None
    return ConstrainedSampler(llama, chain, grammar, guard, greedy=temperature <= 0)
