"""Stage: analysis — the known round-trip exceptions, as data.

Each entry is ``(template, scenario, reason)``: a rendered assistant message that does not parse
back to the same message. The round-trip test asserts that exactly these scenarios fail (any
other failure, or one of these passing, fails CI); the README's table is made from the same list.
"""

from __future__ import annotations

from typing import NamedTuple


class KnownFailure(NamedTuple):
    template: str
    scenario: str
    reason: str


ROUNDTRIP_EXCEPTIONS: tuple[KnownFailure, ...] = (
    KnownFailure("openai-gpt-oss-120b", "content_call",
               "the template renders content next to calls as analysis-channel reasoning"),
    KnownFailure("meetkai-functionary-medium-v3.1", "code_arg",
               "a call to the built-in 'python' tool is rendered <|python_tag|>{…}<|eom_id|> without "
               "the tool name; the name cannot be captured from the text"),
)


def expected_failures() -> dict[tuple[str, str], str]:
    """``{(template, scenario): reason}`` of the known exceptions."""
    return {(e.template, e.scenario): e.reason for e in ROUNDTRIP_EXCEPTIONS}


__all__ = ["ROUNDTRIP_EXCEPTIONS", "KnownFailure", "expected_failures"]
