"""`cairn messaging …`: WhatsApp artefacts → people, groups, media (issue 6)."""

import typer

messaging_app = typer.Typer(no_args_is_help=True, help="Messaging artefacts: import and analyse.")
