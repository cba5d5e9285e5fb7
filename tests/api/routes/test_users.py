"""An agency's admin manages its users through the API; other agencies' users are not found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.core.types import Role

if TYPE_CHECKING:
    from conftest import World


def test_admin_creates_lists_and_disables_users_of_its_agency(world: World) -> None:
    admin = world.headers(Role.ADMIN, "BB-2")
    created = world.client.post(
        "/api/v1/users",
        json={"username": "new.analyst", "role": "victim-id", "password": "a long benign pass"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert (created.json()["agency"], created.json()["role"]) == ("BB-2", "victim-id")
    assert "a long benign pass" not in created.text
    login = world.client.post(
        "/api/v1/auth/token", data={"username": "new.analyst", "password": "a long benign pass"}
    )
    assert login.status_code == 200
    token = {"Authorization": f"Bearer {login.json()['access_token']}"}
    names = [u["username"] for u in world.client.get("/api/v1/users", headers=admin).json()]
    assert "new.analyst" in names and all(n.endswith(".bb-2") or n == "new.analyst" for n in names)
    off = world.client.put(
        "/api/v1/users/new.analyst/active", json={"active": False}, headers=admin
    )
    assert off.json()["active"] is False
    assert world.client.get("/api/v1/cases", headers=token).status_code == 401
    short = world.client.post(
        "/api/v1/users",
        json={"username": "weak", "role": "examiner", "password": "too short"},
        headers=admin,
    )
    assert short.status_code == 422
