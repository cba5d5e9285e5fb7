"""Fixtures of the service tests: two agencies and their users."""

from __future__ import annotations

import pytest

from cairn.core.types import Role
from cairn.services.context import Context
from cairn.services.identity import Principal, authenticate, create_agency, create_user

PASSWORD = "benign test password"


@pytest.fixture
def people(db_ctx: Context) -> dict[str, Principal]:
    """Agencies NL-NP and BE-FP, each with a victim-id specialist and an auditor, as
    principals keyed "role@AGENCY"."""
    found = {}
    for code in ("NL-NP", "BE-FP"):
        create_agency(db_ctx, code, f"Agency {code}", code[:2])
        for role in (Role.VICTIM_ID, Role.AUDITOR):
            name = f"{role.value}.{code.lower()}"
            create_user(db_ctx, name, code, role, PASSWORD)
            principal = authenticate(db_ctx, name, PASSWORD, "test")
            assert principal is not None
            found[f"{role.value}@{code}"] = principal
    return found
