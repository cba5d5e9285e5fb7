"""`cairn serve`: the multi-agency server, the REST API and the review workspace (FastAPI under
uvicorn)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

from cairn.cli.options import Workspace
from cairn.cli.workspace import chosen
from cairn.core.errors import UsageError


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 only behind TLS.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workspace: Workspace = None,
    evidence_root: Annotated[
        list[str] | None,
        typer.Option(
            "--evidence-root",
            metavar="AGENCY=PATH",
            help="A server folder the agency's evidence may be registered and ingested from "
            "(repeat). A bare PATH only when the workspace has one agency.",
        ),
    ] = None,
    upload_max_mb: Annotated[
        int, typer.Option(help="Largest hash-set upload accepted, in MiB.")
    ] = 2048,
    api_docs: Annotated[
        bool,
        typer.Option(
            "--api-docs",
            help="Serve Swagger UI at /api/v1/docs (its scripts come from a CDN: the browser "
            "calls out). /api/v1/openapi.json is served either way.",
        ),
    ] = False,
    ingest_workers: Annotated[
        int | None, typer.Option(help="Worker processes per ingest job (default: one per CPU).")
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Addresses of the reverse proxies whose X-Forwarded-For/-Proto is believed "
            "(comma-separated; default: none, the client address is the peer's)."
        ),
    ] = None,
    api_token_max_days: Annotated[
        int, typer.Option(min=1, help="Longest life of an API token made through the API.")
    ] = 30,
    break_after_minutes: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Minutes of revealed material after which the review workspace asks a "
            "reviewer to take a break.",
        ),
    ] = 20,
) -> None:
    """Serve the review workspace at / and the REST API (OpenAPI schema at
    /api/v1/openapi.json) over the workspace's store.

    The store is the workspace's SQLite database, or PostgreSQL when CAIRN_DATABASE_URL is set
    (postgresql+psycopg://user@host/db). Token signing uses CAIRN_SECRET_KEY or
    CAIRN_SECRET_KEY_FILE, else the workspace's secret.key.
    """
    import uvicorn

    from cairn.api.deps import ServerSettings
    from cairn.services.jobs import RunnerSettings
    from cairn.web.app import create_server
    from cairn.web.guard import WebSettings

    if upload_max_mb < 1:
        raise UsageError("--upload-max-mb must be at least 1")
    # Uvicorn's format: the evidence roots bound at start are logged beside its own lines.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    app = create_server(
        workspace or chosen(),  # `cairn --workspace DIR serve` names it before the command
        settings=ServerSettings(
            upload_max_bytes=upload_max_mb << 20,
            evidence_roots=tuple(evidence_root or ()),
            api_token_max_days=api_token_max_days,
            api_docs=api_docs,
        ),
        runner_settings=RunnerSettings(ingest_workers=ingest_workers),
        web_settings=WebSettings(break_after_seconds=break_after_minutes * 60),
    )
    # server_header off: the version of the HTTP stack is nobody's business. Forwarded headers
    # are believed only from the proxies named: uvicorn's own default trusts loopback, which
    # lets anything on the host put any address into the audit trail and past the limiter.
    uvicorn.run(app, **uvicorn_options(host, port, forwarded_allow_ips))


def uvicorn_options(host: str, port: int, forwarded_allow_ips: str | None) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "server_header": False,
        "log_level": "info",
        "proxy_headers": bool(forwarded_allow_ips),
        "forwarded_allow_ips": forwarded_allow_ips or "",
    }
