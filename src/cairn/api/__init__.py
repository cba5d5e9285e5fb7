"""The REST API (FastAPI): `create_app` in `cairn.api.app`."""
