"""An answer written for another question: it covers that question's rubric, not this one's.

Off-topic detection alone (``caps``) misses a fluent answer that belongs to a neighbouring
question: a story about fixing a release process given to "tell me about taking
ownership" is close enough to the question's wording. The bank knows the other
questions, so the evaluator asks which of them the answer fits best: the answer is
embedded once, the TOP questions of the bank nearest to it are assessed with the same
rubric, and when one of them is covered far better than the question asked, the answer
is capped as an answer to that question (``caps``: ``other_question``).

Only answers that cover little of their own rubric (under OWN_MAX) are checked, so a
good answer is never compared and the extra rubric passes stay off most answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from voice_interview.domain.question import Question
from voice_interview.interview.evaluation.rubric import TextEmbedder, assess
from voice_interview.text.normalize import words

OWN_MAX = 0.2  # own rubric coverage under which the answer is compared with the others
OTHER_MIN = 0.45  # ... another question's coverage at least this
MARGIN = 0.3  # ... and at least this far above its own
TOP = 3  # nearest other questions assessed


@dataclass(frozen=True)
class OtherMatch:
    question: str  # the other question's text
    bank_id: str
    coverage: float  # of the other question's key points, 0..1
    own_coverage: float


def _key(text: str) -> str:
    return " ".join(words(text))


class OtherQuestions:
    """The other questions an answer could have been written for (the bank's)."""

    def __init__(self, questions: Sequence[Question], embedder: TextEmbedder) -> None:
        unique: dict[str, Question] = {}
        for q in questions:
            unique.setdefault(_key(q.text), q)
        self.questions = list(unique.values())
        self.embedder = embedder
        self._vectors: NDArray[np.float32] | None = None

    def _pool(self) -> NDArray[np.float32]:
        if self._vectors is None:  # embedded on first use: a server that scores no
            texts = [q.text + " " + " ".join(q.key_points) for q in self.questions]
            self._vectors = self.embedder.embed(texts)
        return self._vectors

    def best_match(self, question: Question, answer: str, own_coverage: float) -> OtherMatch | None:
        """The other question this answer answers instead, or None."""
        if own_coverage >= OWN_MAX or not self.questions or not answer.strip():
            return None
        asked = _key(question.text)
        sims = self._pool() @ self.embedder.embed([answer])[0]
        best: OtherMatch | None = None
        taken = 0
        for i in np.argsort(-sims):
            other = self.questions[int(i)]
            if _key(other.text) == asked:
                continue
            coverage = assess(other.text, list(other.key_points), answer, self.embedder).coverage
            if best is None or coverage > best.coverage:
                best = OtherMatch(other.text, other.bank_id, round(coverage, 4), own_coverage)
            taken += 1
            if taken == TOP:
                break
        if best is None or best.coverage < OTHER_MIN or best.coverage - own_coverage < MARGIN:
            return None
        return best
