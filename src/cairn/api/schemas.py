"""Request and response bodies of the API, as they appear in its OpenAPI schema.

Responses carry hashes, metadata and counts, never media: the one route that returns image
bytes is the (audited, uncached) thumbnail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, SecretStr, StringConstraints

from cairn.core.types import Role

SHA256 = r"^[0-9a-fA-F]{64}$"
# Text that reaches the store or a path: a NUL byte is refused (422) here, before PostgreSQL
# refuses it with a server error. (A source with one gets the answer of a missing source.)
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
# Row ids are 32-bit in both stores: a larger number is refused (422), not a database error.
MAX_ID = 2**31 - 1


class Health(BaseModel):
    """All that an anonymous caller learns: no version, no kind of store."""

    status: Literal["ok"] = "ok"


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class Me(BaseModel):
    user_id: int
    username: str
    agency_code: str
    role: str


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    expires_at: AwareDatetime | None = Field(
        None,
        description="With its UTC offset; None: the server's longest lifetime (30 days unless "
        "`cairn serve --api-token-max-days` says otherwise).",
    )


class ApiTokenCreated(BaseModel):
    name: str
    token: str = Field(description="Shown once; only its SHA-256 is stored.")


class ApiTokenOut(BaseModel):
    id: int
    name: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class CaseCreate(BaseModel):
    ref: str = Field(min_length=1, max_length=200)
    title: str = ""


class CaseOut(BaseModel):
    ref: str
    title: str
    created_at: str
    created_by: str
    evidence: int
    occurrences: int


class EvidenceCreate(BaseModel):
    source: str = Field(description="A path on the server, under one of its evidence roots.")
    label: Text | None = None
    custodian: Text | None = None
    seized_at: datetime | None = None
    timezone: Text | None = None
    acquisition_hash: Text | None = Field(None, description='"algorithm:hex", as recorded.')


class EvidenceOut(BaseModel):
    label: str
    source_kind: str
    source_path: str
    custodian: str | None
    seized_at: str | None
    timezone: str | None
    acquisition_hash: str | None


class IngestRequest(BaseModel):
    source: str = Field(description="A path on the server, under one of its evidence roots.")
    evidence_label: Text | None = Field(None, description="Resume into this evidence item.")


class Progress(BaseModel):
    done: int
    total: int | None


class JobOut(BaseModel):
    id: int
    kind: str
    state: str = Field(description="queued, running, done, failed, cancelled or interrupted.")
    params: dict[str, Any]
    progress: Progress
    result: dict[str, Any] | None
    error: str | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class OccurrenceOut(BaseModel):
    case_ref: str
    evidence: str
    path: str = Field(description="Relative to the evidence root; non-UTF-8 bytes replaced.")
    kind: str
    deleted: bool


class MediaOut(BaseModel):
    sha256: str
    md5: str
    sha1: str
    size: int
    mime: str | None
    width: int | None
    height: int | None
    pdq: str | None
    pdq_quality: int | None
    exif_make: str | None
    exif_model: str | None
    exif_serial: str | None
    exif_datetime_original: str | None
    gps_lat: float | None
    gps_lon: float | None
    has_thumbnail: bool
    occurrences: list[OccurrenceOut] = Field(description="Only in cases the caller may see.")


class CaseMediaItem(BaseModel):
    sha256: str
    mime: str | None
    size: int
    occurrences: int


class HashSetOut(BaseModel):
    id: int
    name: str
    kind: str
    format: str
    entries: int
    bad_records: int
    pdq_threshold: int
    source_sha256: str
    agency_code: str | None
    shared: bool
    imported_at: str
    owner: str | None = Field(None, description="The partner instance it came from.")


class AlertCreate(BaseModel):
    kind: Literal["sha256", "pdq", "phone", "account"]
    value: str = Field(min_length=1, max_length=300, pattern=NO_NUL)
    note: str = Field("", max_length=2000, pattern=NO_NUL)
    notice: bool = Field(False, description="Watched in every agency's cases; exportable.")


class AlertOut(BaseModel):
    id: int
    kind: str
    value: str
    note: str
    notice: bool
    origin: str | None
    created_at: str


class AlertHitOut(BaseModel):
    alert: int
    kind: str
    value: str
    case: str | None = Field(description="Null when the case is another agency's.")
    item: str | None
    agency: str | None = Field(description="Where it appeared, when not in your case.")
    remote: str | None = Field(description="The partner instance that reported it.")
    source: str
    at: str


class ShareRequest(BaseModel):
    shared: bool


class CaseHit(BaseModel):
    case_ref: str
    media_sha256: str
    occurrences: int
    distance: int = Field(description="0 for a digest; the PDQ Hamming distance otherwise.")


class KnownHit(BaseModel):
    hashset_id: int
    hashset: str
    agency_code: str | None
    shared: bool
    category: str | None = Field(description='"scheme:code", e.g. "vics:1".')
    series: str | None
    victim_identified: bool | None
    method: str
    distance: int


class SearchResult(BaseModel):
    kind: str
    value: str
    distance: int
    case_hits: list[CaseHit]
    known_hits: list[KnownHit]


class SimilarHitOut(BaseModel):
    case: str
    evidence: str
    path: str
    sha256: str
    score: float
    inliers: int
    region: list[int]
    query_region: list[int]
    mirrored: bool
    time: float | None = None  # a video's matching keyframe, seconds into it


class TriageRow(BaseModel):
    evidence: str
    bucket: str
    items: int


class TriageOut(BaseModel):
    case_ref: str
    rows: list[TriageRow]
    totals: dict[str, int]
    no_view_share: float


class MatchOut(BaseModel):
    media_sha256: str
    triage: str
    hashset: str
    category: str
    method: str
    distance: int | None
    variant: str
    series: str


class MessageOut(BaseModel):
    id: int = Field(description="The stored message: an item for `around`.")
    device: str = Field(description="Evidence label of the phone holding this copy.")
    chat: str
    chat_name: str
    at: str | None = Field(description="As the phone recorded it (its own clock), UTC.")
    sender: str
    from_me: bool
    kind: str
    text: str | None
    forwarded: bool | None
    forward_score: int | None
    media_sha256: str | None
    media_path: str | None
    media_mime: str | None
    deleted: bool = Field(description="Deleted on the phone and recovered.")
    recovered: str | None = Field(description="How the deleted record was recovered.")


class SeriesOut(BaseModel):
    id: int
    name: str
    agency: str = Field(description="The owning agency's code.")
    shared: bool
    victim_identified: bool | None
    offender_identified: bool | None
    notes: str
    created_at: str
    created_by: str
    status: str
    contact: str = Field(description="Whom other agencies ask about the series.")
    media: int = Field(description="Members.")


class SeriesCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    shared: bool = False
    notes: Text = ""
    contact: Text = ""


class SeriesUpdate(BaseModel):
    """Only the fields present change; null identified flags mean "unknown"."""

    shared: bool | None = None
    victim_identified: bool | None = None
    offender_identified: bool | None = None
    notes: Text | None = None
    contact: Text | None = None


class AuditEventOut(BaseModel):
    id: int
    at: str
    user: str
    host: str
    origin: str | None
    agency: str | None
    action: str
    case_ref: str | None
    details: dict[str, Any]


class AuditVerifyOut(BaseModel):
    intact: bool
    first_broken_id: int | None
    reason: str | None = Field(description="edited, deleted, reordered or truncated.")


class UserOut(BaseModel):
    id: int
    username: str
    agency: str
    role: Role
    active: bool
    created_at: str
    created_by: str


class UserCreate(BaseModel):
    username: str = Field(
        min_length=2, max_length=80, description="Named in the agency's namespace: AGENCY:NAME."
    )
    role: Role
    password: SecretStr = Field(description="At least 12 characters; never logged or stored.")


class UserActive(BaseModel):
    active: bool


Item = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=4096)]


class GradeIn(BaseModel):
    category: Text = Field(description="scheme:code (vics:1, caid:A, …) or 'ignorable'.")
    items: list[Item] = Field(
        min_length=1, max_length=10_000, description="SHA-256s or evidence:path items."
    )
    stack: bool = Field(False, description="Grade each item's near-duplicates in the case too.")


class GradeRetract(BaseModel):
    items: list[Item] = Field(min_length=1, max_length=10_000)
    stack: bool = False


class VoteOut(BaseModel):
    sha256: str
    category: str
    by: str
    at: str
    via: str | None = Field(description="The stack's lead item when a stack was graded.")


class RetractOut(BaseModel):
    retracted: int


class DisagreementOut(BaseModel):
    sha256: str
    votes: dict[str, int]


class AgreementOut(BaseModel):
    case_ref: str
    votes_required: int
    graded: int
    standing: int
    voted_twice: int
    agreement_rate: float | None
    disagreements: list[DisagreementOut]


class GradePolicy(BaseModel):
    votes_required: int = Field(ge=1, le=9, description="Agreeing votes that make a grade stand.")


class SeriesMemberOut(BaseModel):
    sha256: str
    case: str | None = Field(description="The case it was filed from (own series only).")
    added_at: str | None
    added_by: str | None


class SeriesChangeOut(BaseModel):
    at: str
    by: str
    action: str
    details: dict[str, Any]
    reason: str


class SeriesDetailOut(BaseModel):
    series: SeriesOut
    media: list[SeriesMemberOut]
    history: list[SeriesChangeOut] = Field(description="Empty for another agency's series.")


class SeriesAdd(BaseModel):
    case: Text = Field(description="The case the items are named in.")
    items: list[Item] = Field(min_length=1, max_length=10_000)


class SeriesRemove(BaseModel):
    items: list[Annotated[str, StringConstraints(pattern=SHA256)]] = Field(
        min_length=1, max_length=10_000
    )
    reason: Text = ""


class SeriesStatusIn(BaseModel):
    status: str
    reason: Text = ""


class SeriesMerge(BaseModel):
    other: int = Field(ge=1, le=MAX_ID, description="The series merged into this one.")
    reason: Text = ""


class SeriesSplit(BaseModel):
    name: Text = Field(min_length=1, max_length=200)
    items: list[Annotated[str, StringConstraints(pattern=SHA256)]] = Field(
        min_length=1, max_length=10_000
    )
    reason: Text = ""


class SuggestedMediaOut(BaseModel):
    sha256: str
    method: str
    score: float
    linked_to: str = Field(description="The item or series member at the link's other end.")


class LinkEvidenceOut(BaseModel):
    a: str
    b: str
    method: str
    score: float


class SuggestionOut(BaseModel):
    series: str | None = Field(description="null: a new cluster of the case's media.")
    series_id: int | None
    agency: str
    status: str | None
    contact: str | None
    identified_elsewhere: bool
    media: list[SuggestedMediaOut]
    links: list[LinkEvidenceOut]


class CameraLeftOut(BaseModel):
    source: str
    reason: str


class CameraOut(BaseModel):
    name: str
    width: int
    height: int
    references: int = Field(description="Reference images the fingerprint was computed from.")
    left_out: list[CameraLeftOut]
    groups: int = Field(description="Groups of related references; more than 1: mixed cameras.")
    created_at: str
    created_by: str


class CameraCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    items: list[str] = Field(max_length=500, description="SHA-256s or paths of case items.")


class CameraMatchOut(BaseModel):
    sha256: str
    camera: str
    pce: float
    transform: str = Field(description="e.g. scale=0.5,rot=90")
    matched: bool = Field(description="PCE above the threshold (60): a lead, not a verdict.")


class JpegSignatureOut(BaseModel):
    signature: str
    origin: str = Field(description="camera or re-saved")
    quality: int | None
    cameras: list[str]
    images: int
    workspace_cameras: int = Field(description="Distinct cameras sharing it (1: distinctive).")
