"""Turn segmentation: webrtcvad over fixed frames, smoothed into speech segments.

Raw webrtcvad decisions flicker (a click, a breath, one frame of noise), so:

* speech starts when ``start_min_voiced`` of the last ``start_window`` frames are voiced;
  the reported position is where that voiced run began, not when we became sure;
* inside speech, a lone voiced frame after a gap does not extend the speech (two voiced
  frames in a row do), so one blip cannot hold a turn open;
* speech stops after ``hangover_ms`` without voice, reported at the last voiced sample.
  webrtcvad itself keeps saying "voiced" for ~80 ms after speech; frames at the end that
  are far quieter than the segment's speech (``tail_drop_db``) are not counted as voice,
  so ``last_voiced_end_ms`` (and the voice-to-voice latency built on it) is not flattered;
* the turn ends once ``end_silence_ms`` of silence follows at least ``min_speech_ms`` of
  speech. ``end_silence_ms`` is a plain attribute: it may be changed between feeds
  (e.g. adapted to whether the candidate paused mid-sentence).

All positions are milliseconds of received input since the start of this turn (``reset``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import webrtcvad

__all__ = ["TurnSegmenter", "VadEvent", "VadEventKind"]

VadEventKind = Literal["speech_started", "speech_stopped", "end_of_turn"]


@dataclass
class VadEvent:
    kind: VadEventKind
    audio_ms: int


class TurnSegmenter:
    """Feed int16 mono PCM of any length; get speech start / stop / end-of-turn events.

    ``voiced_audio()`` gives the audio for STT: the speech with ``pre_roll_ms`` of context
    before the first and after the last segment, and gaps between segments longer than
    ``squeeze_ms`` cut down to ``squeeze_ms`` (Whisper hallucinates on long silences).
    """

    start_window = 10  # frames considered for a speech onset (200 ms at 20 ms frames)
    # Voiced frames among them needed to call it speech. webrtcvad adds ~4 frames of its
    # own hangover to any voiced burst, so 8 rejects clicks and bursts up to 60 ms.
    start_min_voiced = 8
    tail_drop_db = 25.0  # end frames this far under the segment's mean level are not voice
    tail_max_trim = 5  # ... at most this many (webrtcvad's hangover, not real speech)
    # Silence after which a speech segment is closed: short enough that the gap between
    # two sentences closes one, so each sentence is transcribed while the next is spoken.
    hangover_ms = 200
    squeeze_ms = 300  # longest silence kept between segments in voiced_audio()

    def __init__(
        self,
        sample_rate: int = 16000,
        frame_ms: int = 20,
        aggressiveness: int = 2,
        end_silence_ms: int = 700,
        min_speech_ms: int = 200,
        pre_roll_ms: int = 200,
    ) -> None:
        if sample_rate not in (8000, 16000, 32000, 48000):
            raise ValueError(f"webrtcvad needs 8/16/32/48 kHz, not {sample_rate}")
        if frame_ms not in (10, 20, 30):
            raise ValueError(f"webrtcvad needs 10/20/30 ms frames, not {frame_ms}")
        if not 0 <= aggressiveness <= 3:
            raise ValueError("aggressiveness is 0..3")
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self.end_silence_ms = end_silence_ms
        self.min_speech_ms = min_speech_ms
        self.pre_roll_ms = pre_roll_ms
        self._frame_len = sample_rate * frame_ms // 1000
        self._aggressiveness = aggressiveness
        self.reset()

    def reset(self) -> None:
        """Start a new turn: forget audio, segments and positions."""
        # webrtcvad adapts its noise estimate as it runs; a fresh turn gets a fresh one,
        # or the end of the last answer leaks into the first frames of the next.
        self._vad = webrtcvad.Vad(self._aggressiveness)
        self._chunks: list[npt.NDArray[np.int16]] = []
        self._rest = np.zeros(0, dtype=np.int16)  # samples short of a whole frame
        self._received = 0  # samples fed
        self._framed = 0  # samples classified (whole frames)
        self._window: deque[bool] = deque(maxlen=self.start_window)
        # Frame levels back to where a segment that is closing now may end.
        depth = self.hangover_ms // self.frame_ms + self.tail_max_trim + 2
        self._levels: deque[float] = deque(maxlen=depth)
        self._seg_db_sum = 0.0  # level of the open segment's voiced frames
        self._seg_db_count = 0
        self._prev_voiced = False
        self._in_speech = False
        self._seg_start = 0  # sample where the open segment began
        self._last_voiced_end: int | None = None  # sample just after the last voiced frame
        self._segments: list[tuple[int, int]] = []  # closed (start, end) samples
        self._closed_ms = 0
        self._turn_ended = False

    def reopen(self) -> None:
        """Take an end of turn back: the same turn goes on, and ``end_of_turn`` can come
        again (audio, segments and positions are kept)."""
        self._turn_ended = False

    def forget_speech(self) -> None:
        """The speech so far was not the candidate's (a blip of the question's own echo):
        drop its segments, so end of turn waits for new speech. Audio and positions are
        kept; between segments only (an open one is left as it is)."""
        if self._in_speech:
            return
        self._segments = []
        self._closed_ms = 0
        self._last_voiced_end = None
        self._turn_ended = False

    # ------------------------------------------------------------------ state

    def _ms(self, samples: int) -> int:
        return samples * 1000 // self.sample_rate

    @property
    def received_ms(self) -> int:
        return self._ms(self._received)

    @property
    def speech_ms(self) -> int:
        """Speech heard so far: closed segments plus the open one up to its last voice."""
        open_ms = 0
        if self._in_speech and self._last_voiced_end is not None:
            open_ms = self._ms(self._last_voiced_end - self._seg_start)
        return self._closed_ms + open_ms

    @property
    def heard_speech(self) -> bool:
        """At least ``min_speech_ms`` of speech this turn (what end of turn requires)."""
        return self.speech_ms >= self.min_speech_ms

    @property
    def last_voiced_end_ms(self) -> int | None:
        return None if self._last_voiced_end is None else self._ms(self._last_voiced_end)

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def turn_ended(self) -> bool:
        return self._turn_ended

    # ------------------------------------------------------------------ feeding

    def feed(self, pcm: npt.NDArray[np.int16]) -> list[VadEvent]:
        """Classify the new audio; events come in input order. ``end_of_turn`` comes once
        per turn (until ``reset``); speech events keep coming after it. The array is kept
        (not copied) for ``voiced_audio``: do not modify it afterwards."""
        if pcm.dtype != np.int16:
            raise TypeError(f"expected int16 PCM, got {pcm.dtype}")
        if pcm.size == 0:
            return []
        pcm = pcm.reshape(-1)
        self._chunks.append(pcm)
        self._received += pcm.size
        data = np.concatenate([self._rest, pcm]) if self._rest.size else pcm
        events: list[VadEvent] = []
        n = self._frame_len
        whole = data.size // n * n
        for i in range(0, whole, n):
            frame = data[i : i + n]
            voiced = self._vad.is_speech(frame.tobytes(), self.sample_rate)
            x = frame.astype(np.float32)
            level_db = 10.0 * math.log10(float(np.dot(x, x)) / n + 1.0)
            self._step(bool(voiced), level_db, events)
        self._rest = data[whole:].copy()
        return events

    def _step(self, voiced: bool, level_db: float, events: list[VadEvent]) -> None:
        n = self._frame_len
        start = self._framed
        end = start + n
        self._framed = end
        self._window.append(voiced)
        self._levels.append(level_db)
        if not self._in_speech:
            if voiced and sum(self._window) >= self.start_min_voiced:
                onset = self._onset(end)
                self._in_speech = True
                self._seg_start = onset
                self._last_voiced_end = end
                self._seg_db_sum, self._seg_db_count = level_db, 1
                events.append(VadEvent("speech_started", self._ms(onset)))
        elif voiced:
            assert self._last_voiced_end is not None
            gap_frames = (start - self._last_voiced_end) // n
            if gap_frames <= 2 or self._prev_voiced:
                self._last_voiced_end = end
                self._seg_db_sum += level_db
                self._seg_db_count += 1
        self._prev_voiced = voiced
        if self._last_voiced_end is None:
            return
        silence_ms = self._ms(end - self._last_voiced_end)
        if self._in_speech and silence_ms >= min(self.hangover_ms, self.end_silence_ms):
            self._close_segment(events)
        if (
            not self._turn_ended
            and silence_ms >= self.end_silence_ms
            and self.speech_ms >= self.min_speech_ms
        ):
            self._turn_ended = True
            events.append(VadEvent("end_of_turn", self._ms(end)))

    def _onset(self, end: int) -> int:
        """Start of the voiced run that triggered: walk back through the window across
        gaps of at most one unvoiced frame."""
        n = self._frame_len
        frames = list(self._window)
        onset_idx = len(frames) - 1
        gap = 0
        for idx in range(len(frames) - 1, -1, -1):
            if frames[idx]:
                onset_idx = idx
                gap = 0
            else:
                gap += 1
                if gap >= 2:
                    break
        onset = end - (len(frames) - onset_idx) * n
        floor = self._segments[-1][1] if self._segments else 0
        return max(onset, floor, 0)

    def _trim_tail(self) -> None:
        """Move the segment end back over quiet frames that webrtcvad's hangover called
        voiced (only frames still in ``_levels``, i.e. recent ones)."""
        assert self._last_voiced_end is not None
        n = self._frame_len
        cutoff = self._seg_db_sum / max(1, self._seg_db_count) - self.tail_drop_db
        levels = list(self._levels)
        for _ in range(self.tail_max_trim):
            # index of the frame that ends at _last_voiced_end
            idx = len(levels) - 1 - (self._framed - self._last_voiced_end) // n
            if idx < 0 or self._last_voiced_end - n <= self._seg_start:
                return
            if levels[idx] >= cutoff:
                return
            self._last_voiced_end -= n

    def _close_segment(self, events: list[VadEvent]) -> None:
        assert self._last_voiced_end is not None
        self._trim_tail()
        self._in_speech = False
        self._segments.append((self._seg_start, self._last_voiced_end))
        self._closed_ms += self._ms(self._last_voiced_end - self._seg_start)
        self._window.clear()
        events.append(VadEvent("speech_stopped", self._ms(self._last_voiced_end)))

    # ------------------------------------------------------------------ audio for STT

    @property
    def closed_segments(self) -> int:
        """How many speech segments have ended (a pause of ``hangover_ms`` closes one)."""
        return len(self._segments)

    @property
    def segments_ms(self) -> list[tuple[int, int]]:
        """The speech segments ``voiced_audio()`` is cut from, as (start, end) ms of input:
        the closed ones, then an open one up to the audio received so far."""
        spans = list(self._segments)
        if self._in_speech:
            spans.append((self._seg_start, self._received))
        return [(self._ms(a), self._ms(b)) for a, b in spans]

    def recent_audio(self, ms: int) -> npt.NDArray[np.int16]:
        """The last ``ms`` of input as received, silences included (for a turn model)."""
        want = self.sample_rate * ms // 1000
        picked: list[npt.NDArray[np.int16]] = []
        have = 0
        for chunk in reversed(self._chunks):
            picked.append(chunk[-(want - have) :])
            have += picked[-1].size
            if have >= want:
                break
        if not picked:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(picked[::-1])

    def voiced_audio(
        self, first_segment: int = 0, end_segment: int | None = None
    ) -> npt.NDArray[np.int16]:
        """Speech of this turn for STT (empty if none was heard): closed segments
        ``first_segment`` up to ``end_segment`` (exclusive; None: all, and the open one).
        Incremental transcription asks only for what is new. Costs one pass over the
        turn's audio, so call it for transcripts, not per frame."""
        segments = list(self._segments[first_segment:end_segment])
        if self._in_speech and end_segment is None:
            segments.append((self._seg_start, self._received))  # open: up to now
        if not segments:
            return np.zeros(0, dtype=np.int16)
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]  # later calls copy less
        audio = self._chunks[0]
        pad = self.sample_rate * self.pre_roll_ms // 1000
        squeeze = self.sample_rate * self.squeeze_ms // 1000
        pieces = [audio[a:b] for a, b in voiced_spans(segments, audio.size, pad, squeeze)]
        return np.concatenate(pieces) if len(pieces) > 1 else pieces[0].copy()


def voiced_spans(
    segments: Sequence[tuple[int, int]], received: int, pre_roll: int, squeeze: int
) -> list[tuple[int, int]]:
    """The stretches of input that ``TurnSegmenter.voiced_audio`` joins, in order, in the
    segments' unit (samples there, milliseconds for stored timelines): the speech with
    ``pre_roll`` before the first and after the last segment, and a gap longer than
    ``squeeze`` between two segments cut down to ``squeeze`` (half kept after the one,
    half before the next). The one place these cuts are made."""
    if not segments:
        return []
    spans: list[tuple[int, int]] = []
    cursor = max(0, segments[0][0] - pre_roll)
    for k, (_start, end) in enumerate(segments):
        if k + 1 < len(segments):
            nxt = segments[k + 1][0]
            if nxt - end > squeeze:
                spans.append((cursor, end + squeeze // 2))
                cursor = nxt - (squeeze - squeeze // 2)
        else:
            spans.append((cursor, min(received, end + pre_roll)))
    return spans
