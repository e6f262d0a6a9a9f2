"""Stage: integration — lazy-grammar triggers checked against a model's vocabulary.

llama.cpp's lazy grammar sampler matches trigger patterns on the text of generated tokens and
then replays the tokens that overlap the match into the grammar. A trigger word whose start or
end falls inside a token is risky: the token that straddles the end carries text past the
trigger into the grammar, and a word that is only the head of a longer token ("function" in
"functional") fires on text that is not a call, aborting generation when the grammar rejects
the rest of that token. :func:`check_trigger_boundaries` tokenises each literal trigger in a few
typical contexts and reports where it is not on a token boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pegtool.errors import PegtoolWarning
from pegtool.integrations.sampling import TOKEN, WORD, token_piece

__all__ = ["TriggerWarning", "check_trigger_boundaries", "token_starts"]

BEFORE = ("x", " ", "\n", ".")
AFTER = ("{", " ", "\n", "x", '"')
_CACHE: dict[int, dict[str, list[str]]] = {}


class TriggerWarning(PegtoolWarning):
    """A lazy-grammar trigger that may fire mid-token on this model's vocabulary."""


def token_starts(llama: Any, text: str) -> list[int]:
    """Byte offsets at which the tokens of ``text`` start (plus the end offset)."""
    vocab = llama._model.vocab
    toks = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    offsets, pos = [], 0
    for tok in toks:
        offsets.append(pos)
        pos += len(token_piece(vocab, tok))
    offsets.append(pos)
    return offsets


def _word_notes(llama: Any, word: str) -> list[str]:
    notes: list[str] = []
    raw = word.encode("utf-8")
    bad_before = [b for b in BEFORE if len(b.encode()) not in token_starts(llama, b + word)]
    if bad_before:
        notes.append(f"trigger {word!r} does not start on a token boundary after "
                     f"{', '.join(map(repr, bad_before))}; llama.cpp replays a partial token")
    bad_after = [a for a in AFTER if len(raw) not in token_starts(llama, word + a)]
    if bad_after:
        notes.append(f"trigger {word!r} does not end on a token boundary before "
                     f"{', '.join(map(repr, bad_after))}; text past it reaches the grammar")
    return notes


def check_trigger_boundaries(llama: Any, triggers: Iterable[dict[str, Any]]) -> list[str]:
    """Notes for WORD / TOKEN triggers whose text does not sit on token boundaries (cached per model)."""
    cache: dict[str, list[str]] = _CACHE.setdefault(id(llama), {})
    notes: list[str] = []
    for trig in triggers:
        kind, value = int(trig.get("type", WORD)), str(trig.get("value", ""))
        if kind in (WORD, TOKEN) and value and trig.get("token") is None:
            if value not in cache:
                cache[value] = _word_notes(llama, value)
            notes.extend(cache[value])
    return notes
