"""Known-material lookups: exact digests (`digest_index`) and exact PDQ range search (`pdq_index`).

Both indexes are segmented folders of memory-mapped numpy arrays (`segments`), never pickles.
"""
