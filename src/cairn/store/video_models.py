"""Video tables (issue 5)."""
