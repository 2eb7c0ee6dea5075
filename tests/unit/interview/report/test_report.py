"""The report (JSON and HTML) and ``rescore`` over a SQLite database made by the real
repository: evidence with clip times, playable inline audio, honest "not assessed", the
overall and per-skill scores, and re-evaluation with the real embedder (no LLM)."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import pytest

from tests.audio_helpers import best_correlation, load_fixture, manifest
from tests.paths import REPO
from voice_interview.audio.storage import decode_ogg_opus, encode_ogg_opus
from voice_interview.domain.interview import InterviewStatus
from voice_interview.domain.question import Question
from voice_interview.engines.embed import Embedder
from voice_interview.engines.models import ModelNotFoundError, resolve_model
from voice_interview.interview.evaluation.evaluator import Evaluator
from voice_interview.interview.evaluation.rescore import (
    RescoreError,
    format_summary,
    rescore_interview,
)
from voice_interview.interview.evaluation.speech_metrics import parse_words, speech_metrics
from voice_interview.interview.report.data import (
    CLIP_PAD_S,
    AudioUnavailableError,
    OggOpusAudio,
    answer_audio,
    build_report,
    clip_bounds,
    render_html,
)
from voice_interview.interview.report.page import templates
from voice_interview.settings import Settings
from voice_interview.store.repository import AnswerRecord, Repository
from voice_interview.store.tables import AnswerRow, EvaluationRow, InterviewRow, QuestionRow

RATE = 16000
FIXTURE = next(m for m in manifest() if m["file"] == "database_index.wav")
VOICE_TEXT = (
    "An index is a sorted structure, usually a B-tree, that lets the database find rows "
    "quickly. The cost is extra disk space and slower writes."
)
TYPED_TEXT = (
    "A generator is a function that yields values lazily and keeps its state between "
    "calls, so it can stream a large file line by line."
)


def _words(text: str, duration: float) -> list[list[Any]]:
    toks = text.split()
    step = (duration - 0.6) / len(toks)
    return [
        [w, round(0.3 + i * step, 2), round(0.3 + (i + 1) * step - 0.05, 2), 0.9]
        for i, w in enumerate(toks)
    ]


def _duration(ogg: bytes) -> float:
    with av.open(io.BytesIO(ogg), "r") as c:
        return sum(f.samples for f in c.decode(audio=0)) / 48000


async def _interview(tmp_path: Path) -> tuple[Repository, str, dict[str, str]]:
    """Three answers: spoken (scored), spoken but 2 words (not assessed), typed."""
    repo = Repository(f"sqlite+aiosqlite:///{tmp_path / 'vi.db'}")
    await repo.init()
    interview = await repo.create_interview(
        "cand",
        None,
        "backend engineer",
        [
            Question.of(
                FIXTURE["question"],
                "technical",
                "medium",
                [
                    "An index is a sorted structure such as a B-tree",
                    "Indexes take extra disk space and slow down writes",
                    "Composite index column order matters",
                ],
                ["databases", "sql"],
                bank_id="q1",
            ),
            Question.of(
                "Tell me about a conflict in your team.",
                "behavioral",
                "easy",
                ["Describes the situation", "States the result"],
                ["teamwork"],
                bank_id="q2",
            ),
            Question.of(
                "What is a Python generator?",
                "technical",
                "hard",
                ["Yields values lazily", "Keeps its state between calls"],
                ["python", "databases"],
                bank_id="q3",
            ),
        ],
    )
    q1, q2, q3 = interview.questions
    pcm = load_fixture(FIXTURE["file"])
    duration = pcm.size / RATE
    words = _words(VOICE_TEXT, duration)
    stt = {
        "status": "done",
        "no_speech_prob": 0.1,
        "avg_logprob": -0.3,
        "duration_s": duration,
        "words": words,
        "speech_metrics": speech_metrics(parse_words(words), 10200, None),
    }
    a1, _ = await repo.record_answer(
        interview.id,
        q1.id,
        source="voice",
        transcript=VOICE_TEXT,
        end_reason="vad",
        speech_ms=10200,
        stt=stt,
        audio=encode_ogg_opus(pcm),
        audio_format="ogg_opus",
    )
    short = pcm[:RATE]
    a2, _ = await repo.record_answer(
        interview.id,
        q2.id,
        source="voice",
        transcript="Yes, sure.",
        end_reason="vad",
        speech_ms=900,
        stt={
            "status": "done",
            "no_speech_prob": 0.2,
            "avg_logprob": -0.4,
            "duration_s": 1.0,
            # heard unclearly: "could not hear", not a non-answer (that would score 0)
            "words": [["Yes,", 0.2, 0.5, 0.4], ["sure.", 0.5, 0.9, 0.3]],
        },
        audio=encode_ogg_opus(short),
        audio_format="ogg_opus",
    )
    a3, _ = await repo.record_answer(
        interview.id,
        q3.id,
        source="text",
        transcript=TYPED_TEXT,
        end_reason="text_answer",
    )
    await repo.set_status(interview.id, InterviewStatus.IN_PROGRESS)
    return repo, interview.id, {"voice": a1.id, "short": a2.id, "typed": a3.id}


async def test_rescore_scores_stores_and_keeps_the_previous(
    tmp_path: Path, embedder: Embedder
) -> None:
    repo, iid, ids = await _interview(tmp_path)
    try:
        evaluator = Evaluator(None, embedder)
        with pytest.raises(RescoreError, match="in progress"):
            await rescore_interview(repo, evaluator, iid)
        await repo.set_status(iid, InterviewStatus.COMPLETED)
        t1 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
        first = await rescore_interview(repo, evaluator, iid, now=t1)
        by_q = {a.question_index: a for a in first.answers}
        assert by_q[0].new_status == "scored" and by_q[0].new_score is not None
        assert by_q[1].new_status == "insufficient_data" and by_q[1].new_score is None
        assert by_q[1].reason == "too little speech to assess (2 words, 0.9 s of speech)"
        assert by_q[2].new_status == "scored"
        assert first.overall.assessed == 2 and first.overall.not_assessed == 1
        stored = await repo.get_interview(iid)
        assert stored.overall_score == first.overall.score is not None
        # Scoring the same stored transcripts again gives the same result.
        t2 = datetime(2025, 3, 2, 10, 0, tzinfo=UTC)
        second = await rescore_interview(repo, evaluator, iid, now=t2)
        assert [(a.new_status, a.new_score) for a in second.answers] == [
            (a.new_status, a.new_score) for a in first.answers
        ]
        assert second.overall == first.overall
        records = {r.answer.id: r for r in await repo.answer_records(iid) if r.answer}
        details = records[ids["voice"]].evaluation.details  # type: ignore[union-attr]
        assert details["rescored_at"] == t2.isoformat()
        assert details["previous"]["score"] == by_q[0].new_score
        assert details["previous"]["status"] == "scored"
        assert details["previous"]["models"]["embed"]["sha256"] == embedder.model_info.sha256
        text = format_summary(second)
        assert "Q2: insufficient_data -> insufficient_data (too little speech" in text
        assert f"overall {first.overall.score:.1f} -> {second.overall.score:.1f}" in text
    finally:
        await repo.close()


async def test_report_json_and_html(tmp_path: Path, embedder: Embedder) -> None:
    repo, iid, ids = await _interview(tmp_path)
    try:
        await repo.set_status(iid, InterviewStatus.COMPLETED)
        await rescore_interview(repo, Evaluator(None, embedder), iid)
        report = build_report(await repo.get_interview(iid), await repo.answer_records(iid))
        data = json.loads(json.dumps(report))  # JSON-ready, audio bytes stay outside
        assert "audio" not in data
        voice, short, typed = data["answers"]
        # Overall: the two assessed answers, and it says which one is left out and why.
        scoring = data["scoring"]
        assert (scoring["assessed"], scoring["not_assessed"]) == (2, 1)
        assert scoring["left_out"] == [
            {
                "question_index": 1,
                "question_id": short["question"]["id"],
                "status": "insufficient_data",
                "reason": "too little speech to assess (2 words, 0.9 s of speech)",
            }
        ]
        w = {"medium": 1.5, "hard": 2.0}
        expected = (
            w["medium"] * voice["evaluation"]["score"] + w["hard"] * typed["evaluation"]["score"]
        ) / (w["medium"] + w["hard"])
        assert data["overall_score"] == pytest.approx(expected, abs=0.11)
        skills = {s["skill"]: s for s in data["per_skill"]}
        assert skills["sql"]["score"] == voice["evaluation"]["score"]
        assert skills["databases"]["score"] == pytest.approx(expected, abs=0.11)
        assert skills["teamwork"] == {
            "skill": "teamwork",
            "score": None,
            "assessed": 0,
            "not_assessed": 1,
            "questions": [1],
        }
        # Evidence: quotes with clip times inside the audio; speech metrics for voice only.
        assert short["evaluation"]["reason"].startswith("too little speech")
        assert voice["evaluation"]["reason"] is None
        assert voice["speech_metrics"]["wpm"] > 0 and typed["speech_metrics"] is None
        assert voice["recording"]["url"].endswith(f"/answers/{ids['voice']}/audio")
        assert typed["recording"] is None
        duration = voice["recording"]["duration_s"]
        quoted = [e for e in voice["evaluation"]["evidence"] if e["quote"]]
        assert quoted
        for e in quoted:
            clip = e["clip"]
            assert 0 <= clip["start_s"] <= e["start_s"] < e["end_s"] <= clip["end_s"] <= duration
            assert clip["url"].startswith(voice["recording"]["url"] + "?start=")
        assert all(e["clip"] is None for e in typed["evaluation"]["evidence"])
        # The score's parts, as the evaluator stored them, in the JSON and on the page.
        records = {r.answer.id: r for r in await repo.answer_records(iid) if r.answer}
        stored = records[ids["voice"]].evaluation.details  # type: ignore[union-attr]
        parts = voice["evaluation"]["score_parts"]
        assert parts["final"] == voice["evaluation"]["score"]
        for part in ("coverage", "specificity", "relevance"):
            assert parts[part] == stored["score_parts"][part]
        assert parts["weights"] == stored["sub_scores"]["weights"]
        assert parts["penalty_total"] == sum(stored["score_parts"]["penalties"].values())
        assert short["evaluation"]["score_parts"] is None
        kp = voice["evaluation"]["coverage"][0]
        assert {"label", "contradiction", "credit"} <= set(kp)
        prov = voice["evaluation"]["provenance"]
        assert prov["models"]["embed"]["sha256"] and prov["gate_version"]
        # HTML: not assessed with its reason, the note, players that decode.
        page = render_html(report)
        assert "not assessed: too little speech to assess (2 words, 0.9 s of speech)" in page
        assert (
            "1 of 3 answers could not be heard, were not assessed and are left out of "
            "the overall score"
        ) in page
        assert "words per minute" in page and "<h2>Skills</h2>" in page
        q1 = _section(page, 1)
        assert "How the score was made" in q1
        assert f"{parts['coverage']:.0f} / 100" in q1
        assert "How the score was made" not in _section(page, 2)  # not assessed
        sources = re.findall(r'<audio id="([^"]+)"[^>]*src="data:audio/ogg;base64,([^"]+)"', page)
        players = dict(sources)
        assert "a1" in players and "a2" in players  # whole answers
        assert _duration(base64.b64decode(players["a1"])) == pytest.approx(duration, abs=0.05)
        clips = {k: v for k, v in players.items() if k.startswith("q1")}
        assert clips, "no clip players for the spoken answer"
        first_cov = voice["evaluation"]["coverage"][0]["clip"]
        got = _duration(base64.b64decode(players["q1k0"]))
        want = first_cov["end_s"] - first_cov["start_s"]
        assert want - 0.05 <= got <= want + 0.15  # packet edges and the decoder warm-up
        # A clip is inlined once; a second citation links to it.
        assert len(players) == len(set(players.values()))
        assert 'href="#q1k0"' in page
        # Without the audio, the page still renders (quotes and times, no players).
        bare = render_html(data)
        assert "<audio" not in bare and "not assessed" in bare
    finally:
        await repo.close()


async def test_answer_audio_clips(tmp_path: Path) -> None:
    repo, iid, ids = await _interview(tmp_path)
    try:
        records = {r.answer.id: r.answer for r in await repo.answer_records(iid) if r.answer}
        voice = records[ids["voice"]]
        whole = answer_audio(voice)
        assert whole == voice.audio
        clip = answer_audio(voice, 2.0, 5.0)
        assert 2.9 <= _duration(clip) <= 3.2
        # The clip is that stretch of the answer (from just before 2.0 s: decoder warm-up).
        full, part = decode_ogg_opus(whole), decode_ogg_opus(clip)
        corr, lag = best_correlation(full[int(1.9 * RATE) :], part, max_lag=RATE // 10)
        assert corr > 0.9 and abs(lag) < RATE // 20, (corr, lag)
        assert OggOpusAudio(whole).duration_s == pytest.approx(10.8, abs=0.03)
        tail = answer_audio(voice, 9.0, None)
        assert 1.7 <= _duration(tail) <= 2.0
        with pytest.raises(ValueError):
            answer_audio(voice, 5.0, 5.0)
        with pytest.raises(ValueError):
            answer_audio(voice, 30.0, 31.0)
        with pytest.raises(AudioUnavailableError):
            answer_audio(records[ids["typed"]])
        # Raw PCM (an answer not transcribed yet) comes back as Ogg/Opus too.
        voice.audio_format, voice.audio = "pcm_s16le_16k", load_fixture("idempotency.wav").tobytes()
        assert _duration(answer_audio(voice)) == pytest.approx(FIXTURE_IDEMPOTENCY_S, abs=0.05)
    finally:
        await repo.close()


FIXTURE_IDEMPOTENCY_S = load_fixture("idempotency.wav").size / RATE


def test_clip_bounds_pad_and_clamp() -> None:
    assert clip_bounds(1.0, 2.0, 10.0) == (1.0 - CLIP_PAD_S, 2.0 + CLIP_PAD_S)
    assert clip_bounds(0.1, 9.9, 10.0) == (0.0, 10.0)
    assert clip_bounds(0.0, 100.0, None)[1] == 30.0  # CLIP_MAX_S


async def test_rescore_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from voice_interview import cli

    repo, iid, _ids = await _interview(tmp_path)
    await repo.set_status(iid, InterviewStatus.PAUSED)
    url = str(repo.url)
    await repo.close()
    code = await _in_thread(cli.main, ["rescore", iid, "--no-llm", "--json", "--database-url", url])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(out)
    assert summary["interview_id"] == iid
    assert [a["new_status"] for a in summary["answers"]] == [
        "scored",
        "insufficient_data",
        "scored",
    ]
    assert summary["models"]["llm"] is None
    # --llm-model picks the feedback model (here the bundled file, named explicitly).
    try:
        gguf = resolve_model("llm", Settings()).path
    except ModelNotFoundError:
        gguf = None
    if gguf is not None:
        code = await _in_thread(
            cli.main, ["rescore", iid, "--llm-model", str(gguf), "--json", "--database-url", url]
        )
        out = capsys.readouterr().out
        assert code == 0, out
        with_llm = json.loads(out)
        assert with_llm["models"]["llm"]["name"] == gguf.name
        assert [a["new_score"] for a in with_llm["answers"]] == [
            a["new_score"] for a in summary["answers"]
        ]  # the LLM writes feedback only; scores do not move
    missing = await _in_thread(
        cli.main,
        ["rescore", "00000000-0000-0000-0000-000000000000", "--no-llm", "--database-url", url],
    )
    assert missing == 1


async def _in_thread(fn: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(fn, *args)


# -- the explainable report, on stored evaluations made up to show every part -------------

KP_A = ["An index is a sorted structure such as a B-tree", "Indexes slow down writes"]


def _row(
    position: int, qtype: str, evaluation: dict[str, Any] | None, transcript: str
) -> AnswerRecord:
    q = QuestionRow(
        id=f"q{position}",
        interview_id="i1",
        position=position,
        bank_id="b",
        text=f"Question number {position}?",
        question_type=qtype,
        difficulty="medium",
        skills=["databases"],
        key_points=KP_A,
    )
    a = AnswerRow(
        id=f"a{position}",
        interview_id="i1",
        question_id=q.id,
        source="text",
        transcript=transcript,
        end_reason="text_answer",
        speech_ms=0,
        stt={},
        audio=None,
        audio_format="",
    )
    e = (
        None
        if evaluation is None
        else EvaluationRow(
            id=f"e{position}",
            answer_id=a.id,
            feedback="Some feedback for you.",
            strengths=[],
            weaknesses=[],
            attempts=1,
            error="",
            **evaluation,
        )
    )
    return AnswerRecord(q, a, e, None)


def _kp(
    status: str,
    quote: str,
    similarity: float,
    contradiction: str | None = None,
    point: str = KP_A[0],
) -> tuple[dict[str, Any], dict[str, Any]]:
    summary = {
        "key_point": point,
        "status": status,
        "quote": quote,
        "similarity": similarity,
        "start_s": None,
        "end_s": None,
    }
    full = summary | {
        "credit": similarity,
        "contradiction": contradiction,
        "cosine": 0.5,
        "lexical": 0.5,
    }
    return summary, full


def _made_up_records() -> list[AnswerRecord]:
    weights = {"coverage": 0.65, "specificity": 0.22, "relevance": 0.13}
    a_cov = [
        _kp("covered", "it is a sorted B-tree over the column", 0.81),
        _kp("missing", "", 0.1, point=KP_A[1]),
    ]
    b_cov = [
        _kp(
            "missing",
            "indexes never slow anything down",
            0.2,
            contradiction="negates: 'never slow'",
            point=KP_A[1],
        ),
        _kp("missing", "", 0.05),
    ]
    non_cap = {"cap": 0.0, "kind": "non_answer", "reason": "no answer: pass"}
    return [
        _row(
            0,
            "technical",
            {
                "status": "scored",
                "score": 72.0,
                "details": {
                    "sub_scores": {"weights": weights},
                    "score_parts": {
                        "coverage": 81.0,
                        "specificity": 60.0,
                        "relevance": 100.0,
                        "penalties": {
                            "overclaim": 4.0,
                            "dismissive": 0.0,
                            "deflect": 0.0,
                            "contradiction": 0.0,
                        },
                        "caps": [],
                        "final": 72.0,
                    },
                    "key_points": [s for s, _ in a_cov],
                    "coverage": [f for _, f in a_cov],
                    "evidence": [],
                    "caps": [],
                },
            },
            "It is a sorted B-tree over the column, always the fastest way.",
        ),
        _row(
            1,
            "technical",
            {
                "status": "scored",
                "score": 15.0,
                "details": {
                    "sub_scores": {"weights": weights},
                    "score_parts": {
                        "coverage": 5.0,
                        "specificity": 70.0,
                        "relevance": 0.0,
                        "penalties": {
                            "overclaim": 0.0,
                            "dismissive": 7.0,
                            "deflect": 0.0,
                            "contradiction": 5.0,
                        },
                        "uncapped": 41.5,
                        "caps": [
                            {
                                "cap": 15.0,
                                "kind": "off_topic",
                                "reason": "does not address the question (topicality 0.12 < "
                                "0.33, rubric coverage 0.05)",
                            }
                        ],
                        "final": 15.0,
                    },
                    "key_points": [s for s, _ in b_cov],
                    "coverage": [f for _, f in b_cov],
                    "evidence": [],
                },
            },
            "Indexes never slow anything down; let me tell you about my garden.",
        ),
        _row(
            2,
            "behavioral",
            {
                "status": "scored",
                "score": 0.0,
                "details": {
                    "non_answer": {"reason": "no answer: pass", "kind": "refusal"},
                    "caps": [non_cap],
                    "score_parts": {"uncapped": 0.0, "final": 0.0, "caps": [non_cap]},
                    "key_points": [],
                    "evidence": [],
                },
            },
            "Pass.",
        ),
        _row(
            3,
            "technical",
            {
                "status": "insufficient_data",
                "score": None,
                "details": {
                    "reason": "too little speech to assess (2 words, 0.9 s of speech)",
                    "key_points": [],
                    "evidence": [],
                },
            },
            "Yes, sure.",
        ),
    ]


def _section(page: str, n: int) -> str:
    found = re.search(rf'<section class="q" id="q{n}">(.*?)</section>', page, re.S)
    assert found, f"no section for question {n}"
    return found.group(1)


def _breakdown(page: str, n: int) -> list[str]:
    row = re.search(rf'<tr><td><a href="#q{n}">{n}</a></td>(.*?)</tr>', page, re.S)
    assert row, f"no breakdown row for question {n}"
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))]


def test_report_explains_each_score() -> None:
    interview = InterviewRow(
        id="i1",
        candidate_id="c1",
        role="backend",
        status="completed",
        current_question_index=4,
        total=4,
        overall_score=None,
    )
    report = build_report(interview, _made_up_records())
    data = json.loads(json.dumps(report))
    a, b, non, short = (x["evaluation"] for x in data["answers"])
    # JSON: the parts, penalties with their total, caps with reasons, key points.
    assert a["score_parts"] == {
        "coverage": 81.0,
        "specificity": 60.0,
        "relevance": 100.0,
        "weights": {"coverage": 0.65, "specificity": 0.22, "relevance": 0.13},
        "penalties": {"overclaim": 4.0, "dismissive": 0.0, "deflect": 0.0, "contradiction": 0.0},
        "penalty_total": 4.0,
        "uncapped": None,
        "caps": [],
        "final": 72.0,
    }
    assert b["score_parts"]["penalty_total"] == 12.0 and b["score_parts"]["uncapped"] == 41.5
    assert [c["kind"] for c in b["score_parts"]["caps"]] == ["off_topic"]
    assert a["coverage"][0] | {"clip": None} == a["coverage"][0]
    assert (a["coverage"][0]["label"], a["coverage"][0]["quote"]) == (
        "covered",
        "it is a sorted B-tree over the column",
    )
    assert b["coverage"][0]["label"] == "contradicted"
    assert b["coverage"][0]["contradiction"] == "negates: 'never slow'"
    assert non["non_answer"]["reason"] == "no answer: pass"
    assert non["score_parts"]["final"] == 0.0
    assert short["score_parts"] is None and short["reason"].startswith("too little speech")

    page = render_html(report)
    # Side by side: why answer 1 beat answer 2.
    assert _breakdown(page, 1) == ["medium", "72 / 100", "81", "60", "100", "−4", ""]
    assert _breakdown(page, 2) == [
        "medium",
        "15 / 100",
        "5",
        "70",
        "0",
        "−12",
        "off_topic (at most 15)",
    ]
    assert _breakdown(page, 4)[1].startswith("not assessed: too little speech")
    q1 = _section(page, 1)
    assert "How the score was made" in q1
    for text in (
        "81 / 100",
        "× 0.65",
        "60 / 100",
        "× 0.22",
        "100 / 100",
        "−4 sweeping claims",
        "<q>it is a sorted B-tree over the column</q>",
        '<td class="covered">covered</td>',
        "not mentioned",
        "0.81",
    ):
        assert text in q1, text
    assert "Cap:" not in q1
    q2 = _section(page, 2)
    for text in (
        "Cap: off_topic",
        "at most 15",
        "does not address the question (topicality 0.12 &lt; 0.33, rubric coverage 0.05)",
        "−7 dismissive or risky stances",
        "−5 contradicted key points",
        "41.5",
        '<td class="contradicted">contradicted</td>',
        "contradiction: negates: &#x27;never slow&#x27;",
        "<q>indexes never slow anything down</q>",
        "held by the cap above",
    ):
        assert text in q2, text
    q3 = _section(page, 3)
    assert "No answer" in q3 and "no answer: pass" in q3 and "Cap: non_answer" not in q3
    q4 = _section(page, 4)
    assert "not assessed: too little speech to assess" in q4
    assert "How the score was made" not in q4


def test_report_shows_what_the_check_model_took_and_why() -> None:
    records = _made_up_records()
    details = records[0].evaluation.details  # type: ignore[union-attr]
    why = "the check model gives P(correct) 0.40, below 0.88"
    details["llm_check"] = {"p_correct": 0.4, "threshold": 0.88, "penalty": 36.0, "why": why,
                            "prompt_version": "check-2026.1"}
    details["score_parts"]["check_penalty"] = 36.0
    interview = InterviewRow(id="i1", candidate_id="c1", role="backend", status="completed",
                             current_question_index=4, total=4, overall_score=None)
    report = build_report(interview, records)
    first = json.loads(json.dumps(report))["answers"][0]["evaluation"]
    assert first["llm_check"]["p_correct"] == 0.4 and first["llm_check"]["why"] == why
    assert first["score_parts"]["check_penalty"] == 36.0
    q1 = _section(render_html(report), 1)
    assert "Check model" in q1 and "−36.0" in q1 and why in q1
    assert q1.count("Check penalty") == 0  # shown once, as its own row, not as an extra part
    # Without a check model nothing is shown for it.
    q2 = _section(render_html(build_report(interview, _made_up_records())), 1)
    assert "Check model" not in q2


def test_report_template_ships_and_is_complete() -> None:
    import tomllib

    blocks = templates()
    assert {"page", "question", "parts", "part_row", "cap_row", "coverage_row"} <= set(blocks)
    assert "<style>" in blocks["page"].template and "$sections" in blocks["page"].template
    root = REPO
    data = tomllib.loads((root / "pyproject.toml").read_text())
    shipped = data["tool"]["setuptools"]["package-data"]["voice_interview"]
    assert "interview/report/templates/*.html" in shipped
    # Code, not markup: the report modules hold no page of HTML strings.
    report = root / "voice_interview" / "interview" / "report"
    assert len((report / "data.py").read_text().splitlines()) < 400
    assert "<table" not in (report / "page.py").read_text()
