"""Messaging: WhatsApp artefacts into a case, and who posted, forwarded and gathered what.

One module a step, in the order the data flows:

- `discovery`: find artefacts among an evidence item's files or under a folder;
  `import_from_evidence` (run after every `cairn ingest`) starts here.
- `importing`: copy, read and store one artefact (`import_path`, `ImportSummary`).
- `writer`: turn one import's records into rows, in batches.
- `case_rows`: the case's stored messaging rows, with each phone's owner resolved.
- `linking`: media to ingested files, hash sets and thumbnails, by SHA-256.
- `people`, `groups`: the people and group reports.
- `reports`: `analyse_case`, the whole analysis, and `summary_lines` for `cairn demo`.
- `graph`: the person–group–media graph.

Nothing is re-exported here: importing this package stays cheap, so that `discovery` can be
loaded on every ingest without the readers and the analysis.
"""
