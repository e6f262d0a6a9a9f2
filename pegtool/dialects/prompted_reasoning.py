"""Named dialect: reasoning markers the template only names in its prompt.

Some reasoning models' templates render no reasoning of past turns, yet tell the model how to
write it, or pre-close an empty block when thinking is off:

* Ministral / Magistral Reasoning: the default system prompt lays out
  ``[THINK]your thoughts[/THINK]Here, provide a self-contained response.``;
* SmolLM3: the no-thinking generation prompt closes an empty ``<think>\\n\\n</think>`` (and the
  thinking system prompt describes ``<think> Thought section </think>``);
* Apriel 1.5: the system prompt asks for the final answer in ``[BEGIN FINAL RESPONSE] …
  [END FINAL RESPONSE]``; what comes before it (``Here are my reasoning steps: …``) is reasoning;
* Granite 3.3: asked to think (its ``thinking`` keyword), the system prompt says "Write your
  thoughts between <think></think> and write your response between <response></response>": the
  response wrapper is read as the content's.

Evidence (``render`` — the system prompt the template writes; ``generation_prompt`` — its
generation prompt with thinking on or off): both markers of a known pair, the opener before the
closer, in the same prompt; for an answer marker, the marker itself. It fires only when the
renders found no reasoning and the generation prompt does not open the block itself (that case is
the override ``think_tags_from_generation_prompt``). Reading: the block may be left open (cut off) or never written.
"""

from __future__ import annotations

from dataclasses import replace

from pegtool.analysis.record import Analysis, Content, ContentMode, Reasoning, ReasoningMode
from pegtool.dialects.base import GENERATION_PROMPT, RENDER, Evidence, NamedDialect, TemplateFacts

#: (opener, closer) of reasoning blocks that prompts name, tested in this order
PAIRS: tuple[tuple[str, str], ...] = (("[THINK]", "[/THINK]"), ("<think>", "</think>"))
#: content wrappers named next to a reasoning pair in the same prompt
CONTENT_PAIRS: tuple[tuple[str, str], ...] = (("<response>", "</response>"),)
#: (marker that opens the answer, marker that may close it): reasoning is what precedes it
ANSWER_MARKERS: tuple[tuple[str, str], ...] = (("[BEGIN FINAL RESPONSE]", "[END FINAL RESPONSE]"),)


def _pair_in(text: str, opener: str, closer: str) -> bool:
    i = text.find(opener)
    return i >= 0 and text.find(closer, i + len(opener)) > i


class PromptedReasoning(NamedDialect):
    name = "prompted_reasoning"

    def detect(self, facts: TemplateFacts) -> Evidence | None:
        a = facts.analysis
        if a.reasoning.mode is not ReasoningMode.NONE:
            return None
        gp = (a.generation_prompt_thinking or a.generation_prompt).rstrip()
        if any(gp.endswith(opener) for opener, _ in PAIRS):
            return None  # the prompt opens the block itself: the override think_tags_from_generation_prompt
        prompts = ((GENERATION_PROMPT, a.generation_prompt_no_thinking), (GENERATION_PROMPT, a.generation_prompt_thinking),
                   (RENDER, facts.plain_prompt), (RENDER, facts.tools_prompt), (RENDER, facts.thinking_prompt))
        for opener, closer in PAIRS:
            for source, text in prompts:
                if _pair_in(text, opener, closer):
                    wrap = next((f" {o}…{c}" for o, c in CONTENT_PAIRS if _pair_in(text, o, c)), "")
                    return Evidence(source, f"{opener}…{closer}{wrap}")
        for begin, _ in ANSWER_MARKERS:
            for source, text in prompts:
                if begin in text:
                    return Evidence(source, begin)
        return None

    def apply(self, a: Analysis, evidence: Evidence) -> Analysis:
        pair, _, wrap = evidence.detail.partition(" ")
        opener, sep, closer = pair.partition("…")
        if sep:
            a = replace(a, reasoning=Reasoning(ReasoningMode.TAG_BASED, opener, closer, a.reasoning.field))
            w_open, _, w_close = wrap.partition("…")
            if w_open and w_close and a.content.mode is ContentMode.PLAIN:
                a = replace(a, content=Content(ContentMode.ALWAYS_WRAPPED, w_open, w_close))
            return a
        after = next((end for begin, end in ANSWER_MARKERS if begin == evidence.detail), "")
        content = a.content
        if after and content.mode is ContentMode.PLAIN:
            content = Content(ContentMode.ALWAYS_WRAPPED, "", after)
        return replace(a, reasoning=Reasoning(ReasoningMode.TAG_BASED, "", evidence.detail, a.reasoning.field),
                       content=content)


DIALECT = PromptedReasoning()
