"""One video's vPDQ file, hashes only, for sharing."""

from __future__ import annotations

from typing import IO

from cairn.hashing.vpdq import write_vpdq
from cairn.services.context import Context
from cairn.services.video_matching.listing import video_frames
from cairn.store import audit


def export_vpdq(ctx: Context, sha256: str, out: IO[str]) -> int:
    """Write one video's vPDQ file (hashes only, for sharing); the number of frames."""
    frames = video_frames(ctx, sha256)
    with ctx.db.session() as session:
        audit.record(session, ctx.actor, "export.vpdq", None, sha256=sha256, frames=len(frames))
    return write_vpdq(frames, out)
