"""The browser review workspace served by `cairn serve` at `/` (the REST API stays at /api/v1)."""
