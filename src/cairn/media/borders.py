"""Finding added borders: letterbox and pillarbox bars, caption strips, solid frames.

A screenshot of a video, or a photo re-shared with padding or a caption, hashes far from the
original because PDQ sees the bars as content. python-threatexchange trims letterboxes for this
reason; we trim every side independently, each to its own bar colour, so mixed frames (a white
caption strip above a black bar) are handled too. The caller keeps the untrimmed hash as well:
a picture whose own content is dark at its edges must not lose its plain hash.

Everything is decided on luma, the only thing PDQ hashes: a navy bar is a dark bar. A line (row
or column) belongs to a bar when nearly all its pixels have the bar's luma. The tolerance is
tight on purpose: an added bar is digitally flat (JPEG keeps a flat area flat), while a dark sky
or a vignette has texture, so the trim stops where the picture's own content begins. A caption
strip is a bar with a line of text in it: lines crossed by glyphs are still mostly bar, so the
bar runs on through them, and it ends at the last fully solid line before the picture.

A picture's own solid edge (a black background, a page margin) looks like a bar. When the bars
found are of different colours, the sides of each colour are also offered alone, because bars
added together share a colour: a white caption strip above a photo whose own sides are black
gives "every side trimmed" (wrong: it cuts the photo's black sides) and "the white side alone".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

LUMA_DELTA = 8.0  # a pixel is bar-coloured within this luma distance of the bar's colour
SOLID_SHARE = 0.95  # a solid line: bar-coloured but for JPEG noise and ringing near the picture
# A line through caption text: glyphs, and the JPEG ringing around them (strong at low quality),
# leave at least a fifth of it near the bar's colour. Loose on purpose: a picture line this
# bar-coloured extends the bar only if a solid line of the bar's colour follows it.
TEXT_DELTA = 2 * LUMA_DELTA
TEXT_SHARE = 0.2
MIN_TRIM_SHARE = 0.02  # trimming less than 2 % of a side changes PDQ too little to matter
MIN_KEPT_SHARE = 0.25  # a "border" covering 3/4 of the picture is the picture
MIN_SIDE = 16  # smaller views are too coarse to tell a bar from the picture
SIDES = "tblr"  # top, bottom, left, right: the order of Trim.sides


@dataclass(frozen=True)
class Bar:
    depth: int  # lines, counted from the outer edge
    luma: float  # the bar's colour as PDQ sees it


@dataclass(frozen=True)
class Trim:
    """A candidate picture inside added borders: rows top:bottom, columns left:right of the
    array looked at, and which sides were trimmed ("t", "b", "l", "r", in that order)."""

    top: int
    bottom: int
    left: int
    right: int
    sides: str


def _luma(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    """PDQ's own luma weights, so a bar is judged as the hash will see it."""
    import numpy as np

    weights = np.array([0.299, 0.587, 0.114], np.float32)
    return rgb.astype(np.float32) @ weights


def find_bar(lines: NDArray[np.float32]) -> Bar | None:
    """The added bar at the start of `lines` (one luma line per row, outermost first), or None.

    The outermost line must be solid; the bar runs on while lines stay mostly bar-coloured (a
    caption's text crosses some) and ends at the last solid line of that run, at most halfway
    across. A bar thinner than MIN_TRIM_SHARE of the side is compression noise or a hairline
    frame: None.
    """
    import numpy as np

    count, length = lines.shape
    if count == 0 or length == 0:
        return None
    colour = float(np.median(lines[0]))
    # A bar reaches at most halfway: a run crossing a pale picture must not end on the bar
    # of the opposite side.
    distance = np.abs(lines[: (count + 1) // 2] - colour)
    solid = (distance <= LUMA_DELTA).mean(axis=1) >= SOLID_SHARE
    if not solid[0]:
        return None
    breaks = np.flatnonzero((distance <= TEXT_DELTA).mean(axis=1) < TEXT_SHARE)
    run = int(breaks[0]) if breaks.size else len(solid)
    depth = int(np.flatnonzero(solid[:run])[-1]) + 1
    return Bar(depth, colour) if depth >= MIN_TRIM_SHARE * count else None


def _colour_groups(bars: dict[str, Bar]) -> list[str]:
    """The sides grouped by bar colour (within LUMA_DELTA of a group's first side)."""
    groups: list[tuple[float, str]] = []
    for side, bar in bars.items():
        for i, (luma, members) in enumerate(groups):
            if abs(bar.luma - luma) <= LUMA_DELTA:
                groups[i] = (luma, members + side)
                break
        else:
            groups.append((bar.luma, side))
    return [members for _luma, members in groups]


def find_borders(rgb: NDArray[np.uint8]) -> tuple[Trim, ...]:
    """Candidate pictures inside added borders, most trimmed first; () when there are none.

    `rgb` is an (height, width, 3) uint8 array. Rows are looked at across the full width, then
    columns within the rows kept, so a caption strip above pillarbox bars is found too. Not
    rows again within the columns kept: that would trim a picture's own solid top band (a
    page header, a black sky) whenever bars were added on its sides.
    """
    height, width = rgb.shape[:2]
    if height < MIN_SIDE or width < MIN_SIDE:
        return ()
    luma = _luma(rgb)
    bars: dict[str, Bar] = {}
    for side, lines in (("t", luma), ("b", luma[::-1])):
        if (bar := find_bar(lines)) is not None:
            bars[side] = bar
    top = bars["t"].depth if "t" in bars else 0
    bottom = height - bars["b"].depth if "b" in bars else height
    kept = luma[top : max(top, bottom)].T
    for side, lines in (("l", kept), ("r", kept[::-1])):
        if (bar := find_bar(lines)) is not None:
            bars[side] = bar
    if not bars:
        return ()
    groups = _colour_groups(bars)
    candidates = ["".join(bars)] + (groups if len(groups) > 1 else [])
    trims = []
    for sides in candidates:
        depth = {side: bars[side].depth if side in sides else 0 for side in SIDES}
        trim = Trim(
            depth["t"],
            height - depth["b"],
            depth["l"],
            width - depth["r"],
            "".join(s for s in SIDES if s in sides),
        )
        if (
            trim.bottom - trim.top >= MIN_KEPT_SHARE * height
            and trim.right - trim.left >= MIN_KEPT_SHARE * width
        ):
            trims.append(trim)
    return tuple(trims)
