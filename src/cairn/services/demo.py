"""`cairn demo`: a benign synthetic "seized device", ingested end to end.

The phone carries a generated WhatsApp database: two groups sharing the demo pictures, so the
summary can name the top producer and distributor candidates.

The device holds camera photos with EXIF and GPS, an exact copy and a resized, re-encoded copy
of one photo, a rotated and a letterboxed copy, a zip inside a zip, a JPEG renamed to `.dat`,
and a truncated JPEG: the everyday shapes of seized data, made from nothing but gradients and
rectangles. Demo hash sets play the part of known material: a VICS set and a PDQ list marking
some of the (benign) photos as if they were known, and a known-file list of ignorable files.
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from cairn.core.errors import NotFoundError
from cairn.core.settings import AnalysisSettings
from cairn.core.types import Category, CategoryScheme
from cairn.messaging.scenario import DEMO_WALKERS, demo_whatsapp
from cairn.services.cases import create_case, get_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset, list_hashsets
from cairn.services.ingest import IngestSummary, Progress, ingest
from cairn.services.links import case_links
from cairn.services.matching import MatchSummary, match_case
from cairn.services.messaging.discovery import import_from_evidence
from cairn.services.messaging.reports import analyse_case, conversation_lines, summary_lines
from cairn.services.triage import review_queue, triage_report
from cairn.services.video_matching.demo_films import build_demo_videos, video_findings
from cairn.services.video_matching.importing import import_vpdq_hashset
from cairn.store.models import Evidence, Media, Occurrence

DEMO_CASE = "DEMO-1"
# The demo's server login. Fixed and printed on purpose: the demo data is benign, synthetic
# and local; real users get passwords of their own (`cairn user create`).
DEMO_AGENCY = "DEMO"
DEMO_USER = "demo"
DEMO_PASSWORD = "cairn-demo-password"
DEMO_URL = "http://127.0.0.1:8000"  # where `cairn serve` listens by default
# The second agency, whose shared series the demo case's photos are found in.
SECOND_AGENCY = "DEMO-2"
SECOND_CASE = "DEMO-2:EARLIER-1"
SECOND_CONTACT = "victim-id@demo-2.example"
PLACES = [(48.8584, 2.2945), (40.6892, -74.0445), (-33.8568, 151.2153), (51.5007, -0.1246)]


@dataclass
class DemoResult:
    device: Path
    ingest: IngestSummary
    matched: MatchSummary
    more_ingests: list[IngestSummary] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)


def build_device(root: Path) -> Path:
    """Write the synthetic device under `root` (idempotent: same bytes every time)."""
    from cairn.media.synthetic import (
        CameraExif,
        jpeg_bytes,
        reshoot,
        synthetic_image,
        synthetic_scene,
    )
    from cairn.media.video import SyntheticVideo, write_synthetic_video

    dcim = root / "DCIM" / "Camera"
    dcim.mkdir(parents=True, exist_ok=True)
    photos = []
    for i in range(8):
        camera = CameraExif(
            serial="SN-0001" if i < 5 else "SN-0777",
            datetime_original=f"2024:05:{12 + i:02d} 10:3{i}:00",
            gps=PLACES[i % len(PLACES)] if i % 2 == 0 else None,
        )
        data = jpeg_bytes(synthetic_image(1000 + i, 1280, 960), camera)
        (dcim / f"IMG_2024051{i}_1030.jpg").write_bytes(data)
        photos.append(data)
    downloads = root / "Download"
    downloads.mkdir(exist_ok=True)
    (downloads / "copy_of_holiday.jpg").write_bytes(photos[0])  # exact duplicate
    from PIL import Image

    resized = Image.open(io.BytesIO(photos[1])).resize((640, 480))
    whatsapp = root / "WhatsApp" / "Media" / "WhatsApp Images"
    whatsapp.mkdir(parents=True, exist_ok=True)
    (whatsapp / "IMG-20240520-WA0001.jpg").write_bytes(jpeg_bytes(resized, quality=60))
    (root / "Documents").mkdir(exist_ok=True)
    (root / "Documents" / "notes.dat").write_bytes(photos[2])  # a JPEG hidden under .dat
    (root / "Documents" / "shopping.txt").write_text("milk\nbread\n")
    (root / "Documents" / "broken.jpg").write_bytes(photos[3][: len(photos[3]) // 3])
    from PIL import ImageOps

    rotated = Image.open(io.BytesIO(photos[6])).rotate(90, expand=True)
    (downloads / "received_rotated.jpg").write_bytes(jpeg_bytes(rotated, quality=85))
    letterboxed = ImageOps.pad(Image.open(io.BytesIO(photos[7])), (1280, 1280), color=(0, 0, 0))
    (whatsapp / "IMG-20240521-WA0002.jpg").write_bytes(jpeg_bytes(letterboxed, quality=85))
    # A room photographed twice, a cropped copy of the first shot sent on, and the room filmed
    # (a slow pan: picture 2000 is the synthetic film's first scene): local features link
    # them all, where PDQ sees unrelated pictures.
    room = synthetic_scene(2000, 1000, 750)
    pictures = root / "Pictures" / "Room"  # apart from the camera roll: no folder links to it
    pictures.mkdir(parents=True, exist_ok=True)
    (pictures / "IMG_0900.jpg").write_bytes(jpeg_bytes(room))
    (pictures / "IMG_0905.jpg").write_bytes(jpeg_bytes(reshoot(room, 7)))
    cropped = room.crop((140, 100, 860, 640))
    (whatsapp / "IMG-20240602-WA0003.jpg").write_bytes(jpeg_bytes(cropped, quality=70))
    film = SyntheticVideo(seconds=4, fps=10, width=800, height=600, seed=2, textured=True)
    (root / "Movies").mkdir(exist_ok=True)
    write_synthetic_video(root / "Movies" / "VID_0910.mp4", film)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("inner/photo.jpg", photos[4])
        z.writestr("inner/readme.txt", "benign demo data\n")
    with zipfile.ZipFile(root / "Download" / "backup.zip", "w") as z:
        z.writestr("backup/inner.zip", inner.getvalue())
        z.writestr("backup/photo_copy.jpg", photos[5])
    return root


def build_usb_stick(image: Path, device: Path) -> bool:
    """A FAT16 disk image holding two photos, one of them deleted after writing.

    Made with dosfstools and mtools (installed by scripts/setup); without them the demo goes
    on without the stick. Returns whether the image exists.
    """
    import shutil
    import subprocess

    if image.exists():
        return True
    if not all(shutil.which(tool) for tool in ("mkfs.vfat", "mcopy", "mdel")):
        return False
    camera = device / "DCIM" / "Camera"
    partial = image.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    env = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    commands = [
        ["mkfs.vfat", "-C", "-F", "16", "-n", "DEMOSTICK", str(partial), "16384"],
        ["mcopy", "-i", str(partial), str(camera / "IMG_20240513_1030.jpg"), "::/holiday.jpg"],
        ["mcopy", "-i", str(partial), str(camera / "IMG_20240516_1030.jpg"), "::/deleted.jpg"],
        ["mdel", "-i", str(partial), "::/deleted.jpg"],
    ]
    for command in commands:
        subprocess.run(command, check=True, capture_output=True, env=env)
    partial.rename(image)
    return True


def build_hash_sets(folder: Path, device: Path) -> list[tuple[Path, str, str]]:
    """Demo hash sets over the device's (benign) photos: (file, name, kind) to import."""
    from PIL import Image

    from cairn.core.types import Category, CategoryScheme
    from cairn.hashing.digests import digest_bytes
    from cairn.hashing.pdq import pdq_from_image
    from cairn.hashsets.base import KnownHashRecord
    from cairn.hashsets.vics.writer import write_media_set

    folder.mkdir(parents=True, exist_ok=True)
    camera = device / "DCIM" / "Camera"
    photo = [camera / f"IMG_2024051{i}_1030.jpg" for i in range(8)]
    known = Category(CategoryScheme.VICS, "1")  # "known" here means: chosen for the demo
    vics = folder / "demo-known.json"
    with vics.open("w", encoding="utf-8") as out:
        write_media_set(
            [
                KnownHashRecord(
                    md5=digest_bytes(photo[0].read_bytes()).md5,
                    category=known,
                    series=("Demo series A",),
                    media_id="1",
                ),
                KnownHashRecord(
                    md5=digest_bytes(photo[4].read_bytes()).md5,
                    category=known,
                    series=("Demo series A",),
                    media_id="2",
                ),
            ],
            out,
        )
    pdq_list = folder / "demo-known-pdq.csv"
    rows = ["pdq,category,series"]
    for index in (1, 6, 7):
        with Image.open(photo[index]) as image:
            rows.append(f"{pdq_from_image(image).hex},vics:1,Demo series B")
    pdq_list.write_text("\n".join(rows) + "\n")
    ignorable = folder / "demo-known-files.txt"
    text = (device / "Documents" / "shopping.txt").read_bytes()
    ignorable.write_text(f"{digest_bytes(text).sha256}  shopping.txt\n")
    return [
        (vics, "demo-known", "illegal"),
        (pdq_list, "demo-known-pdq", "illegal"),
        (ignorable, "demo-known-files", "ignorable"),
    ]


