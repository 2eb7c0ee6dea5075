"""InterviewSession with fake services: no models, no sockets, a real store in a temp
SQLite file. The session is handed exactly what it uses (``SessionServices``), so the
turn loop's rules run here in about a second: the end of a turn, continuation after an
early end, the stopped question asked again, evaluation only once an answer is settled.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from tests.audio_helpers import load_fixture
from voice_interview.audio.vad import TurnSegmenter
from voice_interview.domain.question import Question
from voice_interview.engines.queue import EngineQueue
from voice_interview.engines.stt import QuickTranscript, Transcript
from voice_interview.engines.tts import Speech
from voice_interview.interview.session.services import Ears, SessionServices
from voice_interview.interview.session.session import InterviewSession
from voice_interview.settings import Settings
from voice_interview.store.repository import Repository

# The fixture's session and the test share one event loop.
pytestmark = pytest.mark.asyncio(loop_scope="session")
RATE = 16000
SPEECH = load_fixture("sql_vs_nosql.wav")  # 18.6 s, no pause longer than 0.6 s


class FakeVoice:
    sample_rate = RATE

    async def speech(self, text: str, priority: int) -> Speech:
        t = np.arange(int(0.4 * RATE)) / RATE
        return Speech((np.sin(2 * np.pi * 300 * t) * 3000).astype(np.int16), RATE)

    def prefetch_speech(self, text: str, priority: int) -> None:
        pass


class FakeSTT:
    """Hears every clip as one finished sentence; the final names the clip's length."""

    def transcribe(self, audio: np.ndarray, prompt: str | None = None) -> Transcript:
        return Transcript(f"answer of {audio.size / RATE:.1f} seconds.", duration_s=1.0)

    def quick_transcribe(self, audio: np.ndarray, prompt: str | None = None) -> QuickTranscript:
        return QuickTranscript("That is my whole answer.", -0.1, 0.95, audio.size / RATE)


class FakeTurnModel:
    def probability_complete(self, audio: np.ndarray) -> float:
        return 0.9


class FakeEvaluations:
    def __init__(self) -> None:
        self.scheduled: list[tuple[str, str]] = []

    def subscribe(self, interview_id: str, listener: Any, on_complete: Any) -> Any:
        return lambda: None

    def schedule(self, interview_id: str, answer_id: str, question: Any, text: str, _: Any) -> None:
        self.scheduled.append((answer_id, text))

    async def maybe_complete(self, interview_id: str) -> None:
        return None


class FakeFinals:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    async def store(
        self, answer_id: str, pcm: np.ndarray, transcript: Transcript, **_: Any
    ) -> dict[str, Any]:
        stt = {"status": "done"}
        await self.repo.save_transcript(answer_id, transcript.text, stt, None, "")
        return stt


@pytest.fixture
async def rig(tmp_path: Path) -> Any:
    repo = Repository(f"sqlite+aiosqlite:///{tmp_path / 'session.db'}")
    await repo.init()
    queues = [EngineQueue(n) for n in ("stt", "stt-quick", "turn")]
    evaluations = FakeEvaluations()
    # Speech longer than the short-answer share of a medium question ends on the short wait.
    settings = Settings(end_of_turn_silence_ms=500, continuation_window_ms=2000)
    services = SessionServices(
        settings=settings,
        store=repo,
        voice=FakeVoice(),
        ears=Ears(cast(Any, FakeSTT()), queues[0], queues[1], FakeTurnModel(), queues[2]),
        evaluations=cast(Any, evaluations),
        finals=FakeFinals(repo),
        observe_turn=lambda metrics: None,
    )
    points = ["idempotency keys", "retries are safe"]
    interview = await repo.create_interview(
        "cand",
        None,
        None,
        [
            Question.of(f"Question {i}?", "technical", "easy", points, [], bank_id=f"b{i}")
            for i in (1, 2)
        ],
    )
    interview = await repo.get_interview(interview.id)
    sent = SENT
    sent.clear()

    async def send_text(text: str) -> None:
        sent.append(json.loads(text))

    async def send_bytes(data: bytes) -> None:
        pass

    session = InterviewSession(services, interview, send_text, send_bytes, "/feedback")
    await session.start()
    yield session, sent, repo, evaluations
    await session.close()
    for q in queues:
        q.close()
    await repo.close()


async def stream(session: InterviewSession, pcm: np.ndarray, pace_s: float = 0.0) -> None:
    """20 ms frames, as fast as the loop allows (the rules run on the audio's clock)."""
    for i in range(0, pcm.size, 320):
        await session.handle_audio(pcm[i : i + 320].astype("<i2").tobytes())
        await asyncio.sleep(pace_s)


def quiet(seconds: float) -> np.ndarray:
    return np.random.default_rng(0).normal(0, 10, int(seconds * RATE)).astype(np.int16)


SENT: list[dict[str, Any]] = []


