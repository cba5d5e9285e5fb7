"""Agencies, users, passwords and tokens: who is calling, and how they proved it.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second recommended
setting). Two kinds of bearer token exist:

- access tokens: short-lived, stateless, `cat1.<payload>.<HMAC-SHA256>` with the server's
  secret key; they die at expiry or when the user is disabled;
- API tokens for automation: `cairn_<random>`, stored only as SHA-256, revocable one by one.

Secrets (passwords, tokens, the key) are never logged nor audited.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cairn.core.config import Actor
from cairn.core.errors import NotFoundError, UsageError
from cairn.core.types import Role
from cairn.services.access import is_row_id, owning_agency, require
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.identity_models import Agency, ApiToken, User
from cairn.store.models import Case, HashSet

MIN_PASSWORD_LENGTH = 12  # NIST SP 800-63B's floor is 8; 12 for accounts that reach case data
ACCESS_TOKEN_PREFIX = "cat1."  # "Cairn access token", format version 1
API_TOKEN_PREFIX = "cairn_"
SECRET_KEY_FILE = "secret.key"
_LAST_USED_RESOLUTION = timedelta(minutes=1)  # fewer writes under load than every request
# ':' for the agency namespace of users made through the API (access.in_namespace).
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{1,99}")
_AGENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,39}")
_COUNTRY = re.compile(r"[A-Z]{2}")

_hasher = PasswordHasher()  # Argon2id


@dataclass(frozen=True)
class Principal:
    """An authenticated user of an agency, as every service that checks access sees it."""

    user_id: int
    username: str
    agency_id: int
    agency_code: str
    role: Role


@dataclass(frozen=True)
class AgencyInfo:
    id: int
    code: str
    name: str
    country: str
    created_at: str


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    agency: str
    role: Role
    active: bool
    created_at: str
    created_by: str


@dataclass(frozen=True)
class ApiTokenInfo:
    id: int
    username: str
    name: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


def actor_for(principal: Principal, origin: str) -> Actor:
    """Who the audit trail names for a request of `principal` from `origin` (client address)."""
    return Actor(
        user=principal.username, host=_server_host(), origin=origin, agency=principal.agency_code
    )


@cache
def _server_host() -> str:
    """The host that served the request (asked once: every request is audited)."""
    return Actor.current().host


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value else None


def utc(value: datetime) -> datetime:
    """A time given by a caller, in UTC: stores keep UTC only (SQLite would drop an offset)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise UsageError(f"{value.isoformat()}: a time needs its UTC offset")
    return value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite returns naive UTC


# Agencies and users --------------------------------------------------------------------------


