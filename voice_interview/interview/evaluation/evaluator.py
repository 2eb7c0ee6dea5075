"""Answer evaluation: rubric coverage carries the score, the LLM writes the feedback.

The bundled SmolLM2-135M cannot judge answers (asked for a grade it scores a correct answer
and an off-topic one alike), so the 0-100 content score is computed here from
``rubric.assess``: key-point coverage, concrete detail, relevance to the question, minus
red flags (contradicting a key point, sweeping claims, dismissive stances, deflecting).
The formula is a domain value, ``domain.scoring.content_score``; ``content_score`` below
reads its inputs off the rubric assessment, and ``caps`` then limits what gaming earns.
Before any of it, ``gating.gate`` decides whether the answer can be assessed at all (no
speech, too little, a transcript too uncertain to trust): if not, the result is
``insufficient_data`` with the gate's reason and no score.
The LLM, when there is one, turns the rubric outcome into two sentences of feedback
(``feedback``); strengths and weaknesses are always written in code, each citing a quote
from the answer (``evidence``). A check model, when one is configured (``llm_check``,
VI_CHECK_MODEL), is asked whether the answer is correct; its doubt is charged after the
caps, the rubric staying the anchor.

Same inputs give the same result: similarities are rounded before thresholds, the LLM
runs with a fixed seed and temperature, and nothing time-dependent goes into the result.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from voice_interview.domain import scoring
from voice_interview.domain.answer import AnswerMeta
from voice_interview.domain.evaluation import Evaluation, KeyPointCoverage
from voice_interview.domain.question import Question
from voice_interview.domain.scoring import ContentScore
from voice_interview.engines.llm import LLMError
from voice_interview.interview.evaluation import non_answer
from voice_interview.interview.evaluation.caps import apply_caps
from voice_interview.interview.evaluation.disfluency import strip_disfluencies
from voice_interview.interview.evaluation.evidence import Evidence, build_evidence, match_detail
from voice_interview.interview.evaluation.feedback import (
    FEEDBACK_SCHEMA,
    FEEDBACK_SYSTEM,
    PROMPT_VERSION,
    FeedbackLLM,
    clean_feedback,
    feedback_prompt,
    not_assessed_feedback,
    rule_feedback,
    score_band,
)
from voice_interview.interview.evaluation.gating import MIN_TYPED_WORDS, gate
from voice_interview.interview.evaluation.llm_check import CheckResult, YesNoLLM, run_check
from voice_interview.interview.evaluation.other_question import OtherQuestions
from voice_interview.interview.evaluation.rubric import (
    RUBRIC_VERSION,
    RubricAssessment,
    TextEmbedder,
    assess,
)
from voice_interview.interview.evaluation.speech_metrics import SpokenWord, parse_words
from voice_interview.interview.questions.bank import load_bank
from voice_interview.settings import Settings
from voice_interview.text.normalize import words

# The feedback and evidence names were defined here before the split; importers
# (tests, scripts/judge_survey.py) still reach them through this module.
__all__ = [
    "FEEDBACK_SCHEMA",
    "FEEDBACK_SYSTEM",
    "MAX_WORDS",
    "MIN_WORDS",
    "PROMPT_VERSION",
    "SCORING_VERSION",
    "ContentScore",
    "Evaluator",
    "Evidence",
    "FeedbackLLM",
    "clean_feedback",
    "content_score",
    "feedback_prompt",
    "rule_feedback",
    "score_band",
]

log = logging.getLogger(__name__)

SCORING_VERSION = "score-2026.6"

MIN_WORDS = MIN_TYPED_WORDS  # typed answers with fewer words are insufficient_data
MAX_WORDS = 600  # longer answers are evaluated on their first MAX_WORDS words


def content_score(a: RubricAssessment, question_type: str) -> ContentScore:
    """The 0-100 score from a rubric assessment. Pure: the same assessment, the same score."""
    s = a.signals
    return scoring.content_score(
        question_type,
        coverage=a.coverage,
        specificity=s.specificity,
        relevance=s.relevance,
        overclaims=len(s.overclaims),
        dismissive=len(s.dismissive),
        deflected=bool(s.deflections),
        contradictions=len(a.contradictions),
    )


class Evaluator:
    """Scores an answer against its question's rubric; blocking (run it on an engine queue)."""

    def __init__(
        self,
        llm: FeedbackLLM | None,
        embedder: TextEmbedder | None,
        *,
        feedback_max_tokens: int = 96,
        seed: int = 0,
        temperature: float = 0.0,
        others: Sequence[Question] = (),
        checker: YesNoLLM | None = None,
    ) -> None:
        self.llm = llm
        self.embedder = embedder
        # The check model (VI_CHECK_MODEL): its doubt about an answer costs points.
        self.checker = checker
        # The bank's questions: an answer written for one of them is capped (needs embeddings).
        self.others = OtherQuestions(others, embedder) if embedder is not None and others else None
        self.feedback_max_tokens = feedback_max_tokens
        self.seed = seed
        self.temperature = temperature
        self._models: dict[str, Any] | None = None

    @classmethod
    def configured(
        cls,
        llm: FeedbackLLM | None,
        embedder: TextEmbedder | None,
        settings: Settings,
        others: Sequence[Question] | None = None,
        checker: YesNoLLM | None = None,
    ) -> Evaluator:
        """The evaluator the server (and the CLI's rescore / eval-bench) runs: feedback
        length, seed and temperature from the settings; ``others``: the questions an
        answer could have been written for instead (default: the bundled bank);
        ``checker``: the check model, if one is configured."""
        if others is None:
            others = [q.as_question() for q in load_bank()]
        return cls(
            llm,
            embedder,
            feedback_max_tokens=settings.llm_feedback_max_tokens,
            seed=settings.llm_seed,
            temperature=settings.llm_temperature,
            others=others,
            checker=checker,
        )

    # -- public API -------------------------------------------------------------------------

    def evaluate(
        self, question: Question, answer_text: str, answer: AnswerMeta | None = None
    ) -> Evaluation:
        """Gate, then score ``answer_text``. ``answer`` says how it was given (typed when
        None) and, for a spoken answer, carries its stt info: the gate reads its
        confidence and speech time, and the evidence its word timestamps."""
        meta = answer if answer is not None else AnswerMeta()
        text = " ".join((answer_text or "").split())
        n_words = len(words(text))
        verdict = gate(text, meta)
        base_details: dict[str, Any] = {
            "rubric_version": RUBRIC_VERSION,
            "prompt_version": PROMPT_VERSION,
            "scoring_version": SCORING_VERSION,
            "models": self._model_info(),
            "seed": self.seed,
            "temperature": self.temperature,
            "answer_words": n_words,
            "answer_source": meta.source,
            "gate": verdict.to_dict(),
        }
        non = non_answer.detect(text, meta, verdict)
        if non is not None:
            return _non_answer_result(question, non, base_details)
        if not verdict.assessable:
            return Evaluation(
                status="insufficient_data",
                score=None,
                feedback=not_assessed_feedback(verdict),
                strengths=[],
                weaknesses=[],
                coverage=[
                    KeyPointCoverage(kp, "missing", "", 0.0) for kp in question.key_points
                ],
                details=base_details | {"reason": verdict.reason, "evidence": []},
            )
        spoken = parse_words(meta.stt.get("words")) if meta.spoken else []
        return self._scored(question, text, n_words, base_details, spoken)

    def _scored(
        self,
        question: Question,
        answer: str,
        n_words: int,
        base_details: dict[str, Any],
        spoken: Sequence[SpokenWord],
    ) -> Evaluation:
        if n_words > MAX_WORDS:
            answer = _first_words(answer, MAX_WORDS)
            base_details["truncated_to_words"] = MAX_WORDS
        answer = strip_disfluencies(answer)
        assessment = assess(question.text, list(question.key_points), answer, self.embedder)
        declined = non_answer.detect_declared(answer, assessment.coverage)
        if declined is not None:
            return _non_answer_result(question, declined, base_details)
        scored = content_score(assessment, question.question_type)
        other = (
            self.others.best_match(question, answer, assessment.coverage)
            if self.others is not None
            else None
        )
        capped, caps = apply_caps(
            scored.score, assessment, answer, question.question_type, other
        )
        if caps:
            scored = replace(scored, score=capped)
        check, check_error = self._check(question, answer)
        if check is not None:
            scored = replace(scored, score=scoring.after_check(scored.score, check.p_correct))
        evidence = build_evidence(assessment, answer)
        strengths = [e.text for e in evidence if e.kind == "strength"]
        weaknesses = [e.text for e in evidence if e.kind == "weakness"]
        feedback, source, llm_error = self._feedback(question, assessment, scored)
        s = assessment.signals
        details = base_details | {
            "embedding_used": assessment.embedding_used,
            "sub_scores": {
                "coverage": scored.coverage,
                "specificity": scored.specificity,
                "relevance": scored.relevance,
                "penalties": scored.penalties,
                "weights": dict(
                    zip(
                        ("coverage", "specificity", "relevance"),
                        scoring.content_weights(question.question_type),
                        strict=True,
                    )
                ),
            },
            "signals": {
                "topicality": s.relevance,
                "answer_question_cosine": s.answer_cosine,
                "answer_rubric_cosine": s.rubric_cosine,
                "focus": s.focus,
                "specificity": s.specificity,
                "vagueness": s.vagueness,
                "hedges": s.hedges,
                "overclaims": s.overclaims,
                "dismissive": s.dismissive,
                "deflections": s.deflections,
                "numbers": len(s.numbers),
            },
            "coverage": [match_detail(m, spoken) for m in assessment.matches],
            "evidence": [e.to_dict(spoken) for e in evidence],
            "feedback_source": source,
            "caps": caps,
            "score_parts": {
                "coverage": scored.coverage,
                "relevance": scored.relevance,
                "specificity": scored.specificity,
                "penalties": scored.penalties,
                "caps": caps,
                **({} if check is None else {"check_penalty": round(check.penalty, 1)}),
                "final": scored.score,
            },
        }
        if llm_error is not None:
            details["llm_error"] = llm_error
        if check is not None:
            details["llm_check"] = check.to_dict()
        elif check_error is not None:
            details["llm_check_error"] = check_error
        return Evaluation(
            status="scored",
            score=scored.score,
            feedback=feedback,
            strengths=strengths,
            weaknesses=weaknesses,
            coverage=[
                KeyPointCoverage(
                    m.key_point, m.status, m.quote, m.similarity, c["start_s"], c["end_s"]
                )
                for m, c in zip(assessment.matches, details["coverage"], strict=True)
            ],
            details=details,
        )

    # -- pieces -----------------------------------------------------------------------------

    def _check(self, question: Question, answer: str) -> tuple[CheckResult | None, str | None]:
        """The check model's verdict, or (None, why) when it failed: the answer is then
        scored on the rubric alone, as without a check model, and the details say so."""
        if self.checker is None:
            return None, None
        try:
            return run_check(self.checker, question.text, answer), None
        except LLMError as e:
            log.warning("check model failed, scoring on the rubric alone: %s", e)
            return None, str(e)

    def _model_info(self) -> dict[str, Any]:
        if self._models is None:
            models: dict[str, Any] = {}
            engines: list[tuple[str, Any]] = [("llm", self.llm), ("embed", self.embedder)]
            if self.checker is not None:
                engines.append(("check", self.checker))
            for role, engine in engines:
                info = getattr(engine, "model_info", None)
                if engine is None:
                    models[role] = None
                elif info is None:
                    models[role] = {"name": type(engine).__name__, "sha256": None}
                else:
                    try:
                        sha = str(info.sha256)
                    except OSError as e:
                        log.warning("could not hash the %s model: %s", role, e)
                        sha = None
                    models[role] = {"name": str(getattr(info, "name", "")), "sha256": sha}
            self._models = models
        return dict(self._models)

    def _feedback(
        self, q: Question, a: RubricAssessment, scored: ContentScore
    ) -> tuple[str, str, str | None]:
        """(feedback, source "llm" | "rules", llm error or None)."""
        fallback = rule_feedback(a, scored.score, q.question_type)
        if self.llm is None:
            return fallback, "rules", None
        prompt = feedback_prompt(q, a, scored.score, fallback)
        try:
            out = self.llm.complete_json(
                FEEDBACK_SYSTEM,
                prompt,
                FEEDBACK_SCHEMA,
                max_tokens=self.feedback_max_tokens,
                temperature=self.temperature,
                seed=self.seed,
            )
        except LLMError as e:
            log.warning("feedback generation failed, using rule-based feedback: %s", e)
            return fallback, "rules", str(e)
        # Grounded in the draft and the key points, not the question: restating the
        # question is not feedback.
        grounding = " ".join([fallback, *(m.key_point for m in a.matches)])
        text = clean_feedback(
            out.get("feedback"), grounding=grounding, allow_praise=scored.score >= 50,
            min_sentences=2,
        )
        if not text:
            return fallback, "rules", "empty or unusable feedback from the model"
        return text, "llm", None


def _first_words(text: str, n: int) -> str:
    for count, m in enumerate(re.finditer(r"\S+", text), start=1):
        if count == n:
            return text[: m.end()]
    return text


def _non_answer_result(
    question: Question, non: non_answer.NonAnswer, base_details: dict[str, Any]
) -> Evaluation:
    """A non-answer scores 0 and counts in the overall score; the report says why."""
    cap = {"cap": 0.0, "kind": "non_answer", "reason": non.reason}
    return Evaluation(
        status="scored",
        score=0.0,
        feedback=(
            "You did not answer this question, so it scores 0. Even without direct "
            "experience, walking through how you would approach it earns credit."
        ),
        strengths=[],
        weaknesses=[f"No answer given ({non.reason.removeprefix('no answer: ')})"],
        coverage=[KeyPointCoverage(kp, "missing", "", 0.0) for kp in question.key_points],
        details=base_details
        | {
            "non_answer": non.to_dict(),
            "caps": [cap],
            "score_parts": {"uncapped": 0.0, "final": 0.0, "caps": [cap]},
            "evidence": [],
            "feedback_source": "rules",
        },
    )
