"""Workers run as user nobody, who may not enter the tests' 0700 folders: the cluster tests'
stand-in for a worker machine that cannot read the evidence or the index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
DROP_TO_NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


def as_nobody(*command: str) -> list[str]:
    """`command` run as nobody, once nobody is known to be able to run this checkout's Python
    and import Cairn and Dask. A checkout under a folder only its owner may enter (`mktemp -d`
    makes them 0700) leaves such a worker unable to start at all, and the test would wait two
    minutes for it and fail without saying why."""
    probe = subprocess.run(
        [*DROP_TO_NOBODY, str(VENV_BIN / "python"), "-c", "import cairn, distributed"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, (
        f"user nobody cannot run {VENV_BIN / 'python'} and import cairn: the checkout and the "
        "folders above it must be searchable by others (chmod o+rx): "
        + probe.stderr.decode(errors="replace")[-300:]
    )
    return [*DROP_TO_NOBODY, *command]
