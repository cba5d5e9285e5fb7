"""`cairn status`: what each evidence item of a case holds."""

from __future__ import annotations

import typer

from cairn.cli.options import AsJson, CaseRef
from cairn.cli.workspace import context


def status(case: CaseRef, json_: AsJson = False) -> None:
    """Per evidence item: enumerated = hashed + errored + non-regular."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.status import case_status

    items = case_status(context(), case)
    if json_:
        print_json(items)
        return
    print_table(
        f"Status of {case}",
        [
            "evidence",
            "kind",
            "enumerated",
            "hashed",
            "errored",
            "non-regular",
            "with errors",
            "unique media",
            "bytes",
            "last run",
        ],
        [
            (
                s.label,
                s.source_kind,
                s.enumerated,
                s.hashed,
                s.errored,
                s.non_regular,
                s.with_errors,
                s.unique_media,
                f"{s.bytes_hashed:,}",
                s.last_run,
            )
            for s in items
        ],
    )
    for s in items:
        if s.assumed_contiguous:
            typer.echo(
                f"{s.label}: {s.assumed_contiguous} entries read on the guess that a deleted "
                f"file's clusters were contiguous (flag assumed-contiguous): their digests "
                f"are wrong if the file was fragmented"
            )
