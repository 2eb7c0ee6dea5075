"""Final transcription of a voice answer, after the answer's audio is committed.

The next question does not depend on the transcript, so the conductor sends it
first and finishes the answer here: final STT, audio stored as Ogg/Opus (or
dropped if storage is off), transcript saved with its word timestamps (fitted to the
stored audio), the turn's timeline and the speech metrics, evaluation scheduled with
what the gate needs. Answers that a crash left untranscribed are finished at the next
start from their stored audio.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from voice_interview.audio.codecs import AudioDecodeError
from voice_interview.audio.storage import decode_ogg_opus, encode_ogg_opus
from voice_interview.engines.queue import PRIORITY_FINAL
from voice_interview.engines.registry import Engines
from voice_interview.engines.stt import Transcript
from voice_interview.interview.evaluations import EvaluationService
from voice_interview.interview.gating import AnswerMeta
from voice_interview.interview.speech_metrics import fit_words, parse_words, speech_metrics
from voice_interview.store.repository import NotFoundError, Repository
from voice_interview.store.tables import AnswerRow, QuestionRow

log = logging.getLogger(__name__)

PCM_FORMAT = "pcm_s16le_16k"
OGG_FORMAT = "ogg_opus"
RATE = 16000


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
        await self.repo.save_transcript(answer_id, transcript.text, stt, audio, OGG_FORMAT)
        return stt

    async def recover(self) -> int:
        """Transcribe (then evaluate) answers that a crash left untranscribed."""
        count = 0
        for answer in await self.repo.answers_awaiting_transcription():
            try:
                question = await self.repo.get_question(answer.question_id)
                pcm = stored_pcm(answer)
            except (NotFoundError, AudioDecodeError) as e:
                log.warning("cannot recover answer %s: %s", answer.id, e)
                continue
            timeline = answer.stt.get("timeline")
            await self.finish(
                answer.interview_id,
                answer.id,
                question,
                pcm,
                speech_ms=answer.speech_ms,
                timeline=timeline if isinstance(timeline, dict) else None,
            )
            count += 1
        return count


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
