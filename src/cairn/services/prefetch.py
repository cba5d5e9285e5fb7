"""The start of `cairn ingest`, before the store is open: the run's settings, and workers
started on the source's first units (`evidence.pool.prefetch`).

Nothing here imports the store: opening it costs about half a second of imports and queries,
during which the workers already hash. `services.ingest.ingest(prefetched=...)` adopts their
work, or drops it when its settings differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cairn.core.config import Workspace
from cairn.core.errors import CairnError
from cairn.core.settings import AnalysisSettings
from cairn.evidence.pool import Prefetch, default_workers, prefetch
from cairn.evidence.registry import open_source
from cairn.media.thumbnail import load_or_create_key


def ingest_settings(workspace: Path | None, **options: Any) -> AnalysisSettings:
    """The options given, with the workspace's thumbnail key (the workspace is created if new)."""
    resolved = Workspace.resolve(workspace)
    resolved.create()
    return AnalysisSettings(thumbnail_key=load_or_create_key(resolved.key_file), **options)


def prefetch_ingest(
    source: Path, kind: str | None, workers: int | None, settings: AnalysisSettings
) -> Prefetch | None:
    """Workers started on the source's first units; None when the ingest runs in-process or
    cannot open the source (it reports that itself, in its words)."""
    if workers is not None and workers <= 0:  # in-process, or a usage error the ingest reports
        return None
    try:
        src = open_source(source.expanduser().resolve(), kind)
    except (CairnError, OSError):
        return None
    return prefetch(src, default_workers() if workers is None else workers, settings)
