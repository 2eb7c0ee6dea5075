"""Honest gating before any score, evidence with quote times, and reproducible evaluations
(the real embedder; no LLM, or a fake one with fixed feedback)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from voice_interview.domain.answer import AnswerMeta
from voice_interview.domain.question import Question
from voice_interview.engines.embed import Embedder
from voice_interview.interview.evaluation import gating
from voice_interview.interview.evaluation.evaluator import Evaluator
from voice_interview.interview.evaluation.gating import gate
from voice_interview.interview.evaluation.jobs import evaluation_payload

QUESTION = Question.of(
    text="What is a database index, and what does it cost?",
    question_type="technical",
    difficulty="medium",
    key_points=[
        "An index is a sorted structure such as a B-tree that finds rows quickly",
        "Indexes take extra disk space",
        "Indexes slow down inserts and updates",
        "Composite index column order matters",
    ],
    skills=["databases"],
)
ANSWER = (
    "An index is a sorted structure, usually a B-tree, so the database finds matching rows "
    "quickly. The cost is extra disk space, and every insert or update has to maintain the "
    "index too, so writes get slower. I think it is basically always worth it."
)


def spoken_words(text: str, prob: float = 0.9, step: float = 0.32) -> list[list[Any]]:
    return [
        [w, round(0.2 + i * step, 2), round(0.2 + i * step + 0.28, 2), prob]
        for i, w in enumerate(text.split())
    ]


def voice(text: str, *, speech_ms: int | None = None, prob: float = 0.9,
          no_speech: float = 0.1, logprob: float = -0.3) -> AnswerMeta:
    words = spoken_words(text, prob)
    return AnswerMeta(
        source="voice",
        speech_ms=int(len(words) * 320) if speech_ms is None else speech_ms,
        stt={"no_speech_prob": no_speech, "avg_logprob": logprob, "words": words},
    )


# ----------------------------------------------------------------------------- the gate


@pytest.mark.parametrize(
    ("text", "code", "reason"),
    [
        ("", "empty", "empty answer"),
        ("   ", "empty", "empty answer"),
        ("No idea, sorry.", "too_short", "answer too short (3 words)"),
        ("Yes.", "too_short", "answer too short (1 word)"),
    ],
)
def test_typed_answers_are_gated_on_length_only(text: str, code: str, reason: str) -> None:
    result = gate(text, None)
    assert (result.assessable, result.code, result.reason) == (False, code, reason)
    # No confidence rules for typed text, however short its "speech".
    assert gate("An index is a sorted B-tree structure.", AnswerMeta()).assessable


def test_no_speech() -> None:
    none = gate("", AnswerMeta(source="none"))
    assert (none.code, none.reason) == ("no_speech", "no speech was heard")
    heard = gate("", AnswerMeta(source="voice", speech_ms=2400, stt={"words": []}))
    assert heard.code == "no_speech"
    assert heard.reason == "no words were recognised in 2.4 s of sound"


def test_too_little_speech() -> None:
    two = gate("Yes, sure.", voice("Yes, sure.", speech_ms=900))
    assert two.code == "too_little_speech"
    assert two.reason == "too little speech to assess (2 words, 0.9 s of speech)"
    # Enough words but under MIN_SPEECH_S of voiced speech (a very fast speaker or
    # a transcript longer than what was heard).
    text = "one two three four five six seven eight nine"
    short = gate(text, voice(text, speech_ms=2500))
    assert short.code == "too_little_speech"
    ok = gate(text, voice(text, speech_ms=3000))
    assert ok.assessable and ok.code is None and ok.reason == ""


@pytest.mark.parametrize(
    ("kwargs", "assessable", "fragment"),
    [
        ({"logprob": -1.2}, False, "average log-probability -1.20"),
        ({"prob": 0.45}, False, "mean word confidence 0.45"),
        ({"no_speech": 0.7, "prob": 0.6}, False, "may not be speech"),
        ({"no_speech": 0.7, "prob": 0.9}, True, ""),  # confident words outvote it
        ({"no_speech": 0.58, "logprob": -0.82, "prob": 0.64}, True, ""),  # worst clean fixture
    ],
)
def test_low_confidence(kwargs: dict[str, float], assessable: bool, fragment: str) -> None:
    result = gate(ANSWER, voice(ANSWER, **kwargs))
    assert result.assessable is assessable
    assert (result.code == "low_confidence") is (not assessable)
    assert fragment in result.reason


def test_gate_details_record_measures_and_thresholds() -> None:
    d = gate(ANSWER, voice(ANSWER)).to_dict()
    assert d["version"] == gating.GATING_VERSION
    assert d["thresholds"] == gating.THRESHOLDS
    assert d["measures"]["mean_word_prob"] == pytest.approx(0.9)
    assert d["measures"]["words"] == len(ANSWER.split())


def test_answer_meta_of_a_stored_row() -> None:
    from types import SimpleNamespace

    row = SimpleNamespace(source="voice", speech_ms=4200, stt={"avg_logprob": -0.2})
    meta = AnswerMeta.of(row)
    assert (meta.source, meta.speech_ms, dict(meta.stt)) == ("voice", 4200, {"avg_logprob": -0.2})
    assert AnswerMeta.of(object()) == AnswerMeta()


# ----------------------------------------------------------------------------- evaluator


class FixedLLM:
    """Returns the same feedback every time; records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def complete_json(self, system: str, user: str, schema: dict[str, Any], *,
                      max_tokens: int, temperature: float | None = None,
                      seed: int | None = None) -> dict[str, Any]:
        self.calls.append((system, user))
        return {
            "feedback": "You explained that an index is a sorted structure and costs disk "
            "space. To strengthen it, also cover why composite index column order matters."
        }


