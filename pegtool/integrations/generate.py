"""Stage: integration — the token loop that drives a ``llama_cpp.Llama`` with a sampler chain.

Prompt text -> tokens (one BOS, added by the tokenizer when the model asks for it; a BOS the
template already rendered is stripped first) -> evaluation (reusing the longest cached prefix
of the previous request) -> sample / evaluate until an end-of-generation token, a stop string
or ``max_tokens``. Tokens are detokenised with ``special=True`` so chat markers that are
special tokens stay in the text, and decoded incrementally so a multi-byte UTF-8 character
split across tokens is only released once complete.
"""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pegtool.errors import PegtoolError
from pegtool.integrations.sampling import token_piece

__all__ = ["Generation", "prompt_tokens"]


def prompt_tokens(llama: Any, prompt: str, bos_token: str = "") -> list[int]:
    """Tokens of a rendered prompt with exactly one BOS when the model wants one."""
    model_bos = _bos_text(llama)
    for bos in (bos_token, model_bos):
        if bos and prompt.startswith(bos):
            prompt = prompt[len(bos):]
            break
    return list(llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))


def _bos_text(llama: Any) -> str:
    bos = llama.token_bos()
    if bos is None or bos < 0:
        return ""
    return token_piece(llama._model.vocab, bos).decode("utf-8", "replace")


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _held_back(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters of ``text`` might start a stop string."""
    best = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:k]):
                best = k
                break
    return best


class Generation:
    """Iterate to get text pieces; afterwards read :attr:`finish_reason`, :attr:`text`, counts.

    ``stop`` strings always end generation (and are cut off). ``soft_stop`` strings (a
    template's end-of-turn markers) end free text; once the output is constrained (an eager
    grammar, or a lazy one after one of ``trigger_regexes`` matched) they end generation only
    when ``complete(text_before_marker)`` says the message is complete, so a marker inside a
    JSON string does not cut a call short. ``cancel`` (asked before every token: a server's
    client went away) ends generation early; :attr:`cancelled` then says so.
    """

    def __init__(self, llama: Any, tokens: list[int], sampler: Any, *, max_tokens: int | None = None,
                 stop: Sequence[str] = (), soft_stop: Sequence[str] = (),
                 trigger_regexes: Sequence[str] = (), constrained: bool = False,
                 complete: Callable[[str], bool] | None = None,
                 cancel: Callable[[], bool] | None = None) -> None:
        self.llama, self.tokens, self.sampler = llama, tokens, sampler
        self._cancel = cancel
        room = llama.n_ctx() - len(tokens)
        if room <= 0:
            raise PegtoolError(f"prompt of {len(tokens)} tokens does not fit the context ({llama.n_ctx()})")
        self.max_tokens = room if not max_tokens or max_tokens <= 0 else min(max_tokens, room)
        self.stop, self.soft_stop = [s for s in stop if s], [s for s in soft_stop if s]
        self._triggers = [re.compile(p) for p in trigger_regexes]
        self._constrained, self._complete = constrained, complete
        self.text = ""
        self.finish_reason = "length"
        self.completion_tokens = 0
        self.cancelled = False
        self.time_to_first_token: float | None = None
        self.seconds = 0.0

    @property
    def prompt_tokens(self) -> int:
        return len(self.tokens)

    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens}

    def _eval_prompt(self) -> None:
        llama = self.llama
        keep = min(_common_prefix(llama._input_ids.tolist(), self.tokens), len(self.tokens) - 1)
        llama.n_tokens = keep
        llama.eval(self.tokens[keep:])

    def _is_constrained(self, text: str) -> bool:
        return self._constrained or any(r.search(text) for r in self._triggers)

    def _find_stop(self, since: int) -> int | None:
        hits = [i for s in self.stop if (i := self.text.find(s, max(0, since - len(s)))) >= 0]
        for s in self.soft_stop:
            i = self.text.find(s, max(0, since - len(s)))
            if i >= 0 and (not self._is_constrained(self.text[:i])
                           or (self._complete is not None and self._complete(self.text[:i]))):
                hits.append(i)
        return min(hits) if hits else None

    def __iter__(self) -> Iterator[str]:
        import llama_cpp

        start = time.perf_counter()
        self._eval_prompt()
        vocab, ctx = self.llama._model.vocab, self.llama._ctx
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        sent, cut_off = 0, False
        for _ in range(self.max_tokens):
            if self._cancel is not None and self._cancel():
                self.cancelled = True
                break
            tok = self.sampler.sample(ctx, -1)  # also accepts the token (grammar included)
            if self.time_to_first_token is None:
                self.time_to_first_token = time.perf_counter() - start
            if llama_cpp.llama_vocab_is_eog(vocab, tok):
                self.finish_reason = "stop"
                break
            self.completion_tokens += 1
            before = len(self.text)
            self.text += decoder.decode(token_piece(vocab, tok, special=True))
            stops = self.stop + self.soft_stop
            cut = self._find_stop(before) if stops else None
            if cut is not None:
                self.text, self.finish_reason, cut_off = self.text[:cut], "stop", True
                break
            safe = len(self.text) - _held_back(self.text, stops)
            if safe > sent:
                yield self.text[sent:safe]
                sent = safe
            self.llama.eval([tok])
        if not cut_off:
            self.text += decoder.decode(b"", final=True)
        self.seconds = time.perf_counter() - start
        if len(self.text) > sent:
            yield self.text[sent:]

    def run(self) -> str:
        """Generate to the end and return the whole text."""
        for _ in self:
            pass
        return self.text
