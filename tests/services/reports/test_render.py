"""Case reports end to end: a small benign case rendered as HTML and PDF, the PDF read back.

The case: a phone extraction (four synthetic photos, one of them known in a test hash set
that names a series, and the demo's WhatsApp database) and a single-file evidence item with
an acquisition hash, verified. Facts are asserted exactly, in the HTML and in the PDF's text.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import datetime
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile
from pypdf import PdfReader
from sqlalchemy import select

from cairn.core.errors import NotFoundError, PermissionDeniedError, UsageError
from cairn.core.settings import AnalysisSettings
from cairn.core.types import Category, CategoryScheme, Role
from cairn.hashing.digests import digest_bytes
from cairn.hashsets.base import KnownHashRecord
from cairn.hashsets.vics.writer import write_media_set
from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image
from cairn.media.thumbnail import load_or_create_key, open_thumbnail, protected
from cairn.messaging.scenario import demo_whatsapp
from cairn.services.cases import add_evidence, create_case
from cairn.services.context import Context
from cairn.services.grading import grade
from cairn.services.hashsets import import_hashset
from cairn.services.identity import (
    Principal,
    actor_for,
    adopt_unowned,
    authenticate,
    create_agency,
    create_user,
)
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.services.messaging.discovery import import_from_evidence
from cairn.services.records.leads import add_lead
from cairn.services.records.persons import add_person
from cairn.services.records.victims import add_victim
from cairn.services.reports.render import create_report
from cairn.services.review import flag_violent
from cairn.services.series import add_media, create_series, set_status, update_series
from cairn.services.triage import review_queue
from cairn.services.verify import verify_evidence
from cairn.store.models import AuditEvent, Thumbnail

CASE = "OP-REPORT-1"
SEIZED = datetime.fromisoformat("2026-11-02T06:00:00+01:00")
DAYS = ("2024:05:12 10:30:00", "2024:05:12 18:00:00", "2024:05:14 09:15:00", "2024:05:20 12:00:00")
PASSWORD = "benign test password"


def _photo(seed: int, taken: str) -> bytes:
    return jpeg_bytes(synthetic_image(seed, 320, 240), CameraExif(datetime_original=taken))


def _case(ctx: Context, root: Path) -> dict[str, str]:
    """Build, ingest, import and match the case; the facts the report must state."""
    phone = root / "phone"
    camera = phone / "DCIM" / "Camera"
    camera.mkdir(parents=True)
    photos = [_photo(40 + i, taken) for i, taken in enumerate(DAYS[:3])]
    for i, data in enumerate(photos):
        (camera / f"IMG_{i}.jpg").write_bytes(data)
    received = phone / "WhatsApp" / "Media" / "WhatsApp Images" / "IMG-20240520-WA0001.jpg"
    received.parent.mkdir(parents=True)
    received.write_bytes(_photo(50, DAYS[3]))
    demo_whatsapp(phone)
    card = root / "card.jpg"
    card.write_bytes(photos[0])  # a copy of a known photo on a second exhibit
    card_sha256 = hashlib.sha256(card.read_bytes()).hexdigest()
    known = root / "known.json"
    with known.open("w", encoding="utf-8") as out:
        write_media_set(
            [
                KnownHashRecord(
                    md5=digest_bytes(photos[0]).md5,
                    category=Category(CategoryScheme.VICS, "1"),
                    series=("Series Lighthouse",),
                    media_id="1",
                )
            ],
            out,
        )
    create_case(ctx, CASE, "Report test case")
    add_evidence(ctx, CASE, phone, custodian="J. Doe", seized_at=SEIZED)
    add_evidence(ctx, CASE, card, custodian="A. Smith", acquisition_hash=f"sha256:{card_sha256}")
    settings = AnalysisSettings(thumbnail_key=load_or_create_key(ctx.workspace.key_file))
    for source in (phone, card):
        ingest(ctx, CASE, source, workers=0, settings=settings)
    import_from_evidence(ctx, CASE, "phone")
    import_hashset(ctx, known, "test-known")
    match_case(ctx, CASE)
    verify_evidence(ctx, CASE, "card.jpg")
    return {
        "card_sha256": card_sha256,
        "card_md5": hashlib.md5(card.read_bytes(), usedforsecurity=False).hexdigest(),
        "known_sha256": hashlib.sha256(photos[0]).hexdigest(),
        "second_sha256": hashlib.sha256(photos[1]).hexdigest(),
        "received_sha256": hashlib.sha256(received.read_bytes()).hexdigest(),
    }


def _pdf_text(data: bytes) -> str:
    """The PDF's text with runs of whitespace made one space (table cells wrap), and words
    broken after a hyphen at a cell's edge joined again."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split()).replace(
        "- ", "-"
    )


