"""Camera forensics of a case: fingerprinted cameras, PRNU tests, JPEG signatures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from cairn.api.deps import Caller, RequestContext
from cairn.api.permissions import V1
from cairn.api.schemas import CameraCreate, CameraMatchOut, CameraOut, JpegSignatureOut
from cairn.services import camera_links, cameras

router = APIRouter(prefix=f"{V1}/cases/{{ref}}", tags=["cameras"])
CameraName = Annotated[str | None, Query(max_length=200, description="One camera only.")]


@router.get("/cameras")
def list_cameras(ref: str, ctx: RequestContext, principal: Caller) -> list[CameraOut]:
    return [
        CameraOut.model_validate(c, from_attributes=True)
        for c in cameras.list_cameras(ctx, principal, ref)
    ]


@router.post("/cameras", status_code=status.HTTP_201_CREATED)
def fingerprint_camera(
    ref: str, body: CameraCreate, ctx: RequestContext, principal: Caller
) -> CameraOut:
    """Fingerprint a camera from items of the case (at least 20 usable images of one camera)."""
    info = cameras.fingerprint_camera(ctx, principal, ref, body.name, items=body.items)
    return CameraOut.model_validate(info, from_attributes=True)


@router.get("/camera-matches")
def camera_matches(
    ref: str, ctx: RequestContext, principal: Caller, camera: CameraName = None
) -> list[CameraMatchOut]:
    """The tests already run: one row per image and camera, best PCE first per camera."""
    report = cameras.camera_matches(ctx, principal, ref, camera)
    return [CameraMatchOut.model_validate(m, from_attributes=True) for m in report.matches]


@router.post("/camera-matches")
def run_camera_matches(
    ref: str, ctx: RequestContext, principal: Caller, camera: CameraName = None
) -> list[CameraMatchOut]:
    """Test the case's images against its cameras (residuals computed on first need)."""
    report = cameras.match_cameras(ctx, principal, ref, camera)
    return [CameraMatchOut.model_validate(m, from_attributes=True) for m in report.matches]


@router.get("/camera-signatures")
def camera_signatures(ref: str, ctx: RequestContext, principal: Caller) -> list[JpegSignatureOut]:
    return [
        JpegSignatureOut.model_validate(s, from_attributes=True)
        for s in camera_links.case_signatures(ctx, principal, ref)
    ]