def _agency(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFoundError(f"no agency {code!r}")
    return agency


def _agency_info(a: Agency) -> AgencyInfo:
    return AgencyInfo(a.id, a.code, a.name, a.country, a.created_at.isoformat())


def create_agency(ctx: Context, code: str, name: str, country: str) -> AgencyInfo:
    if not _AGENCY_CODE.fullmatch(code):
        raise UsageError(f"agency code {code!r}: use capitals, digits and '-' (e.g. NL-NP)")
    if not _COUNTRY.fullmatch(country):
        raise UsageError(f"country {country!r}: use the ISO 3166 two-letter code (e.g. NL)")
    if not name.strip():
        raise UsageError("an agency needs a name")
    try:
        with ctx.db.session() as session:
            agency = Agency(code=code, name=name, country=country, created_at=datetime.now(UTC))
            session.add(agency)
            session.flush()
            audit.record(
                session, ctx.actor, "agency.create", None, code=code, name=name, country=country
            )
            return _agency_info(agency)
    except IntegrityError as exc:
        raise UsageError(f"agency {code!r} already exists") from exc


def list_agencies(ctx: Context) -> list[AgencyInfo]:
    with ctx.db.session() as session:
        return [_agency_info(a) for a in session.scalars(select(Agency).order_by(Agency.code))]


def _user_info(user: User, agency_code: str) -> UserInfo:
    return UserInfo(
        user.id,
        user.username,
        agency_code,
        Role(user.role),
        user.active,
        user.created_at.isoformat(),
        user.created_by,
    )


def _check_admin_scope(principal: Principal | None, agency_code: str) -> None:
    """An admin manages the users of its own agency; another agency's look like none at all."""
    if principal is None:
        return
    require(principal, "user.manage")
    if agency_code != principal.agency_code:
        raise NotFoundError(f"no agency {agency_code!r}")


def is_login_name(name: str) -> bool:
    """Whether `name` can be a user's name at all (checked before a login touches anything)."""
    return _USERNAME.fullmatch(name) is not None


def create_user(
    ctx: Context,
    username: str,
    agency_code: str,
    role: Role | str,
    password: str,
    *,
    principal: Principal | None = None,
) -> UserInfo:
    """Add a user; `principal` (an admin) limits this to its own agency, None is the operator."""
    if not is_login_name(username):
        raise UsageError(f"user name {username!r}: 2-100 letters, digits or . _ @ : -")
    try:
        role = Role(role)
    except ValueError:
        raise UsageError(f"role must be one of {', '.join(Role)}, not {role!r}") from None
    _check_password(password)
    _check_admin_scope(principal, agency_code)
    password_hash = _hasher.hash(password)
    try:
        with ctx.db.session() as session:
            agency = _agency(session, agency_code)
            user = User(
                username=username,
                agency_id=agency.id,
                role=role.value,
                password_hash=password_hash,
                active=True,
                created_at=datetime.now(UTC),
                created_by=ctx.actor.user,
            )
            session.add(user)
            session.flush()
            audit.record(
                session,
                ctx.actor,
                "user.create",
                None,
                username=username,
                user_agency=agency_code,
                role=role.value,
            )
            return _user_info(user, agency.code)
    except IntegrityError as exc:
        raise UsageError(f"user {username!r} already exists") from exc


def list_users(
    ctx: Context, agency_code: str | None = None, *, principal: Principal | None = None
) -> list[UserInfo]:
    if principal is not None:
        agency_code = agency_code or principal.agency_code
        _check_admin_scope(principal, agency_code)
    with ctx.db.session() as session:
        query = _users_with_agency()
        if agency_code is not None:
            query = query.where(Agency.code == agency_code)
        rows = session.execute(query.order_by(User.username))
        return [_user_info(user, code) for user, code in rows]


def set_user_active(
    ctx: Context, username: str, active: bool, *, principal: Principal | None = None
) -> UserInfo:
    """Enable or disable a user. A disabled user's tokens stop working at once."""
    with ctx.db.session() as session:
        row = session.execute(_users_with_agency().where(User.username == username)).one_or_none()
        if row is None:
            raise NotFoundError(f"no user {username!r}")
        user, code = row
        if principal is not None:
            try:
                _check_admin_scope(principal, code)
            except NotFoundError:
                raise NotFoundError(f"no user {username!r}") from None
        user.active = active
        # Disabling revokes the API tokens, so that enabling again revives none of them.
        revoked = 0 if active else _revoke_all(session, user.id)
        action = "user.enable" if active else "user.disable"
        if active:
            audit.record(session, ctx.actor, action, None, username=username)
        else:
            audit.record(session, ctx.actor, action, None, username=username, revoked=revoked)
        return _user_info(user, code)


def _revoke_all(session: Session, user_id: int) -> int:
    """Revoke every live API token of a user; how many were."""
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    ).all()
    now = datetime.now(UTC)
    for row in rows:
        row.revoked_at = now
    return len(rows)


def set_password(ctx: Context, username: str, password: str) -> None:
    """Give a user a new password (the operator's reset; audited, the password never is).
    The user's API tokens are revoked (whoever forced the reset may hold one); access tokens
    already issued run out within their lifetime."""
    _check_password(password)
    password_hash = _hasher.hash(password)
    with ctx.db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFoundError(f"no user {username!r}")
        user.password_hash = password_hash
        revoked = _revoke_all(session, user.id)
        audit.record(session, ctx.actor, "user.password", None, username=username, revoked=revoked)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


