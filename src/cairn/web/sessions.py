"""Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie, the state on the server.

The cookie carries nothing but the id, and the server keeps only its SHA-256, so a memory dump
gives no usable cookie. Logging out ends the session on the server, not just in the browser;
a session also ends after `idle_seconds` without a request and `max_seconds` after login
(whichever comes first). Each session has its CSRF token, which every form and every script
request must echo (`check_csrf`): SameSite=Strict alone leaves old browsers and same-site
pages open.

Sessions live in the server process: a restarted server asks everyone to log in again, which
for a review workspace is a fair price for never storing a session credential.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

COOKIE = "cairn_session"
LOGIN_COOKIE = "cairn_login"  # the login form's CSRF token, before any session exists
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass
class WebSession:
    user_id: int
    csrf: str
    created: float
    seen: float


class SessionStore:
    def __init__(self, idle_seconds: float = 3600, max_seconds: float = 12 * 3600) -> None:
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self._sessions: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def start(self, user_id: int) -> tuple[str, WebSession]:
        """A new session of `user_id`: the cookie value (given out once) and the session."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        session = WebSession(user_id, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._prune(now)
            self._sessions[_digest(token)] = session
        return token, session

    def get(self, token: str | None) -> WebSession | None:
        if not token:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(_digest(token))
            if session is None:
                return None
            if now - session.seen > self.idle_seconds or now - session.created > self.max_seconds:
                del self._sessions[_digest(token)]
                return None
            session.seen = now
            return session

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(_digest(token), None)

    def end_user(self, user_id: int) -> None:
        with self._lock:
            for key in [k for k, s in self._sessions.items() if s.user_id == user_id]:
                del self._sessions[key]

    def _prune(self, now: float) -> None:
        stale = [
            key
            for key, s in self._sessions.items()
            if now - s.seen > self.idle_seconds or now - s.created > self.max_seconds
        ]
        for key in stale:
            del self._sessions[key]


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time equality of two CSRF tokens; a missing one never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
