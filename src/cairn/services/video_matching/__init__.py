"""Video matching: case videos against known videos (vPDQ sets), known images as frames, and the
workspace's other videos. What is compared, the verdicts and their costs: docs/video.md."""