# Passwords ----------------------------------------------------------------------------------


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _users_with_agency() -> Select[User, str]:
    """Users with their agency's code, which principals and listings carry."""
    return select(User, Agency.code).join(Agency, Agency.id == User.agency_id)


def _principal(user: User, agency_code: str) -> Principal:
    return Principal(user.id, user.username, user.agency_id, agency_code, Role(user.role))


def authenticate(ctx: Context, username: str, password: str, origin: str) -> Principal | None:
    """The user if the password is right and the account active; every attempt is audited."""
    with ctx.db.session() as session:
        row = session.execute(_users_with_agency().where(User.username == username)).one_or_none()
        user, code = row if row is not None else (None, None)
        # An unknown name costs one Argon2 verification too: no timing oracle on user names.
        stored = user.password_hash if user is not None else _dummy_hash()
        valid = _verify(stored, password)
        actor = Actor(user=username, host=ctx.actor.host, origin=origin, agency=code)
        if user is None or not valid or not user.active:
            reason = "bad-credentials" if user is None or not valid else "disabled"
            audit.record(session, actor, "login-failed", None, reason=reason)
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        audit.record(session, actor, "login", None)
        assert code is not None  # joined with its agency
        return _principal(user, code)


# Access tokens ------------------------------------------------------------------------------


@cache
def _key_from_file(path: Path) -> bytes:
    key = path.read_bytes().strip()
    if len(key) < 32:
        raise UsageError(f"{path}: a secret key needs at least 32 bytes")
    return key


def _secret_key(ctx: Context) -> bytes:
    """CAIRN_SECRET_KEY, else the file CAIRN_SECRET_KEY_FILE names, else the workspace's
    secret.key (made on first use, mode 0600). Servers sharing one database share one key."""
    env = os.environ.get("CAIRN_SECRET_KEY")
    if env:
        if len(env) < 32:
            raise UsageError("CAIRN_SECRET_KEY needs at least 32 characters")
        return env.encode()
    named = os.environ.get("CAIRN_SECRET_KEY_FILE")
    if named:
        return _key_from_file(Path(named))
    path = ctx.workspace.root / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _key_from_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32))
    return _key_from_file(path)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def issue_access_token(ctx: Context, principal: Principal, ttl_seconds: int = 900) -> str:
    now = int(time.time())
    claims: dict[str, int | str] = {"u": principal.user_id, "iat": now, "exp": now + ttl_seconds}
    claims["n"] = secrets.token_hex(8)  # two tokens of one second never alike
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{ACCESS_TOKEN_PREFIX}{payload}.{_sign(_secret_key(ctx), payload)}"


def _access_token_user(ctx: Context, token: str) -> int | None:
    """The user id an access token names, if its signature holds and it has not expired."""
    payload, _, signature = token.removeprefix(ACCESS_TOKEN_PREFIX).partition(".")
    if not payload or not signature:
        return None
    if not hmac.compare_digest(signature, _sign(_secret_key(ctx), payload)):
        return None
    try:
        claims = json.loads(_unb64(payload))
        user_id, expires = int(claims["u"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    return user_id if time.time() < expires else None


# API tokens ---------------------------------------------------------------------------------


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _api_token_user(session: Session, token: str) -> int | None:
    # The lookup is by SHA-256 of the token: equality on a digest leaks nothing useful.
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _token_digest(token)))
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        return None
    if row.last_used_at is None or now - _aware(row.last_used_at) > _LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row.user_id


def principal_from_token(ctx: Context, token: str) -> Principal | None:
    """The active user behind an access or API token; None for anything not valid now."""
    if not token.isascii():
        return None
    with ctx.db.session() as session:
        if token.startswith(API_TOKEN_PREFIX):
            user_id = _api_token_user(session, token)
        elif token.startswith(ACCESS_TOKEN_PREFIX):
            user_id = _access_token_user(ctx, token)
        else:
            return None
        if user_id is None:
            return None
        return _active_principal(session, user_id)


