"""Media items: metadata and places found, and the review thumbnail (audited, never cached).

Both answer 404, exactly as for a hash nobody holds, unless the item occurs in a case of the
caller's agency: content addressing must not let one agency probe another's material.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Response

from cairn.api.deps import Caller, RequestContext
from cairn.api.permissions import V1
from cairn.api.schemas import SHA256, MediaOut
from cairn.services import media

router = APIRouter(prefix=f"{V1}/media", tags=["media"])

Sha256 = Path(pattern=SHA256, description="The item's SHA-256 (64 hex digits).")

# Thumbnails are case material: no shared cache, no browser cache, no type guessing.
THUMBNAIL_HEADERS = {
    "Cache-Control": "no-store, private",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
}


@router.get("/{sha256}")
def media_metadata(ctx: RequestContext, principal: Caller, sha256: str = Sha256) -> MediaOut:
    return MediaOut.model_validate(media.media_view(ctx, principal, sha256), from_attributes=True)


@router.get(
    "/{sha256}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The JPEG thumbnail."}},
)
def thumbnail(ctx: RequestContext, principal: Caller, sha256: str = Sha256) -> Response:
    jpeg = media.thumbnail_jpeg(ctx, principal, sha256)
    return Response(jpeg, media_type="image/jpeg", headers=THUMBNAIL_HEADERS)
