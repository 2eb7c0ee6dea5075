"""Feedback: two sentences to the candidate about their answer.

``rule_feedback`` writes them in code from the rubric outcome: what worked, then the most
important thing to add or correct. The LLM, when there is one, rewrites that draft under a
small JSON schema (``FEEDBACK_SCHEMA``) with a token cap, from the prompt
``feedback_prompt`` builds; ``clean_feedback`` keeps its text only when it is two complete
sentences to the candidate, grounded in the draft's facts. When the model fails or says
nothing usable, the rule-written draft is the feedback. The model never grades: the
bundled SmolLM2-135M scores a correct answer and an off-topic one alike.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from voice_interview.domain.question import Question
from voice_interview.interview.evaluation.evidence import shorten
from voice_interview.interview.evaluation.gating import GateResult
from voice_interview.interview.evaluation.rubric import RubricAssessment
from voice_interview.text.normalize import content_stems, words

PROMPT_VERSION = "feedback-2025.1"

FEEDBACK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"feedback": {"type": "string", "minLength": 20, "maxLength": 200}},
    "required": ["feedback"],
}

FEEDBACK_SYSTEM = (
    "You are a friendly interview coach. You rewrite the feedback draft you are given into "
    "exactly two short sentences addressed to the candidate as 'you'. Keep its facts, add "
    "no new facts, no score, no lists. Reply only as JSON: {\"feedback\": \"...\"}"
)


class FeedbackLLM(Protocol):
    """What the evaluator needs of an LLM engine: one JSON completion under a schema."""

    def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        *,
        max_tokens: int,
        temperature: float | None = ...,
        seed: int | None = ...,
    ) -> dict[str, Any]: ...


def score_band(score: float) -> str:
    if score >= 75:
        return "strong"
    if score >= 50:
        return "good, with gaps"
    if score >= 25:
        return "partial"
    return "weak"


def _lower_first(text: str) -> str:
    """Lower-case a sentence's first word for use mid-sentence, unless it looks like a name
    or an acronym ("JavaScript", "GET", "CPython")."""
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first.istitle() and first.isalpha() else text


def not_assessed_feedback(verdict: GateResult) -> str:
    """What to tell the candidate when the gate kept an answer from being assessed."""
    if verdict.code == "no_speech":
        return "No answer was heard, so this question was not assessed."
    if verdict.code == "low_confidence":
        return (
            "The recording was not clear enough to transcribe reliably, so this answer was "
            "not assessed. A quieter room or a closer microphone helps."
        )
    return (
        "There was not enough of an answer to evaluate. Try answering in a few full "
        "sentences: what you would do and why."
    )


def feedback_prompt(q: Question, a: RubricAssessment, score: float, draft: str) -> str:
    """The user message: the question, the rubric outcome and the rule-written draft."""
    covered = [m.key_point for m in a.matches if m.status == "covered"]
    missing = [m.key_point for m in a.matches if m.status != "covered" and not m.contradiction]
    wrong = [m.key_point for m in a.matches if m.contradiction]
    lines = [
        f"Interview question: {q.text}",
        f"The answer was {score_band(score)}.",
        "It covered: " + ("; ".join(covered[:3]) if covered else "none of the key points"),
        "It missed: " + ("; ".join(missing[:2]) if missing else "nothing important"),
    ]
    if wrong:
        lines.append("It got wrong: " + "; ".join(wrong[:2]))
    lines.append(f"Draft: {draft}")
    lines.append("Rewrite the draft as two friendly sentences to the candidate.")
    return "\n".join(lines)


_REPEAT = re.compile(r"\b(\w+)\b(?:\W+\1\b){2,}", re.IGNORECASE)
_DIGIT_CHAIN = re.compile(r"\d(?:[.,]\d){3,}")
# The coach talking about itself or agreeing with the candidate, not giving feedback.
_COACH_TALK = re.compile(r"\b(?:I'm|I am|I'll|I will|I'd|I have|you're right)\b", re.IGNORECASE)


def _repetitive(text: str) -> bool:
    toks = words(text)
    grams = [tuple(toks[i : i + 3]) for i in range(len(toks) - 2)]
    return bool(grams) and len(set(grams)) < 0.85 * len(grams)


_PRAISE = re.compile(
    r"\b(?:great|excellent|fantastic|impressive|wonderful|perfect|outstanding|strong|"
    r"testament|well done|good job|clearly|thorough|comprehensive)\b",
    re.IGNORECASE,
)


def clean_feedback(
    value: object, grounding: str = "", *, allow_praise: bool = True, min_sentences: int = 1
) -> str:
    """The model's feedback tidied to at most two complete sentences, or "" when it is
    unusable: too short, fewer than ``min_sentences`` complete sentences, repetitive, not
    addressed to the candidate, praising a weak answer (``allow_praise=False``), or (given
    ``grounding`` text) with under half of its content words taken from the facts."""
    if not isinstance(value, str):
        return ""
    text = " ".join(value.replace("\\n", " ").split()).strip(" \"'")
    if len(text) < 20 or _REPEAT.search(text) or _DIGIT_CHAIN.search(text):
        return ""
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", text) if x]
    complete = [x for x in sentences if re.search(r"[a-zA-Z][\"')]?[.!?]$", x)]
    if len(complete) < min_sentences:
        return ""  # the second sentence (what to add or fix) is the useful one
    text = " ".join(complete[:2])
    if len(text) < 20 or not re.search(r"\byou(?:r|'ve|'re)?\b", text, re.IGNORECASE):
        return ""
    if _COACH_TALK.search(text) or _repetitive(text):
        return ""
    if not allow_praise and _PRAISE.search(text):
        return ""  # warm words about a weak answer mislead the candidate
    if grounding:
        own = set(content_stems(text))
        given = set(content_stems(grounding))
        if not own or len(own & given) / len(own) < 0.5:
            return ""
    return text


_DESCRIPTOR_VERBS: dict[str, tuple[str, str]] = {
    # rubric descriptor verb: (imperative, past)
    "describes": ("describe", "described"),
    "explains": ("explain", "explained"),
    "states": ("state", "stated"),
    "shows": ("show", "showed"),
    "gives": ("give", "gave"),
    "shares": ("share", "shared"),
    "mentions": ("mention", "mentioned"),
    "names": ("name", "named"),
    "sets": ("set", "set"),
}
_IRREGULAR_PAST = frozenset(
    ["took", "made", "found", "built", "kept", "ran", "led", "gave", "told", "set", "wrote",
     "got", "did", "sent", "brought", "met"]
)


def _phrases(key_point: str, question_type: str) -> tuple[str, str, str]:
    """(praise, touched-on, advice) sentences for a key point, worded for its form: a
    behavioural descriptor ("Describes the incident"), a past action ("Took ownership"), a
    step of a plan (situational questions) or a fact."""
    kp = key_point.strip().rstrip(".")
    first, _, rest = kp.partition(" ")
    low = first.lower()
    qt = str(question_type)
    if qt == "behavioral" and low in _DESCRIPTOR_VERBS and rest:
        base, past = _DESCRIPTOR_VERBS[low]
        return (f"You {past} {rest}.", f"You touched on {rest}.",
                f"To strengthen it, {base} {rest}.")
    if qt == "behavioral" and ((low.endswith("ed") and len(low) > 4) or low in _IRREGULAR_PAST):
        action = _lower_first(kp)
        return (f"You {action}.", f"You touched on how you {action}.",
                f"To strengthen it, say how you {action}.")
    point = _lower_first(kp)
    if qt == "behavioral":
        return (f"You covered {point}.", f"You touched on {point}.",
                f"To strengthen it, also cover: {point}.")
    if qt == "situational":
        return (f"You covered a key step: {point}.", f"You touched on one step: {point}.",
                f"To strengthen it, also cover this step: {point}.")
    return (f"You explained well that {point}.", f"You touched on the point that {point}.",
            f"To strengthen it, also cover: {point}.")


def rule_feedback(a: RubricAssessment, score: float, question_type: str = "technical") -> str:
    """Two sentences written from the rubric outcome: what worked, then the most important
    thing to add or correct. Used without the LLM, as its draft, and as its fallback."""
    covered = [m for m in a.matches if m.status == "covered"]
    partial = [m for m in a.matches if m.status == "partial"]
    missing = [m for m in a.matches if m.status == "missing" and m.contradiction is None]
    wrong = [m for m in a.matches if m.contradiction is not None]
    s = a.signals
    qt = str(question_type)
    todo = missing or partial
    if s.deflections and not covered:
        first = (
            "You did not really answer the question; walking through how you would approach "
            "it would earn credit even without direct experience."
        )
    elif covered and score >= 50:
        first = _phrases(covered[0].key_point, qt)[0]
        extra = len(covered) - 1
        if extra:
            first = first[:-1] + f", along with {extra} other key point{'s' if extra > 1 else ''}."
    elif score >= 50:
        first = "You gave a specific, concrete answer."
    elif covered or partial:
        first = (
            _phrases((covered or partial)[0].key_point, qt)[1][:-1]
            + ", but the answer stays thin overall."
        )
    else:
        first = "Your answer did not yet address what this question is looking for."
    if wrong and (wrong[0].contradiction or "").startswith("dismissive"):
        second = (
            f"Rethink \u201c{shorten(wrong[0].quote, 70)}\u201d: an interviewer will read it "
            "as a red flag."
        )
    elif wrong:
        second = (
            f"Check your claim \u201c{shorten(wrong[0].quote, 70)}\u201d, which conflicts with "
            f"the point that {_lower_first(wrong[0].key_point)}."
        )
    elif (s.dismissive or len(s.overclaims) >= 2) and not s.deflections:
        cue = (s.dismissive or s.overclaims)[0]
        second = f"Avoid sweeping or dismissive statements like \u201c{cue}\u201d."
    elif todo:
        second = _phrases(todo[0].key_point, qt)[2]
    else:
        second = "A concrete example or number from your own work would make it even better."
    return f"{first} {second}"
