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
    assert created.json()["username"] == "BB-2:new.analyst"  # the agency's namespace
    assert "a long benign pass" not in created.text
    login = world.client.post(
        "/api/v1/auth/token",
        data={"username": "BB-2:new.analyst", "password": "a long benign pass"},
    )
    assert login.status_code == 200
    token = {"Authorization": f"Bearer {login.json()['access_token']}"}
    names = [u["username"] for u in world.client.get("/api/v1/users", headers=admin).json()]
    assert "BB-2:new.analyst" in names
    assert all(n.endswith(".bb-2") or n == "BB-2:new.analyst" for n in names)
    off = world.client.put(
        "/api/v1/users/BB-2:new.analyst/active", json={"active": False}, headers=admin
    )
    assert off.json()["active"] is False
    assert world.client.get("/api/v1/cases", headers=token).status_code == 401
    short = world.client.post(
        "/api/v1/users",
        json={"username": "weak", "role": "examiner", "password": "too short"},
        headers=admin,
    )
    assert short.status_code == 422


def test_a_name_another_agency_uses_is_no_clue(world: World) -> None:
    # Issue 13: creating a user whose name another agency used said so. Names made through
    # the API live in the admin's agency's namespace, so both answers are the same success.
    admin = world.headers(Role.ADMIN, "BB-2")
    answers = []
    for name in ("examiner.aa-1", "nobody.anywhere"):  # AA-1 has the first, no one the second
        created = world.client.post(
            "/api/v1/users",
            json={"username": name, "role": "examiner", "password": "a long benign pass"},
            headers=admin,
        )
        answers.append((created.status_code, created.json()["username"]))
    assert answers == [(201, "BB-2:examiner.aa-1"), (201, "BB-2:nobody.anywhere")]
    again = world.client.post(
        "/api/v1/users",
        json={"username": "examiner.aa-1", "role": "examiner", "password": "a long benign pass"},
        headers=admin,
    )
    assert again.status_code == 422  # taken in its own agency: its admin may know that
