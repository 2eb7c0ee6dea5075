"""Evidence, honest gating and speech metrics end to end: the real server and models.

Three spoken turns: a real answer (the fixture that answers the question asked), near
silence, and a 1.6 s fragment. The report must carry speech metrics and evidence whose
clip times lie inside the stored audio; the silence is left out of the overall score with
its reason (nothing was heard), the clearly heard fragment is a non-answer that scores 0
and counts; the HTML page must show "not assessed" and carry audio
that decodes. The audio route serves the answer and its clips to the recruiter only.
"""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import aiohttp
import av
import numpy as np
import pytest

from tests.audio_helpers import load_fixture, manifest
from tests.conftest import ServerProcess
from tests.integration.client import ADMIN, WsLog, create_interview
from voice_interview.domain.scoring import ScoredAnswer, overall_score
from voice_interview.domain.types import Difficulty
from voice_interview.text.normalize import content_stems

pytestmark = pytest.mark.models

RATE = 16000
FRAME = 320  # 20 ms
CV = (
    "Backend developer. Designed relational databases and NoSQL stores for web services, "
    "and tuned the queries behind them."
)


def pcm_frames(pcm: np.ndarray) -> list[bytes]:
    raw = pcm.astype("<i2").tobytes()
    return [raw[i : i + FRAME * 2] for i in range(0, len(raw), FRAME * 2)]


def near_silence(seconds: float) -> np.ndarray:
    """A microphone's noise floor (about -70 dBFS), as in the fixtures."""
    rng = np.random.default_rng(7)
    return rng.normal(0, 10, int(seconds * RATE)).astype(np.int16)


def fixture_for(question: str) -> dict[str, Any]:
    """The audio fixture whose question is most like the one asked."""
    asked = set(content_stems(question))
    return max(manifest(), key=lambda m: len(asked & set(content_stems(m["question"]))))


def ogg_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data), "r") as c:
        return sum(f.samples for f in c.decode(audio=0)) / 48000


async def speak(log: WsLog, pcm: np.ndarray) -> dict[str, Any]:
    """Stream one answer as PCM frames, then end_of_answer; the final transcript."""
    for frame in pcm_frames(pcm):
        await log.ws.send_bytes(frame)
    await log.send(type="end_of_answer")
    while True:
        msg = await log.next("transcript", timeout=120)
        if msg["is_final"]:
            return msg


