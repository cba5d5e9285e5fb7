"""Logging a test client in through the login form, as a browser does."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

PASSWORD = "benign test password"


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in and return the session's CSRF token."""
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": login_token(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    found = re.search(r'data-csrf="([^"]+)"', client.get("/cases").text)
    assert found is not None
    return found.group(1)


def queue_shas(html: str) -> list[str]:
    return re.findall(r'data-sha256="([0-9a-f]{64})"', html)
