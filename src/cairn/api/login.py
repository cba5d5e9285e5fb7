"""A password login with its rate limits, shared by the API's token route and the UI's form."""

from __future__ import annotations

from dataclasses import dataclass

from cairn.api.deps import ServerState
from cairn.services import identity
from cairn.services.identity import Principal

LOCKED = "this account is locked for a while after many failed logins; its auditors are told"
LIMITED = "too many failed logins; try again later"
WRONG = "wrong user name or password"


@dataclass(frozen=True)
class LoginRefused(Exception):
    status: int  # 401 or 429
    detail: str
    retry_after: int | None = None  # seconds, for a 429


def password_login(state: ServerState, origin: str, username: str, password: str) -> Principal:
    """The user behind the name and password, or LoginRefused.

    Failed attempts are limited per (address, user name), per address and, past many from
    any addresses, per account, which is then locked with notice (`user.locked` in the audit
    trail, and the refusal says so); past a limit the answer is 429 with Retry-After, before
    the password is even checked.
    """
    # A name no user can have is refused before it reaches the store or the audit trail, and
    # counts against the address only (it names no account).
    name = username if identity.is_login_name(username) else None
    wait, locked = state.logins.wait(origin, name)
    if wait > 0:
        raise LoginRefused(429, LOCKED if locked else LIMITED, max(1, round(wait)))
    principal = None
    try:  # counted even when the check itself fails (a store error), before anything else
        if name is not None:
            principal = identity.authenticate(state.ctx, name, password, origin)
    finally:
        if principal is None and state.logins.failed(origin, name) and name is not None:
            failures = state.logins.account.max_failures
            identity.record_lockout(state.ctx, name, origin, failures)
    if principal is None:
        raise LoginRefused(401, WRONG)
    state.logins.succeeded(origin, principal.username)
    return principal