def _pdf_images(data: bytes) -> list[Image.Image]:
    """Every distinct image object of the PDF (WeasyPrint lists them on each page)."""
    reader = PdfReader(io.BytesIO(data))
    found = {image.data for page in reader.pages for image in page.images}
    return [Image.open(io.BytesIO(image)) for image in sorted(found)]


def _html_text(html: str) -> str:
    body = html.split("<body>", 1)[1]  # not the stylesheet
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_report_states_the_case_facts_in_html_and_pdf(db_ctx: Context, tmp_path: Path) -> None:
    facts = _case(db_ctx, tmp_path)
    # A reviewer's grades stand over the hash-set category; a specialist files two items in a
    # series and moves its status on.
    grade(db_ctx, None, CASE, "vics:2", [facts["second_sha256"]])
    grade(db_ctx, None, CASE, "ignorable", [facts["received_sha256"]])
    harbour = create_series(db_ctx, None, "Harbour", contact="desk@example.org", case_ref=CASE)
    add_media(db_ctx, None, harbour.id, CASE, [facts["second_sha256"], facts["known_sha256"]])
    set_status(db_ctx, None, harbour.id, "country-determined")
    html_report = create_report(db_ctx, None, CASE, "html", destination="test")
    pdf_report = create_report(db_ctx, None, CASE, "pdf", destination="test")
    html = html_report.data.decode("utf-8")
    assert pdf_report.data.startswith(b"%PDF-")
    # WeasyPrint's import must not leave truncated evidence images decoding without an error.
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    for text in (_html_text(html), _pdf_text(pdf_report.data)):
        squeezed = text.replace(" ", "")  # a hash may wrap at a cell's edge in the PDF
        assert "Case report OP-REPORT-1" in text
        assert "custodian J. Doe" in text and "custodian A. Smith" in text
        assert "seized at 2026-11-02T05:00:00Z" in text  # +01:00 shown in UTC
        assert f"acquisition hash sha256:{facts['card_sha256']}" in text
        assert "verified at" in text and "sha256 (examiner): matched" in text
        assert f"computed{facts['card_sha256']}" in squeezed
        # Accounting per evidence item: enumerated, hashed, unreadable, non-regular, …
        assert "5 5 0 0 0 5" in text  # the phone: four photos and the database
        # Items per evidence item and bucket (known, near-known, known-ignorable, possible,
        # new), then the whole case's unique items: the card is a copy of the known photo.
        assert "phone 1 0 0 0 4" in text and "card.jpg 1 0 0 0 0" in text
        assert "whole case (unique items) 1 0 0 0 4" in text
        assert (
            "ignorable vics:1 vics:2 uncategorised phone 1 1 1 2 card.jpg 0 1 0 0 "
            "whole case (unique items) 1 1 1 2"
        ) in text
        assert "4 of 5 items carry an EXIF capture time" in text
        assert "from 2024-05-12 10:30:00 to 2024-05-20 12:00:00" in text
        # Series: by status, items matched (by a hash set naming it) and filed, buckets.
        assert (
            "Harbour country-determined 0 2 known 1, new 1 local unknown unknown desk@example.org"
        ) in text
        assert "Series Lighthouse 1 0 known 1 no series record unknown unknown" in text
        # The producer and distributor lines as `cairn messaging people` prints them.
        assert "#1 +447700900100: 4 points" in text
        assert "#1 +447700900102: 3 points" in text
        assert "forwarded to 'Demo Photo Club' at 2024-05-01T08:10:00Z" in text
        assert "top producer candidate: +447700900100 (4 points;" in text
        assert "ingest phone" in text and "messaging-import phone" in text
        assert "pdqhash 0.2.8" in text
        assert "evidence.add" in text and "evidence.verify" in text and "match" in text
    # The second report's excerpt lists the first report's event, with its output's digest.
    assert html_report.sha256 in _pdf_text(pdf_report.data).replace(" ", "")
    with db_ctx.db.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "report.create").order_by(AuditEvent.id)
        ).all()
    assert [(e.case_ref, e.details["format"], e.details["sha256"]) for e in events] == [
        (CASE, "html", html_report.sha256),
        (CASE, "pdf", pdf_report.sha256),
    ]
    assert all(
        e.details["internal_review"] is False and e.details["thumbnails"] == [] for e in events
    )
    # No image of any kind: no <img>, no data URI, no script, nothing to fetch; the PDF holds
    # no image object (its charts are vector drawings).
    assert "<img" not in html and "data:" not in html and "<script" not in html
    assert "INTERNAL" not in html and "INTERNAL" not in _pdf_text(pdf_report.data)
    assert re.findall(r'(?:src|href)="', html) == []
    assert _pdf_images(pdf_report.data) == []
    assert b"/Subtype /Image" not in pdf_report.data and b"/Subtype/Image" not in pdf_report.data


