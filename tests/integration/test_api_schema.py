"""schemathesis against the packaged OpenAPI file and the real server process.

Every operation gets generated requests (valid and invalid ones); for each: no 5xx,
the status is one the spec lists, the body matches the spec's schema, and every error
is the JSON ``{"error": {"code", "message"}}`` shape. Half the valid requests that take
an interview id use real records (an interview with a CV analysis and a spoken,
evaluated answer), so the 2xx answers are checked too, not only 404s.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from tests.audio_helpers import load_fixture
from tests.conftest import ADMIN_KEY, ServerProcess, start_server
from tests.integration.client import WsLog

schemathesis = pytest.importorskip("schemathesis")

SchemathesisConfig = pytest.importorskip("schemathesis.config").SchemathesisConfig

pytestmark = pytest.mark.models

SPEC = Path(__file__).resolve().parents[2] / "voice_interview" / "server" / "openapi.yaml"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
MAX_EXAMPLES = 25
MAX_EXAMPLES_LLM = 6  # each valid CV analysis is an LLM call

# The server answers a string field over its length with 413 PAYLOAD_TOO_LARGE (as
# documented), so 413 counts as a rejection of invalid data too.
REJECTED = ["400", "401", "403", "404", "405", "409", "413", "422", "429"]
# Valid data may still get 400 where a rule spans two fields, which OpenAPI 3.0 cannot
# state: the audio clip's `start` must be below its `end`.
ACCEPTED_OR_CROSS_FIELD_400 = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]


def _load() -> Any:
    return schemathesis.openapi.from_path(
        SPEC,
        config=SchemathesisConfig.from_dict(
            {
                "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
                "operations": [
                    {
                        "include-operation-id": "getAnswerAudio",
                        "checks": {
                            "positive_data_acceptance": {
                                "expected-statuses": ACCEPTED_OR_CROSS_FIELD_400
                            }
                        },
                    }
                ],
            }
        ),
    )


SLOW = "createCvAnalysis"
schema = _load()
fast_operations = _load().exclude(operation_id=SLOW)
# (include() adds to schemathesis' own default include, so it would keep everything.)
slow_operations = _load().exclude(operation_id_regex=f"^(?!{SLOW}$)")


def _post(server: ServerProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{server.base}{path}",
        data=json.dumps(body).encode(),
        headers={**ADMIN, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201
        return dict(json.loads(response.read()))


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # Generated requests come fast from one address: lift the rate limit for this server.
    srv = start_server(tmp_path_factory.mktemp("schema"), {"VI_RATE_LIMIT_PER_MINUTE": "1000000"})
    yield srv
    srv.stop()


def _frames(pcm: np.ndarray) -> list[bytes]:
    raw = pcm.astype("<i2").tobytes()
    return [raw[i : i + 640] for i in range(0, len(raw), 640)]


async def _answer_first_question(server: ServerProcess, created: dict[str, Any]) -> None:
    """A spoken answer, so that the interview has stored audio, word timings, an evaluation."""
    url = f"{server.ws_base}/ws/interviews/{created['id']}?token={created['candidate_token']}"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        log = WsLog(ws)
        q = await log.next("question")
        await log.audio_end(q["question_id"])
        for frame in _frames(load_fixture("why_this_company.wav")):
            await ws.send_bytes(frame)
        await log.send(type="end_of_answer")
        await log.next("evaluation", timeout=180)


@pytest.fixture(scope="module")
def real_ids(api_server: ServerProcess) -> dict[str, str]:
    """Path parameters of real records: an interview with a CV analysis, one spoken,
    transcribed and evaluated answer, and one question still open."""
    analysis = _post(
        api_server,
        "/api/cv-analyses",
        {"candidate_id": "schema-cand", "cv_text": "Python developer, 4 years, PostgreSQL."},
    )
    created = _post(
        api_server,
        "/api/interviews",
        {"candidate_id": "schema-cand", "cv_analysis_id": analysis["id"], "num_questions": 2},
    )
    asyncio.run(_answer_first_question(api_server, created))
    request = urllib.request.Request(
        f"{api_server.base}/api/interviews/{created['id']}/feedback", headers=ADMIN
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        report = json.loads(response.read())
    return {"id": str(created["id"]), "answer_id": str(report["answers"][0]["answer_id"])}


def _check_error_shape(response: Any) -> None:
    if response.status_code < 400:
        return
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), (
        response.status_code,
        response.headers,
    )
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"].isupper()
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


_calls = itertools.count()


def _use_real_ids(case: Any) -> bool:
    """Every other valid case with an interview id (invalid cases are kept as they are)."""
    meta = getattr(case, "meta", None)
    if meta is not None and meta.generation.mode.is_negative:
        return False
    value = (case.path_parameters or {}).get("id")
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return next(_calls) % 2 == 0


STATUSES: collections.defaultdict[str, set[int]] = collections.defaultdict(set)


def _exercise(case: Any, server: ServerProcess, real_ids: dict[str, str]) -> None:
    if _use_real_ids(case):
        if case.operation.method.upper() in ("DELETE", "PUT"):
            # Deleting or starting the shared interview would change what the other calls
            # see (404s, 409s): delete or start a fresh one.
            fresh = _post(server, "/api/interviews", {"candidate_id": "schema-fresh"})
            case.path_parameters["id"] = fresh["id"]
        else:
            for name in case.path_parameters:
                case.path_parameters[name] = real_ids.get(name, case.path_parameters[name])
    # CV analysis runs the LLM: give it time on a busy 2-core box.
    response = case.call_and_validate(base_url=server.base, headers=ADMIN, timeout=180)
    _check_error_shape(response)
    STATUSES[f"{case.operation.method.upper()} {case.operation.path}"].add(response.status_code)


@fast_operations.parametrize()  # type: ignore[untyped-decorator]
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_the_spec(
    case: Any, api_server: ServerProcess, real_ids: dict[str, str]
) -> None:
    _exercise(case, api_server, real_ids)


@slow_operations.parametrize()  # type: ignore[untyped-decorator]
@settings(max_examples=MAX_EXAMPLES_LLM, deadline=None, suppress_health_check=list(HealthCheck))
def test_cv_analysis_conforms_to_the_spec(
    case: Any, api_server: ServerProcess, real_ids: dict[str, str]
) -> None:
    _exercise(case, api_server, real_ids)


def test_every_operation_was_exercised() -> None:
    """Runs last (file order): each operation was called and answered 2xx at least once."""
    operations = {
        f"{op.method.upper()} {op.path}" for op in (r.ok() for r in schema.get_all_operations())
    }
    assert set(STATUSES) == operations
    for operation, statuses in STATUSES.items():
        assert any(200 <= s < 300 for s in statuses), (operation, sorted(statuses))
        assert all(s < 500 for s in statuses), (operation, sorted(statuses))
