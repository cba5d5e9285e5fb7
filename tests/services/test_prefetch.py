"""The start of `cairn ingest` before the store opens: settings, workers on the first units."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cairn.core.settings import AnalysisSettings
from cairn.media.thumbnail import load_or_create_key
from cairn.services.prefetch import ingest_settings, prefetch_ingest


def test_nothing_of_the_store_is_imported() -> None:
    """The start-up gain: the workers are started before SQLAlchemy and the models load."""
    code = (
        "import sys, cairn.services.prefetch; "
        "print(sorted(m for m in sys.modules if m == 'sqlalchemy' or m.startswith('cairn.store')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out == "[]\n"


def test_settings_carry_the_workspace_key_and_the_options(tmp_path: Path) -> None:
    workspace = tmp_path / "new-workspace"
    settings = ingest_settings(workspace, exact_pdq=True, max_image_pixels=100)
    assert workspace.is_dir() and (workspace / "thumbnail.key").is_file()
    key = load_or_create_key(workspace / "thumbnail.key")
    assert settings == AnalysisSettings(thumbnail_key=key, exact_pdq=True, max_image_pixels=100)
    assert ingest_settings(workspace).thumbnail_key == key  # the same key on every run


def test_workers_start_on_the_first_units(tmp_path: Path) -> None:
    tree = tmp_path / "device"
    tree.mkdir()
    for i in range(5):
        (tree / f"f{i}").write_bytes(b"%d" % i)
    ahead = prefetch_ingest(tree, None, 2, AnalysisSettings())
    assert ahead is not None
    try:
        ahead.wait()
        assert ahead.units == 5
    finally:
        ahead.close()


def test_nothing_starts_in_process_or_for_a_source_the_ingest_will_refuse(tmp_path: Path) -> None:
    settings = AnalysisSettings()
    assert prefetch_ingest(tmp_path, None, 0, settings) is None  # in-process
    assert prefetch_ingest(tmp_path, None, -1, settings) is None  # a usage error, reported later
    assert prefetch_ingest(tmp_path / "missing", None, 2, settings) is None
    assert prefetch_ingest(tmp_path, "no-such-kind", 2, settings) is None
