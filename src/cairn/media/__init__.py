"""Content typing, image decoding and analysis, metadata, review thumbnails."""
