"""Final transcription of a voice answer, after the answer's audio is committed.

The next question does not depend on the transcript, so the conductor sends it
first and finishes the answer here: final STT, audio stored as Ogg/Opus (or
dropped if storage is off), transcript saved, evaluation scheduled. Answers that a
crash left untranscribed are finished at the next start from their stored audio.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import numpy.typing as npt

from voice_interview.audio.codecs import AudioDecodeError
from voice_interview.audio.storage import decode_ogg_opus, encode_ogg_opus
from voice_interview.engines.queue import PRIORITY_FINAL
from voice_interview.engines.registry import Engines
from voice_interview.engines.stt import Transcript
from voice_interview.interview.evaluations import EvaluationService
from voice_interview.store.repository import NotFoundError, Repository
from voice_interview.store.tables import AnswerRow, QuestionRow

log = logging.getLogger(__name__)

PCM_FORMAT = "pcm_s16le_16k"
OGG_FORMAT = "ogg_opus"


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
    ) -> Transcript:
        """Store the transcript (made now from ``pcm`` unless given) and the audio, then
        schedule the evaluation."""
        if transcript is None:
            stt = self.engines.stt
            transcript = await self.engines.stt_queue.run(
                lambda: stt.transcribe(pcm, final=True), PRIORITY_FINAL
            )
        audio: bytes | None = None
        if self.store_audio and pcm.size:
            loop = asyncio.get_running_loop()
            audio = await loop.run_in_executor(None, encode_ogg_opus, pcm)
        await self.repo.save_transcript(
            answer_id,
            transcript.text,
            {**transcript.to_dict(), "status": "done"},
            audio,
            OGG_FORMAT,
        )
        self.evaluations.schedule(interview_id, answer_id, question, transcript.text)
        return transcript

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
            await self.finish(answer.interview_id, answer.id, question, pcm)
            count += 1
        return count
