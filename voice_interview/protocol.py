"""Every WebSocket message as a typed class, parsed and validated in one place.

Shared by the server and the bench client. ``parse_client_message`` turns a text
frame into one of the client message classes or raises ``ProtocolError`` with a
wire error code; server messages are built with the ``*Msg`` dataclasses and sent
with ``to_json``. See ``docs/PROTOCOL.md`` (the contract) for the meaning of each.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

INPUT_ENCODINGS = ("pcm_s16le", "opus", "ogg_opus", "webm_opus")
OUTPUT_ENCODINGS = ("pcm_s16le", "opus")
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000

# Error codes (PROTOCOL.md).
INTERVIEW_NOT_FOUND = "INTERVIEW_NOT_FOUND"
UNAUTHORIZED = "UNAUTHORIZED"
INVALID_MESSAGE = "INVALID_MESSAGE"
UNSUPPORTED_AUDIO = "UNSUPPORTED_AUDIO"
AUDIO_DECODE_ERROR = "AUDIO_DECODE_ERROR"
INTERVIEW_NOT_ACTIVE = "INTERVIEW_NOT_ACTIVE"
ANSWER_TOO_LONG = "ANSWER_TOO_LONG"
EVALUATION_FAILED = "EVALUATION_FAILED"
SERVER_BUSY = "SERVER_BUSY"
INTERNAL_ERROR = "INTERNAL_ERROR"

# WebSocket close codes.
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_OVERLOADED = 1013
CLOSE_SUPERSEDED = 4409  # another connection took this interview over


class ProtocolError(Exception):
    """A client message that cannot be accepted; ``code`` is the wire error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------- client -> server


@dataclass(frozen=True)
class AudioFormat:
    encoding: str
    sample_rate: int


DEFAULT_INPUT_AUDIO = AudioFormat("pcm_s16le", 16000)


@dataclass(frozen=True)
class SessionUpdate:
    type: ClassVar[str] = "session.update"
    input_audio: AudioFormat | None
    output_audio: AudioFormat | None


@dataclass(frozen=True)
class AudioChunk:
    type: ClassVar[str] = "audio_chunk"
    data: bytes
    is_final: bool


@dataclass(frozen=True)
class EndOfAnswer:
    type: ClassVar[str] = "end_of_answer"


@dataclass(frozen=True)
class TextAnswer:
    type: ClassVar[str] = "text_answer"
    question_id: str
    answer_text: str


@dataclass(frozen=True)
class GetNextQuestion:
    type: ClassVar[str] = "get_next_question"


@dataclass(frozen=True)
class Pause:
    type: ClassVar[str] = "pause"


@dataclass(frozen=True)
class Resume:
    type: ClassVar[str] = "resume"


@dataclass(frozen=True)
class Ping:
    type: ClassVar[str] = "ping"


ClientMessage = (
    SessionUpdate | AudioChunk | EndOfAnswer | TextAnswer | GetNextQuestion | Pause | Resume | Ping
)


def _invalid(message: str) -> ProtocolError:
    return ProtocolError(INVALID_MESSAGE, message)


def _audio_format(
    value: Any, name: str, encodings: tuple[str, ...], default_rate: int | None
) -> AudioFormat | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid(f"{name} must be an object")
    encoding = value.get("encoding", "pcm_s16le")
    if not isinstance(encoding, str):
        raise _invalid(f"{name}.encoding must be a string")
    if encoding not in encodings:
        raise ProtocolError(
            UNSUPPORTED_AUDIO,
            f"{name}.encoding {encoding!r} is not supported; use one of {', '.join(encodings)}",
        )
    # Opus always decodes at 48 kHz, whatever the client would otherwise default to.
    rate = value.get("sample_rate", 48000 if "opus" in encoding else default_rate)
    if rate is None:
        rate = 0  # output: the voice's own rate
    if isinstance(rate, bool) or not isinstance(rate, int):
        raise _invalid(f"{name}.sample_rate must be an integer")
    if rate and not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise ProtocolError(
            UNSUPPORTED_AUDIO,
            f"{name}.sample_rate {rate} is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}",
        )
    return AudioFormat(encoding, rate)


def _str_field(obj: dict[str, Any], name: str, max_len: int) -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    if len(value) > max_len:
        raise ProtocolError(ANSWER_TOO_LONG, f"{name} is longer than {max_len} characters")
    return value


def parse_client_message(text: str | bytes, *, max_answer_chars: int = 10_000) -> ClientMessage:
    """Parse one JSON text frame; raise ProtocolError with a clear message if it is wrong."""
    try:
        obj = json.loads(text)
    # ValueError: also an integer literal over Python's digit limit.
    except (ValueError, RecursionError) as e:
        raise _invalid(f"not valid JSON: {e}") from e
    if not isinstance(obj, dict):
        raise _invalid("a message must be a JSON object")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise _invalid("a message needs a string field 'type'")
    if kind == "session.update":
        return SessionUpdate(
            _audio_format(obj.get("input_audio"), "input_audio", INPUT_ENCODINGS, 16000),
            _audio_format(obj.get("output_audio"), "output_audio", OUTPUT_ENCODINGS, None),
        )
    if kind == "audio_chunk":
        raw = obj.get("chunk_data", "")
        if not isinstance(raw, str):
            raise _invalid("chunk_data must be a base64 string")
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as e:
            raise _invalid(f"chunk_data is not valid base64: {e}") from e
        is_final = obj.get("is_final", False)
        if not isinstance(is_final, bool):
            raise _invalid("is_final must be a boolean")
        return AudioChunk(data, is_final)
    if kind == "text_answer":
        question_id = obj.get("question_id")
        if not isinstance(question_id, str) or not question_id:
            raise _invalid("question_id must be a non-empty string")
        answer = _str_field(obj, "answer_text", max_answer_chars)
        if not answer.strip():
            raise _invalid("answer_text is empty")
        return TextAnswer(question_id, answer)
    simple: dict[str, ClientMessage] = {
        "end_of_answer": EndOfAnswer(),
        "get_next_question": GetNextQuestion(),
        "pause": Pause(),
        "resume": Resume(),
        "ping": Ping(),
    }
    if kind in simple:
        return simple[kind]
    raise _invalid(f"unknown message type {kind[:64]!r}")


