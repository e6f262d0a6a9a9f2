"""Stage 1 (template): the loaded form of a chat template, whatever file it came from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TemplateSource:
    """A chat template's text plus what the tokenizer says about it.

    ``special_tokens`` holds the text of every token the tokenizer treats as special (control or
    user-defined tokens); markers found among them must be preserved by llama-server.
    ``variant`` is the named template picked from a list (``None`` for a single template) and
    ``origin`` the path it was loaded from (empty for text given directly).
    """

    text: str
    name: str
    bos_token: str = ""
    eos_token: str = ""
    special_tokens: frozenset[str] = field(default_factory=frozenset)
    variant: str | None = None
    origin: str = ""

    @classmethod
    def from_text(cls, text: str, *, bos_token: str = "", eos_token: str = "",
                  name: str = "<string>") -> TemplateSource:
        """A source for template text held in memory; bos/eos count as special tokens."""
        specials = frozenset(t for t in (bos_token, eos_token) if t)
        return cls(text=text, name=name, bos_token=bos_token, eos_token=eos_token,
                   special_tokens=specials)
