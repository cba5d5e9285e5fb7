"""`cairn`: cases, evidence, ingest, status, export, demo.

Exit codes (docs/architecture.md): 0 success, 1 per-file errors, 2 usage or configuration.
"""

from __future__ import annotations

import logging
import sys

import typer

from cairn.cli.admin import agency_app, audit_app, db_app, token_app, user_app
from cairn.cli.alerts import alert_app
from cairn.cli.camera import camera_app
from cairn.cli.cases import case_app
from cairn.cli.demo import demo
from cairn.cli.evidence import evidence_app
from cairn.cli.export import export_app
from cairn.cli.grading import grade, grades, grading_app
from cairn.cli.hashsets import hashset_app
from cairn.cli.ingest import ingest
from cairn.cli.links import links
from cairn.cli.messaging import messaging_app
from cairn.cli.options import Workspace
from cairn.cli.records import clue_app, crop_app, inbox, lead_app, person_app, victim_app
from cairn.cli.report import report
from cairn.cli.series import series_app
from cairn.cli.serve import serve
from cairn.cli.share import share_app
from cairn.cli.similar import similar
from cairn.cli.status import status
from cairn.cli.triage import match, queue, triage
from cairn.cli.videos import videos
from cairn.cli.workspace import choose
from cairn.core.errors import CairnError

# The commands live in one module per group; this module only assembles them.
app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(case_app, name="case")
app.add_typer(hashset_app, name="hashset")
app.add_typer(messaging_app, name="messaging")
app.add_typer(evidence_app, name="evidence")
app.add_typer(camera_app, name="camera")
app.add_typer(export_app, name="export")
app.add_typer(grading_app, name="grading")
app.add_typer(series_app, name="series")
app.command("serve")(serve)
app.add_typer(agency_app, name="agency")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(share_app, name="share")
app.add_typer(victim_app, name="victim")
app.add_typer(person_app, name="person")
app.add_typer(clue_app, name="clue")
app.add_typer(lead_app, name="lead")
app.add_typer(crop_app, name="crop")
app.add_typer(alert_app, name="alert")
for command in (
    ingest,
    status,
    match,
    triage,
    queue,
    grade,
    grades,
    videos,
    links,
    similar,
    demo,
    inbox,
    report,
):
    app.command()(command)


@app.callback()
def main_options(workspace: Workspace = None, verbose: bool = False) -> None:
    choose(workspace)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def main() -> None:
    try:
        app()  # standalone: click reports usage errors itself, with exit code 2
    except CairnError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(exc.exit_code)
