"""Messaging tables (issue 6)."""
