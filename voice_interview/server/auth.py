"""Recruiter keys (Bearer, constant-time compare) and signed, expiring candidate tokens."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

import jwt
from aiohttp import web

from voice_interview.server.errors import ApiError

CANDIDATE_SCOPE = "candidate"
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    role: str  # "recruiter" | "candidate"
    interview_id: str | None = None


class Authenticator:
    def __init__(self, admin_keys: list[str], token_secret: str, token_ttl_s: int) -> None:
        if not admin_keys:
            raise ValueError("at least one admin key is needed")
        self._admin_keys = [k.encode() for k in admin_keys]
        self._secret = token_secret
        self._ttl = token_ttl_s

    def is_admin_key(self, key: str) -> bool:
        given = key.encode()
        # Check every key so the time taken does not tell which one nearly matched.
        matches = [hmac.compare_digest(given, k) for k in self._admin_keys]
        return any(matches)

    def candidate_token(self, interview_id: str) -> str:
        now = int(time.time())
        claims = {"sub": interview_id, "scope": CANDIDATE_SCOPE, "iat": now, "exp": now + self._ttl}
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify_candidate(self, token: str) -> str | None:
        """The interview id the token is for, or None if it is invalid or expired."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError:
            return None
        if claims.get("scope") != CANDIDATE_SCOPE or not isinstance(claims.get("sub"), str):
            return None
        return str(claims["sub"])

    def principal(self, request: web.Request) -> Principal | None:
        token = _bearer(request) or request.query.get("token", "")
        if not token:
            return None
        if self.is_admin_key(token):
            return Principal("recruiter")
        interview_id = self.verify_candidate(token)
        if interview_id is not None:
            return Principal("candidate", interview_id)
        return None

    def require_recruiter(self, request: web.Request) -> Principal:
        who = self.principal(request)
        if who is None:
            raise ApiError(401, "UNAUTHORIZED", "a valid recruiter key is required")
        if who.role != "recruiter":
            raise ApiError(403, "FORBIDDEN", "this call is for recruiters only")
        return who

    def require_interview_access(self, request: web.Request, interview_id: str) -> Principal:
        who = self.principal(request)
        if who is None:
            raise ApiError(
                401, "UNAUTHORIZED", "a recruiter key or this interview's token is required"
            )
        if who.role == "candidate" and who.interview_id != interview_id:
            raise ApiError(403, "FORBIDDEN", "this token is for another interview")
        return who


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    return ""
