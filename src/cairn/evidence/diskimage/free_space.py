"""Free space of a disk image cut into carving units (`$Unallocated/<start>-<end>`)."""

from __future__ import annotations

from collections.abc import Iterator

from cairn.core.records import EntryRecord
from cairn.core.types import EntryKind
from cairn.evidence import carving
from cairn.evidence.base import Unit

# One carving unit covers at most this much free space: enough to amortise a worker round
# trip, small enough to spread a large disk over the workers.
CARVE_UNIT_BYTES = 128 << 20


def carve_units(extents: list[tuple[int, int]]) -> Iterator[Unit]:
    """Carving units over free byte extents, each holding up to CARVE_UNIT_BYTES of them.

    An extent longer than a unit is split; a file starting in one part may run on to the
    extent's end (`Piece.limit`), because the extent is contiguous free space.
    """
    pieces: list[carving.Piece] = []
    room = CARVE_UNIT_BYTES
    for start, end in extents:
        while start < end:
            take = min(end - start, room)
            pieces.append(carving.Piece(start, start + take, end))
            start += take
            room -= take
            if room == 0:
                yield _carve_unit(pieces)
                pieces, room = [], CARVE_UNIT_BYTES
    if pieces:
        yield _carve_unit(pieces)


def _carve_unit(pieces: list[carving.Piece]) -> Unit:
    first, last = pieces[0].start, pieces[-1].end
    entry = EntryRecord(
        path=f"$Unallocated/{first}-{last}".encode(),
        kind=EntryKind.CARVED,
        size=sum(p.end - p.start for p in pieces),
        unallocated=True,
        offset=first,
    )
    return Unit(entry, "c:" + ";".join(f"{p.start},{p.end},{p.limit}" for p in pieces))
