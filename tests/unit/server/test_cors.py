"""CORS middleware: headers only for allowed origins, preflights, Vary, errors included."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from voice_interview.server.app import create_app
from voice_interview.server.cors import (
    ALLOW_HEADERS,
    CorsPolicy,
    cors_middleware,
    normalize_origin,
)
from voice_interview.server.errors import ApiError, error_middleware
from voice_interview.settings import Settings

GOOD = "https://recruit.example.com"
EVIL = "https://evil.example.net"


async def _ok(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _denied(_request: web.Request) -> web.Response:
    raise ApiError(401, "UNAUTHORIZED", "a valid recruiter key is required")


async def _redirect(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/api/thing")


async def _ws(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str("hello")
    await ws.close()
    return ws


def _app(allowed: list[str]) -> web.Application:
    app = web.Application(middlewares=[cors_middleware(allowed), error_middleware])
    app.router.add_get("/api/thing", _ok)
    app.router.add_post("/api/thing", _ok)
    app.router.add_get("/api/denied", _denied)
    app.router.add_get("/api/redirect", _redirect)
    app.router.add_get("/ws", _ws)
    return app


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


def test_policy_matching() -> None:
    policy = CorsPolicy([GOOD + "/", " https://Other.Example.com "])
    assert policy.enabled
    assert policy.allow_origin(GOOD) == GOOD
    assert policy.allow_origin("https://other.example.com") == "https://other.example.com"
    assert policy.allow_origin(EVIL) is None
    assert policy.allow_origin(None) is None
    assert policy.allow_origin("") is None
    # Scheme and port are part of the origin.
    assert policy.allow_origin("http://recruit.example.com") is None
    assert policy.allow_origin("https://recruit.example.com:8443") is None
    assert policy.allow_origin("https://recruit.example.com.evil.net") is None
    assert not CorsPolicy([]).enabled
    assert not CorsPolicy(["", "  "]).enabled
    wildcard = CorsPolicy(["*"])
    assert wildcard.allow_origin(EVIL) == "*"
    both = CorsPolicy([GOOD, "*"])
    assert both.allow_origin(GOOD) == GOOD and both.allow_origin(EVIL) == "*"
    assert normalize_origin("HTTPS://A.example/") == "https://a.example"


async def test_empty_list_is_same_origin_only() -> None:
    async with TestClient(TestServer(_app([]))) as client:
        r = await client.get("/api/thing", headers={"Origin": EVIL})
        assert r.status == 200
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "Vary" not in r.headers
        r = await client.options("/api/thing", headers=_preflight(GOOD))
        assert r.status == 403
        assert (await r.json())["error"] == {"code": "FORBIDDEN", "message": "origin not allowed"}
        assert "Access-Control-Allow-Origin" not in r.headers


async def test_allowed_origin_gets_headers_and_preflight() -> None:
    async with TestClient(TestServer(_app([GOOD]))) as client:
        r = await client.options("/api/thing", headers=_preflight(GOOD, "DELETE"))
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == GOOD
        methods = {m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
        assert methods == {"GET", "POST", "PUT", "DELETE"}
        assert r.headers["Access-Control-Allow-Headers"] == ALLOW_HEADERS
        assert int(r.headers["Access-Control-Max-Age"]) > 0
        assert "Origin" in r.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in r.headers
        r = await client.post("/api/thing", headers={"Origin": GOOD})
        assert r.status == 200
        assert r.headers["Access-Control-Allow-Origin"] == GOOD
        assert "Retry-After" in r.headers["Access-Control-Expose-Headers"]
        assert "Origin" in r.headers["Vary"]


async def test_foreign_origin_gets_no_headers() -> None:
    async with TestClient(TestServer(_app([GOOD]))) as client:
        r = await client.options("/api/thing", headers=_preflight(EVIL))
        assert r.status == 403
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "Origin" in r.headers["Vary"]
        # The request itself is still served (CORS is enforced by the browser, and auth is by
        # header, not cookie), but the answer carries no permission to read it.
        r = await client.get("/api/thing", headers={"Origin": EVIL})
        assert r.status == 200
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "Origin" in r.headers["Vary"]
        # No Origin at all (curl, same-origin GET): no CORS headers, but still Vary.
        r = await client.get("/api/thing")
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "Origin" in r.headers["Vary"]


async def test_wildcard() -> None:
    async with TestClient(TestServer(_app(["*"]))) as client:
        r = await client.options("/api/thing", headers=_preflight(EVIL))
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        r = await client.get("/api/thing", headers={"Origin": EVIL})
        assert r.headers["Access-Control-Allow-Origin"] == "*"


async def test_errors_and_redirects_carry_the_headers() -> None:
    async with TestClient(TestServer(_app([GOOD]))) as client:
        r = await client.get("/api/denied", headers={"Origin": GOOD})
        assert r.status == 401
        assert r.headers["Access-Control-Allow-Origin"] == GOOD
        r = await client.get("/api/nowhere", headers={"Origin": GOOD})
        assert r.status == 404
        assert r.headers["Access-Control-Allow-Origin"] == GOOD
        r = await client.get("/api/redirect", headers={"Origin": GOOD}, allow_redirects=False)
        assert r.status == 302
        assert r.headers["Access-Control-Allow-Origin"] == GOOD
        # A non-preflight OPTIONS is routed as usual (405 from the router, as JSON).
        r = await client.options("/api/thing", headers={"Origin": GOOD})
        assert r.status == 405
        assert r.headers["Access-Control-Allow-Origin"] == GOOD


async def test_websocket_upgrade_is_left_alone() -> None:
    async with (
        TestClient(TestServer(_app([GOOD]))) as client,
        client.ws_connect("/ws", headers={"Origin": EVIL}) as ws,
    ):
        assert (await ws.receive_str()) == "hello"


async def test_create_app_registers_the_middleware(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cors.db'}",
        admin_key="k",
        token_secret="s" * 32,
        allowed_origins=[GOOD],
        rate_limit_per_minute=1,
        load_models=False,
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        r = await client.options("/api/interviews", headers=_preflight(GOOD))
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == GOOD
        r = await client.get("/api/interviews", headers={"Origin": GOOD})
        assert r.status == 401
        assert r.headers["Access-Control-Allow-Origin"] == GOOD
        # Preflights do not use up the rate limit; the 429 carries the headers too.
        r = await client.get("/api/interviews", headers={"Origin": GOOD})
        assert r.status == 429
        assert r.headers["Access-Control-Allow-Origin"] == GOOD
        assert int(r.headers["Retry-After"]) >= 1
