"""`cairn links`: the media of a case linked to other media, in it or in other cases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cairn.cli.options import AsJson, CaseRef
from cairn.cli.workspace import context

if TYPE_CHECKING:
    from cairn.services.links import LinkedTo

Method = Annotated[
    list[str] | None,
    typer.Option("--method", help="Only links of this method (repeatable): pdq, vpdq, ..."),
]


def links(case: CaseRef, method: Method = None, json_: AsJson = False) -> None:
    """Every media item of the case linked to other media, with the case and item linked to,
    how the link was found, its score (0-1, higher is more certain) and the region of the
    linked item it rests on ([x, y, w, h] in its pixels, on one keyframe of a video; empty: all
    of it)."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.links import case_links

    found = case_links(context(), None, case, method or None)
    if json_:
        print_json(found)
        return
    print_table(
        f"Links of {case}",
        ["item", "linked case", "linked item", "method", "score", "region"],
        [
            (
                item.paths[0] if item.paths else item.sha256,
                link.case,
                link.sha256[:16],
                link.method,
                f"{link.score:.3f}",
                _region(link),
            )
            for item in found
            for link in item.links
        ],
    )


def _region(link: LinkedTo) -> str:
    if link.region is None:
        return ""
    region = ",".join(map(str, link.region))
    time = link.details.get("keyframes", {}).get(link.sha256)
    return region if time is None else f"{region} at {time:g} s"
