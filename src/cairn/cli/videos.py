"""`cairn videos`: the video comparisons of a case."""

from __future__ import annotations

from cairn.cli.options import AsJson, CaseRef
from cairn.cli.workspace import context


def videos(case: CaseRef, json_: AsJson = False) -> None:
    """Video comparisons of the case: known videos and clips found, with both frame shares.

    The offset places the video in the one compared: its second 0 is at that second of it.
    """
    from cairn.cli.output import print_json, print_table
    from cairn.services.video_matching.listing import video_matches

    found = video_matches(context(), case)
    if json_:
        print_json(found)
        return
    print_table(
        f"Videos of {case}",
        [
            "video",
            "verdict",
            "compared with",
            "its frames in",
            "compared frames found",
            "distance",
            "offset",
        ],
        [
            (
                f.paths[0] if f.paths else f.media_sha256,
                f.verdict,
                f.compared,
                f"{f.query_share:.0%}",
                f"{f.compared_share:.0%}",
                f.distance,
                "" if f.offset_seconds is None else f"{f.offset_seconds:+.1f}s",
            )
            for f in found
        ],
    )
