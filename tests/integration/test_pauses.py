"""Every word lands in its own answer: thinking pauses after finished sentences and mid-
sentence, a short first sentence, answers that go on after the server has started the
next question, the question's own audio coming back through a speaker, and a candidate
talking over a question. Real server, real models, audio streamed in real time.

The fixtures (``audio_fixtures/pauses/``) are each synthesized in one piece, unlike the
sentence-by-sentence fixtures the end of turn was tuned on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import ADMIN_KEY, ServerProcess, start_server
from tests.integration.candidate import RATE, RealtimeCandidate
from tests.integration.client import create_interview
from voice_interview.audio.codecs import resample
from voice_interview.bench.wer import normalise, word_error_rate
from voice_interview.engines.models import resolve_model
from voice_interview.engines.stt import SpeechToText
from voice_interview.settings import Settings

pytestmark = pytest.mark.models

PAUSES = Path(__file__).resolve().parents[2] / "audio_fixtures" / "pauses"
MANIFEST: list[dict[str, Any]] = json.loads((PAUSES / "manifest.json").read_text())
BY_KIND: dict[str, list[dict[str, Any]]] = {}
for _e in MANIFEST:
    BY_KIND.setdefault(_e["kind"], []).append(_e)
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
# tiny.en on synthetic voices: Piper is heard well, some espeak voices much less so.
WER_BOUND = {"piper:joe": 0.2}
DEFAULT_WER_BOUND = 0.45
# A stored final against one offline pass (beam 5) of the same file with the same model:
# over a set of answers at most 1.1x its WER. One answer alone moves more than that from
# pass to pass on a voice tiny.en hears badly (0.41 -> 0.46 for the same words cut by the
# VAD), so each answer is held to 1.5x plus a little: a lost sentence still fails it.
FINAL_VS_OFFLINE, EACH_VS_OFFLINE, SLACK = 1.1, 1.5, 0.08


@pytest.fixture(scope="module")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(tmp_path_factory.mktemp("pauses"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def offline_wer() -> dict[str, float]:
    """WER of one offline pass over each whole fixture file, with the server's model."""
    settings = Settings()
    stt = SpeechToText(resolve_model("stt", settings), settings)
    return {
        e["file"]: word_error_rate(e["text"], stt.transcribe(load(e)).text)
        for e in MANIFEST
        if e["kind"] in ("pauses", "short_first", "resume")
    }


def load(entry: dict[str, Any]) -> np.ndarray:
    data, rate = sf.read(PAUSES / entry["file"], dtype="int16")
    assert rate == RATE
    return np.asarray(data, dtype=np.int16)


def distinctive(entry: dict[str, Any], others: list[dict[str, Any]]) -> set[str]:
    """Words of this answer's reference that no other answer of the interview says."""
    mine = {w for w in normalise(entry["text"]) if len(w) > 4}
    theirs = {w for e in others for w in normalise(e["text"])}
    return mine - theirs


async def report_of(http: aiohttp.ClientSession, server: ServerProcess, iid: str) -> Any:
    url = f"{server.base}/api/interviews/{iid}/feedback"
    async with http.get(url, headers=ADMIN) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def run_interview(
    server: ServerProcess, entries: list[dict[str, Any]]
) -> tuple[RealtimeCandidate, list[str], Any]:
    async with aiohttp.ClientSession() as http:
        created = await create_interview(http, server, n=len(entries), candidate_id="pauses")
        url = f"{server.ws_base}/ws/interviews/{created['id']}?token={created['candidate_token']}"
        async with http.ws_connect(url, max_msg_size=0) as ws:
            cand = RealtimeCandidate(ws)
            order = [await cand.answer(load(e)) for e in entries]
            await cand.wait(lambda: cand.of_type("interview_complete"), 300, "interview_complete")
            await cand.close()
        return cand, order, await report_of(http, server, created["id"])


