"""Two `cairn serve` processes on loopback exchange a signed bundle, a match filter, series
statuses and a person notice over `/api/v1/share`, with API tokens of partner accounts; the
notice's hit in the other instance's messaging import comes back to its owner with nothing of
the case."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx

from cairn.core.types import Role
from cairn.messaging.samples import CAROL, example_device, write_msgstore
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset, list_hashsets
from cairn.services.identity import (
    create_agency,
    create_api_token_for,
    create_user,
    list_agencies,
)
from cairn.services.messaging.importing import import_path
from cairn.services.series import create_series, set_status
from cairn.services.sharing.trust import export_public_key, trust

PASSWORD = "benign test password"


def _instance(root: Path, agency: str, partner: str) -> dict[str, str]:
    """A workspace with an agency, an examiner, and an account for the partner instance;
    returns their API tokens."""
    with closing(Context.open(root)) as ctx:
        create_agency(ctx, agency, agency, agency[:2])
        create_user(ctx, "exam", agency, Role.EXAMINER, PASSWORD)
        create_user(ctx, partner, agency, Role.PARTNER, PASSWORD)
        export_public_key(ctx, root / "public.key")
        return {
            "exam": create_api_token_for(ctx, "exam", "test"),
            partner: create_api_token_for(ctx, partner, "exchange"),
        }


@contextmanager
def _served(root: Path) -> Iterator[httpx.Client]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "cairn", "serve", "--workspace", str(root), "--port", str(port)],
        env={**os.environ, "CAIRN_DATABASE_URL": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                client.get("/health")
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=30)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_two_servers_exchange_a_bundle_a_filter_and_a_notice(tmp_path: Path) -> None:
    nl_root, be_root = tmp_path / "nl", tmp_path / "be"
    nl_tokens = _instance(nl_root, "NL-NP", "BE")
    be_tokens = _instance(be_root, "BE-FP", "NL")
    with closing(Context.open(nl_root)) as nl, closing(Context.open(be_root)) as be:
        trust(nl, "BE", be_root / "public.key")
        trust(be, "NL", nl_root / "public.key")
        known = tmp_path / "national.csv"
        known.write_text("sha256,category,series\n" + f"{1:064x},vics:1,Bridge\n")
        agency = {a.code: a.id for a in list_agencies(nl)}
        import_hashset(nl, known, "national", agency_id=agency["NL-NP"])
        bridge = create_series(nl, None, "Bridge", shared=True, contact="NL-NP VID desk")
        set_status(nl, None, bridge.id, "safeguarded")
        (national,) = list_hashsets(nl)
        create_case(be, "BE-1", agency_id=list_agencies(be)[0].id)

    with _served(nl_root) as nl_api, _served(be_root) as be_api:
        as_be_partner = _auth(nl_tokens["BE"])  # BE's account at NL
        as_nl_partner = _auth(be_tokens["NL"])  # NL's account at BE
        for what, query in (("bundle", {}), ("filter", {"name": "national-filter"})):
            sent = nl_api.get(f"/share/hashsets/{national.id}/{what}", headers=as_be_partner)
            assert sent.status_code == 200, sent.text
            answer = be_api.post(
                "/share/import",
                content=sent.content,
                params=query,
                headers=_auth(be_tokens["exam"]),
            )
            assert answer.status_code == 200, answer.text
            assert (answer.json()["owner"], answer.json()["entries"]) == ("NL", 1)
        tampered = bytearray(sent.content)
        tampered[30] ^= 1
        refused = be_api.post(
            "/share/import", content=bytes(tampered), headers=_auth(be_tokens["exam"])
        )
        assert refused.status_code == 422
        sets = be_api.get("/hashsets", headers=_auth(be_tokens["exam"])).json()
        assert sorted((s["name"], s["format"], s["owner"]) for s in sets) == [
            ("national", "share-bundle", "NL"),
            ("national-filter", "filter", "NL"),
        ]
        # A partner account reads what is shared with it, and nothing of the cases.
        assert nl_api.get("/cases", headers=as_be_partner).status_code == 403

        statuses = nl_api.get("/share/series", headers=as_be_partner)
        assert statuses.status_code == 200, statuses.text
        answer = be_api.post(
            "/share/import", content=statuses.content, headers=_auth(be_tokens["exam"])
        )
        assert (answer.json()["kind"], answer.json()["entries"]) == ("series", 1)

        notice = nl_api.post(
            "/alerts",
            json={"kind": "phone", "value": CAROL.phone, "note": "ask NL-NP", "notice": True},
            headers=_auth(nl_tokens["exam"]),
        )
        assert notice.status_code == 201, notice.text
        notices = nl_api.get("/share/notices", headers=as_be_partner)
        imported = be_api.post(
            "/share/import", content=notices.content, headers=_auth(be_tokens["exam"])
        )
        assert imported.json()["kind"] == "notices"

        store = write_msgstore(tmp_path / "phone" / "msgstore.db", example_device())
        with closing(Context.open(be_root)) as be:  # BE's own messaging import, on its store
            import_path(be, store, "BE-1", "phone")
        hits = be_api.get("/share/notice-hits", headers=as_nl_partner)
        assert hits.status_code == 200 and b"BE-1" not in hits.content
        back = nl_api.post("/share/import", content=hits.content, headers=_auth(nl_tokens["exam"]))
        assert back.json()["kind"] == "notice-hits", back.text
        (hit,) = nl_api.get("/alerts/hits", headers=_auth(nl_tokens["exam"])).json()
        assert (hit["alert"], hit["remote"], hit["case"], hit["item"], hit["source"]) == (
            notice.json()["id"],
            "BE",
            None,
            None,
            "messaging",
        )