def _active_principal(session: Session, user_id: int) -> Principal | None:
    row = session.execute(
        _users_with_agency().where(User.id == user_id, User.active.is_(True))
    ).one_or_none()
    return _principal(*row) if row is not None else None


def principal_for_user(ctx: Context, user_id: int) -> Principal | None:
    """The user of a browser session (web.sessions), if still active: a disabled user's
    session dies at its next request."""
    with ctx.db.session() as session:
        return _active_principal(session, user_id)


def _new_api_token(
    ctx: Context,
    session: Session,
    user: User,
    name: str,
    expires_at: datetime | None,
    max_lifetime: timedelta | None = None,
) -> str:
    if not name.strip():
        raise UsageError("an API token needs a name")
    now = datetime.now(UTC)
    expires_at = utc(expires_at) if expires_at is not None else None
    if max_lifetime is not None:
        if expires_at is None:
            expires_at = now + max_lifetime
        elif expires_at > now + max_lifetime:
            raise UsageError(f"an API token made here lives at most {max_lifetime.days} days")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_sha256=_token_digest(token),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        ctx.actor,
        "token.create",
        None,
        token_id=row.id,
        username=user.username,
        name=name,
        expires_at=_iso(expires_at),
    )
    return token


def create_api_token(
    ctx: Context,
    principal: Principal,
    name: str,
    expires_at: datetime | None = None,
    *,
    max_lifetime: timedelta | None = None,
) -> str:
    """A new API token of the caller itself; the token is shown once and stored as SHA-256.
    `max_lifetime` (the server's policy): the latest expiry, and the expiry when none is given,
    so that a 15-minute session cannot turn itself into a credential that never ends."""
    with ctx.db.session() as session:
        user = session.get(User, principal.user_id)
        if user is None:
            raise NotFoundError(f"no user {principal.username!r}")
        return _new_api_token(ctx, session, user, name, expires_at, max_lifetime)


def create_api_token_for(
    ctx: Context, username: str, name: str, expires_at: datetime | None = None
) -> str:
    """The local operator's way (`cairn token create`) to give a user an API token."""
    with ctx.db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFoundError(f"no user {username!r}")
        return _new_api_token(ctx, session, user, name, expires_at)


def _token_info(row: ApiToken, username: str) -> ApiTokenInfo:
    return ApiTokenInfo(
        row.id,
        username,
        row.name,
        _aware(row.created_at).isoformat(),
        _iso(row.expires_at),
        _iso(row.revoked_at),
        _iso(row.last_used_at),
    )


def list_api_tokens(ctx: Context, principal: Principal | None) -> list[ApiTokenInfo]:
    """The caller's own tokens; every user's for the local operator (None)."""
    with ctx.db.session() as session:
        query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
        if principal is not None:
            query = query.where(ApiToken.user_id == principal.user_id)
        return [_token_info(t, u) for t, u in session.execute(query.order_by(ApiToken.id))]


def revoke_api_token(ctx: Context, principal: Principal | None, token_id: int) -> ApiTokenInfo:
    """Revoke one of the caller's tokens (any token for the local operator, None)."""
    if not is_row_id(token_id):
        raise NotFoundError(f"no API token {token_id}")
    with ctx.db.session() as session:
        row = session.execute(
            select(ApiToken, User.username)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.id == token_id)
        ).one_or_none()
        if row is None or (principal is not None and row[0].user_id != principal.user_id):
            raise NotFoundError(f"no API token {token_id}")
        token, username = row
        if token.revoked_at is None:
            token.revoked_at = datetime.now(UTC)
            audit.record(
                session, ctx.actor, "token.revoke", None, token_id=token_id, username=username
            )
        return _token_info(token, username)


# Login rate limiting --------------------------------------------------------------------------


