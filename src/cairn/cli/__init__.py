"""The `cairn` command: thin Typer commands over the services layer."""
