"""Cairn's errors as HTTP answers.

"Not found" carries one fixed body whatever was asked for: another agency's case and a case
that does not exist must answer byte for byte alike, so the body never echoes the request.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cairn.core.errors import NotFoundError, PermissionDeniedError, UsageError
from cairn.hashsets.share_file import ShareFileError
from cairn.media.thumbnail import ThumbnailError

NOT_FOUND_BODY = {"detail": "not found"}
FORBIDDEN_BODY = {"detail": "your role does not allow this action"}


def not_found() -> JSONResponse:
    return JSONResponse(NOT_FOUND_BODY, status_code=404)


async def _not_found(_request: Request, _exc: Exception) -> JSONResponse:
    return not_found()


async def _forbidden(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(FORBIDDEN_BODY, status_code=403)


async def _usage(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def _integrity(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


def install(app: FastAPI) -> None:
    # NotFoundError subclasses UsageError: Starlette picks the handler of the nearest class.
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(PermissionDeniedError, _forbidden)
    app.add_exception_handler(UsageError, _usage)
    app.add_exception_handler(ShareFileError, _usage)  # a refused share file: nothing imported
    app.add_exception_handler(ThumbnailError, _integrity)  # a stored blob not its item's own
