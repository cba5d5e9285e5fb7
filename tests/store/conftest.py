"""Store fixtures: `database_url` (SQLite and PostgreSQL) lives in tests/conftest.py."""
