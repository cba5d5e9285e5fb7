"""Where Cairn keeps its data and who is acting (docs/architecture.md, "The workspace")."""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WORKSPACE = "cairn-data"
AUDIT_KEY_ENV = "CAIRN_AUDIT_KEY_FILE"
# Pillow's own default limit (about 179 MP); images above it are refused as decompression bombs.
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970


def positive_int_env(name: str) -> int | None:
    """A tuning variable that must be a positive integer; None when unset or blank."""
    from cairn.core.errors import UsageError

    value = os.environ.get(name, "")
    try:
        number = int(value) if value.strip() else None
    except ValueError:
        number = 0
    if number is not None and number < 1:
        raise UsageError(f"{name} must be a positive integer, not {value!r}")
    return number


@dataclass(frozen=True)
class Workspace:
    """A workspace folder: database (SQLite by default), keys, indexes. Created with mode 0700."""

    root: Path
    database_url: str

    @classmethod
    def resolve(cls, workspace: str | os.PathLike[str] | None = None) -> Workspace:
        root = Path(workspace or os.environ.get("CAIRN_WORKSPACE") or DEFAULT_WORKSPACE)
        root = root.expanduser().absolute()
        url = os.environ.get("CAIRN_DATABASE_URL") or f"sqlite:///{root / 'cairn.db'}"
        return cls(root=root, database_url=url)

    def create(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    @property
    def key_file(self) -> Path:
        return self.root / "thumbnail.key"

    @property
    def audit_key_file(self) -> Path:
        """The audit chain's key (services/context.py): CAIRN_AUDIT_KEY_FILE, where it can be
        kept out of the workspace's reach, else audit.key in the workspace."""
        named = os.environ.get(AUDIT_KEY_ENV)
        return Path(named).expanduser().absolute() if named else self.root / "audit.key"


@dataclass(frozen=True)
class Actor:
    """Who does something, for audit: a Cairn user of an agency on the server, the
    operating-system user at the command line."""

    user: str
    host: str
    origin: str = "cli"  # where the request came from: "cli" or the client's address
    agency: str | None = None  # the acting user's agency code; None for the local operator

    @classmethod
    def current(cls) -> Actor:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        return cls(user=user, host=socket.gethostname())
