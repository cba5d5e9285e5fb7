"""`cairn camera fingerprint|match|list|signatures`: tie images to the camera that took them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cairn.cli.options import AsJson, CaseRef
from cairn.cli.workspace import context

camera_app = typer.Typer(
    no_args_is_help=True,
    help="Camera forensics: sensor-noise fingerprints and tests, JPEG signatures.",
)


@camera_app.command("fingerprint")
def fingerprint(
    case: CaseRef,
    name: Annotated[str, typer.Option("--name", help="A name for the camera.")],
    items: Annotated[
        list[str] | None,
        typer.Argument(help="Reference images: items' SHA-256 or paths as the export writes."),
    ] = None,
    folder: Annotated[
        Path | None,
        typer.Option(help="A folder of reference images (read only, ingested or not)."),
    ] = None,
    json_: AsJson = False,
) -> None:
    """Fingerprint a camera from at least 20 images known to come from it."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.cameras import fingerprint_camera

    info = fingerprint_camera(context(), None, case, name, items=items or (), folder=folder)
    if json_:
        print_json(info)
        return
    typer.echo(
        f"camera {info.name!r}: {info.width}x{info.height}, fingerprint from "
        f"{info.references} images"
        + (f"; {info.groups} groups of related images: mixed cameras?" if info.groups > 1 else "")
    )
    if info.left_out:
        print_table(
            "Left out", ["reference", "reason"], [(o.source, o.reason) for o in info.left_out]
        )


@camera_app.command("match")
def match(
    case: CaseRef,
    camera: Annotated[str | None, typer.Option(help="Test against this camera only.")] = None,
    json_: AsJson = False,
) -> None:
    """Test the case's images against its cameras: PCE and the transform found, per image and
    camera, best first. A match is a lead, not a verdict."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.cameras import match_cameras

    report = match_cameras(context(), None, case, camera)
    if json_:
        print_json(report.matches)
        return
    print_table(
        f"Camera tests of {case} (match: PCE > {report.threshold:g})",
        ["camera", "image", "PCE", "transform", "match"],
        [
            (m.camera, m.sha256, f"{m.pce:.1f}", m.transform, "yes" if m.matched else "")
            for m in report.matches
        ],
    )
    if report.untested:
        print_table(
            "Not tested",
            ["camera", "image", "reason"],
            [(u.camera, u.sha256, u.reason) for u in report.untested],
        )


@camera_app.command("list")
def list_(case: CaseRef, json_: AsJson = False) -> None:
    """The cameras fingerprinted in the case."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.cameras import list_cameras

    cameras = list_cameras(context(), None, case)
    if json_:
        print_json(cameras)
        return
    print_table(
        f"Cameras of {case}",
        ["name", "frame", "references", "left out", "by", "at"],
        [
            (
                c.name,
                f"{c.width}x{c.height}",
                c.references,
                len(c.left_out),
                c.created_by,
                c.created_at,
            )
            for c in cameras
        ],
    )


@camera_app.command("signatures")
def signatures(case: CaseRef, json_: AsJson = False) -> None:
    """The JPEG signatures of the case's images: camera originals or re-saved, and how many
    distinct cameras in the workspace share each (1: distinctive)."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.camera_links import case_signatures

    found = case_signatures(context(), None, case)
    if json_:
        print_json(found)
        return
    print_table(
        f"JPEG signatures of {case}",
        ["signature", "origin", "quality", "images", "cameras here", "cameras in workspace"],
        [
            (
                s.signature,
                s.origin,
                "" if s.quality is None else s.quality,
                s.images,
                ", ".join(s.cameras),
                s.workspace_cameras,
            )
            for s in found
        ],
    )
