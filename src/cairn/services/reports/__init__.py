"""Case reports (`cairn report`, and the web UI's report page): HTML and PDF.

- `model`: `build_report`, everything a report says, gathered once from the store.
- `charts`: the inline SVG charts (items per bucket per device, capture times).
- `render`: `create_report` (build, render with the Jinja templates in `templates/`, audit),
  the entry point for the CLI and the UI; `render_html`, `render_pdf` (WeasyPrint).

Nothing is re-exported: importing the package does not load Jinja or WeasyPrint.
"""