def _findings(ctx: Context, case_ref: str) -> list[str]:
    lines = []
    with ctx.db.session() as session:
        case = get_case(session, case_ref)
        rows = session.execute(
            select(
                Evidence.label,
                Occurrence.path,
                Occurrence.flags,
                Media.sha256,
                Media.gps_lat,
                Media.exif_serial,
            )
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .join(Media, Media.sha256 == Occurrence.media_sha256)
            .where(Evidence.case_id == case.id)
        ).all()
    places: dict[str, list[str]] = defaultdict(list)
    for label, path, flags, sha256, _lat, _serial in rows:
        where = f"{label}:{path.decode(errors='replace')}"
        places[sha256].append(where)
        if "extension-mismatch" in flags:
            lines.append(f"content does not match its name: {where}")
    for found in places.values():
        if len(found) > 1:
            lines.append(f"same file in {len(found)} places: {', '.join(sorted(found))}")
    for group in review_queue(ctx, case_ref):
        for duplicate in group.duplicates:
            lines.append(
                f"near-duplicate to review together (PDQ distance {duplicate.distance}): "
                f"{group.lead.paths[0]} ~ {duplicate.paths[0]}"
            )
    gps = {sha for *_, sha, lat, _s in rows if lat is not None}
    serials = {serial for *_, serial in rows if serial}
    lines.append(f"{len(gps)} photos carry GPS positions; {len(serials)} camera serials seen")
    report = triage_report(ctx, case_ref)
    totals = ", ".join(f"{bucket} {n}" for bucket, n in report.totals.items())
    lines.append(f"triage of unique items: {totals}")
    lines.append(
        f"{report.no_view_share:.0%} of items need no human view (reviewer exposure "
        f"cut by that share); `cairn queue --case {case_ref}` lists the rest"
    )
    return lines


