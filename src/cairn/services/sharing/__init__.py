"""Federation between Cairn instances (docs/federation.md).

`trust` (the instance's identity key, partners' keys), `bundles` (signed hash-set bundles and
their deltas: export and import), `filters` (non-invertible match filters: export, import, and
matching a case through them, with requests for details).
"""
