"""The workspace that `cairn --workspace DIR` (or CAIRN_WORKSPACE) chose, and the services'
context over it. The store loads on first use: every worker process imports the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cairn.services.context import Context

_state: dict[str, Path | None] = {}


def choose(workspace: Path | None) -> None:
    """Called by the `cairn` callback, before any command runs."""
    _state["workspace"] = workspace


def chosen() -> Path | None:
    return _state.get("workspace")


def context() -> Context:
    from cairn.services.context import Context

    return Context.open(chosen())