def run_demo(
    ctx: Context, device: Path, *, workers: int | None = None, progress: Progress | None = None
) -> DemoResult:
    from cairn.media.thumbnail import load_or_create_key

    build_device(device)
    demo_whatsapp(device)
    existing = {h.name for h in list_hashsets(ctx)}
    sets = ctx.workspace.root / "demo-hashsets"
    for path, name, kind in build_hash_sets(sets, device):
        if name not in existing:
            import_hashset(ctx, path, name, kind=kind)
    known_film = build_demo_videos(device, sets)
    if "demo-known-videos" not in existing:
        import_vpdq_hashset(
            ctx, [known_film], "demo-known-videos", category=Category(CategoryScheme.VICS, "1")
        )
    with ctx.db.session() as session:
        try:
            get_case(session, DEMO_CASE)
            exists = True
        except NotFoundError:
            exists = False
    if not exists:
        create_case(ctx, DEMO_CASE, "Benign synthetic demo case")
    settings = AnalysisSettings(thumbnail_key=load_or_create_key(ctx.workspace.key_file))
    summary = ingest(ctx, DEMO_CASE, device, workers=workers, settings=settings, progress=progress)
    import_from_evidence(ctx, DEMO_CASE, summary.evidence)
    stick = device.parent / "usb-stick.dd"
    stick_summary = None
    if build_usb_stick(stick, device):
        stick_summary = ingest(
            ctx, DEMO_CASE, stick, workers=workers, settings=settings, progress=progress
        )
    matched = match_case(ctx, DEMO_CASE)
    _demo_login(ctx)
    findings = _findings(ctx, DEMO_CASE)
    findings.insert(0, _stick_finding(ctx, stick_summary))
    findings.extend(video_findings(ctx, DEMO_CASE))
    findings.extend(_similarity_findings(ctx, DEMO_CASE))
    findings.extend(summary_lines(analyse_case(ctx, DEMO_CASE)))
    findings.extend(conversation_lines(ctx, DEMO_CASE, DEMO_WALKERS.subject))
    findings.extend(_series_findings(ctx, device, settings))
    findings.append(
        f"report it: cairn report --case {DEMO_CASE} --format pdf -o {DEMO_CASE}.pdf "
        "(evidence, counts and charts, series, messaging findings, processing, audit)"
    )
    findings.append(
        f"serve it: cairn serve --workspace {ctx.workspace.root} ; "
        f"login {DEMO_USER} / {DEMO_PASSWORD}"
    )
    findings.append(
        f"review it in a browser: {DEMO_URL}/cases/{DEMO_CASE}/queue (after cairn serve; log in "
        f"as {DEMO_USER} / {DEMO_PASSWORD}; thumbnails stay blurred until you press R)"
    )
    return DemoResult(
        device=device,
        ingest=summary,
        matched=matched,
        findings=findings,
        more_ingests=[stick_summary] if stick_summary else [],
    )


