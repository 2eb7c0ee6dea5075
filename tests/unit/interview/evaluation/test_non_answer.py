"""Non-answers score 0 and count; only "could not hear" is not assessed; skipping never
raises the overall; off-topic and keyword-stuffed answers are capped with a reason."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from voice_interview.domain.answer import AnswerMeta
from voice_interview.domain.question import Question
from voice_interview.domain.scoring import ScoredAnswer, overall_score
from voice_interview.domain.types import Difficulty
from voice_interview.engines.embed import Embedder
from voice_interview.interview.evaluation import caps
from voice_interview.interview.evaluation.evaluator import Evaluator
from voice_interview.interview.questions.bank import load_bank

QUESTION = Question.of(
    text="The disk on a production server is 95 percent full. What do you do?",
    question_type="technical",
    difficulty="medium",
    key_points=[
        "Find what is using the space with du or df before deleting anything",
        "Free space safely: rotate or compress logs, clean old artifacts, never delete live "
        "database files",
        "Check for deleted files still held open by a process, which keep their space",
        "Add monitoring and alerts on disk usage so it does not happen again",
    ],
)
GOOD = (
    "First I'd check with df which filesystem is full and then du to find the directories "
    "using the space, before deleting anything. Usually it's logs, so I'd rotate and "
    "compress them and clear old build artifacts, but never touch live database files. "
    "I'd also look with lsof for deleted files a process still holds open, since they keep "
    "their space until restart. Afterwards I'd add an alert at 80 percent disk usage."
)
OFF_TOPIC = (
    "A hash table stores key value pairs in an array of buckets. The key is hashed to pick "
    "a bucket, collisions are handled by chaining or open addressing, and when the load "
    "factor grows past about 0.75 the table is resized and every entry rehashed, which "
    "keeps lookups at constant time on average."
)


@pytest.mark.parametrize(
    "text",
    ["I don't know", "pass", "No idea.", "Can we skip this one?", "ok", "Honestly I have no "
     "idea, sorry, next question please"],
)
def test_typed_non_answers_score_zero(embedder: Embedder, text: str) -> None:
    result = Evaluator(None, embedder).evaluate(QUESTION, text)
    assert result.status == "scored" and result.score == 0.0
    assert result.details["non_answer"]["kind"] in ("refusal", "too_short")


def test_silence_after_the_reprompt_is_a_non_answer(embedder: Embedder) -> None:
    meta = AnswerMeta(source="none", speech_ms=0, end_reason="no_answer")
    result = Evaluator(None, embedder).evaluate(QUESTION, "", meta)
    assert result.status == "scored" and result.score == 0.0
    assert result.details["non_answer"]["kind"] == "silence"


def test_could_not_hear_stays_not_assessed(embedder: Embedder) -> None:
    mic_failure = Evaluator(None, embedder).evaluate(QUESTION, "", AnswerMeta(source="none"))
    assert mic_failure.status == "insufficient_data" and mic_failure.score is None
    tokens = ["the", "disk", "is", "full", "so", "I", "would"]
    words = [[w, i, i + 0.5, 0.3] for i, w in enumerate(tokens)]
    unsure = Evaluator(None, embedder).evaluate(
        QUESTION, "the disk is full so I would",
        AnswerMeta(source="voice", speech_ms=5000, stt={"words": words}),
    )
    assert unsure.status == "insufficient_data" and unsure.score is None


def test_a_real_answer_is_not_a_non_answer(embedder: Embedder) -> None:
    result = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    assert "non_answer" not in result.details
    assert result.score is not None and result.score > 50


def test_off_topic_answer_is_capped_with_a_reason(embedder: Embedder) -> None:
    result = Evaluator(None, embedder).evaluate(QUESTION, OFF_TOPIC)
    assert result.score is not None and result.score < 20
    good = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    assert good.score is not None and good.score > result.score + 30


NEIGHBOUR = (
    "When a production server's CPU is pegged at a hundred percent I'd run top to find the "
    "process, check whether it's a runaway loop or real load, and look at what was deployed "
    "recently. If traffic spiked I'd scale out behind the load balancer, and afterwards I'd "
    "profile the hot code path and add an alert on CPU saturation."
)


def test_an_answer_to_a_neighbouring_question_is_capped_as_a_whole(embedder: Embedder) -> None:
    # Its sentences look on topic (servers, production, alerts), so the sentence-level test
    # passes it; the answer as a whole is about CPU, not disk space.
    result = Evaluator(None, embedder).evaluate(QUESTION, NEIGHBOUR)
    signals = result.details["signals"]
    assert signals["topicality"] >= caps.OFF_TOPIC_RELEVANCE["technical"]
    assert signals["answer_rubric_cosine"] < caps.FAR_RUBRIC_COSINE["technical"]
    assert result.score is not None and result.score <= caps.OFF_TOPIC_CAP
    (cap,) = [c for c in result.details["caps"] if c["kind"] == "off_topic"]
    assert "as a whole is about something else" in cap["reason"]
    good = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    assert good.details["caps"] == [] and good.details["signals"]["answer_rubric_cosine"] > 0.6


MICROCONTROLLER = (
    "So the board kept resetting in the field, maybe once a day, and never on my desk. I "
    "started by reading the reset cause register at boot and logging it, and it turned out "
    "to be the watchdog, not a brown-out. Then I added a hard fault handler that saved the "
    "stacked program counter into no-init RAM, and after a week of field logs the PC always "
    "pointed at the I2C driver, which was spinning forever when the sensor held the clock "
    "line low. I added a timeout and a bus recovery sequence, and the resets stopped."
)
MOTIVATION = (
    "What gives me the most energy is performance work on mobile apps, finding why a screen "
    "janks and making it smooth. I'm interested in this role because it's mostly about the "
    "offline sync and performance of your field app, and I've used it, it's the one the "
    "delivery drivers at my last company used. Last year I rebuilt our own app's offline "
    "queue and cut sync conflicts by half, so that's the work I'd like to keep doing."
)


def test_a_fluent_technical_story_does_not_answer_a_motivation_question(
    embedder: Embedder,
) -> None:
    # The case from issue 12: a 40 s microcontroller debugging story given to "why this
    # role?" scored 43.6. The bundled bank's question, so the test follows its wording.
    (bank_q,) = [q for q in load_bank() if q.id == "beh-motivation"]
    question = bank_q.as_question()
    story = Evaluator(None, embedder).evaluate(question, MICROCONTROLLER)
    assert story.score is not None and story.score < 20
    assert [c["kind"] for c in story.details["caps"]] == ["off_topic"]
    answer = Evaluator(None, embedder).evaluate(question, MOTIVATION)
    assert answer.details["caps"] == []
    assert answer.score is not None and answer.score > story.score + 30


def test_keyword_stuffing_is_capped(embedder: Embedder) -> None:
    stuffed = "df du logs rotate compress artifacts lsof deleted open files monitoring alerts disk"
    result = Evaluator(None, embedder).evaluate(QUESTION, stuffed)
    assert result.score is not None and result.score <= 15
    assert any(c["kind"] == "keyword_stuffing" for c in result.details["caps"])


def test_non_answers_count_in_the_overall_and_are_named() -> None:
    o = overall_score([
        ScoredAnswer(Difficulty.EASY, 80.0),
        ScoredAnswer(Difficulty.EASY, 0.0, non_answer=True),
        ScoredAnswer(Difficulty.EASY, None),
    ])
    assert o.score == 40.0 and o.assessed == 2 and o.non_answers == 1 and o.not_assessed == 1
    assert "counted as 0" in o.note and "could not be heard" in o.note


def test_skipping_never_raises_the_overall() -> None:
    rng = random.Random(7)
    levels = list(Difficulty)
    for _ in range(500):
        answers = [
            ScoredAnswer(rng.choice(levels), round(rng.uniform(0, 100), 1))
            for _ in range(rng.randint(1, 8))
        ]
        before = overall_score(answers).score
        i = rng.randrange(len(answers))
        skipped = list(answers)
        skipped[i] = ScoredAnswer(answers[i].difficulty, 0.0, non_answer=True)
        after = overall_score(skipped).score
        assert before is not None and after is not None and after <= before


def test_banding_and_quadratic_weighted_kappa() -> None:
    from voice_interview.bench.eval_metrics import band, quadratic_weighted_kappa

    assert [band(s) for s in (None, 0, 19.9, 20, 59.9, 80, 100)] == [1, 1, 1, 2, 3, 5, 5]
    assert quadratic_weighted_kappa([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]) == 1.0
    assert quadratic_weighted_kappa([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) < 0
    near = quadratic_weighted_kappa([1, 2, 3, 4, 5], [1, 2, 3, 5, 5])
    far = quadratic_weighted_kappa([1, 2, 3, 4, 5], [1, 2, 3, 4, 1])
    assert 0 < far < near < 1


def test_graded_labels_and_split_load_and_rank(tmp_path: Path) -> None:
    import json

    from voice_interview.bench.eval_bench import load_labelled, run_eval
    from voice_interview.domain.evaluation import Evaluation

    answers = [("excellent", 90.0), ("good", 70.0), ("partial", 50.0), ("poor", 30.0),
               ("non_answer", 0.0), ("off_topic", 10.0), ("adversarial", 60.0)]
    line = {"id": "g-1", "split": "heldout", "question": "Q?", "key_points": ["k"],
            "answers": [{"label": label, "text": str(score)} for label, score in answers]}
    path = tmp_path / "graded.jsonl"
    path.write_text(json.dumps(line) + "\n")
    items = load_labelled(path)
    assert items[0].split == "heldout"

    class ByText:
        def evaluate(self, question: Question, answer_text: str) -> Evaluation:
            return Evaluation("scored", float(answer_text), "", [], [], [], {})

    result = run_eval(ByText(), items)
    assert result["strong_vs_partial_accuracy"] == 1.0
    # only the adversarial answer (60) is mis-ranked: above partial and poor
    assert sorted(result["errors"]) == ["g-1: partial<=adversarial", "g-1: poor<=adversarial"]


@pytest.mark.parametrize(
    "text",
    [
        "I'd rather not guess on something like this.",
        "Honestly I couldn't explain it, I've only ever watched someone else do it.",
        "Sorry, could you give me a different question? This one is not for me.",
        "I'm not familiar with disk quotas at all, so I'll pass on this one.",
        "Hmm. I've been trying to think while you asked, and I'm drawing a complete blank. "
        "Our ops team always handled the servers, I only ever wrote the application code, "
        "so I never saw what they did when a machine ran out of space. Sorry about that.",
        "I don't have a good example of that, to be honest.",
    ],
)
def test_declared_non_answers_score_zero_and_count(embedder: Embedder, text: str) -> None:
    result = Evaluator(None, embedder).evaluate(QUESTION, text)
    assert result.status == "scored" and result.score == 0.0
    assert result.details["non_answer"]["kind"] == "declined"
    assert result.details["caps"][0]["kind"] == "non_answer"


def test_a_hedge_followed_by_an_attempt_is_an_answer(embedder: Embedder) -> None:
    text = (
        "I don't know the exact command, but I'd check which directories use the space "
        "with du before deleting anything, then rotate and compress the logs."
    )
    result = Evaluator(None, embedder).evaluate(QUESTION, text)
    assert "non_answer" not in result.details
    assert result.score is not None and result.score > 20


def test_declining_words_quoted_or_beside_covered_key_points_are_not_a_non_answer() -> None:
    from voice_interview.interview.evaluation.non_answer import declined, detect_declared

    assert declined("Managers hate hearing 'I don't know', so I give a number.") == []
    assert declined("I'd rather not create friction in the team.") == []
    assert declined("No idea, sorry.") == ["No idea"]
    assert detect_declared("I don't know, let's move on.", coverage=0.0) is not None
    # a reply that declines once but covers the rubric is judged as an answer
    assert detect_declared("I don't know, let's move on.", coverage=0.5) is None


def test_reported_speech_without_quote_marks_is_not_a_non_answer() -> None:
    """A transcript drops the quote marks: "hearing, I don't know, or big ranges" still
    reports what managers hear; the candidate's own "I'd say" or "I have to say" is the
    declaration itself."""
    from voice_interview.interview.evaluation.non_answer import declined

    spoken = (
        "I'd say two weeks, that's usually a safe number. Managers don't like hearing, "
        "I don't know, or big ranges. It looks like you're not confident."
    )
    assert declined(spoken) == []
    assert declined("Clients hate it when you tell them I don't know.") == []
    assert declined("Juniors are scared of saying I don't know in standups.") == []
    for own in ("I'd say I don't know.", "I have to say I don't know.",
                "I have to admit I don't know this one."):
        assert declined(own) == ["I don't know"], own


def test_a_list_of_terms_ending_in_a_sentence_is_still_stuffing(embedder: Embedder) -> None:
    # Enough function words in the closing sentence to pass the function-word share rule
    stuffed = (
        "Disk usage, df, du, big directories, log rotation, compression, old artifacts, "
        "build cache, database files, lsof, deleted open files, process restart, "
        "monitoring, alert at eighty percent. That is what I would do if the disk is full."
    )
    result = Evaluator(None, embedder).evaluate(QUESTION, stuffed)
    assert result.score is not None and result.score <= 15
    assert any(
        c["kind"] == "keyword_stuffing" and "bare terms" in c["reason"]
        for c in result.details["caps"]
    )
    # an answer that enumerates inside sentences is not a list
    from voice_interview.interview.evaluation.caps import STUFFING_LIST_SHARE, list_terms

    assert list_terms(GOOD)[1] < STUFFING_LIST_SHARE


def test_capped_scores_keep_their_order_under_the_cap() -> None:
    from voice_interview.interview.evaluation.caps import CAP_SPREAD, OFF_TOPIC_CAP, apply_caps
    from voice_interview.interview.evaluation.rubric import AnswerSignals, RubricAssessment

    off = RubricAssessment(
        matches=[], signals=AnswerSignals(words=40, relevance=0.1, focus=0.0,
                                          specificity=0.5, vagueness=0.0),
        coverage=0.0, contradictions=[], embedding_used=True,
    )
    text = "A fluent answer about something else entirely, written in full sentences."
    high, caps = apply_caps(60.0, off, text)
    low, _ = apply_caps(25.0, off, text)
    assert caps[0]["kind"] == "off_topic"
    assert OFF_TOPIC_CAP - CAP_SPREAD <= low < high <= OFF_TOPIC_CAP
    assert apply_caps(10.0, off, text) == (10.0, [])  # under the cap: untouched


def test_a_spoken_list_without_punctuation_is_still_stuffing(embedder: Embedder) -> None:
    # a transcript that lost the list's commas, ending in a sentence
    spoken = (
        "disk usage df du big directories log rotation compression old build artifacts "
        "database files lsof deleted open files process restart monitoring alerts eighty "
        "percent threshold and that is what I would do here"
    )
    result = Evaluator(None, embedder).evaluate(QUESTION, spoken)
    assert result.score is not None and result.score <= 15
    assert any(
        c["kind"] == "keyword_stuffing" and "runs of" in c["reason"]
        for c in result.details["caps"]
    )
    from voice_interview.interview.evaluation.caps import STUFFING_WINDOW_SHARE, list_window_share

    assert list_window_share(GOOD) < STUFFING_WINDOW_SHARE
    assert list_window_share(GOOD.replace(",", "").replace(".", "")) < STUFFING_WINDOW_SHARE


def test_one_clause_contradicting_two_key_points_is_one_claim() -> None:
    from voice_interview.interview.evaluation.caps import caps_for, contradicting_claims
    from voice_interview.interview.evaluation.rubric import (
        AnswerSignals,
        KeyPointMatch,
        RubricAssessment,
    )

    answer = (
        "Flaky tests come from sleeping instead of waiting for a condition. I rerun them "
        "many times to reproduce the failure."
    )
    clause = "sleeping instead of waiting for a condition"
    sentence = "Flaky tests come from sleeping instead of waiting for a condition."
    signals = AnswerSignals(words=20, relevance=0.6, focus=0.8, specificity=0.5, vagueness=0.0)

    def assessed(quotes: list[str]) -> RubricAssessment:
        matches = [
            KeyPointMatch(f"kp {i}", "missing", q, 0.6, 0.6, 0.5, 0.0, "negates 'wait'")
            for i, q in enumerate(quotes)
        ] + [KeyPointMatch("reproduce", "covered", "I rerun them", 0.8, 0.8, 0.7, 1.0)]
        return RubricAssessment(matches, signals, 0.33, [m.key_point for m in matches[:-1]],
                                True)

    # the cause and the fix key point both voided by one sentence (and a piece of it)
    same = assessed([sentence, clause])
    assert contradicting_claims(same, answer) == 1
    assert not [c for c in caps_for(same, answer) if c["kind"] == "contradiction"]
    # two separate sentences that each contradict are two claims: more than covered
    other = "I rerun them many times"
    two = assessed([sentence, other])
    assert contradicting_claims(two, answer) == 2
    assert [c for c in caps_for(two, answer) if c["kind"] == "contradiction"]
