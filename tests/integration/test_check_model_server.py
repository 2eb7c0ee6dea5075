"""A real server with VI_CHECK_MODEL set: /health names the check model, and a typed
answer's evaluation carries its verdict through to the recruiter's report. The bundled
GGUF stands in as the check model (the same file as the LLM, so one instance is shared):
what is tested is the wiring, not the 1.5B model's judgement (docs/JUDGES.md)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.conftest import start_server
from tests.integration.client import ADMIN, WsLog, create_interview
from voice_interview.engines.models import ModelNotFoundError, resolve_model
from voice_interview.settings import load_settings

pytestmark = pytest.mark.models


async def test_check_model_verdict_reaches_the_report(tmp_path: Path) -> None:
    try:
        gguf = resolve_model("llm", load_settings(env={})).path
    except ModelNotFoundError as e:
        pytest.skip(f"bundled LLM unavailable: {e}")
    srv = start_server(tmp_path, extra_env={"VI_CHECK_MODEL": str(gguf)})
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{srv.base}/health") as r:
                health = await r.json()
            assert health["models"]["check"] == gguf.name
            created = await create_interview(http, srv, n=1, role="backend engineer")
            iid, token = created["id"], created["candidate_token"]
            url = f"{srv.ws_base}/ws/interviews/{iid}?token={token}"
            async with http.ws_connect(url) as ws:
                log = WsLog(ws)
                await log.next("session")
                q = await log.next("question")
                answer = (
                    "I would start from what the users need, measure it, and then change one "
                    "thing at a time, checking the numbers after each change before going on."
                )
                await log.send(type="text_answer", question_id=q["question_id"],
                               answer_text=answer)
                ev = await log.next("evaluation", timeout=180)
                await log.next("interview_complete", timeout=180)
            async with http.get(f"{srv.base}/api/interviews/{iid}/feedback",
                                headers=ADMIN) as r:
                report = await r.json()
        stored = report["answers"][0]["evaluation"]
        check = stored["llm_check"]
        assert 0.0 <= check["p_correct"] <= 1.0 and check["threshold"] == 0.88
        checker = stored["provenance"]["models"]["check"]
        assert checker["name"] == gguf.name and len(checker["sha256"]) == 64
        assert stored["score_parts"]["check_penalty"] == check["penalty"]
        assert stored["score"] == pytest.approx(ev["score"], abs=0.05)
    finally:
        srv.stop()
