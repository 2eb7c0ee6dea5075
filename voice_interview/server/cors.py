"""CORS for the REST API, driven by the ``allowed_origins`` setting.

* Empty allow-list: same-origin only. No response carries CORS headers, and every
  preflight is refused (a same-origin page never sends one).
* Otherwise a request whose ``Origin`` is on the list (or any origin, if the list holds
  ``"*"``) gets ``Access-Control-Allow-Origin`` on its answer, errors included, so a
  page can read a 401 or a 429. Preflights (``OPTIONS`` with
  ``Access-Control-Request-Method``) are answered here with 204; from an origin not on
  the list with 403 ``FORBIDDEN``, without CORS headers.
* ``Vary: Origin`` is set on every answer while the list is not empty, since the
  answer then depends on the ``Origin`` header.

No cookies are used (credentials travel in the ``Authorization`` header), so
``Access-Control-Allow-Credentials`` is never sent. WebSocket upgrades are left alone:
their ``Origin`` is checked by the WebSocket handler itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping

from aiohttp import web
from aiohttp.typedefs import Middleware

from voice_interview.server.errors import error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ALLOW_METHODS = "GET, POST, PUT, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type"
# Headers a page may read from an answer besides the CORS-safelisted ones.
EXPOSE_HEADERS = "Retry-After, Content-Disposition"
MAX_AGE_S = 600


def normalize_origin(origin: str) -> str:
    """``https://App.example.com/`` -> ``https://app.example.com`` (as browsers send it)."""
    return origin.strip().rstrip("/").lower()


class CorsPolicy:
    def __init__(self, allowed_origins: Iterable[str]) -> None:
        cleaned = [normalize_origin(o) for o in allowed_origins if o.strip()]
        self.any_origin = "*" in cleaned
        self.origins = frozenset(o for o in cleaned if o != "*")

    @property
    def enabled(self) -> bool:
        return self.any_origin or bool(self.origins)

    def allow_origin(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for this request, or None."""
        if not origin or not self.enabled:
            return None
        if normalize_origin(origin) in self.origins:
            return origin
        return "*" if self.any_origin else None


def _add_vary(headers: MutableMapping[str, str], value: str) -> None:
    current = headers.get("Vary", "")
    names = [v.strip() for v in current.split(",") if v.strip()]
    if value.lower() not in (n.lower() for n in names) and "*" not in names:
        names.append(value)
    headers["Vary"] = ", ".join(names)


def _is_preflight(request: web.Request) -> bool:
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


def cors_middleware(allowed_origins: Iterable[str]) -> Middleware:
    policy = CorsPolicy(allowed_origins)

    def decorate(headers: MutableMapping[str, str], allowed: str | None) -> None:
        if not policy.enabled:
            return
        _add_vary(headers, "Origin")
        if allowed is not None:
            headers["Access-Control-Allow-Origin"] = allowed
            headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await handler(request)
        allowed = policy.allow_origin(request.headers.get("Origin"))
        if _is_preflight(request):
            if allowed is None:
                response = error_response(403, "FORBIDDEN", "origin not allowed")
                decorate(response.headers, None)
                return response
            response = web.Response(status=204)
            decorate(response.headers, allowed)
            response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = str(MAX_AGE_S)
            return response
        try:
            answer = await handler(request)
        except web.HTTPException as e:  # raised past the error layer (redirects and the like)
            decorate(e.headers, allowed)
            raise
        if not answer.prepared:
            decorate(answer.headers, allowed)
        return answer

    return middleware
