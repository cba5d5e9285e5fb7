"""Project VIC VICS JSON (OData): read 1.1-1.3 and 2.0, `#Media` and `#Cases`; write 2.0.

`reader` reads (over `core.json_stream`, which never loads a document whole), `writer` writes, and
`document` holds what both share: the context URL and the Media and MediaFile records.
"""