def check_answers(
    entries: list[dict[str, Any]], order: list[str], report: Any, offline: dict[str, float]
) -> None:
    answers = {a["question"]["id"]: a for a in report["answers"]}
    ids = [a["question"]["id"] for a in report["answers"]]
    assert len(ids) == len(set(ids)) == len(entries), "the report shows each answer once"
    assert len(set(order)) == len(order), f"two answers went to one question: {order}"
    problems = []
    finals: list[float] = []
    for k, (entry, qid) in enumerate(zip(entries, order, strict=True)):
        text = answers[qid]["transcript"] or ""
        wer = word_error_rate(entry["text"], text)
        finals.append(wer)
        bound = EACH_VS_OFFLINE * offline[entry["file"]] + SLACK
        if wer > bound:
            problems.append(
                f"{entry['file']}: WER {wer:.2f}, offline {offline[entry['file']]:.2f}"
                f"\n  heard: {text}"
            )
        others = entries[:k] + entries[k + 1 :]
        for j, other_qid in enumerate(order):
            if j == k:
                continue
            leaked = distinctive(entry, others) & set(
                normalise(answers[other_qid]["transcript"] or "")
            )
            # One word can be a mishearing; a sentence that moved brings several.
            if len(leaked) >= 2:
                problems.append(f"{entry['file']}: {sorted(leaked)} landed in answer {j + 1}")
    mean_final = sum(finals) / len(finals)
    mean_offline = sum(offline[e["file"]] for e in entries) / len(entries)
    if mean_final > FINAL_VS_OFFLINE * mean_offline + 0.02:
        problems.append(f"mean WER {mean_final:.3f} against {mean_offline:.3f} offline")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", ["pauses", "short_first_and_resume"])
async def test_every_word_lands_in_its_own_answer(
    turn_server: ServerProcess, offline_wer: dict[str, float], kind: str
) -> None:
    entries = BY_KIND["pauses"] if kind == "pauses" else BY_KIND["short_first"] + BY_KIND["resume"]
    cand, order, report = await run_interview(turn_server, entries)
    check_answers(entries, order, report, offline_wer)
    # Every final transcript of a question is for the whole answer: the last one stands.
    finals = [m.data for m in cand.of_type("transcript") if m.data["is_final"]]
    last = {f["question_id"]: f["text"] for f in finals}
    stored = {a["question"]["id"]: a["transcript"] for a in report["answers"]}
    assert last == stored
    # An end taken back is followed by the same answer going on, never by a lost word.
    resumed = [m.data for m in cand.of_type("turn_resumed")]
    assert all(r["reason"] == "continued" for r in resumed)
    assert {r["question_id"] for r in resumed} <= set(order)
    for cancel in cand.of_type("question_audio_cancel"):
        again = [a for a in cand.asked if a.question_id == cancel.data["question_id"]]
        assert len(again) >= 2, "a stopped question is asked again"


def echo_of(cand: RealtimeCandidate, gain_db: float, delay_ms: int) -> Any:
    """The microphone also picks up the question playing on a speaker: the question's
    audio, delayed and attenuated, for as long as it plays."""
    asked = cand.asked[-1]
    rate = int(cand.of_type("session")[0].data["output_audio"]["sample_rate"])
    pcm = np.frombuffer(bytes(asked.audio), dtype="<i2")
    at16 = resample(pcm.astype(np.int16), rate, RATE).astype(np.float64)
    at16 *= 10 ** (gain_db / 20)
    offset = int(delay_ms * RATE / 1000)
    echo = np.concatenate([np.zeros(offset), at16])
    # Lightly low-passed, as a small speaker and a room would.
    echo = np.convolve(echo, [0.25, 0.5, 0.25], mode="same")

    def mix(a: int, b: int) -> np.ndarray | None:
        if a >= echo.size:
            return None
        part = echo[a:b]
        return np.pad(part, (0, b - a - part.size)).astype(np.int32)

    return mix


