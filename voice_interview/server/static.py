"""Serves the browser client: plain ES modules, no build step, no CDN."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web


def add_routes(app: web.Application, root: Path) -> None:
    def page(name: str) -> web.FileResponse | web.Response:
        path = root / name
        if not path.is_file():
            return web.Response(status=404, text=f"{name} is not installed")
        # Pages change with the server; never let a browser keep an old one.
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def recruiter(_request: web.Request) -> web.StreamResponse:
        return page("index.html")

    async def candidate(_request: web.Request) -> web.StreamResponse:
        return page("interview.html")

    app.router.add_get("/", recruiter)
    app.router.add_get("/interview/{id}", candidate)
    if root.is_dir():
        app.router.add_static("/static/", root, append_version=False)
