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
from typing import Any

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
    # The same login opens the review workspace in a browser, at the root of the server.
    with httpx.Client(base_url=base.removesuffix("/api/v1")) as browser:
        form = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        answer = browser.post(
            "/login",
            data={"username": user, "password": password, "csrf_token": token[1]},
        )
        assert answer.status_code == 303
        queue = browser.get("/cases/DEMO-1/queue")
        assert queue.status_code == 200 and "data-sha256" in queue.text


def _client_seen(forwarded_allow_ips: str | None) -> list[str]:
    """The client address an app sees behind uvicorn configured as `cairn serve` does it, for
    a request from loopback that claims to be from 203.0.113.9."""
    import asyncio

    import uvicorn

    from cairn.cli.serve import uvicorn_options

    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["client"][0])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = uvicorn.Config(app, **uvicorn_options("127.0.0.1", 0, forwarded_allow_ips))
    config.load()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"x-forwarded-for", b"203.0.113.9")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    asyncio.run(config.loaded_app(scope, receive, send))
    return seen


def test_forwarded_headers_are_believed_only_from_named_proxies() -> None:
    # uvicorn's default trusts loopback: anything on the host could forge audit addresses.
    assert _client_seen(None) == ["127.0.0.1"]
    assert _client_seen("10.0.0.5") == ["127.0.0.1"]  # a proxy, but not this peer
    assert _client_seen("127.0.0.1") == ["203.0.113.9"]  # the configured proxy is believed
