"""Test support: immutable code-point sets (sorted disjoint inclusive ranges) for FIRST/FOLLOW facts.

>>> s = CharSet.of_chars("ab").union(CharSet.of_ranges(((ord("x"), ord("z")),)))
>>> s.intersects(CharSet.of_chars("y")), s.intersects(CharSet.of_chars("c"))
(True, False)
>>> CharSet.of_chars("a").complement().contains(ord("a"))
False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_CP = 0x10FFFF


@dataclass(frozen=True)
class CharSet:
    ranges: tuple[tuple[int, int], ...] = ()

    @staticmethod
    def of_ranges(pairs: Iterable[tuple[int, int]], negated: bool = False) -> CharSet:
        merged: list[list[int]] = []
        for lo, hi in sorted(pairs):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        out = CharSet(tuple((a, b) for a, b in merged))
        return out.complement() if negated else out

    @staticmethod
    def of_chars(text: str) -> CharSet:
        return CharSet.of_ranges((ord(c), ord(c)) for c in text)

    def union(self, other: CharSet) -> CharSet:
        return CharSet.of_ranges(self.ranges + other.ranges)

    def complement(self) -> CharSet:
        out, nxt = [], 0
        for lo, hi in self.ranges:
            if lo > nxt:
                out.append((nxt, lo - 1))
            nxt = hi + 1
        if nxt <= MAX_CP:
            out.append((nxt, MAX_CP))
        return CharSet(tuple(out))

    def intersects(self, other: CharSet) -> bool:
        i = j = 0
        a, b = self.ranges, other.ranges
        while i < len(a) and j < len(b):
            if a[i][1] < b[j][0]:
                i += 1
            elif b[j][1] < a[i][0]:
                j += 1
            else:
                return True
        return False

    def contains(self, cp: int) -> bool:
        return any(lo <= cp <= hi for lo, hi in self.ranges)

    def __bool__(self) -> bool:
        return bool(self.ranges)


EMPTY = CharSet()
ALL = CharSet(((0, MAX_CP),))
