"""Stage: analysis — text helpers for diffing renders and cutting out markers.

All helpers are pure functions over strings. A *marker* is a bracketed token such as ``<think>``,
``<|im_end|>``, ``[TOOL_CALLS]`` or ``<｜tool▁sep｜>``; cuts never fall inside one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN = "<["
_CLOSE = {"<": ">", "[": "]"}
_MARKER_RE = re.compile(r"<[^<>\s]*(?:\s[^<>]*)?>|\[[A-Za-z_][A-Za-z0-9_:\- ]*\]")


def lcp(a: str, b: str) -> int:
    """Length of the longest common prefix.

    >>> lcp("abcd", "abxy")
    2
    """
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def lcs(a: str, b: str, limit: int | None = None) -> int:
    """Length of the longest common suffix, at most ``limit``.

    >>> lcs("xxabc", "yabc")
    3
    >>> lcs("aa", "aa", limit=1)
    1
    """
    n = min(len(a), len(b)) if limit is None else min(len(a), len(b), limit)
    i = 0
    while i < n and a[len(a) - 1 - i] == b[len(b) - 1 - i]:
        i += 1
    return i


def open_marker_at(text: str) -> int:
    """Start of a marker left open at the end of ``text`` (-1 when none).

    >>> open_marker_at("abc<|im_")
    3
    >>> open_marker_at("abc<b>")
    -1
    """
    for i in range(len(text) - 1, max(-1, len(text) - 64), -1):
        ch = text[i]
        if ch in ">]\n":
            return -1
        if ch in _OPEN and _CLOSE[ch] not in text[i:]:
            return i
    return -1


def openers_of(closer: str) -> tuple[str, ...]:
    """The markers that may open what ``closer`` closes.

    >>> openers_of("</think>"), openers_of("<|END_THINKING|>"), openers_of("<|close|>x<|sep|>")
    (('<think>',), ('<|START_THINKING|>',), ('<|open|>x<|sep|>',))
    """
    out = []
    if closer.startswith("</"):
        out.append("<" + closer[2:])
    if closer.startswith("[/"):
        out.append("[" + closer[2:])
    for shut, open_ in (("close", "open"), ("END", "START"), ("End", "Start"), ("end", "start")):
        if shut in closer:
            out.append(closer.replace(shut, open_, 1))
    return tuple(o for o in dict.fromkeys(out) if o != closer)


def marker_safe_prefix(a: str, b: str) -> int:
    """Common prefix length of ``a`` and ``b``, backed off so it does not end inside a marker.

    >>> marker_safe_prefix("x<think>y", "x</think>")
    1
    """
    n = lcp(a, b)
    cut = open_marker_at(a[:n])
    return cut if cut >= 0 else n


def marker_safe_suffix(a: str, b: str, limit: int | None = None) -> int:
    """Common suffix length, backed off so it does not start inside a marker.

    >>> marker_safe_suffix("<a>x</b>", "<c>yx</b>")
    5
    >>> marker_safe_suffix("<|im_end|>", "<|eom_end|>")
    0
    """
    n = lcs(a, b, limit)
    tail = a[len(a) - n:]
    for i, ch in enumerate(tail):
        if ch in ">]":
            opener = "<" if ch == ">" else "["
            if opener not in tail[:i]:
                return n - i - 1
        if ch in _OPEN:
            break
    return n


@dataclass(frozen=True)
class DiffSplit:
    """``a = prefix + left + suffix`` and ``b = prefix + right + suffix``."""

    prefix: str
    left: str
    right: str
    suffix: str


def diff_split(a: str, b: str) -> DiffSplit:
    """Split two renders into common prefix, differing middles and common suffix.

    >>> diff_split("<s>A</s>", "<s>BB</s>")
    DiffSplit(prefix='<s>', left='A', right='BB', suffix='</s>')
    >>> diff_split("x<think>y", "x</think>y")
    DiffSplit(prefix='x', left='<think>', right='</think>', suffix='y')
    """
    p = marker_safe_prefix(a, b)
    s = marker_safe_suffix(a, b, limit=min(len(a), len(b)) - p)
    return DiffSplit(a[:p], a[p:len(a) - s], b[p:len(b) - s], a[len(a) - s:])


def segments(text: str) -> list[str]:
    """Split ``text`` into markers and the text between them.

    >>> segments("<tool_call>\\n{x}</tool_call>")
    ['<tool_call>', '\\n{x}', '</tool_call>']
    >>> segments("[TOOL_CALLS]f[ARGS]{}")
    ['[TOOL_CALLS]', 'f', '[ARGS]', '{}']
    """
    out: list[str] = []
    pos = 0
    for m in _MARKER_RE.finditer(text):
        if m.start() > pos:
            out.append(text[pos:m.start()])
        out.append(m.group())
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


def is_marker(segment: str) -> bool:
    """Whether ``segment`` is one whole marker.

    >>> is_marker("<|im_end|>"), is_marker("hello")
    (True, False)
    """
    return bool(_MARKER_RE.fullmatch(segment))


def markers_in(text: str) -> list[str]:
    """The markers of ``text`` in order.

    >>> markers_in("a<b>c[D]")
    ['<b>', '[D]']
    """
    return [s for s in segments(text) if is_marker(s)]


def around(text: str, needle: str, start: int = 0) -> tuple[str, str] | None:
    """``(before, after)`` the first ``needle`` at or after ``start``; ``None`` when absent.

    >>> around("<p>VAL</p>", "VAL")
    ('<p>', '</p>')
    """
    i = text.find(needle, start)
    if i < 0:
        return None
    return text[:i], text[i + len(needle):]


def last_marker(text: str) -> str:
    """The trailing marker of ``text`` (white space ignored), or its last stripped line.

    >>> last_marker("assistant\\n<think>\\n")
    '<think>'
    """
    segs = [s for s in segments(text.rstrip()) if s.strip()]
    if not segs:
        return ""
    return segs[-1] if is_marker(segs[-1]) else segs[-1].strip().splitlines()[-1].strip()


def first_marker(text: str) -> str:
    """The leading marker of ``text`` (white space ignored), or its first stripped line.

    >>> first_marker("\\n</think>\\n\\nHi")
    '</think>'
    """
    segs = [s for s in segments(text.lstrip()) if s.strip()]
    if not segs:
        return ""
    return segs[0] if is_marker(segs[0]) else segs[0].strip().splitlines()[0].strip()


def common_suffix_of(a: str, b: str) -> str:
    """The longest common suffix text of ``a`` and ``b``.

    >>> common_suffix_of("xx</a>", "y</a>")
    '</a>'
    """
    n = lcs(a, b)
    return a[len(a) - n:] if n else ""


def common_prefix_of(a: str, b: str) -> str:
    """The longest common prefix text of ``a`` and ``b``.

    >>> common_prefix_of("<a>x", "<a>y")
    '<a>'
    """
    return a[:lcp(a, b)]
