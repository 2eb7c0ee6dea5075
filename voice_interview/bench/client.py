"""A protocol client for the bench: REST calls and one candidate's WebSocket session.

It speaks the wire contract (``PROTOCOL.md``) only. Every server message is stamped
with ``time.monotonic()`` the moment it is read, and the candidate's own sends are
stamped on the same clock, so the latencies it reports are what a client sees.

Reusable pieces:

* :class:`ServerApi`: ``/health``, ``/metrics``, ``POST /api/interviews`` and the
  WebSocket connect.
* :class:`CandidateConnection`: one WebSocket with a reader task that files every
  message (``question`` with its first audio frame and ``question_audio_end``, speech
  events, transcripts, evaluations, ``turn_metrics``, ``interview_complete``, errors).
* :class:`CandidateSession`: answers one interview turn by turn, streaming audio in
  real time (one 20 ms frame every 20 ms on absolute deadlines), and returns a
  :class:`TurnRecord` per turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from voice_interview import protocol as p
from voice_interview.bench.connection import (
    BenchError,
    BenchTimeout,
    CandidateConnection,
    QuestionSeen,
    Received,
    ServerApi,
)
from voice_interview.bench.fixtures import FRAME_MS, TurnAudio
from voice_interview.bench.records import SessionResult, TurnRecord

__all__ = [
    "BenchError",
    "BenchTimeout",
    "CandidateConnection",
    "CandidateSession",
    "QuestionSeen",
    "Received",
    "ServerApi",
    "SessionOptions",
    "SessionResult",
    "TurnRecord",
]

T = TypeVar("T")
Mode = Literal["auto", "explicit-end"]
FRAME_S = FRAME_MS / 1000.0


@dataclass
class SessionOptions:
    mode: Mode = "auto"
    input_encoding: str = "pcm_s16le"
    gap_s: float = 0.3  # "human" pause after the question's audio has arrived
    final_cap_s: float = 10.0  # end of speech -> final transcript, else a failure
    rescue_s: float = 30.0  # after forcing end_of_answer, how long to wait still
    question_timeout_s: float = 120.0
    complete_timeout_s: float = 900.0
    start_delay_s: float = 0.0


class CandidateSession:
    """Answers one interview: waits for each question's audio, then streams an answer."""

    def __init__(
        self,
        api: ServerApi,
        index: int,
        plans: Sequence[TurnAudio],
        options: SessionOptions,
        *,
        candidate_id: str | None = None,
        interview_seed: int | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.api = api
        self.index = index
        self.plans = list(plans)
        self.opt = options
        self.candidate_id = candidate_id or f"bench-{index}"
        self.interview_seed = interview_seed
        self.on_event = on_event or (lambda _msg: None)
        self.result = SessionResult(index)

    async def run(self) -> SessionResult:
        res = self.result
        for j, plan in enumerate(self.plans):
            res.turns.append(
                TurnRecord(
                    session=self.index,
                    turn=j,
                    fixture=plan.fixture.name,
                    reference=plan.fixture.text,
                    mode=self.opt.mode,
                    speech_end_audio_ms=round(plan.fixture.speech_end_s * 1000),
                )
            )
        if self.opt.start_delay_s > 0:
            await asyncio.sleep(self.opt.start_delay_s)
        conn: CandidateConnection | None = None
        try:
            interview = await self.api.create_interview(
                self.candidate_id, len(self.plans), seed=self.interview_seed
            )
            res.interview_id = str(interview["id"])
            res.t_connect = time.monotonic()
            conn = await self.api.connect(interview, input_encoding=self.opt.input_encoding)
            await self._run_turns(conn)
            try:
                await conn.wait_for(
                    lambda: conn.complete if conn is not None else None,
                    self.opt.complete_timeout_s,
                    "interview_complete",
                )
            except BenchTimeout as e:
                # Every turn was answered; only the evaluations are slow: not a failure.
                res.incomplete = str(e)
                self.on_event(f"session {self.index}: {e}")
        except BenchError as e:
            res.failure = str(e)
            self.on_event(f"session {self.index}: {e}")
        finally:
            if conn is not None:
                self._collect(conn)
                await conn.close()
        return res

    def _current(self, conn: CandidateConnection, answered: set[str]) -> QuestionSeen | None:
        """The latest question not answered yet, once all its audio is in.

        Only the latest ``question`` of each id counts: a question stopped by
        ``question_audio_cancel`` (the candidate went on with the previous answer) is
        asked again, and it is that asking the candidate hears out and answers.
        """
        seen: set[str] = set()
        for q in reversed(conn.questions):
            if q.question_id in answered or q.question_id in seen:
                continue
            seen.add(q.question_id)
            if q.cancelled_t is None:
                return q if q.audio_end_t is not None else None  # its audio is coming
        return None

    async def _run_turns(self, conn: CandidateConnection) -> None:
        answered: set[str] = set()
        for rec, plan in zip(self.result.turns, self.plans, strict=True):
            q = await conn.wait_for(
                lambda: self._current(conn, answered),
                self.opt.question_timeout_s,
                f"question {rec.turn + 1} with its audio",
            )
            if self.result.t_first_question is None:
                self.result.t_first_question = q.t
            first = next(x for x in conn.questions if x.question_id == q.question_id)
            rec.question_id, rec.question_index = q.question_id, q.index
            rec.t_question, rec.t_question_first_audio = first.t, first.first_audio_t
            rec.t_question_audio_end, rec.question_audio_ms = q.audio_end_t, q.duration_ms
            # A candidate hears the question out before answering: speech over it is a
            # barge-in, and speech right after an answer's end continues that answer.
            played = (q.first_audio_t or q.audio_end_t or time.monotonic()) + (
                (q.duration_ms or 0) / 1000.0
            )
            await asyncio.sleep(max(0.0, played - time.monotonic()) + self.opt.gap_s)
            await self._answer(conn, rec, plan)
            answered.add(q.question_id)
            self.on_event(
                f"session {self.index} turn {rec.turn + 1}/{len(self.plans)}: {rec.fixture}"
                + (f" [{rec.failure}]" if rec.failure else "")
                + (" [cut early]" if rec.cut_early else "")
            )
            # A turn that never ended is a failure; the wait for the next question (or
            # for interview_complete) decides whether the session can go on.

    def _turn_ended(self, conn: CandidateConnection, rec: TurnRecord) -> str | None:
        """How the client learns that the server ended this turn, if it has.

        The final transcript, or the next question (a server may send it before the
        final transcript), or this turn's ``turn_metrics`` / ``interview_complete``, each
        after the answer's last word: a candidate says the whole answer, whatever the
        server does meanwhile (it may end the turn at a pause and take the end back).
        """
        qid = rec.question_id or ""
        after = rec.t_speech_end
        if after is None:
            return None
        final = conn.finals.get(qid)
        if final is not None and final.t > after:
            return "final_transcript"
        if any(q.t > after and q.question_id != qid for q in conn.questions[-3:]):
            return "next_question"
        metrics = conn.turn_metrics.get(qid)
        if metrics is not None and metrics.t > after:
            return "turn_metrics"
        if conn.complete is not None:
            return "interview_complete"
        return None

    async def _answer(self, conn: CandidateConnection, rec: TurnRecord, plan: TurnAudio) -> None:
        """Stream the answer then silence, one frame per 20 ms, until the turn ends."""
        frames, n_answer = plan.frames, plan.answer_frames
        tail = max(1, len(frames) - n_answer)
        explicit = self.opt.mode == "explicit-end"
        rescue_until: float | None = None
        t0 = time.monotonic()
        rec.t_answer_start = t0
        i = 0
        while (ended := self._turn_ended(conn, rec)) is None:
            deadline = t0 + i * FRAME_S
            delay = deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                if (ended := self._turn_ended(conn, rec)) is not None:
                    break
            if conn.closed:
                raise BenchError(f"socket closed during the answer: {conn.closed_reason}")
            frame = frames[i] if i < len(frames) else frames[n_answer + (i - n_answer) % tail]
            await conn.send_bytes(frame)
            now = time.monotonic()
            rec.send_lags_ms.append((now - deadline) * 1000.0)
            rec.frames_sent += 1
            if i >= n_answer:
                rec.tail_frames_sent += 1
            if i == plan.last_voiced:
                rec.t_speech_end = now
                if explicit:
                    await conn.send_json({"type": p.EndOfAnswer.type})
                    rec.t_end_of_answer = time.monotonic()
            if rec.t_speech_end is not None and rescue_until is None:
                if now - rec.t_speech_end > self.opt.final_cap_s:
                    rec.failure = (
                        f"no final transcript or next question within "
                        f"{self.opt.final_cap_s:.0f} s of the end of speech"
                    )
                    await conn.send_json({"type": p.EndOfAnswer.type})
                    rescue_until = now + self.opt.rescue_s
            elif rescue_until is not None and now > rescue_until:
                rec.failure = (rec.failure or "") + "; none after end_of_answer either"
                return
            i += 1
        rec.t_turn_end_seen = time.monotonic()
        rec.turn_end_signal = ended
        self._note_cuts(conn, rec)

    def _note_cuts(self, conn: CandidateConnection, rec: TurnRecord) -> None:
        """Ends mid-answer: those the server took back, and a cut it did not (the rest of
        the answer then landed in the next question's turn)."""
        qid, start = rec.question_id, rec.t_answer_start or 0.0
        spoke_until = rec.t_speech_end if rec.t_speech_end is not None else float("inf")
        resumed = [
            r.t
            for r in conn.resumed
            if r.data.get("question_id") == qid
            and r.data.get("reason") == p.RESUMED_CONTINUED
            and r.t >= start
        ]
        early = [q.t for q in conn.questions if start < q.t < spoke_until and q.question_id != qid]
        rec.early_ends = [
            {
                "at_ms": round((t - start) * 1000.0),
                "taken_back": any(
                    t < r < (early[k + 1] if k + 1 < len(early) else float("inf")) for r in resumed
                ),
            }
            for k, t in enumerate(early)
        ]
        rec.resume_events = [
            {
                "at_ms": round((r.t - start) * 1000.0),
                "type": r.type,
                "question_id": r.data.get("question_id"),
                "reason": r.data.get("reason"),
            }
            for r in sorted([*conn.resumed, *conn.cancels], key=lambda r: r.t)
            if start <= r.t <= spoke_until
        ]
        rec.resumes = len(resumed)
        rec.barge_ins = sum(
            1
            for r in conn.resumed
            if r.data.get("reason") == p.RESUMED_BARGE_IN and start <= r.t <= spoke_until
        )
        rec.cut_early = bool(early) and (not resumed or max(resumed) < max(early))

    def _collect(self, conn: CandidateConnection) -> None:
        """Fill in what arrived after each turn: next question, evaluation, metrics."""
        res = self.result
        res.errors = [
            {"t": e.t, "code": e.data.get("code"), "message": e.data.get("message")}
            for e in conn.errors
        ]
        for k, rec in enumerate(res.turns):
            if rec.question_id is None:
                continue
            qid = rec.question_id
            final = conn.finals.get(qid)
            if final is not None:
                rec.t_final = final.t
                rec.transcript = str(final.data.get("text", ""))
            start = rec.t_answer_start or 0.0
            end = rec.t_turn_end_seen if rec.t_turn_end_seen is not None else float("inf")
            stops = [s for s in conn.speech_stopped if start <= s.t <= end]
            rec.speech_stopped_events = [(s.t, int(s.data.get("audio_ms", -1))) for s in stops]
            if rec.t_speech_end is not None:
                after = [s for s in stops if s.t >= rec.t_speech_end]
                if after:
                    rec.t_speech_stopped = after[0].t
                    rec.speech_stopped_audio_ms = int(after[0].data.get("audio_ms", -1))
            rec.interim_transcripts = sum(
                1 for m in conn.interims if m.data.get("question_id") == qid and m.t >= start
            )
            if rec.t_answer_start is not None and k + 1 < len(res.turns):
                # The next question as asked after this answer: one stopped mid-answer
                # (the end taken back) was asked again, and that one is the reply.
                nxt = next(
                    (
                        q
                        for q in conn.questions
                        if q.t > start and q.question_id != qid and q.cancelled_t is None
                    ),
                    None,
                )
                if nxt is not None:
                    rec.t_next_question, rec.t_next_first_audio = nxt.t, nxt.first_audio_t
            ev = conn.evaluations.get(qid)
            if ev is not None:
                rec.t_evaluation = ev.t
                score = ev.data.get("score")
                rec.evaluation_score = float(score) if isinstance(score, int | float) else None
                status = ev.data.get("status")
                rec.evaluation_status = str(status) if status is not None else None
            tm = conn.turn_metrics.get(qid)
            if tm is not None and isinstance(tm.data.get("latency_ms"), dict):
                rec.server_latency_ms = dict(tm.data["latency_ms"])
        if res.turns and conn.complete is not None:
            res.turns[-1].t_interview_complete = conn.complete.t
