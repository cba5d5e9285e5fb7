"""`cairn evidence verify --case REF --evidence LABEL`: recompute the acquisition hash.

Registered by `cairn.cli.evidence` on its group. Exit codes: 0 verified, 1 mismatch or
unreadable evidence, 2 nothing to compare with (no acquisition hash registered or stored).
"""

from __future__ import annotations

from dataclasses import asdict

import typer

from cairn.cli.options import AsJson, CaseRef, EvidenceLabel
from cairn.cli.workspace import context


def evidence_verify(case: CaseRef, label: EvidenceLabel, json_: AsJson = False) -> None:
    """Recompute an evidence item's acquisition hash and compare; the result is audited."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.verify import verify_evidence

    result = verify_evidence(context(), case, label)
    if json_:
        print_json(
            {
                "case": result.case_ref,
                "evidence": result.label,
                "source": result.source_path,
                "kind": result.source_kind,
                "status": result.status.value,
                "bytes_read": result.bytes_read,
                "checks": [{**asdict(c), "matched": c.matched} for c in result.checks],
                "problems": list(result.problems),
                "exit_code": result.exit_code,
            }
        )
    else:
        print_table(
            f"Verification of {label} ({result.source_kind}: {result.source_path})",
            ["algorithm", "reference", "expected", "computed", "matched"],
            [(c.algorithm, c.reference, c.expected, c.computed, c.matched) for c in result.checks],
        )
        for problem in result.problems:
            typer.echo(problem, err=True)
        typer.echo(f"{result.status.value}: {result.bytes_read:,} bytes read")
    raise typer.Exit(result.exit_code)
