"""Passwords (argon2id), access tokens (signed JWT, HS256, expiring), CSRF tokens for the
pages, pseudonyms, and the ``Principal`` every endpoint checks its role against.

Authentication is a list of authenticators on ``app.state.authenticators`` (bearer token for
the API, session cookie for the pages); a later API-key authenticator is one more entry.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gep.portal.settings import Security

ALGORITHM = "HS256"
SESSION_COOKIE = "gep_session"
CSRF_COOKIE = "gep_csrf"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user with a role (``committee``, ``officer``, ``chief``)."""

    user_id: int
    username: str
    role: str
    party_id: str | None
    pseudonym: str
    via: str  # "bearer" | "session" | later "api_key"


class Passwords:
    def __init__(self, cfg: Security):
        a = cfg.argon2
        self._ph = PasswordHasher(time_cost=a.time_cost, memory_cost=a.memory_kib,
                                  parallelism=a.parallelism)
        # verified against when the user does not exist, so timing does not reveal usernames
        self._dummy = self._ph.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._ph.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


class Tokens:
    def __init__(self, secret: bytes, minutes: int):
        self._key = hashlib.sha256(b"gep-portal-token\0" + secret).digest()
        self.minutes = minutes

    def issue(self, user_id: int, role: str, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims = {"sub": str(user_id), "role": role, "iat": int(now.timestamp()),
                  "exp": int((now + timedelta(minutes=self.minutes)).timestamp()),
                  "typ": "access"}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def read(self, token: str) -> dict | None:
        """The claims of a valid, unexpired token; ``None`` for anything else."""
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM],
                                options={"require": ["exp", "sub", "iat"]})
        except jwt.PyJWTError:
            return None
        return claims if claims.get("typ") == "access" else None


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie) and bool(submitted) and hmac.compare_digest(cookie, submitted)


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def pseudonym(secret: bytes, kind: str, key: str) -> str:
    """A stable public pseudonym (e.g. ``RC-7f3a9c2e``): keyed HMAC, not reversible without the
    portal secret, the same for the same key so re-seeding gives the same ledger records."""
    mac = hmac.new(secret, f"{kind}:{key}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}-{mac[:10]}"


def load_or_create_secret(path: str | os.PathLike) -> bytes:
    """The portal's signing secret (32 random bytes, hex, mode 0600), created on first use.
    Keep it out of results/ and back it up: a new secret logs everyone out and changes the
    pseudonyms of new accounts."""
    p = Path(path)
    if p.is_file():
        return bytes.fromhex(p.read_text(encoding="ascii").strip())
    p.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_bytes(32)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value.hex() + "\n")
    return value
