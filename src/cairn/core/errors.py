"""Errors that cross layers, with the exit code each one means (docs/architecture.md: 0, 1, 2)."""


class CairnError(Exception):
    """Base of Cairn's own errors."""

    exit_code = 1


class UsageError(CairnError):
    """The command or its configuration is wrong; nothing was done (exit 2)."""

    exit_code = 2


class NotFoundError(UsageError):
    """A case, evidence item or hash set named on the command line does not exist."""


class PermissionDeniedError(CairnError):
    """The user's role does not allow the action. Never raised for another agency's objects:
    those are reported as NotFoundError, so that their existence does not leak."""