def _principals(ctx: Context) -> dict[str, Principal]:
    people = {}
    for code in ("NL-NP", "BE-FP"):
        create_agency(ctx, code, f"Agency {code}", code[:2])
    for name, code, role in (
        ("examiner", "NL-NP", Role.EXAMINER),
        ("auditor", "NL-NP", Role.AUDITOR),
        ("outsider", "BE-FP", Role.EXAMINER),
    ):
        create_user(ctx, name, code, role, PASSWORD)
        principal = authenticate(ctx, name, PASSWORD, "test")
        assert principal is not None
        people[name] = principal
    return people


def test_internal_review_report_embeds_only_protected_thumbnails(
    ctx: Context, tmp_path: Path
) -> None:
    _case(ctx, tmp_path)
    people = _principals(ctx)
    adopt_unowned(ctx, "NL-NP")
    lighthouse = create_series(ctx, people["examiner"], "Series Lighthouse")
    update_series(ctx, people["examiner"], lighthouse.id, victim_identified=True)
    ref = str(lighthouse.id)
    add_victim(ctx, people["examiner"], ref, age_band="6-9", status="identified", name="Withheld")
    add_person(ctx, people["examiner"], ref, role="producer", phones=["+447700900100"])
    add_lead(ctx, people["examiner"], ref, "DE", sent_at="2026-11-03", outcome="acknowledged")
    key = load_or_create_key(ctx.workspace.key_file)
    with ctx.db.session() as session:
        clear = {
            t.sha256: open_thumbnail(t.blob, key, t.sha256)
            for t in session.scalars(select(Thumbnail))
        }
    examiner = people["examiner"]
    as_examiner = Context(ctx.workspace, ctx.db, actor_for(examiner, "test"))
    # One item a reviewer flagged violent: its thumbnail stays out of the report, blurred or not.
    leads = [g.lead.sha256 for g in review_queue(ctx, CASE) if g.lead.sha256 in clear]
    flag_violent(as_examiner, examiner, CASE, leads[0])
    html_report = create_report(as_examiner, examiner, CASE, "html", internal_review=True)
    html = html_report.data.decode("utf-8")
    assert "INTERNAL REVIEW" in html
    text = _html_text(html)
    assert "Series Lighthouse unidentified 1 0 known 1 NL-NP yes unknown" in text
    # The series' records: a person's number links them to the case's messaging account.
    assert "victim age band sex status #1 6-9 unknown identified" in text
    assert "Withheld" not in text  # a victim's name stays in the records
    assert "#1 producer unidentified +447700900100 OP-REPORT-1: +447700900100" in text
    assert "#1 DE 2026-11-03" in text and "acknowledged" in text
    embedded = [
        base64.b64decode(data) for data in re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    ]
    assert len(embedded) == html.count("<img") == html_report.thumbnails == 2
    assert "flagged violent: thumbnail withheld" in text
    protected_views = {protected(jpeg) for sha, jpeg in clear.items() if sha != leads[0]}
    assert set(embedded) <= protected_views
    for jpeg in clear.values():  # no clear thumbnail, in any encoding
        assert base64.b64encode(jpeg).decode() not in html
    for image in (Image.open(io.BytesIO(data)) for data in embedded):
        assert image.mode == "L"
    pdf_report = create_report(as_examiner, examiner, CASE, "pdf", internal_review=True)
    pages = PdfReader(io.BytesIO(pdf_report.data)).pages
    assert len(pages) > 1 and all("INTERNAL REVIEW" in page.extract_text() for page in pages)
    images = _pdf_images(pdf_report.data)
    assert len(images) == 2
    # WeasyPrint may re-encode a JPEG: each image must show what a protected view shows
    # (within one level of 255 on average), in greyscale.
    views = [np.asarray(Image.open(io.BytesIO(p)), np.float64) for p in embedded]
    for image in images:
        assert image.mode == "L"
        pixels = np.asarray(image, np.float64)
        assert min(np.abs(pixels - view).mean() for view in views if view.shape == pixels.shape) < 1
    with ctx.db.session() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "report.create")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert event is not None and event.details["internal_review"] is True
    assert len(event.details["thumbnails"]) == 2 and event.user == "examiner"
    # A report is an export of the case: staff only (an auditor reads the trail instead).
    for internal_review in (False, True):
        with pytest.raises(PermissionDeniedError):
            create_report(ctx, people["auditor"], CASE, "html", internal_review=internal_review)
    # Another agency's case answers as a missing one.
    answers = []
    for ref in (CASE, "NO-SUCH-CASE"):
        with pytest.raises(NotFoundError) as caught:
            create_report(ctx, people["outsider"], ref, "pdf")
        answers.append(str(caught.value).replace(ref, "REF"))
    assert answers[0] == answers[1]
    with pytest.raises(UsageError, match="report format 'docx'"):
        create_report(ctx, None, CASE, "docx")