# ---------------------------------------------------------------- server -> client


@dataclass(frozen=True)
class ServerMessage:
    type: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        body = {k: v for k, v in dataclasses.asdict(self).items() if k != "extra"}
        extra = getattr(self, "extra", None)
        if extra:
            body.update(extra)
        return {"type": self.type, **body}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


def _fmt(fmt: AudioFormat) -> dict[str, Any]:
    return {"encoding": fmt.encoding, "sample_rate": fmt.sample_rate}


@dataclass(frozen=True)
class SessionMsg(ServerMessage):
    type: ClassVar[str] = "session"
    interview_id: str
    status: str
    input_audio: dict[str, Any]
    output_audio: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls, interview_id: str, status: str, inp: AudioFormat, out: AudioFormat, **extra: Any
    ) -> SessionMsg:
        return cls(interview_id, status, _fmt(inp), _fmt(out), extra)


@dataclass(frozen=True)
class QuestionMsg(ServerMessage):
    type: ClassVar[str] = "question"
    question_id: str
    text: str
    question_type: str
    difficulty: str
    index: int
    total: int


@dataclass(frozen=True)
class QuestionAudioEndMsg(ServerMessage):
    type: ClassVar[str] = "question_audio_end"
    question_id: str
    duration_ms: int


@dataclass(frozen=True)
class QuestionAudioCancelMsg(ServerMessage):
    """The server stopped this question's audio; the client drops what it has queued."""

    type: ClassVar[str] = "question_audio_cancel"
    question_id: str


RESUMED_CONTINUED = "continued"  # the candidate went on right after an early end of turn
RESUMED_BARGE_IN = "barge_in"  # the candidate talked over a question


@dataclass(frozen=True)
class TurnResumedMsg(ServerMessage):
    """The answer to ``question_id`` is open again; the audio that follows belongs to it."""

    type: ClassVar[str] = "turn_resumed"
    question_id: str
    reason: str


@dataclass(frozen=True)
class SpeechStartedMsg(ServerMessage):
    type: ClassVar[str] = "speech_started"
    audio_ms: int


@dataclass(frozen=True)
class SpeechStoppedMsg(ServerMessage):
    type: ClassVar[str] = "speech_stopped"
    audio_ms: int


@dataclass(frozen=True)
class TranscriptMsg(ServerMessage):
    type: ClassVar[str] = "transcript"
    question_id: str
    text: str
    is_final: bool


@dataclass(frozen=True)
class EvaluationMsg(ServerMessage):
    type: ClassVar[str] = "evaluation"
    answer_id: str
    question_id: str
    score: float | None
    feedback: str
    strengths: list[str]
    weaknesses: list[str]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_row(
        cls, answer_id: str, question_id: str, row: Any, replayed: bool = False
    ) -> EvaluationMsg:
        """From a stored evaluation (anything with score, feedback, strengths, weaknesses
        and status); ``replayed`` marks one sent again to a reconnecting client."""
        extra: dict[str, Any] = {"status": row.status}
        if replayed:
            extra["replayed"] = True
        return cls(
            answer_id,
            question_id,
            row.score,
            row.feedback,
            list(row.strengths),
            list(row.weaknesses),
            extra,
        )

    @classmethod
    def failed(cls, answer_id: str, question_id: str) -> EvaluationMsg:
        return cls(
            answer_id,
            question_id,
            None,
            "This answer could not be evaluated.",
            [],
            [],
            {"status": "failed"},
        )


@dataclass(frozen=True)
class TurnMetricsMsg(ServerMessage):
    type: ClassVar[str] = "turn_metrics"
    question_id: str
    latency_ms: dict[str, float | None]


@dataclass(frozen=True)
class InterviewCompleteMsg(ServerMessage):
    type: ClassVar[str] = "interview_complete"
    overall_score: float | None
    feedback_url: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorMsg(ServerMessage):
    type: ClassVar[str] = "error"
    code: str
    message: str
    # Extension: the cause, machine-readable, where one code covers several (REASON_*).
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        if body.get("reason") is None:
            body.pop("reason", None)
        return body


REASON_IDLE_TIMEOUT = "idle_timeout"  # INVALID_MESSAGE, then close 1000
REASON_CANCELLED = "cancelled"  # INTERVIEW_NOT_ACTIVE: the interview was cancelled


@dataclass(frozen=True)
class PongMsg(ServerMessage):
    type: ClassVar[str] = "pong"