def test_insufficient_answer_is_not_scored_and_never_reaches_the_llm(
    embedder: Embedder,
) -> None:
    llm = FixedLLM()
    heard = Evaluator(llm, embedder).evaluate(QUESTION, "Yes, sure.", voice("Yes, sure."))
    assert heard.status == "scored" and heard.score == 0.0  # a clear non-answer
    result = Evaluator(llm, embedder).evaluate(
        QUESTION, "Yes, sure.", voice("Yes, sure.", prob=0.4)
    )
    assert result.status == "insufficient_data" and result.score is None
    assert result.details["reason"].startswith("too little speech to assess (2 words")
    assert result.details["gate"]["code"] == "too_little_speech"
    assert result.strengths == [] and result.weaknesses == []
    assert llm.calls == []
    low = Evaluator(None, embedder).evaluate(QUESTION, ANSWER, voice(ANSWER, prob=0.4))
    assert low.status == "insufficient_data"
    assert "not clear enough" in low.feedback


def test_every_strength_and_weakness_cites_a_quote_with_its_time(embedder: Embedder) -> None:
    meta = voice(ANSWER)
    result = Evaluator(None, embedder).evaluate(QUESTION, ANSWER, meta)
    assert result.status == "scored"
    evidence = result.details["evidence"]
    assert [e["text"] for e in evidence if e["kind"] == "strength"] == result.strengths
    assert [e["text"] for e in evidence if e["kind"] == "weakness"] == result.weaknesses
    last_end = meta.stt["words"][-1][2]
    for e in evidence:
        if e["status"] == "missing":
            assert e["quote"] is None and e["note"] == "not mentioned"
            assert "not mentioned" in e["text"]
            continue
        assert e["quote"] and e["quote"] in ANSWER, e
        assert e["start_s"] is not None and 0 <= e["start_s"] < e["end_s"] <= last_end, e
    statuses = {e["status"] for e in evidence}
    assert "covered" in statuses and "missing" in statuses  # composite order is missing
    assert "red_flag" in statuses  # "basically always": a sweeping claim, quoted in context
    flag = next(e for e in evidence if e["status"] == "red_flag")
    assert flag["quote"] == "I think it is basically always worth it."
    # Coverage carries the same times; the payload keeps them for the report.
    payload = evaluation_payload(result)
    covered = [k for k in payload["details"]["key_points"] if k["status"] != "missing"]
    assert covered and all(k["start_s"] is not None for k in covered)
    # Typed: the same quotes, no times.
    typed = Evaluator(None, embedder).evaluate(QUESTION, ANSWER)
    assert all(e["start_s"] is None for e in typed.details["evidence"])
    assert typed.score == result.score  # the content score ignores how it was given


def test_speech_metrics_are_not_part_of_the_score(embedder: Embedder) -> None:
    plain = voice(ANSWER)
    halting = AnswerMeta(
        source="voice",
        speech_ms=plain.speech_ms * 2,  # half the speaking rate
        stt={**plain.stt, "speech_metrics": {"wpm": 60, "pauses": {"count": 9}}},
    )
    ev = Evaluator(None, embedder)
    assert (
        ev.evaluate(QUESTION, ANSWER, plain).score == ev.evaluate(QUESTION, ANSWER, halting).score
    )


@pytest.mark.parametrize("with_llm", [False, True])
def test_same_transcript_same_evaluation(embedder: Embedder, with_llm: bool) -> None:
    meta = voice(ANSWER)
    first = Evaluator(FixedLLM() if with_llm else None, embedder).evaluate(QUESTION, ANSWER, meta)
    snapshot = copy.deepcopy(first)
    again = Evaluator(FixedLLM() if with_llm else None, embedder).evaluate(
        QUESTION, ANSWER, copy.deepcopy(meta)
    )
    fresh = Evaluator(
        FixedLLM() if with_llm else None, Embedder(embedder.model_info, cache_size=0)
    ).evaluate(QUESTION, ANSWER, meta)
    assert first == snapshot  # nothing mutated afterwards
    assert first == again == fresh
    assert evaluation_payload(first) == evaluation_payload(again) == evaluation_payload(fresh)
    assert first.details["feedback_source"] == ("llm" if with_llm else "rules")
    for key in ("rubric_version", "prompt_version", "scoring_version", "seed", "temperature"):
        assert key in first.details
    assert first.details["models"]["embed"]["sha256"] == embedder.model_info.sha256