class LoginLimiter:
    """Failed logins per key (the server uses user name and client address) in a sliding
    window: after `max_failures` within `window` seconds the key waits until the oldest
    failure leaves the window. In memory, per server process."""

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._max_keys = max_keys  # bounds memory when someone sprays random names
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, key: str) -> float:
        """Seconds the key must wait before trying again; 0.0 when it may try now."""
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            if len(times) < self.max_failures:
                return 0.0
            return times[-self.max_failures] + self.window - now

    def failed(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            if key not in self._failures and len(self._failures) >= self._max_keys:
                self._prune(now)
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]
        while len(self._failures) >= self._max_keys:  # all recent: forget the oldest key
            del self._failures[next(iter(self._failures))]


class LoginGuard:
    """Which failed logins hold back which next tries (in memory, per server process).

    The (address, user) pair first: five wrong passwords from one place stop that place
    trying that account, not the account's owner elsewhere. The address, more widely: one
    place spraying many accounts. The account itself only past many failures from any number
    of addresses, and then with notice (the caller records `user.locked` and says so), so
    that a stranger's five guesses never lock its owner out unannounced."""

    def __init__(
        self,
        *,
        pair_failures: int = 5,
        address_failures: int = 20,
        account_failures: int = 50,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pair = LoginLimiter(pair_failures, window, clock)
        self.address = LoginLimiter(address_failures, window, clock)
        self.account = LoginLimiter(account_failures, window, clock)

    def wait(self, origin: str, name: str | None) -> tuple[float, bool]:
        """Seconds before the next try may be checked, and whether the account is locked.
        `name` None: a name no user can have, which counts against the address only."""
        waits = [self.address.check(origin)]
        if name is None:
            return waits[0], False
        waits.append(self.pair.check(f"{origin} {name}"))  # login names hold no blank
        locked = self.account.check(name)
        return max(*waits, locked), locked > 0

    def failed(self, origin: str, name: str | None) -> bool:
        """Count a failure; True when it has just locked the account (give notice of it)."""
        self.address.failed(origin)
        if name is None:
            return False
        self.pair.failed(f"{origin} {name}")
        was_locked = self.account.check(name) > 0
        self.account.failed(name)
        return not was_locked and self.account.check(name) > 0

    def succeeded(self, origin: str, name: str) -> None:
        # Only the pair is cleared: one right password must not reset the address's count
        # (one known password would let it try every other account) nor the account's.
        self.pair.succeeded(f"{origin} {name}")


def record_lockout(ctx: Context, username: str, origin: str, failures: int) -> None:
    """The notice of a locked account, in the trail its agency's auditors read."""
    with ctx.db.session() as session:
        code = session.scalar(
            select(Agency.code)
            .join(User, User.agency_id == Agency.id)
            .where(User.username == username)
        )
        actor = Actor(user=username, host=ctx.actor.host, origin=origin, agency=code)
        audit.record(session, actor, "user.locked", None, failures=failures)


# Ownership ------------------------------------------------------------------------------------


def owner_for_new(ctx: Context, agency_code: str | None) -> int | None:
    """The agency id a case or hash set made at the command line belongs to (see
    access.owning_agency): the one named, the only one, or none in a local workspace."""
    with ctx.db.session() as session:
        return owning_agency(session, agency_code)


def adopt_unowned(ctx: Context, agency_code: str) -> tuple[int, int]:
    """Give an agency the cases and hash sets made before the workspace had agencies (so a
    local workspace can become a server's). Returns (cases, hash sets) adopted."""
    with ctx.db.session() as session:
        agency = _agency(session, agency_code)
        cases = session.scalars(select(Case).where(Case.agency_id.is_(None))).all()
        sets = session.scalars(select(HashSet).where(HashSet.agency_id.is_(None))).all()
        for case in cases:
            case.agency_id = agency.id
        for hashset in sets:
            hashset.agency_id = agency.id
        audit.record(
            session,
            ctx.actor,
            "agency.adopt",
            None,
            code=agency_code,
            cases=len(cases),
            hash_sets=len(sets),
        )
        return len(cases), len(sets)