async def until(check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {kinds(SENT)}"
        await asyncio.sleep(0.01)


def kinds(sent: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in sent]


async def test_an_early_end_is_taken_back_and_the_stopped_question_asked_again(rig: Any) -> None:
    session, sent, repo, evaluations = rig
    await until(lambda: "question_audio_end" in kinds(sent))
    await asyncio.sleep(0.8)  # the candidate hears the question out
    q1 = sent[kinds(sent).index("question")]["question_id"]
    # 6 s of speech, then a pause long enough for the short wait: the turn ends.
    await stream(session, np.concatenate([SPEECH[: 6 * RATE], quiet(0.9)]), pace_s=0.002)
    await until(lambda: kinds(sent).count("question") == 2)
    q2 = [m for m in sent if m["type"] == "question"][1]["question_id"]
    assert q2 != q1
    # The candidate goes on, well inside the window: the end is taken back.
    await stream(session, SPEECH[6 * RATE : 10 * RATE], pace_s=0.002)
    await until(lambda: "turn_resumed" in kinds(sent))
    resumed = next(m for m in sent if m["type"] == "turn_resumed")
    assert resumed == {"type": "turn_resumed", "question_id": q1, "reason": "continued"}
    cancel = next(m for m in sent if m["type"] == "question_audio_cancel")
    assert cancel["question_id"] == q2
    assert kinds(sent).index("question_audio_cancel") < kinds(sent).index("turn_resumed")
    assert not evaluations.scheduled, "nothing is scored while an answer can be taken back"
    # The resumed answer ends; the stopped question is asked again.
    await stream(session, quiet(1.2), pace_s=0.002)
    await until(lambda: kinds(sent).count("question") == 3)
    assert [m for m in sent if m["type"] == "question"][2]["question_id"] == q2
    # The window of the resumed answer closes (2 s of audio): now it is evaluated, once.
    await stream(session, quiet(2.5), pace_s=0.002)
    await until(lambda: len(evaluations.scheduled) == 1)
    # One stored answer for q1, made of the whole of it (10 s of speech, not 6).
    records = await repo.answer_records(session.interview_id)
    (answered,) = [r for r in records if r.answer is not None]
    assert answered.question.id == q1
    assert evaluations.scheduled[0][0] == answered.answer.id
    finals = [m for m in sent if m["type"] == "transcript" and m["is_final"]]
    assert {f["question_id"] for f in finals} == {q1}
    assert float(finals[-1]["text"].split()[2]) > 8.0, " ".join(kinds(sent))
    assert answered.answer.transcript == finals[-1]["text"] == evaluations.scheduled[0][1]
    metrics = [m for m in sent if m["type"] == "turn_metrics"][-1]["latency_ms"]
    assert metrics["resumes"] >= 1 and metrics["end_reason"] == "vad"


async def test_speech_after_the_window_is_the_next_answer(rig: Any) -> None:
    session, sent, repo, evaluations = rig
    await until(lambda: "question_audio_end" in kinds(sent))
    await asyncio.sleep(0.8)
    await stream(session, np.concatenate([SPEECH[: 6 * RATE], quiet(0.9)]), pace_s=0.002)
    await until(lambda: kinds(sent).count("question") == 2)
    await asyncio.sleep(0.8)
    # 2.5 s of silence: the window (2 s) closes, the first answer is final and scored.
    await stream(session, quiet(2.5), pace_s=0.002)
    await until(lambda: len(evaluations.scheduled) == 1)
    await stream(session, np.concatenate([SPEECH[6 * RATE : 12 * RATE], quiet(1.5)]), 0.002)
    await until(lambda: "interview_complete" in kinds(sent) or len(evaluations.scheduled) == 2)
    assert "turn_resumed" not in kinds(sent)
    records = await repo.answer_records(session.interview_id)
    assert all(r.answer is not None for r in records)


async def test_an_echo_blip_over_the_question_is_not_an_answer(rig: Any) -> None:
    session, sent, _, _ = rig
    await until(lambda: "question_audio_end" in kinds(sent))
    blip = SPEECH[RATE // 4 : RATE // 4 + RATE // 5]
    probe, longest = TurnSegmenter(min_speech_ms=200), 0
    for frame in np.split(np.concatenate([quiet(0.1), blip, quiet(1.0)]), 65):
        probe.feed(frame)
        longest = max(longest, probe.speech_ms)
    # Enough speech to end a turn, never the barge-in length: what a loud echo can give.
    assert 200 <= probe.speech_ms <= longest < session.settings.continuation_min_speech_ms
    # Heard while the question still plays (it lasts 0.4 s, and the blip comes at once).
    await stream(session, np.concatenate([quiet(0.1), blip, quiet(1.5)]))
    await asyncio.sleep(0.3)
    assert "speech_stopped" in kinds(sent)
    assert kinds(sent).count("question") == 1, "the blip was taken as an answer"
    assert "turn_resumed" not in kinds(sent) and "question_audio_cancel" not in kinds(sent)
    # The real answer, once the question has played out, is the turn's answer and ends it.
    await asyncio.sleep(0.8)
    await stream(session, np.concatenate([SPEECH[: 6 * RATE], quiet(0.9)]), pace_s=0.002)
    await until(lambda: kinds(sent).count("question") == 2)
    assert "turn_resumed" not in kinds(sent)


async def test_a_socket_that_read_ready_finds_the_interview_started_by_another(rig: Any) -> None:
    first, _, repo, _ = rig
    stale = await repo.get_interview(first.interview_id)  # in progress: the rig started it
    stale.status = "ready"  # as the row read when this socket opened, before that start
    got: list[dict[str, Any]] = []

    async def send_text(text: str) -> None:
        got.append(json.loads(text))

    async def send_bytes(data: bytes) -> None:
        pass

    second = InterviewSession(first.svc, stale, send_text, send_bytes, "/feedback")
    await second.start()
    try:
        await until(lambda: "question" in kinds(got))
        assert "error" not in kinds(got), got
        assert got[0]["type"] == "session" and got[0]["status"] == "in_progress", got[0]
    finally:
        await second.close()
