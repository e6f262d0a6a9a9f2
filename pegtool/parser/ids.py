"""Stage: parser — tool-call ids for the calls of one response.

A call the model wrote an id for keeps it. Every other call gets a fresh id, unique per response:
OpenAI-style ``call_`` + 24 alphanumerics, or 9 alphanumerics for dialects whose template insists
on them (``id_style`` "alnum9", Mistral). One :class:`CallIds` serves one response — one
``parse()`` or one stream, snapshots, agreement parses and ``finish()`` alike — so a call keeps
the id its first delta carried.

Reproducible ids: ``seed`` draws each response's ids from ``random.Random(seed)`` (the same output
gives the same ids, so a stream and a parse of one text agree); ``factory(index, name)`` lets the
caller choose them. Without either, ids come from :mod:`secrets`.

>>> a, b = CallIds(), CallIds()
>>> a.get(0, "f") == a.get(0, "f") != b.get(0, "f")
True
>>> CallIds(seed=7).get(0, "f") == CallIds(seed=7).get(0, "f"), len(CallIds("alnum9").get(0, "f"))
(True, 9)
"""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Callable

#: OpenAI's id alphabet (letters and digits)
ALPHABET = string.ascii_letters + string.digits

IdFactory = Callable[[int, str], str]


class CallIds:
    """The ids of one response's calls, by call index (drawn in index order, then kept)."""

    __slots__ = ("style", "_rng", "_factory", "_ids", "_pinned")

    def __init__(self, style: str = "plain", *, seed: int | None = None, factory: IdFactory | None = None) -> None:
        self.style = style
        self._rng: random.Random | None = random.Random(seed) if seed is not None else None
        self._factory = factory
        self._ids: list[str] = []
        self._pinned: set[int] = set()

    def pin(self, index: int) -> None:
        """Call ``index`` keeps the id given here even if the model writes one later (a stream
        sends a call's id in its first delta, before an id written after the arguments)."""
        self._pinned.add(index)

    def pinned(self, index: int) -> bool:
        return index in self._pinned

    def get(self, index: int, name: str) -> str:
        """The id of call ``index`` (``name``: its tool, passed to a factory)."""
        while len(self._ids) <= index:
            k = len(self._ids)
            self._ids.append(self._factory(k, name if k == index else "") if self._factory is not None
                             else self._draw())
        return self._ids[index]

    def _draw(self) -> str:
        n = 9 if self.style == "alnum9" else 24
        if self._rng is not None:
            body = "".join(self._rng.choice(ALPHABET) for _ in range(n))
        else:
            body = "".join(secrets.choice(ALPHABET) for _ in range(n))
        return body if self.style == "alnum9" else "call_" + body


__all__ = ["ALPHABET", "CallIds", "IdFactory"]
