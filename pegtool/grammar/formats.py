"""Stage: grammar — regular languages for JSON Schema ``format`` values and integer ranges.

Formats are given as regular expressions (compiled by :mod:`pegtool.grammar.regex` to a DFA, so
they intersect exactly with ``pattern`` and length limits). They follow RFC 3339 / RFC 4122 and
are a little stricter than what validators accept (e.g. ``T`` upper case only in date-times,
seconds fraction optional) — a grammar for *generating* values may be conservative.

Integer ranges are turned into digit-by-digit regular expressions (like llama.cpp's integer
min/max support), so ``{"type": "integer", "minimum": 1, "maximum": 50}`` is enforced exactly.
"""

from __future__ import annotations

_DATE = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
_HEX = "[0-9a-fA-F]"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"  # label length (<= 63) not enforced: small DFA

FORMATS: dict[str, str] = {
    "date": _DATE,
    "time": _TIME,
    "date-time": f"{_DATE}T{_TIME}",
    "uuid": f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}",
    "email": r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
    + rf"{_LABEL}(\.{_LABEL})*",
    "ipv4": rf"{_OCTET}(\.{_OCTET}){{3}}",
    "hostname": rf"{_LABEL}(\.{_LABEL})*",
}


def format_regex(name: str) -> str | None:
    """The regular expression (full-match) for a supported ``format``, else ``None``."""
    return FORMATS.get(name)


def _same_length(lo: str, hi: str) -> str:
    """Regex for decimal strings of equal length ``n`` between ``lo`` and ``hi`` (inclusive)."""
    if lo == hi:
        return lo
    if lo[0] == hi[0]:
        return lo[0] + "(" + _same_length(lo[1:], hi[1:]) + ")"
    rest = len(lo) - 1
    parts = []
    if rest == 0:
        return f"[{lo}-{hi}]"
    parts.append(lo[0] + "(" + _same_length(lo[1:], "9" * rest) + ")")
    if int(hi[0]) - int(lo[0]) > 1:
        parts.append(f"[{int(lo[0]) + 1}-{int(hi[0]) - 1}][0-9]{{{rest}}}")
    parts.append(hi[0] + "(" + _same_length("0" * rest, hi[1:]) + ")")
    return "|".join(parts)


def _nonneg_range(lo: int, hi: int | None) -> str:
    """Regex for canonical decimal integers in ``[lo, hi]`` with ``0 <= lo``; ``hi=None`` = ∞."""
    parts = []
    if hi is None:
        width = len(str(lo))
        parts.append(f"[1-9][0-9]{{{width},}}")
        hi = 10**width - 1
    a = lo
    while a <= hi:
        b = min(hi, 10 ** len(str(a)) - 1)
        parts.append(_same_length(str(a), str(b)))
        a = b + 1
    return "|".join(f"({p})" for p in parts)


def integer_range_regex(lo: int | None, hi: int | None) -> str:
    """Regex (full match) for JSON integers ``n`` with ``lo <= n <= hi`` (either bound may be None).

    >>> import re
    >>> r = integer_range_regex(-12, 7)
    >>> [n for n in range(-20, 20) if re.fullmatch(r, str(n))] == list(range(-12, 8))
    True
    """
    if lo is not None and hi is not None and lo > hi:
        raise ValueError("empty integer range")
    parts = []
    if lo is None or lo < 0:
        neg_hi = None if lo is None else -lo
        neg_lo = 1 if hi is None or hi >= 0 else -hi
        parts.append("-(" + _nonneg_range(neg_lo, neg_hi) + ")")
    if hi is None or hi >= 0:
        parts.append(_nonneg_range(max(lo or 0, 0), hi))
    return "|".join(f"({p})" for p in parts)


__all__ = ["FORMATS", "format_regex", "integer_range_regex"]
