"""The paged review queue: keyset pages, stacks, filters, refresh during an ingest, buckets."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.core.errors import NotFoundError, UsageError
from cairn.core.settings import AnalysisSettings
from cairn.hashing.digests import digest_bytes
from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.services.review_queue import EVERYTHING_TO_REVIEW, Cursor, QueueFilter, queue_page

SETTINGS = AnalysisSettings()


def _write(folder: Path, files: dict[str, bytes]) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: digest_bytes(data).sha256 for name, data in files.items()}


def _all(ctx: Context, chosen: QueueFilter = EVERYTHING_TO_REVIEW, limit: int = 1) -> list[str]:
    """Every stack lead, walking the queue `limit` at a time by its cursors."""
    seen: list[str] = []
    after: Cursor | None = None
    while True:
        page = queue_page(ctx, None, "Q", chosen, after, limit)
        seen += [card.sha256 for card in page.cards]
        if page.next is None:
            return seen
        after = page.next


@pytest.fixture
def phone(db_ctx: Context, tmp_path: Path) -> dict[str, str]:
    create_case(db_ctx, "Q")
    image = synthetic_image(31, 320, 240)
    files = {
        "a.jpg": jpeg_bytes(image),
        "a-small.jpg": jpeg_bytes(image.resize((200, 150))),
        "b.jpg": jpeg_bytes(synthetic_image(32, 320, 240)),
        "c.jpg": jpeg_bytes(synthetic_image(33, 320, 240), CameraExif(gps=(1.5, 2.5))),
        "notes.txt": b"not an image",
    }
    shas = _write(tmp_path / "phone", files)
    ingest(db_ctx, "Q", tmp_path / "phone", workers=0, settings=SETTINGS)
    return shas


def test_pages_by_key_show_each_stack_once_in_arrival_order(
    db_ctx: Context, phone: dict[str, str]
) -> None:
    one_at_a_time = _all(db_ctx)
    assert _all(db_ctx, limit=50) == one_at_a_time
    assert len(one_at_a_time) == 3  # a and its copy stacked; the text file is no media to view
    assert len(set(one_at_a_time)) == 3
    first = queue_page(db_ctx, None, "Q")
    sizes = {card.sha256: card.stack_size for card in first.cards}
    lead = phone["a.jpg"] if phone["a.jpg"] in sizes else phone["a-small.jpg"]
    assert sizes[lead] == 2
    assert [card.path.split(":", 1)[0] for card in first.cards] == ["phone"] * 3


def test_filters(db_ctx: Context, phone: dict[str, str]) -> None:
    assert _all(db_ctx, QueueFilter(has_gps=True)) == [phone["c.jpg"]]
    assert phone["c.jpg"] not in _all(db_ctx, QueueFilter(has_gps=False))
    assert len(_all(db_ctx, QueueFilter(evidence="phone"))) == 3
    assert _all(db_ctx, QueueFilter(evidence="no such device")) == []
    assert _all(db_ctx, QueueFilter(in_series=True)) == []
    with pytest.raises(UsageError):
        QueueFilter(bucket="everything")
    with pytest.raises(UsageError):
        Cursor.parse("1.x")
    with pytest.raises(NotFoundError):
        queue_page(db_ctx, None, "NO-SUCH")


def test_items_ingested_after_the_first_page_join_the_queue(
    db_ctx: Context, phone: dict[str, str], tmp_path: Path
) -> None:
    before = _all(db_ctx)
    later = _write(
        tmp_path / "laptop",
        {
            "d.jpg": jpeg_bytes(synthetic_image(34, 320, 240)),
            "b-copy.jpg": jpeg_bytes(synthetic_image(32, 320, 240).resize((240, 180))),
        },
    )
    ingest(db_ctx, "Q", tmp_path / "laptop", workers=0, settings=SETTINGS)
    after = _all(db_ctx)
    assert after == [*before, later["d.jpg"]]  # the copy of b joined b's stack
    sizes = {c.sha256: c.stack_size for c in queue_page(db_ctx, None, "Q").cards}
    assert sizes[phone["b.jpg"]] == 2


def test_a_refresh_reads_a_bounded_batch(db_ctx: Context, phone: dict[str, str]) -> None:
    from cairn.services.review_queue import refresh

    with db_ctx.db.session() as session:
        from cairn.services.cases import get_case

        case_id = get_case(session, "Q").id
    assert refresh(db_ctx, case_id, batch=2) is True  # more remain
    while refresh(db_ctx, case_id, batch=2):
        pass
    assert len(_all(db_ctx)) == 3


def test_known_items_leave_the_review_buckets_after_matching(
    db_ctx: Context, phone: dict[str, str], tmp_path: Path
) -> None:
    md5 = digest_bytes((tmp_path / "phone" / "b.jpg").read_bytes()).md5
    listed = tmp_path / "known.csv"
    listed.write_text(f"md5,category,series\n{md5},vics:1,Series K\n", encoding="utf-8")
    assert len(_all(db_ctx)) == 3
    import_hashset(db_ctx, listed, "known")
    match_case(db_ctx, "Q")
    assert phone["b.jpg"] not in _all(db_ctx)
    known = queue_page(db_ctx, None, "Q", QueueFilter(bucket="known"))
    assert [(c.sha256, c.category) for c in known.cards] == [(phone["b.jpg"], "vics:1")]
    assert _all(db_ctx, QueueFilter(bucket="all", in_series=True)) == [phone["b.jpg"]]
    assert _all(db_ctx, QueueFilter(bucket="all", category="vics:1")) == [phone["b.jpg"]]


def test_items_filed_in_a_series_are_in_series_at_once(
    db_ctx: Context, phone: dict[str, str]
) -> None:
    from cairn.services.series import add_media, create_series

    assert _all(db_ctx, QueueFilter(in_series=True)) == []
    created = create_series(db_ctx, None, "walk")
    add_media(db_ctx, None, created.id, "Q", [phone["b.jpg"]])
    assert _all(db_ctx, QueueFilter(in_series=True)) == [phone["b.jpg"]]
    assert phone["b.jpg"] not in _all(db_ctx, QueueFilter(in_series=False))
