"""The pegtool error tree. Every error pegtool raises on purpose is a :class:`PegtoolError`.

Errors that concern a position in some text carry the position and draw a caret context.
"""

from __future__ import annotations

from collections.abc import Sequence


class PegtoolError(Exception):
    """Root of every error pegtool raises on purpose."""


class PegtoolWarning(UserWarning):
    """Root of every warning pegtool issues: something was not enforced or may misbehave."""


class TemplateError(PegtoolError):
    """A chat template could not be loaded or rendered (names the file and, where known, line)."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        where = ""
        if source:
            where = f"{source}"
            if line is not None:
                where += f":{line}"
            where += ": "
        super().__init__(where + message)
        self.source = source
        self.line = line
        self.detail = message  # the message without the file location (stable across machines)


class RequestError(PegtoolError):
    """A client's request is malformed (unknown tool_choice, a tool without a name, history
    arguments that are not JSON, ...). The message names the offending field and the fix; a server
    answers it with a 4xx. ``field`` is the path of that field (``tools[0].function.name``)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.detail = message


class AnalysisError(PegtoolError):
    """A template's dialect could not be worked out."""


class GrammarError(PegtoolError):
    """An IR grammar is malformed (undefined rule, left recursion, bad bounds, ...)."""


class SchemaError(GrammarError):
    """A JSON Schema cannot be compiled (unsatisfiable, bad $ref, ...); ``pointer`` says where."""

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(f"{pointer or '#'}: {message}")
        self.pointer = pointer


class ToolSchemaError(RequestError, SchemaError):
    """A tool offered in a request has a JSON Schema that cannot be compiled. It is both a
    :class:`RequestError` (the client sent it: answer 4xx) and a :class:`SchemaError` (the same
    problem ``pegtool schema`` reports); ``field`` names the tool's parameters, ``pointer`` the
    place inside the schema."""

    def __init__(self, message: str, field: str = "", pointer: str = "") -> None:
        Exception.__init__(self, f"{field}: {message}" if field else message)
        self.field, self.detail, self.pointer = field, message, pointer


def caret_context(text: str, pos: int, width: int = 60) -> str:
    """The line of ``text`` holding ``pos`` with a caret under it (long lines are windowed).

    >>> print(caret_context("ab\\ncdef", 5))
    cdef
      ^
    """
    pos = max(0, min(pos, len(text)))
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    if line_end < 0:
        line_end = len(text)
    lo = max(line_start, pos - width)
    hi = min(line_end, pos + width)
    prefix = "…" if lo > line_start else ""
    suffix = "…" if hi < line_end else ""
    return f"{prefix}{text[lo:hi]}{suffix}\n{' ' * (len(prefix) + pos - lo)}^"


def line_col(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of ``pos`` in ``text``.

    >>> line_col("ab\\ncd", 4)
    (2, 2)
    """
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


class ParseError(PegtoolError):
    """Text did not match a grammar. ``pos`` is the farthest position reached."""

    def __init__(self, text: str, pos: int, expected: Sequence[str] = (), message: str = "") -> None:
        self.text = text
        self.pos = pos
        self.expected = tuple(expected)
        self.line, self.col = line_col(text, pos)
        exp = ", ".join(self.expected[:8]) or "something else"
        head = message or f"parse error at line {self.line}, column {self.col}: expected {exp}"
        super().__init__(f"{head}\n{self.context()}")

    def context(self, width: int = 60) -> str:
        return caret_context(self.text, self.pos, width)
