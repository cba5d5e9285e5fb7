"""What runs in a worker: each thread opens its own source, once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

from cairn.core.settings import AnalysisSettings
from cairn.evidence.base import Unit
from cairn.evidence.directory import DirectorySource
from cairn.evidence.worker import process_batch


class CountedSource(DirectorySource):
    """A folder source that notes the thread of every instance made."""

    kind = "counted-directory"
    opened_in: ClassVar[list[int]] = []

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        CountedSource.opened_in.append(threading.get_ident())


def test_each_thread_opens_the_source_once_and_keeps_it(tmp_path: Path) -> None:
    """A Dask worker may run several threads: a source's open handles (an image's file
    systems) are not shared between them, and a thread's next batch reuses its own."""
    (tmp_path / "a.txt").write_bytes(b"a")
    units = [u for u in CountedSource(tmp_path).units() if isinstance(u, Unit)]
    CountedSource.opened_in.clear()
    settings = AnalysisSettings(thumbnails=False)

    stored: list[bytes] = []

    def two_batches() -> None:
        for _ in range(2):
            stored.extend(
                r.unit_path for r in process_batch(CountedSource, str(tmp_path), units, settings)
            )

    two_batches()
    other = threading.Thread(target=two_batches)
    other.start()
    other.join()
    assert stored == [b"a.txt"] * 4
    assert CountedSource.opened_in == [threading.get_ident(), other.ident]
