"""The check model: a local instruct LLM asked one yes/no question about an answer.

Embeddings tell whether an answer talks about the key points, not whether what it says of
them is true: "data leakage is a privacy thing, personal data leaking out of the training
set" sits as close to the leakage key point as a correct definition does. A 1.5B instruct
model asked "is this answer correct, and does it answer the question?" tells the two apart
far more often (docs/EVALUATION.md has the measurements), so where one is configured
(``VI_CHECK_MODEL``) its P(Yes) weighs in the score as a penalty below a threshold
(``domain.scoring.check_penalty``). The prompt leaves the rubric out on purpose: shown the
key points, the model took keyword stuffing for a correct answer.

One forward pass, no sampling: the probability is read off the logits of the reply's first
token, so it is reproducible without a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from voice_interview.domain import scoring

CHECK_PROMPT_VERSION = "check-2026.1"
CHECK_SYSTEM = "You are a senior engineer grading interview answers. Reply Yes or No."
CHECK_ASK = "Is the candidate's answer correct and does it answer the question?"
# Longer answers are checked on their first words: the prompt must fit the context, and
# the first 250 words say whether the candidate knows the subject.
CHECK_MAX_WORDS = 250


class YesNoLLM(Protocol):
    """What the check needs of an LLM engine (``engines.llm.LocalLLM``)."""

    def yes_probability(self, system: str, user: str) -> float: ...


def check_prompt(question: str, answer: str) -> str:
    """The user message: the question, the answer quoted, the yes/no question."""
    text = " ".join(answer.split()[:CHECK_MAX_WORDS])
    return f'Question: {question}\n\nCandidate\'s answer: "{text}"\n\n{CHECK_ASK}'


@dataclass(frozen=True)
class CheckResult:
    # Which model said it (name, sha256) is in the evaluation's details.models.check, with
    # the other models, so it is not repeated here.
    p_correct: float

    @property
    def penalty(self) -> float:
        return scoring.check_penalty(self.p_correct)

    def to_dict(self) -> dict[str, Any]:
        return {
            "p_correct": round(self.p_correct, 4),
            "threshold": scoring.CHECK_THRESHOLD,
            "penalty": round(self.penalty, 1),
            "prompt_version": CHECK_PROMPT_VERSION,
            "why": (
                f"the check model gives P(correct) {self.p_correct:.2f}, below "
                f"{scoring.CHECK_THRESHOLD:.2f}" if self.penalty > 0 else
                f"the check model gives P(correct) {self.p_correct:.2f}: no doubt charged"
            ),
        }


def run_check(engine: YesNoLLM, question: str, answer: str) -> CheckResult:
    """Ask the check model about ``answer``; raises what the engine raises (LLMError)."""
    p = float(engine.yes_probability(CHECK_SYSTEM, check_prompt(question, answer)))
    return CheckResult(min(1.0, max(0.0, p)))
