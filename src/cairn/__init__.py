"""Cairn: an open intelligence database for child-protection investigators."""

__version__ = "0.1.0"
