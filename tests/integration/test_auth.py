"""Auth, origins and the rate limit, against real server processes.

One server has two recruiter keys (``VI_ADMIN_KEYS=k1,k2``, no ``VI_ADMIN_KEY``) and an
Origin allow-list; another has a rate limit of 5 requests a minute.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import jwt
import pytest

from tests.conftest import ServerProcess, start_server

pytestmark = pytest.mark.models

K1, K2 = "recruiter-key-one-0123456789", "recruiter-key-two-9876543210"
GOOD_ORIGIN = "https://recruit.example.com"
EVIL_ORIGIN = "https://evil.example.net"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("auth"),
        {
            "VI_ADMIN_KEY": "",
            "VI_ADMIN_KEYS": f"{K1},{K2}",
            "VI_ALLOWED_ORIGINS": GOOD_ORIGIN,
            "VI_RATE_LIMIT_PER_MINUTE": "100000",
        },
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(tmp_path_factory.mktemp("limited"), {"VI_RATE_LIMIT_PER_MINUTE": "5"})
    yield srv
    srv.stop()


async def _create(http: aiohttp.ClientSession, server: ServerProcess, key: str) -> dict[str, Any]:
    async with http.post(
        f"{server.base}/api/interviews",
        json={"candidate_id": "auth-cand", "num_questions": 1},
        headers=bearer(key),
    ) as r:
        assert r.status == 201, await r.text()
        return dict(await r.json())


async def _status_and_code(
    http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str] | None = None
) -> tuple[int, str | None]:
    async with http.request(method, url, headers=headers or {}) as r:
        if r.status < 400:
            return r.status, None
        assert r.content_type == "application/json", (method, url, r.status)
        body = await r.json()
        assert set(body["error"]) == {"code", "message"}
        return r.status, str(body["error"]["code"])


async def _ws_refused(http: aiohttp.ClientSession, url: str) -> tuple[str, int | None]:
    """The error code and close code a refused WebSocket gets."""
    async with http.ws_connect(url) as ws:
        msg = await ws.receive_json(timeout=30)
        assert msg["type"] == "error"
        closing = await ws.receive(timeout=30)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        return str(msg["code"]), ws.close_code


def _mint(secret: str, interview_id: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": interview_id, "scope": "candidate", "iat": now, "exp": now + 3600}
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, "HS256")


def _unsigned(interview_id: str) -> str:
    """A token with ``alg: none`` and no signature."""

    def part(obj: dict[str, Any]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(time.time())
    header = part({"alg": "none", "typ": "JWT"})
    body = part({"sub": interview_id, "scope": "candidate", "exp": now + 3600})
    return f"{header}.{body}."


async def test_several_recruiter_keys_work_and_nothing_else_does(
    auth_server: ServerProcess,
) -> None:
    url = f"{auth_server.base}/api/interviews"
    async with aiohttp.ClientSession() as http:
        for key in (K1, K2):
            assert await _status_and_code(http, "GET", url, bearer(key)) == (200, None)
            async with http.get(f"{url}?token={key}") as r:
                assert r.status == 200
        refused: list[dict[str, str]] = [
            {},
            bearer("test-admin-key"),  # VI_ADMIN_KEY is empty on this server
            bearer(K1[:-1]),
            bearer(K1 + "x"),
            bearer(K1.upper()),
            bearer(""),
            {"Authorization": f"Basic {K1}"},
            {"Authorization": K1},
            bearer(f"{K1},{K2}"),
        ]
        for headers in refused:
            assert await _status_and_code(http, "GET", url, headers) == (401, "UNAUTHORIZED"), (
                headers
            )
        async with http.post(url, json={"candidate_id": "x"}, headers=bearer("nope")) as r:
            assert r.status == 401
        created = await _create(http, auth_server, K2)
        # Either key reads what the other made.
        status, _ = await _status_and_code(
            http, "GET", f"{url}/{created['id']}/feedback", bearer(K1)
        )
        assert status == 200


async def test_candidate_token_is_scoped_to_its_interview(auth_server: ServerProcess) -> None:
    base = f"{auth_server.base}/api/interviews"
    async with aiohttp.ClientSession() as http:
        a = await _create(http, auth_server, K1)
        b = await _create(http, auth_server, K1)
        token = a["candidate_token"]
        as_a = bearer(token)
        # What the candidate may do with A.
        assert await _status_and_code(http, "GET", f"{base}/{a['id']}", as_a) == (200, None)
        assert await _status_and_code(http, "GET", f"{base}/{a['id']}/questions/current", as_a) == (
            200,
            None,
        )
        assert await _status_and_code(http, "PUT", f"{base}/{a['id']}/start", as_a) == (200, None)
        async with http.get(f"{base}/{a['id']}?token={token}") as r:
            assert r.status == 200 and (await r.json())["status"] == "in_progress"
        # Everything else is forbidden: B, the list, reports, export, delete, creation.
        forbidden = [
            ("GET", f"{base}/{b['id']}"),
            ("GET", f"{base}/{b['id']}/questions/current"),
            ("PUT", f"{base}/{b['id']}/start"),
            ("GET", f"{base}/{b['id']}/feedback"),
            ("GET", f"{base}/{b['id']}/export"),
            ("DELETE", f"{base}/{b['id']}"),
            ("GET", base),
            ("GET", f"{base}/{a['id']}/feedback"),
            ("GET", f"{base}/{a['id']}/export"),
            ("DELETE", f"{base}/{a['id']}"),
            ("POST", base),
            ("POST", f"{auth_server.base}/api/cv-analyses"),
        ]
        for method, url in forbidden:
            assert await _status_and_code(http, method, url, as_a) == (403, "FORBIDDEN"), (
                method,
                url,
            )
            # The same through the query parameter.
            sep = "&" if "?" in url else "?"
            status, code = await _status_and_code(http, method, f"{url}{sep}token={token}")
            assert (status, code) == (403, "FORBIDDEN"), (method, url)
        # B is untouched, A still exists.
        async with http.get(f"{base}/{b['id']}", headers=bearer(K1)) as r:
            assert (await r.json())["status"] == "ready"
        async with http.get(f"{base}/{a['id']}", headers=bearer(K1)) as r:
            assert r.status == 200
        # WebSocket: A's token opens A, and not B.
        ws_a = f"{auth_server.ws_base}/ws/interviews/{a['id']}?token={token}"
        async with http.ws_connect(ws_a) as ws:
            first = await ws.receive_json(timeout=60)
            assert first["type"] == "session" and first["interview_id"] == a["id"]
        ws_b = f"{auth_server.ws_base}/ws/interviews/{b['id']}?token={token}"
        assert await _ws_refused(http, ws_b) == ("UNAUTHORIZED", 4401)


# The HS512 token is signed with the server's 34-byte secret on purpose.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_expired_and_forged_tokens_are_refused(auth_server: ServerProcess) -> None:
    secret = auth_server.env["VI_TOKEN_SECRET"]
    now = int(time.time())
    async with aiohttp.ClientSession() as http:
        a = await _create(http, auth_server, K1)
        iid = a["id"]
        # The fixture's secret does sign valid tokens (the control case).
        good = _mint(secret, iid)
        url = f"{auth_server.base}/api/interviews/{iid}"
        assert await _status_and_code(http, "GET", url, bearer(good)) == (200, None)
        bad_tokens = {
            "expired": _mint(secret, iid, iat=now - 7200, exp=now - 3600),
            "other secret": _mint("another-secret-0123456789abcdef0123", iid),
            "no expiry": _mint(secret, iid, exp=None),
            "no subject": _mint(secret, iid, sub=None),
            "recruiter scope": _mint(secret, iid, scope="recruiter"),
            "no scope": _mint(secret, iid, scope=None),
            "HS512": jwt.encode(
                {"sub": iid, "scope": "candidate", "exp": now + 3600}, secret, "HS512"
            ),
            "alg none": _unsigned(iid),
            "tampered": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
            "garbage": "not.a.jwt",
        }
        for name, token in bad_tokens.items():
            status = await _status_and_code(http, "GET", url, bearer(token))
            assert status == (401, "UNAUTHORIZED"), name
            ws_url = f"{auth_server.ws_base}/ws/interviews/{iid}?token={token}"
            assert await _ws_refused(http, ws_url) == ("UNAUTHORIZED", 4401), name
        # A valid token for A, used on the WebSocket of another interview.
        b = await _create(http, auth_server, K1)
        ws_url = f"{auth_server.ws_base}/ws/interviews/{b['id']}?token={good}"
        assert await _ws_refused(http, ws_url) == ("UNAUTHORIZED", 4401)


def _upgrade_headers(origin: str | None) -> dict[str, str]:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
        "Sec-WebSocket-Version": "13",
    }
    if origin is not None:
        headers["Origin"] = origin
    return headers


async def test_websocket_origin_allow_list(auth_server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        a = await _create(http, auth_server, K1)
        url = f"{auth_server.ws_base}/ws/interviews/{a['id']}?token={a['candidate_token']}"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, origin=EVIL_ORIGIN)
        assert refused.value.status == 403
        # The refusal is the JSON error, sent before any upgrade.
        http_url = url.replace("ws://", "http://", 1)
        async with http.get(http_url, headers=_upgrade_headers(EVIL_ORIGIN)) as r:
            assert r.status == 403
            assert (await r.json())["error"] == {
                "code": "FORBIDDEN",
                "message": "origin not allowed",
            }
        # The listed origin, and a client that sends no Origin (not a browser), get in.
        for origin in (GOOD_ORIGIN, None):
            async with http.ws_connect(url, origin=origin) as ws:
                assert (await ws.receive_json(timeout=60))["type"] == "session"


async def test_rest_cors_follows_the_allow_list(auth_server: ServerProcess) -> None:
    url = f"{auth_server.base}/api/interviews"
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with aiohttp.ClientSession() as http:
        async with http.options(url, headers={**preflight, "Origin": GOOD_ORIGIN}) as r:
            assert r.status == 204
            assert r.headers["Access-Control-Allow-Origin"] == GOOD_ORIGIN
            assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
            assert "POST" in r.headers["Access-Control-Allow-Methods"]
        async with http.options(url, headers={**preflight, "Origin": EVIL_ORIGIN}) as r:
            assert r.status == 403
            assert "Access-Control-Allow-Origin" not in r.headers
        # An error answer is readable by the allowed page, not by another.
        async with http.get(url, headers={"Origin": GOOD_ORIGIN}) as r:
            assert r.status == 401
            assert r.headers["Access-Control-Allow-Origin"] == GOOD_ORIGIN
            assert "Origin" in r.headers["Vary"]
        async with http.get(url, headers={"Origin": EVIL_ORIGIN, **bearer(K1)}) as r:
            assert r.status == 200
            assert "Access-Control-Allow-Origin" not in r.headers


async def test_rate_limit_answers_429_with_retry_after(limited_server: ServerProcess) -> None:
    url = f"{limited_server.base}/api/interviews"
    admin = bearer("test-admin-key")
    async with aiohttp.ClientSession() as http:
        # Wrong keys use up the same budget: guessing keys is throttled too.
        statuses = [
            (await _status_and_code(http, "GET", url, bearer("guess")))[0] for _ in range(5)
        ]
        assert statuses == [401] * 5
        async with http.get(url, headers=admin) as r:
            assert r.status == 429
            body = await r.json()
            assert body["error"]["code"] == "RATE_LIMITED"
            retry_after = int(r.headers["Retry-After"])
        assert 1 <= retry_after <= 60 // 5 + 1
        # WebSocket connects spend the same budget: refused before the upgrade.
        ws_url = f"{limited_server.ws_base}/ws/interviews/00000000-0000-0000-0000-000000000000"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(ws_url)
        assert refused.value.status == 429
        # Health is not rate limited, and the server serves on.
        async with http.get(f"{limited_server.base}/health") as r:
            assert r.status == 200
        # After Retry-After seconds a request goes through again.
        await asyncio.sleep(retry_after + 0.5)
        async with http.get(url, headers=admin) as r:
            assert r.status == 200
