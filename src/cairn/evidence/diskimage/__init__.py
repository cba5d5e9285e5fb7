"""Disk images as evidence: raw (dd, split .001 …) and EnCase E01, read through The Sleuth Kit.

The package by role: `raw` and `ewf` open the image files, `image` picks one of them,
`layout` finds the partitions, `file_system` opens the file system in each, `walk` enumerates
it (with `fat` and `ext` for on-disk facts TSK does not expose), `free_space` cuts what is
free into carving units, `streams` reads content for analysis, and `source` is the evidence
source that ties them together.

Layout and paths (relative to the image, '/'-separated, no leading '/'):
- A partition table TSK recognises (MBR, GPT, …): every allocated partition is a volume named
  `p1`, `p2`, … in table order, and its files are `p1/dir/name`. Space outside the partitions
  is unallocated space of the image.
- Otherwise a file system at offset 0 (a bare partition image): its files have no prefix.
- NTFS alternate data streams are occurrences of their own: `dir/name:stream`.
- TSK's `$OrphanFiles` folder (deleted files whose name is gone) is walked like any other;
  its other virtual files (`$MBR`, `$FAT1`, …) are file-system structures, not recorded.
- A FAT entry marked as the volume label but owning clusters (a hiding trick Windows'
  checker accepts) is read as a file under its 8.3 name, flagged `volume-label-with-data`;
  labels that own no clusters are the volume's name and are not recorded.
- A problem with the image itself is recorded on `.`, with a volume on its name (`p2`).

State of an entry: `deleted` when its name or metadata is unallocated (or it lies in a deleted
folder); `unallocated` when its content sits in space the file system counts as free. A deleted
entry whose metadata now belongs to another file is recorded without content, because what
TSK would read is that other file. A deleted FAT file's cluster chain is gone: TSK reads the
clusters after its first one, so one longer than a cluster is flagged `assumed-contiguous`
(its digests are wrong if it was fragmented), and so is everything read out of it.

Times are UTC. FAT and exFAT store local wall-clock times with no zone; TSK turns them into
epoch seconds with the process's zone, which we undo, so they are recorded as the wall clock
written as if it were UTC whatever zone the host runs in (the evidence's `--timezone` applies).

Carving (`AnalysisSettings.carve`): free space is every block of a file system that no
allocated entry TSK lists uses (file data, folders, metadata files, the ext journal), plus
unpartitioned space and partitions whose file system TSK cannot open. It is scanned in units
recorded as `$Unallocated/<start>-<end>` (image byte offsets, end exclusive; hashed over the
free bytes in that span); each recovered file is `$Carved/<offset>.<ext>` inside its unit, kind
`carved`, with its byte offset in the image. Without `carve` those units record nothing, so a
later run with `carve` adds them.
"""
