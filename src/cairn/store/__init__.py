"""Persistence: SQLAlchemy models, Alembic migrations, the batch writer. SQLite or PostgreSQL."""
