"""Stage: gbnf back-end — the exact ``until(d1..dn)`` language as a finite automaton.

``Until(D)`` in a CFG must accept exactly the strings that contain no delimiter of ``D``
(a proper prefix of a delimiter is fine). We build the Aho–Corasick style automaton over ``D``:
a state is the longest suffix of the text read so far that is a proper prefix of some delimiter;
a transition that would complete a delimiter does not exist. Each state becomes one GBNF rule
whose alternatives are ``[class] next-state`` (one class per target state, the "everything else"
class spelt negated) plus the empty alternative wherever the text may end.

With ``follow=t`` (the literal that comes right after the ``until`` in a sequence and starts with
a delimiter) the end is only allowed in states ``s`` where ``s + t`` holds no delimiter starting
before ``t``: in PEG the ``until`` stops at the FIRST delimiter, so ``"ab" "abab"`` must not match
``until("abab") "abab"``. This is exact whenever no delimiter is longer than ``len(t) + 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pegtool.gbnf import charset
from pegtool.gbnf.charset import Ranges

DEAD = -1
NEVER = "[^\\x00-\\U0010FFFF]"  # a class no code point is in: the empty language


@dataclass(frozen=True)
class UntilAutomaton:
    """States (labels), their outgoing edges ``(code points, target)``, and where text may end."""

    labels: tuple[str, ...]
    edges: tuple[tuple[tuple[Ranges, int], ...], ...]
    accepting: tuple[bool, ...]

    def step(self, state: int, ch: str) -> int:
        for chars, target in self.edges[state]:
            if charset.contains(chars, ord(ch)):
                return target
        return DEAD

    def accepts(self, text: str) -> bool:
        """Whether ``text`` is in the automaton's language (used by tests)."""
        state = 0
        for ch in text:
            state = self.step(state, ch)
            if state == DEAD:
                return False
        return self.accepting[state]


def _next_label(text: str, prefixes: set[str]) -> str:
    for k in range(len(text) + 1):
        if text[k:] in prefixes:
            return text[k:]
    return ""


def _moves(
    label: str, delims: Sequence[str], alphabet: Sequence[str], prefixes: set[str]
) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for ch in alphabet:
        text = label + ch
        out[ch] = None if any(text.endswith(d) for d in delims) else _next_label(text, prefixes)
    return out


def _state_edges(moves: dict[str, str | None], index: dict[str, int]) -> tuple[tuple[Ranges, int], ...]:
    by_target: dict[int, list[str]] = {}
    for ch, label in moves.items():
        if label is not None and index[label] != 0:
            by_target.setdefault(index[label], []).append(ch)
    leaving = [ch for ch, label in moves.items() if label is None or index[label] != 0]
    edges: list[tuple[Ranges, int]] = [(charset.complement(charset.of_chars(leaving)), 0)]
    edges += [(charset.of_chars(chs), t) for t, chs in sorted(by_target.items())]
    return tuple(e for e in edges if e[0])


def _ends_ok(label: str, delims: Sequence[str], follow: str | None) -> bool:
    if follow is None:
        return True
    text = label + follow
    return not any(text.startswith(d, p) for p in range(len(label)) for d in delims)


def build(delimiters: Sequence[str], follow: str | None = None) -> UntilAutomaton:
    """The automaton of delimiter-free strings (optionally restricted to end before ``follow``).

    >>> a = build(["ab"])
    >>> a.accepts("aaa"), a.accepts("xab"), a.accepts("ba")
    (True, False, True)
    """
    delims = sorted({d for d in delimiters if d})
    prefixes = {d[:i] for d in delims for i in range(len(d))}
    alphabet = sorted({c for d in delims for c in d})
    labels, index = [""], {"": 0}
    all_moves: list[dict[str, str | None]] = []
    i = 0
    while i < len(labels):
        moves = _moves(labels[i], delims, alphabet, prefixes)
        for label in moves.values():
            if label is not None and label not in index:
                index[label] = len(labels)
                labels.append(label)
        all_moves.append(moves)
        i += 1
    edges = tuple(_state_edges(m, index) for m in all_moves)
    accepting = tuple(_ends_ok(lab, delims, follow) for lab in labels)
    return UntilAutomaton(tuple(labels), edges, accepting)


def render(
    auto: UntilAutomaton,
    name_of: Callable[[int], str],
    class_text: Callable[[Ranges], str],
) -> list[tuple[str, str]]:
    """GBNF rules ``(name, body)`` for every state; state 0 is the entry."""
    rules = []
    for state, edges in enumerate(auto.edges):
        alts = [f"{class_text(chars)} {name_of(target)}" for chars, target in edges]
        if auto.accepting[state]:
            alts.append('""')  # explicit: a trailing bare "|" would swallow the next line
        rules.append((name_of(state), " | ".join(alts) if alts else NEVER))
    return rules


def render_nonempty_entry(
    auto: UntilAutomaton, name_of: Callable[[int], str], class_text: Callable[[Ranges], str]
) -> str:
    """The body of a rule for at least one character, then continuing in the automaton."""
    return " | ".join(f"{class_text(chars)} {name_of(target)}" for chars, target in auto.edges[0])