def _similarity_findings(ctx: Context, case_ref: str) -> list[str]:
    """The case's local-features links, each pair once: crops, screenshots, re-shot scenes."""
    lines = []
    seen: set[frozenset[str]] = set()
    paths: dict[str, str] = {}
    linked = case_links(ctx, None, case_ref, ["local-features"])
    for item in linked:
        paths[item.sha256] = item.paths[0]
    for item in linked:
        for link in item.links:
            pair = frozenset((item.sha256, link.sha256))
            if link.case != case_ref or pair in seen or link.sha256 not in paths:
                continue
            seen.add(pair)
            region = ",".join(map(str, link.region or ()))
            keyframes = link.details.get("keyframes", {})  # a video's side: which frame
            a, b = (_shown(paths[sha], keyframes.get(sha)) for sha in (item.sha256, link.sha256))
            lines.append(
                f"same picture or scene (local features, {link.details.get('inliers')} inliers, "
                f"score {link.score:.2f}): {a} ~ {b} (region {region} of the latter)"
            )
    if lines:
        lines.append(
            f"`cairn links --case {case_ref}` lists every link; `cairn similar IMAGE` searches"
        )
    return lines


def _shown(path: str, keyframe: float | None) -> str:
    return path if keyframe is None else f"{path} (its frame at {keyframe:g} s)"


