"""GET /api/interviews: paging parameters are clamped or refused, never a server error."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from voice_interview.server.app import create_app
from voice_interview.settings import Settings

KEY = {"Authorization": "Bearer k"}


async def test_paging_out_of_range_is_clamped_and_garbage_is_a_400(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'list.db'}",
        admin_key="k",
        token_secret="s" * 32,
        load_models=False,
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        r = await client.post("/api/interviews", json={"candidate_id": "c-1"}, headers=KEY)
        assert r.status == 201, await r.text()
        # past SQLite's and PostgreSQL's 64-bit OFFSET (schemathesis found a 500 here)
        r = await client.get(
            "/api/interviews", params={"offset": str(2**64 - 1), "limit": "174"}, headers=KEY
        )
        assert r.status == 200, await r.text()
        body = await r.json()
        assert body["interviews"] == [] and body["total"] == 1
        r = await client.get("/api/interviews", params={"offset": "-5"}, headers=KEY)
        assert r.status == 200
        assert [i["candidate_id"] for i in (await r.json())["interviews"]] == ["c-1"]
        r = await client.get("/api/interviews", params={"offset": "lots"}, headers=KEY)
        assert r.status == 400
        assert (await r.json())["error"]["code"] == "INVALID_REQUEST"