async def test_evidence_gating_and_speech_metrics_in_the_report(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.base}/api/cv-analyses",
            json={"candidate_id": "evidence", "cv_text": CV},
            headers=ADMIN,
        ) as r:
            assert r.status == 201, await r.text()
            analysis = await r.json()
        created = await create_interview(
            http, server, n=3, candidate_id="evidence", cv_analysis_id=analysis["id"]
        )
        iid, token = created["id"], created["candidate_token"]
        url = f"{server.ws_base}/ws/interviews/{iid}?token={token}"
        async with http.ws_connect(url, max_msg_size=0) as ws:
            log = WsLog(ws)
            await log.next("session")
            q1 = await log.next("question")
            spoken = fixture_for(q1["text"])
            await log.audio_end(q1["question_id"])
            first = await speak(log, load_fixture(spoken["file"]))
            assert first["text"]
            q2 = await log.next("question")
            await log.audio_end(q2["question_id"])
            assert (await speak(log, near_silence(2.0)))["text"] == ""
            q3 = await log.next("question")
            await log.audio_end(q3["question_id"])
            await speak(log, load_fixture("proud_project.wav")[: int(1.6 * RATE)])
            done = await log.next("interview_complete", timeout=300)

        async with http.get(f"{server.base}/api/interviews/{iid}/feedback", headers=ADMIN) as r:
            assert r.status == 200
            report = await r.json()
        voice, silent, fragment = report["answers"]

        # The spoken answer: assessed, with evidence clips inside its stored audio.
        ev = voice["evaluation"]
        assert ev["status"] == "scored" and ev["reason"] is None, ev
        rec = voice["recording"]
        duration = rec["duration_s"]
        assert duration and abs(duration - spoken["duration_s"]) < 1.0
        quoted = [x for x in [*ev["evidence"], *ev["coverage"]] if x.get("quote")]
        assert quoted, f"no quoted evidence for {spoken['file']} on {q1['text']!r}"
        for x in quoted:
            assert x["start_s"] is not None, x
            assert 0 <= x["start_s"] < x["end_s"] <= duration + 0.05, x
            assert 0 <= x["clip"]["start_s"] < x["clip"]["end_s"] <= duration + 0.05, x
        for x in ev["evidence"]:  # a quote, or why there is none ("not mentioned")
            assert x["quote"] or x["note"], x
        m = voice["speech_metrics"]
        n_words = len(spoken["text"].split())
        assert abs(m["words"] - n_words) <= 0.3 * n_words
        assert 100 <= m["wpm"] <= 260, m
        assert m["pauses"]["timeline"] == "input"
        # Each of the fixture's thinking pauses (1.2 s and more) is counted; a comma
        # pause (up to 0.6 s) may be too, nothing beyond those.
        thinking = len(spoken["pauses"])
        assert thinking <= m["pauses"]["count"] <= thinking + 3, (m["pauses"], spoken)
        assert m["fillers"]["count"] == 0 and m["notes"]  # synthetic speech has no fillers
        assert ev["provenance"]["models"]["embed"]["sha256"]
        print(
            f"{spoken['file']} on {q1['text']!r}: score {ev['score']}, "
            f"{len(quoted)} quotes, speech {m['wpm']} wpm, pauses {m['pauses']}, "
            f"fillers {m['fillers']['by_word']}"
        )

        # Near silence: not assessed (nothing was heard), left out of the overall. The
        # fragment was heard clearly: a non-answer, scored 0 and counted.
        assert silent["source"] == "none" and silent["recording"] is None
        assert silent["evaluation"]["status"] == "insufficient_data"
        assert silent["evaluation"]["reason"] == "no speech was heard"
        assert silent["evaluation"]["score"] is None
        assert fragment["evaluation"]["status"] == "scored"
        assert fragment["evaluation"]["score"] == 0
        scoring = report["scoring"]
        assert (scoring["assessed"], scoring["not_assessed"]) == (2, 1)
        assert [x["question_index"] for x in scoring["left_out"]] == [1]
        expected = overall_score(
            [
                ScoredAnswer(Difficulty(voice["question"]["difficulty"]), ev["score"]),
                ScoredAnswer(Difficulty(fragment["question"]["difficulty"]), 0.0, True),
            ]
        ).score
        assert expected is not None and expected < ev["score"]
        assert report["overall_score"] == pytest.approx(expected, abs=0.05)
        assert done["overall_score"] == pytest.approx(expected, abs=0.05)

        # HTML: "not assessed" with reasons, and the spoken answer's audio plays.
        async with http.get(
            f"{server.base}/api/interviews/{iid}/feedback",
            headers={**ADMIN, "Accept": "text/html"},
        ) as r:
            assert r.status == 200 and r.content_type == "text/html"
            page = await r.text()
        assert "not assessed: no speech was heard" in page
        assert "left out of the overall score" in page
        players = dict(
            re.findall(r'<audio id="([^"]+)"[^>]*src="data:audio/ogg;base64,([^"]+)"', page)
        )
        assert "a1" in players
        assert ogg_seconds(base64.b64decode(players["a1"])) == pytest.approx(duration, abs=0.1)
        clips = [k for k in players if k.startswith("q1")]
        assert clips
        assert 0.2 < ogg_seconds(base64.b64decode(players[clips[0]])) <= duration

        # The audio route: the answer and a clip for the recruiter; nobody else.
        async with http.get(f"{server.base}{rec['url']}", headers=ADMIN) as r:
            assert r.status == 200 and r.content_type == "audio/ogg"
            assert ogg_seconds(await r.read()) == pytest.approx(duration, abs=0.1)
        clip = quoted[0]["clip"]
        async with http.get(f"{server.base}{clip['url']}", headers=ADMIN) as r:
            assert r.status == 200
            got = ogg_seconds(await r.read())
        want = clip["end_s"] - clip["start_s"]
        assert want - 0.05 <= got <= want + 0.15  # packet edges and the decoder warm-up
        async with http.get(f"{server.base}{rec['url']}") as r:
            assert r.status == 401
        async with http.get(
            f"{server.base}{rec['url']}", headers={"Authorization": f"Bearer {token}"}
        ) as r:
            assert r.status == 403
        async with http.get(f"{server.base}{rec['url']}?start=abc", headers=ADMIN) as r:
            assert r.status == 400
            assert (await r.json())["error"]["code"] == "INVALID_REQUEST"
        async with http.get(
            f"{server.base}/api/interviews/{iid}/answers/{silent['answer_id']}/audio",
            headers=ADMIN,
        ) as r:
            assert r.status == 404
            assert (await r.json())["error"]["code"] == "NOT_FOUND"
        async with http.get(
            f"{server.base}/api/interviews/{iid}/answers/nope/audio", headers=ADMIN
        ) as r:
            assert r.status == 404
