"""`cairn similar`: where an image, a region of it or its scene appears in the cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cairn.cli.options import AsJson
from cairn.cli.workspace import context

ImageFile = Annotated[
    Path, typer.Argument(help="An image file from outside the workspace.", dir_okay=False)
]
CaseFilter = Annotated[
    str | None, typer.Option("--case", help="Search this case only (default: every case).")
]
RegionOption = Annotated[
    str | None,
    typer.Option("--region", help="Search with this part of the image: X,Y,W,H in its pixels."),
]
Top = Annotated[int, typer.Option("--top", help="At most this many places.")]


def similar(
    image: ImageFile,
    case: CaseFilter = None,
    region: RegionOption = None,
    top: Top = 20,
    json_: AsJson = False,
) -> None:
    """Images and videos of the workspace showing this picture (cropped, framed, mirrored,
    captioned) or the same scene, verified by local features: best score (0-1) first, with the
    inliers, the matched region of each found picture ([x, y, w, h] in its pixels) and, for a
    video, the time of the keyframe that matched."""
    from cairn.cli.output import console, print_json, print_table
    from cairn.core.errors import UsageError
    from cairn.services.similarity import DEFAULT_TOP, parse_region, similar

    try:
        data = image.read_bytes()
    except OSError as exc:
        raise UsageError(f"{image}: {exc.strerror}") from None
    result = similar(
        context(),
        None,
        image=data,
        region=parse_region(region),
        case_ref=case,
        top=top or DEFAULT_TOP,
    )
    if json_:
        print_json(result.hits)
        return
    if not result.features:
        console.print(f"{image}: nothing to compare ({result.reason})")
        return
    print_table(
        f"Similar to {image.name}",
        ["case", "evidence", "path", "sha256", "score", "inliers", "region", "video time"],
        [
            (
                h.case,
                h.evidence,
                h.path,
                h.sha256[:16],
                f"{h.score:.3f}",
                h.inliers,
                ",".join(map(str, h.region)),
                "" if h.time is None else f"{h.time:g} s",
            )
            for h in result.hits
        ],
    )
