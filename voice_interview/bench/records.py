"""What the bench records of each turn and each session, stamped on the client's clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voice_interview.bench.wer import word_error_rate


@dataclass
class TurnRecord:
    """Everything the client saw in one turn; times are ``time.monotonic()`` seconds."""

    session: int
    turn: int
    fixture: str
    reference: str
    mode: str
    speech_end_audio_ms: int
    question_id: str | None = None
    question_index: int | None = None
    question_audio_ms: int | None = None
    t_question: float | None = None
    t_question_first_audio: float | None = None
    t_question_audio_end: float | None = None
    t_answer_start: float | None = None
    t_speech_end: float | None = None
    t_end_of_answer: float | None = None
    t_speech_stopped: float | None = None
    speech_stopped_audio_ms: int | None = None
    speech_stopped_events: list[tuple[float, int]] = field(default_factory=list)
    t_turn_end_seen: float | None = None  # when the client saw the turn end
    turn_end_signal: str | None = None  # which message told it
    t_final: float | None = None
    transcript: str | None = None
    interim_transcripts: int = 0
    t_next_question: float | None = None
    t_next_first_audio: float | None = None
    t_evaluation: float | None = None
    evaluation_score: float | None = None
    evaluation_status: str | None = None
    t_interview_complete: float | None = None
    server_latency_ms: dict[str, Any] | None = None
    frames_sent: int = 0
    tail_frames_sent: int = 0
    send_lags_ms: list[float] = field(default_factory=list)
    cut_early: bool = False  # ended mid-answer and never taken back
    # Each end mid-answer (a next question while the candidate still spoke): where in the
    # answer's audio it came (ms from the answer's first frame) and whether it was taken
    # back (a turn_resumed, continued, for this answer before the next such end).
    early_ends: list[dict[str, Any]] = field(default_factory=list)
    # Every turn_resumed and question_audio_cancel while the candidate spoke this answer:
    # {"at_ms" (from the answer's first frame), "type", "question_id", "reason"}.
    resume_events: list[dict[str, Any]] = field(default_factory=list)
    resumes: int = 0  # ends mid-answer that the server took back (turn_resumed, continued)
    barge_ins: int = 0  # turn_resumed for a barge-in during this answer
    failure: str | None = None

    @property
    def wer(self) -> float | None:
        if self.transcript is None:
            return None
        return word_error_rate(self.reference, self.transcript)


@dataclass
class SessionResult:
    session: int
    interview_id: str | None = None
    t_connect: float | None = None
    t_first_question: float | None = None
    turns: list[TurnRecord] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None
    incomplete: str | None = None  # interview_complete did not come in time
