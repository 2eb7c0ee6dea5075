"""Final transcription of a voice answer, after the answer's audio is committed.

The next question does not depend on the transcript, so the conductor sends it
first and finishes the answer here: final STT, audio stored as Ogg/Opus (or
dropped if storage is off), transcript saved with its word timestamps (fitted to the
stored audio), the turn's timeline and the speech metrics, evaluation scheduled with
what the gate needs.

Answers that a node left untranscribed (it stopped before their final transcript was
stored) are answer jobs of kind ``transcribe``: ``recover`` takes up those no node holds
(at start, then from the job poller) and finishes them from their stored audio. The
transcript is stored only under this node's claim on the job.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from voice_interview.audio.codecs import AudioDecodeError
from voice_interview.audio.storage import (
    OGG_FORMAT,
    PCM_FORMAT,
    RATE,
    decode_ogg_opus,
    encode_ogg_opus,
)
from voice_interview.domain.answer import AnswerMeta
from voice_interview.engines.queue import PRIORITY_FINAL
from voice_interview.engines.registry import Engines
from voice_interview.engines.stt import Transcript
from voice_interview.interview.evaluation.jobs import MAX_PICKUPS, EvaluationService
from voice_interview.interview.evaluation.speech_metrics import (
    fit_words,
    parse_words,
    speech_metrics,
)
from voice_interview.store.repository import (
    JOB_TRANSCRIBE,
    ClaimLostError,
    NotFoundError,
    Repository,
)
from voice_interview.store.tables import AnswerRow, QuestionRow

log = logging.getLogger(__name__)

# Transcriptions taken up at once per node (each is a full STT pass over one answer).
RECOVER_BATCH = 2


def pcm_bytes(pcm: npt.NDArray[np.int16]) -> bytes:
    return pcm.astype("<i2", copy=False).tobytes()


def stored_pcm(answer: AnswerRow) -> npt.NDArray[np.int16]:
    if not answer.audio:
        return np.zeros(0, dtype=np.int16)
    if answer.audio_format == PCM_FORMAT:
        return np.frombuffer(answer.audio, dtype="<i2").astype(np.int16)
    return decode_ogg_opus(answer.audio)


class AnswerTranscriber:
    def __init__(
        self,
        repo: Repository,
        engines: Engines,
        evaluations: EvaluationService,
        *,
        store_audio: bool,
    ) -> None:
        self.repo = repo
        self.engines = engines
        self.evaluations = evaluations
        self.store_audio = store_audio
        self._recovering: set[str] = set()

    @property
    def working(self) -> set[str]:
        """Answers transcribed here now from their stored audio (their claims are renewed)."""
        return set(self._recovering)

    async def finish(
        self,
        interview_id: str,
        answer_id: str,
        question: QuestionRow,
        pcm: npt.NDArray[np.int16],
        transcript: Transcript | None = None,
        *,
        speech_ms: int = 0,
        timeline: dict[str, Any] | None = None,
    ) -> Transcript:
        """Store the transcript (made now from ``pcm`` unless given) and the audio, then
        schedule the evaluation. ``speech_ms`` is the VAD's voiced time and ``timeline``
        (``speech_metrics.timeline_of``) where the voiced audio came from in the turn."""
        stt_engine = self.engines.stt
        if transcript is None:
            transcript = await self.engines.stt_queue.run(
                lambda: stt_engine.transcribe(pcm), PRIORITY_FINAL
            )
        stt = await self.store(answer_id, pcm, transcript, speech_ms=speech_ms, timeline=timeline)
        self.evaluations.schedule(
            interview_id,
            answer_id,
            question,
            transcript.text,
            AnswerMeta(source="voice", speech_ms=speech_ms, stt=stt),
        )
        return transcript

    async def store(
        self,
        answer_id: str,
        pcm: npt.NDArray[np.int16],
        transcript: Transcript,
        *,
        speech_ms: int,
        timeline: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Store the final transcript with its word times and speech metrics, and the
        audio as Ogg Opus; returns the stt record (what the gate reads)."""
        loop = asyncio.get_running_loop()
        audio: bytes | None = None
        if self.store_audio and pcm.size:
            audio = await loop.run_in_executor(None, encode_ogg_opus, pcm)
        stt = transcript.to_dict()
        # Word times on the stored audio's timeline (see speech_metrics.fit_words).
        words = fit_words(parse_words(stt["words"]), transcript.duration_s, pcm.size / RATE)
        stt["words"] = [[w.word, round(w.start, 2), round(w.end, 2), w.probability] for w in words]
        stt["duration_s"] = round(pcm.size / RATE, 3)
        if timeline:
            stt["timeline"] = timeline
        stt["speech_metrics"] = speech_metrics(words, speech_ms, timeline)
        stt["model"] = await loop.run_in_executor(None, _model_info, self.engines.stt)
        stt["status"] = "done"
        try:
            await self.repo.save_transcript(answer_id, transcript.text, stt, audio, OGG_FORMAT)
        except ClaimLostError as e:
            # This node stalled past its claim and another took the answer over: its
            # transcript stands (and its evaluation: ours is not claimed either).
            log.warning("transcript dropped: %s", e, extra={"answer_id": answer_id})
        return stt

    async def recover(self) -> int:
        """Take up transcription jobs that no node holds (an answer whose node stopped
        before its final transcript was stored), transcribe them from their stored audio,
        then evaluate them; returns how many were finished."""
        room = RECOVER_BATCH - len(self._recovering)
        jobs = await self.repo.claim_jobs(JOB_TRANSCRIBE, room, exclude=self._recovering)
        count = 0
        for job in jobs:
            if job.pickups >= MAX_PICKUPS:
                await self.evaluations.give_up(job)
                continue
            self._recovering.add(job.answer_id)
            try:
                count += await self._recover_one(job.answer_id)
            finally:
                self._recovering.discard(job.answer_id)
        return count

    async def _recover_one(self, answer_id: str) -> int:
        try:
            answer = await self.repo.get_answer(answer_id)
            question = await self.repo.get_question(answer.question_id)
            if answer.stt.get("status") != "pending":  # transcribed already: evaluate it
                self.evaluations.schedule(
                    answer.interview_id, answer.id, question, answer.transcript,
                    AnswerMeta.of(answer),
                )  # fmt: skip
                return 0
            pcm = stored_pcm(answer)
        except (NotFoundError, AudioDecodeError) as e:
            # The claim lapses and the job is tried again, until it is given up.
            log.warning("cannot recover answer %s: %s", answer_id, e)
            return 0
        timeline = answer.stt.get("timeline")
        await self.finish(
            answer.interview_id,
            answer.id,
            question,
            pcm,
            speech_ms=answer.speech_ms,
            timeline=timeline if isinstance(timeline, dict) else None,
        )
        return 1


def _model_info(engine: object) -> dict[str, str | None]:
    """Name and sha256 of the STT model (the gate reads its confidences)."""
    info = getattr(engine, "model_info", None)
    if info is None:
        return {"name": type(engine).__name__, "sha256": None}
    try:
        sha: str | None = str(info.sha256)
    except OSError:
        sha = None
    return {"name": str(getattr(info, "name", "")), "sha256": sha}