async def test_the_question_coming_back_through_a_speaker_is_not_the_candidate(
    turn_server: ServerProcess,
) -> None:
    entry = BY_KIND["talk_over"][0]
    talk = load(entry)
    async with aiohttp.ClientSession() as http:
        created = await create_interview(http, turn_server, n=1, candidate_id="echo")
        url = f"{turn_server.ws_base}/ws/interviews/{created['id']}"
        url += f"?token={created['candidate_token']}"
        async with http.ws_connect(url, max_msg_size=0) as ws:
            cand = RealtimeCandidate(ws)
            asked = await cand.wait(cand.pending_question, 60, "the question")
            await cand.wait(lambda: asked.duration_ms is not None, 60, "its audio")
            assert asked.duration_ms > 2500, "the question is too short to talk over"
            # Echo only, at -20 dB and 120 ms: the mic is open while the question plays.
            silence = cand.noise(int((asked.duration_ms / 1000 + 1.0) * RATE))
            await cand.stream(silence, mix=echo_of(cand, -20, 120))
            assert not cand.of_type("speech_started"), "the question's echo was heard as speech"
            assert not cand.of_type("turn_resumed") and not cand.of_type("question_audio_cancel")
            # "Could I hear it again?" (typed): the question plays again, and this time the
            # candidate talks over it, on top of a louder echo (-10 dB, 80 ms).
            await ws.send_str(json.dumps({"type": "get_next_question"}))
            again = await cand.wait(lambda: len(cand.asked) >= 2 and cand.asked[-1], 60, "replay")
            await cand.wait(lambda: again.duration_ms is not None, 60, "its audio")
            await cand.stream(
                np.concatenate([cand.noise(int(1.2 * RATE)), talk]),
                mix=echo_of(cand, -10, 80),
                until=lambda last: bool(cand.of_type("interview_complete")),
            )
            resumed = [m.data for m in cand.of_type("turn_resumed")]
            assert resumed and resumed[0] == {
                "type": "turn_resumed",
                "question_id": asked.question_id,
                "reason": "barge_in",
            }, cand.transcript()
            # Any later ones: the answer going on after one of its pauses.
            assert all(r["reason"] == "continued" for r in resumed[1:])
            assert {r["question_id"] for r in resumed} == {asked.question_id}
            cancels = [m.data["question_id"] for m in cand.of_type("question_audio_cancel")]
            assert cancels[:1] == [asked.question_id]
            await cand.close()
        report = await report_of(http, turn_server, created["id"])
    (item,) = report["answers"]
    heard = item["transcript"] or ""
    bound = WER_BOUND.get(entry["voice"], DEFAULT_WER_BOUND)
    assert word_error_rate(entry["text"], heard) <= bound, heard
    # None of the question's own words came back into the answer.
    own = {w for w in normalise(item["question"]["text"]) if len(w) > 3}
    echoed = (own - set(normalise(entry["text"]))) & set(normalise(heard))
    assert not echoed, f"the question's words {sorted(echoed)} are in the answer: {heard}"
    # How much of the question had played when the candidate came in is recorded.
    assert item["metrics"]["barge_in_heard_ms"] > 500


async def test_asking_for_the_question_again_is_not_an_answer(turn_server: ServerProcess) -> None:
    repeat = load(BY_KIND["barge_in"][0])
    answer_entry = BY_KIND["pauses"][2]
    async with aiohttp.ClientSession() as http:
        created = await create_interview(http, turn_server, n=1, candidate_id="repeat")
        url = f"{turn_server.ws_base}/ws/interviews/{created['id']}"
        url += f"?token={created['candidate_token']}"
        async with http.ws_connect(url, max_msg_size=0) as ws:
            cand = RealtimeCandidate(ws)
            asked = await cand.wait(cand.pending_question, 60, "the question")
            await cand.wait(lambda: asked.duration_ms is not None, 60, "its audio")
            # One second into the question: "sorry, could you repeat the question?"
            await cand.stream(
                np.concatenate([cand.noise(RATE), repeat]),
                until=lambda last: len(cand.asked) >= 2,
            )
            assert cand.of_type("turn_resumed")[0].data["reason"] == "barge_in"
            assert cand.asked[1].question_id == asked.question_id, "the question is asked again"
            qid = await cand.answer(load(answer_entry))
            assert qid == asked.question_id
            await cand.wait(lambda: cand.of_type("interview_complete"), 300, "interview_complete")
            await cand.close()
        report = await report_of(http, turn_server, created["id"])
    (item,) = report["answers"]
    bound = WER_BOUND.get(answer_entry["voice"], DEFAULT_WER_BOUND)
    assert word_error_rate(answer_entry["text"], item["transcript"]) <= bound, item["transcript"]
    assert "repeat" not in normalise(item["transcript"])
