"""Hash-set formats: readers that stream typed known-hash records, and the VICS 2.0 writer.

Readers never touch the database; the import service stores what they yield. The formats are
listed in `cairn.hashsets.registry`.
"""
