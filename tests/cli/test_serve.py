"""`cairn serve` on the demo workspace: the printed demo login works out of the box (SQLite)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

RunCli = Callable[..., tuple[int, str, str]]  # the run_cli fixture of tests/conftest.py


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served_demo(workspace: Path, run_cli: RunCli) -> Iterator[tuple[str, str, str]]:
    """(base URL, user, password) of `cairn serve` on a fresh demo workspace."""
    code, out, err = run_cli("demo", "--workers", "1", env={"COLUMNS": "400"})
    assert code == 0, err
    found = re.search(r"cairn serve --workspace (\S+) ; login (\S+) / (\S+)", out)
    assert found is not None, out
    assert Path(found[1]) == workspace.absolute()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cairn", "serve", "--workspace", found[1], "--port", str(port)],
        env={**os.environ, "CAIRN_DATABASE_URL": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield base, found[2], found[3]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_demo_login_works_on_the_served_demo(served_demo: tuple[str, str, str]) -> None:
    base, user, password = served_demo
    assert httpx.get(f"{base}/cases").status_code == 401  # nothing without a token
    login = httpx.post(f"{base}/auth/token", data={"username": user, "password": password})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    cases = httpx.get(f"{base}/cases", headers=headers).json()
    assert [c["ref"] for c in cases] == ["DEMO-1"]
    matches = httpx.get(f"{base}/cases/DEMO-1/matches", headers=headers).json()
    assert {m["triage"] for m in matches} >= {"known", "near-known"}
    sha = matches[0]["media_sha256"]
    thumbnail = httpx.get(f"{base}/media/{sha}/thumbnail", headers=headers)
    assert thumbnail.status_code == 200
    assert thumbnail.headers["cache-control"] == "no-store, private"
    assert "server" not in thumbnail.headers  # the HTTP stack's version is not announced
    sets = httpx.get(f"{base}/hashsets", headers=headers).json()
    assert {s["agency_code"] for s in sets} == {"DEMO"}
