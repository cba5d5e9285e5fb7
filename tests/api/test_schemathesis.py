"""Property-based requests from the OpenAPI schema, as an authenticated examiner: whatever
schemathesis sends to whichever route, the server never answers with a 5xx.

Runs on the two-agency world of conftest.py (SQLite and PostgreSQL). Hypothesis drives each
operation's strategy directly: schemathesis's pytest plugin does not load on pytest 9. The
examples per route are bounded and derandomised, so a run is short and reproducible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, Case

from cairn.api.permissions import V1
from cairn.core.types import Role

if TYPE_CHECKING:
    from conftest import World

EXAMPLES_PER_ROUTE = 12


def _no_server_error(operation: APIOperation, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: "
            f"{response.text[:500]}\n{case.as_curl_command()}"
        )

    check()


def test_no_request_makes_a_server_error(world: World) -> None:
    schema = schemathesis.openapi.from_asgi(f"{V1}/openapi.json", world.client.app)
    headers = world.headers(Role.EXAMINER, "AA-1")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25  # the whole route table, not a schema that failed to load
    failures = []
    for operation in operations:  # every route is tried, and every failing one reported
        try:
            _no_server_error(operation, headers)
        except Exception as exc:  # a 5xx assertion, or the app's own exception
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:300]}")
    assert not failures, "\n".join(failures)
