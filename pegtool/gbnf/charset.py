"""Stage: gbnf back-end — sets of code points as sorted, merged inclusive ranges.

Used to turn character predicates (``!x .``, ``&x [..]``) into single GBNF classes, and to pick
the shorter of the positive and negated spelling of a class.
"""

from __future__ import annotations

from collections.abc import Iterable

from pegtool.gbnf.escape import MAX_CODE_POINT

Ranges = tuple[tuple[int, int], ...]
FULL: Ranges = ((0, MAX_CODE_POINT),)
EMPTY: Ranges = ()


def normalize(pairs: Iterable[tuple[int, int]]) -> Ranges:
    """Sort and merge overlapping or adjacent ranges.

    >>> normalize([(5, 6), (1, 3), (4, 4)])
    ((1, 6),)
    """
    out: list[list[int]] = []
    for lo, hi in sorted(pairs):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def complement(rs: Ranges) -> Ranges:
    """All code points not in ``rs``.

    >>> complement(((0, 9), (20, 0x10FFFF)))
    ((10, 19),)
    """
    out: list[tuple[int, int]] = []
    nxt = 0
    for lo, hi in rs:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CODE_POINT:
        out.append((nxt, MAX_CODE_POINT))
    return tuple(out)


def union(a: Ranges, b: Ranges) -> Ranges:
    return normalize(a + b)


def intersect(a: Ranges, b: Ranges) -> Ranges:
    """>>> intersect(((0, 10),), ((5, 20),))
    ((5, 10),)
    """
    return complement(union(complement(a), complement(b)))


def subtract(a: Ranges, b: Ranges) -> Ranges:
    return intersect(a, complement(b))


def contains(rs: Ranges, cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in rs)


def of_chars(chars: Iterable[str]) -> Ranges:
    return normalize((ord(c), ord(c)) for c in chars)


def of_class(ranges: Ranges, negated: bool) -> Ranges:
    rs = normalize(ranges)
    return complement(rs) if negated else rs