def _demo_login(ctx: Context) -> None:
    """A demo agency owning the demo case and sets, and its examiner, for `cairn serve`."""
    from cairn.core.types import Role
    from cairn.services.identity import (
        adopt_unowned,
        create_agency,
        create_user,
        list_agencies,
        list_users,
    )

    if not any(user.username == DEMO_USER for user in list_users(ctx)):
        if DEMO_AGENCY not in {agency.code for agency in list_agencies(ctx)}:
            create_agency(ctx, DEMO_AGENCY, "Demo agency (benign synthetic data)", "NL")
        create_user(ctx, DEMO_USER, DEMO_AGENCY, Role.EXAMINER, DEMO_PASSWORD)
    adopt_unowned(ctx, DEMO_AGENCY)


def _second_agency(ctx: Context, device: Path, settings: AnalysisSettings) -> None:
    """A second demo agency that has already worked one of the demo photos: its case holds
    a copy, filed in a shared series it identified. Made once."""
    from cairn.core.types import SeriesStatus
    from cairn.services.identity import create_agency, list_agencies
    from cairn.services.series import add_media, create_series, set_status

    if SECOND_AGENCY in {agency.code for agency in list_agencies(ctx)}:
        return
    agency_id = create_agency(ctx, SECOND_AGENCY, "Second demo agency (benign)", "BE").id
    create_case(ctx, SECOND_CASE, "Earlier case of the second demo agency", agency_id=agency_id)
    elsewhere = device.parent / "second-agency-device"
    elsewhere.mkdir(exist_ok=True)
    photo = device / "DCIM" / "Camera" / "IMG_20240515_1030.jpg"
    (elsewhere / "scene.jpg").write_bytes(photo.read_bytes())
    ingest(ctx, SECOND_CASE, elsewhere, workers=0, settings=settings)
    series = create_series(
        ctx, None, "Demo series Z", shared=True, contact=SECOND_CONTACT, case_ref=SECOND_CASE
    )
    add_media(ctx, None, series.id, SECOND_CASE, [f"{elsewhere.name}:scene.jpg"])
    set_status(ctx, None, series.id, SeriesStatus.IDENTIFIED.value)


def _series_findings(ctx: Context, device: Path, settings: AnalysisSettings) -> list[str]:
    """What `cairn series suggest` proposes for the demo case's new items."""
    from cairn.services.series_suggest import suggest

    _second_agency(ctx, device, settings)
    with ctx.db.session() as session:
        case = get_case(session, DEMO_CASE)
        names: dict[str, str] = {}
        for label, path, sha in session.execute(
            select(Evidence.label, Occurrence.path, Occurrence.media_sha256)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .where(Evidence.case_id == case.id, Occurrence.media_sha256.is_not(None))
            .order_by(Evidence.label, Occurrence.path)
        ):
            names.setdefault(str(sha), f"{label}:{path.decode(errors='replace')}")
    lines = []
    for proposal in suggest(ctx, None, DEMO_CASE):
        items = ", ".join(f"{names[m.sha256]} ({m.method})" for m in proposal.media)
        if proposal.series is None:
            lines.append(f"proposed series of {len(proposal.media)} new items: {items}")
        elif proposal.identified_elsewhere:
            lines.append(
                f"identified elsewhere: series {proposal.series!r} of {proposal.agency} "
                f"({proposal.status}; contact {proposal.contact}) holds {items}"
            )
    return lines


def _stick_finding(ctx: Context, stick: IngestSummary | None) -> str:
    if stick is None:
        return "no USB-stick image: dosfstools/mtools are not installed (scripts/setup adds them)"
    with ctx.db.session() as session:
        deleted = session.execute(
            select(Occurrence.path, Occurrence.media_sha256)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .where(
                Evidence.label == stick.evidence,
                Occurrence.deleted.is_(True),
                Occurrence.media_sha256.is_not(None),
            )
        ).all()
    names = ", ".join(path.decode(errors="replace") for path, _sha in deleted) or "none"
    return f"{stick.evidence}: {len(deleted)} deleted file(s) recovered with digests: {names}"
