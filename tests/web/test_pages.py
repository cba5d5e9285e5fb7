"""The workspace's pages over HTTP: login, sessions, CSRF, agency walls, roles, protection."""

from __future__ import annotations

import io

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image, ImageFilter
from sqlalchemy import select
from tests.web.conftest import ReviewWorld, review_app
from tests.web.helpers import PASSWORD, csrf_of, log_in, login_token, queue_shas

from cairn.core.types import Role
from cairn.media.thumbnail import PROTECTED_BLUR_RADIUS
from cairn.services.identity import create_user
from cairn.services.links import Link, record_links
from cairn.store.models import AuditEvent
from cairn.web.guard import WebSettings

EXAMINER = "examiner.aa-1"


def test_a_visitor_is_sent_to_the_login_page(client: TestClient) -> None:
    answer = client.get("/cases/A-1/queue", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/cases/A-1/queue"
    assert client.get("/", follow_redirects=True).url.path == "/login"


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(
    client: TestClient,
) -> None:
    answer = client.post(
        "/login",
        data={
            "username": EXAMINER,
            "password": "benign test password",
            "csrf_token": login_token(client),
            "next": "/cases/A-1/queue",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/cases/A-1/queue"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "cairn_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    session = client.cookies["cairn_session"]
    csrf = csrf_of(client)
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert (
        client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    )
    client.cookies.set("cairn_session", session)  # the old cookie is dead on the server
    assert client.get("/cases", follow_redirects=False).status_code == 303


def test_login_refusals(client: TestClient) -> None:
    no_token = client.post("/login", data={"username": EXAMINER, "password": "x" * 12})
    assert no_token.status_code == 400
    wrong = client.post(
        "/login",
        data={
            "username": EXAMINER,
            "password": "not the password",
            "csrf_token": login_token(client),
        },
    )
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    assert "cairn_session" not in client.cookies


def test_the_login_rate_limit_applies(client: TestClient) -> None:
    statuses = [
        client.post(
            "/login",
            data={
                "username": EXAMINER,
                "password": "not the password",
                "csrf_token": login_token(client),
            },
        ).status_code
        for _ in range(12)
    ]
    assert statuses[0] == 401 and statuses[-1] == 429


def test_another_agencys_case_is_the_same_404_page_as_a_missing_one(
    client: TestClient, review_world: ReviewWorld
) -> None:
    log_in(client, EXAMINER)
    theirs = client.get("/cases/B-1/queue")
    missing = client.get("/cases/NO-SUCH/queue")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text == missing.text
    item = client.get(f"/cases/B-1/items/{review_world.other_sha}/protected.jpg")
    assert item.status_code == 404
    # An item of another case, asked for through one's own case, is as unknown.
    assert client.get(f"/cases/A-1/items/{review_world.other_sha}/protected.jpg").status_code == 404
    assert client.get("/api/v1/cases/B-1").status_code == 401  # the API keeps its JSON and tokens


def test_the_queue_stacks_near_duplicates_new_first(
    client: TestClient, review_world: ReviewWorld
) -> None:
    log_in(client, EXAMINER)
    page = client.get("/cases/A-1/queue")
    assert page.status_code == 200
    files = review_world.files
    shown = queue_shas(page.text)
    # Four stacks of six items, each item once; the copies stacked under their first-seen twin.
    assert len(shown) == 4
    for seed in (11, 12):
        a, b = files[f"pair{seed}-a.jpg"], files[f"pair{seed}-b.jpg"]
        assert (a in shown) != (b in shown)
        lead = a if a in shown else b
        assert f'data-sha256="{lead}" data-stack="2"' in page.text
    assert page.text.count('aria-current="true"') == 1
    gps = client.get("/cases/A-1/queue?gps=yes")
    assert queue_shas(gps.text) == [files["gps14.jpg"]]


def _decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def _distance(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).mean())


def test_thumbnails_leave_blurred_and_grey_until_one_item_is_revealed(
    client: TestClient, review_world: ReviewWorld
) -> None:
    csrf = log_in(client, EXAMINER)
    sha = review_world.files["gps14.jpg"]  # never flagged violent, so never gated
    protected = client.get(f"/cases/A-1/items/{sha}/protected.jpg")
    assert protected.status_code == 200 and protected.headers["cache-control"].startswith(
        "no-store"
    )
    hidden = _decode(protected.content)
    assert hidden.mode == "L"  # greyscale: no colour channel at all
    assert client.get(f"/cases/A-1/items/{sha}/reveal").status_code == 405  # never by GET
    assert client.post(f"/cases/A-1/items/{sha}/reveal").status_code == 403  # no CSRF token
    revealed = client.post(f"/cases/A-1/items/{sha}/reveal", headers={"X-CSRF-Token": csrf})
    assert revealed.status_code == 200
    clear = _decode(revealed.content)
    assert clear.mode == "RGB" and clear.size == hidden.size
    # The bytes served before the reveal are the clear picture in grey, blurred: close to
    # what the blur makes of it, far from the sharp grey picture.
    grey = clear.convert("L")
    blurred = grey.filter(ImageFilter.GaussianBlur(PROTECTED_BLUR_RADIUS))
    assert _distance(hidden, blurred) < 2
    assert _distance(hidden, grey) > 5 * _distance(hidden, blurred)
    exposure = int(revealed.headers["x-exposure-id"])
    ended = client.post(f"/exposure/{exposure}/end", headers={"X-CSRF-Token": csrf})
    assert ended.status_code == 204
    log = client.get("/exposure").text
    assert "you revealed <strong>1</strong> items" in log and sha[:16] in log
    with review_app(review_world).state.cairn.ctx.db.session() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "thumbnail.protected" in actions and "thumbnail.reveal" in actions


def test_auditors_get_no_image_at_all(client: TestClient, review_world: ReviewWorld) -> None:
    log_in(client, "auditor.aa-1")
    page = client.get("/cases/A-1/queue")
    assert page.status_code == 200 and "protected.jpg" not in page.text
    sha = review_world.files["single13.jpg"]
    assert client.get(f"/cases/A-1/items/{sha}/protected.jpg").status_code == 403


def test_a_violent_flag_gates_the_item_for_the_other_reviewers(
    review_world: ReviewWorld,
) -> None:
    sha = review_world.files["single13.jpg"]
    app = review_app(review_world)
    with TestClient(app) as first, TestClient(app) as second:
        csrf = log_in(first, "admin.aa-1")
        assert (
            first.post(f"/cases/A-1/items/{sha}/flag", headers={"X-CSRF-Token": csrf}).status_code
            == 204
        )
        # The flagger is not gated by their own flag.
        assert (
            first.post(f"/cases/A-1/items/{sha}/reveal", headers={"X-CSRF-Token": csrf}).status_code
            == 200
        )
        other = log_in(second, "victim-id.aa-1")
        assert 'data-violent="true"' in second.get("/cases/A-1/queue").text
        gated = second.post(f"/cases/A-1/items/{sha}/reveal", headers={"X-CSRF-Token": other})
        assert gated.status_code == 409
        opted = second.post(
            f"/cases/A-1/items/{sha}/reveal?violent_ok=true", headers={"X-CSRF-Token": other}
        )
        assert opted.status_code == 200
        assert "<strong>1</strong> of them were flagged violent" in second.get("/exposure").text


def test_the_break_prompt_comes_after_the_configured_exposure(review_world: ReviewWorld) -> None:
    # 0 seconds: any reveal calls for a break, so the test needs no clock. A reviewer of its
    # own, so that no other test's reveals count, and an item no test flags violent (a flag by
    # someone else would gate the reveal): the module's tests may run in any order.
    app = review_app(review_world, WebSettings(break_after_seconds=0))
    create_user(app.state.cairn.ctx, "break-taker.aa-1", "AA-1", Role.EXAMINER, PASSWORD)
    sha = review_world.files["gps14.jpg"]
    with TestClient(app) as client:
        csrf = log_in(client, "break-taker.aa-1")
        assert 'id="break-prompt"' not in client.get("/cases").text
        revealed = client.post(f"/cases/A-1/items/{sha}/reveal", headers={"X-CSRF-Token": csrf})
        assert revealed.status_code == 200
        assert 'id="break-prompt"' in client.get("/cases").text
        client.post("/exposure/break", data={"csrf_token": csrf})
        assert 'id="break-prompt"' not in client.get("/cases").text


def test_pages_forbid_framing_and_foreign_scripts(client: TestClient) -> None:
    log_in(client, EXAMINER)
    answer = client.get("/cases")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert "http" not in answer.text.split("<main")[0].replace("http-equiv", "")


def test_the_item_page_shows_metadata_places_and_a_protected_picture(
    client: TestClient, review_world: ReviewWorld
) -> None:
    log_in(client, EXAMINER)
    sha = review_world.files["gps14.jpg"]
    page = client.get(f"/cases/A-1/items/{sha}")
    assert page.status_code == 200
    assert sha in page.text and "gps14.jpg" in page.text and "52.37" in page.text
    assert f"/cases/A-1/items/{sha}/protected.jpg" in page.text
    assert client.get(f"/cases/B-1/items/{sha}").status_code == 404
    assert client.get(f"/cases/A-1/items/{review_world.other_sha}").status_code == 404
    assert client.get("/cases/A-1/items/not-a-hash").status_code == 400


def test_a_link_resting_on_a_video_keyframe_names_it_and_is_not_drawn(
    client: TestClient, review_world: ReviewWorld
) -> None:
    """A region on one keyframe of a video cannot be drawn over its contact sheet: the page
    names the keyframe instead; the picture at the link's other end gets its region drawn."""
    ctx = client.app.state.cairn.ctx  # type: ignore[attr-defined]
    video, still = review_world.files["single13.jpg"], review_world.files["gps14.jpg"]
    link = Link(
        video,
        still,
        "local-features",
        0.6,
        (10, 20, 100, 80),
        (30, 40, 120, 90),
        details={"keyframes": {video: 5.0}},
    )
    with ctx.db.engine.begin() as connection:
        record_links(connection, ctx.db.engine, [link], by="test")
    log_in(client, EXAMINER)
    page = client.get(f"/cases/A-1/items/{video}").text
    assert "10,20,100,80 on the keyframe at 5.0 s" in page and '<rect x="10"' not in page
    other = client.get(f"/cases/A-1/items/{still}").text
    assert '<rect x="30" y="40" width="120" height="90"' in other


def test_the_map_places_gps_and_location_messages_offline(
    client: TestClient, review_world: ReviewWorld
) -> None:
    log_in(client, EXAMINER)
    page = client.get("/cases/A-1/map")
    assert page.status_code == 200
    sha = review_world.files["gps14.jpg"]
    assert f'<a href="/cases/A-1/items/{sha}"' in page.text  # the photo's point links to it
    assert 'class="point message"' in page.text  # the location message
    assert page.text.count('class="land"') >= 10  # the shipped outline
    assert client.get("/static/world.geojson").status_code == 200
    assert client.get("/cases/B-1/map").status_code == 404


def test_the_messaging_graph_draws_people_and_groups(client: TestClient) -> None:
    log_in(client, EXAMINER)
    page = client.get("/cases/A-1/graph")
    assert page.status_code == 200
    assert 'class="group"' in page.text and 'class="person"' in page.text
    assert client.get("/cases/B-1/graph").status_code == 404


def test_the_series_board_lists_the_agencys_series(client: TestClient) -> None:
    log_in(client, EXAMINER)
    page = client.get("/cases/A-1/series")
    assert page.status_code == 200 and "Series board" in page.text
    assert client.get("/cases/B-1/series").status_code == 404


def test_the_report_is_made_from_the_workspace(client: TestClient) -> None:
    log_in(client, EXAMINER)
    assert "Make the report" in client.get("/cases/A-1/report").text
    answer = client.get("/cases/A-1/report/download?format=html")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert "A-1" in answer.text
    assert client.get("/cases/B-1/report/download?format=html").status_code == 404


def test_roles_without_export_see_no_report(client: TestClient) -> None:
    log_in(client, "victim-id.aa-1")
    assert client.get("/cases/A-1/report").status_code == 403
    assert ">Report<" not in client.get("/cases/A-1/queue").text


def test_the_alerts_page_shows_the_agencys_hits(
    client: TestClient, review_world: ReviewWorld
) -> None:
    from cairn.services.alerts import add_alert
    from cairn.services.identity import list_agencies
    from cairn.services.matching import match_case

    ctx = client.app.state.cairn.ctx  # type: ignore[attr-defined]
    agency = {a.code: a.id for a in list_agencies(ctx)}
    sha = review_world.files["single13.jpg"]
    add_alert(ctx, "sha256", sha, note="seen in OP-9", agency_id=agency["AA-1"])
    match_case(ctx, "A-1")
    log_in(client, EXAMINER)
    text = client.get("/alerts").text
    assert "seen in OP-9" in text and sha in text and ">A-1</a>" in text
    log_in(client, "examiner.bb-2")
    assert sha not in client.get("/alerts").text  # another agency's alert and hit


def test_grading_goes_through_the_grading_service_with_its_rules(
    review_world: ReviewWorld,
) -> None:
    from cairn.services.grading import list_grades
    from cairn.services.identity import authenticate

    sha = review_world.files["single13.jpg"]
    app = review_app(review_world)
    with TestClient(app) as client:
        csrf = log_in(client, "victim-id.aa-1")
        body = {"items": [sha], "category": "vics:3"}
        assert client.post("/cases/A-1/grade", json=body).status_code == 403  # no CSRF token
        headers = {"X-CSRF-Token": csrf}
        answer = client.post("/cases/A-1/grade", json=body, headers=headers)
        assert answer.status_code == 200 and answer.json()["votes"] == 1
        assert client.post("/cases/B-1/grade", json=body, headers=headers).status_code == 404
        bad = {"items": [sha], "category": "3"}  # a bare number names no scheme
        assert client.post("/cases/A-1/grade", json=bad, headers=headers).status_code == 400
        ctx = app.state.cairn.ctx
        principal = authenticate(ctx, "victim-id.aa-1", "benign test password", "test")
        mine = [v for v in list_grades(ctx, principal, "A-1") if v.by == "victim-id.aa-1"]
        assert [(v.sha256, v.category) for v in mine] == [(sha, "vics:3")]
        undone = client.post("/cases/A-1/grade/undo", json={"items": [sha]}, headers=headers)
        assert undone.json() == {"retracted": 1}
    with TestClient(app) as auditor:
        csrf = log_in(auditor, "auditor.aa-1")
        refused = auditor.post("/cases/A-1/grade", json=body, headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 403


def test_a_reviewer_builds_a_series_from_the_item_page(
    client: TestClient, review_world: ReviewWorld
) -> None:
    csrf = log_in(client, "victim-id.aa-1")
    sha = review_world.files["pair12-a.jpg"]
    page = client.get(f"/cases/A-1/items/{sha}")
    assert "File in" in page.text
    filed = client.post(
        f"/cases/A-1/items/{sha}/series",
        data={"csrf_token": csrf, "new_series": "Harbour walk"},
        follow_redirects=False,
    )
    assert filed.status_code == 303
    board = client.get("/cases/A-1/series").text
    assert "Harbour walk" in board and f"/cases/A-1/items/{sha}" in board
    assert "unidentified" in board  # its status
    no_token = client.post(f"/cases/A-1/items/{sha}/series", data={"new_series": "X"})
    assert no_token.status_code == 403


def test_similar_image_search_from_an_item_and_from_an_upload(
    client: TestClient, review_world: ReviewWorld
) -> None:
    csrf = log_in(client, EXAMINER)
    sha = review_world.files["single13.jpg"]
    page = client.get(f"/cases/A-1/similar?sha256={sha}")
    assert page.status_code == 200 and "Results" in page.text
    uploaded = client.post(
        "/cases/A-1/similar",
        data={"csrf_token": csrf, "region": ""},
        files={
            "image": (
                "query.jpg",
                (review_world.root / "evidence" / "AA-1-phone" / "single13.jpg").read_bytes(),
                "image/jpeg",
            )
        },
    )
    assert uploaded.status_code == 200 and "Results" in uploaded.text
    no_token = client.post("/cases/A-1/similar", files={"image": ("q.jpg", b"x", "image/jpeg")})
    assert no_token.status_code == 403
    assert client.get(f"/cases/B-1/similar?sha256={sha}").status_code == 404
